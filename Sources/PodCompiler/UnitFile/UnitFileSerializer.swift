extension UnitFile {
    /// The unit file text: `[Section]` headers, one `Key=value` line per entry, a blank line between
    /// sections, and a final newline. Empty when there are no sections.
    ///
    /// The text parses back to the same model when `validateRepresentable()` passes; a model built
    /// from input must be checked with it (or written with `validatedSerialization()`), because a
    /// value such as one holding a newline cannot be written as one line.
    public func serialized() -> String {
        var text = ""
        for (index, section) in sections.enumerated() {
            if index > 0 { text += "\n" }
            text += "[\(section.name)]\n"
            for entry in section.entries {
                text += "\(entry.key)=\(entry.value)\n"
            }
        }
        return text
    }

    /// `serialized()`, after `validateRepresentable()`.
    public func validatedSerialization() throws(UnitFileError) -> String {
        try validateRepresentable()
        return serialized()
    }

    /// Checks that `serialized()` would be read back by systemd (and `parse`) as this very model.
    ///
    /// Refused, naming the line the text would be on:
    /// - a section name with a control character, quote, backslash or DEL;
    /// - an empty key, or a key with `=`, a line break or NUL, whitespace at either end, or starting
    ///   with `#`, `;`, `[`, `.include` or a byte order mark;
    /// - a value with a line break (`\n`, `\r`) or NUL, whitespace (space, tab) at either end, or ending
    ///   in an odd number of backslashes (the line would continue);
    /// - a character systemd rejects as UTF-8 (noncharacters);
    /// - a line of 1 MiB or more.
    public func validateRepresentable() throws(UnitFileError) {
        var line = 0
        for (index, section) in sections.enumerated() {
            if index > 0 { line += 1 }
            line += 1
            try Self.check(sectionName: section.name, line: line)
            for entry in section.entries {
                line += 1
                try Self.check(entry, line: line)
            }
        }
    }

    private static func problem(_ line: Int, _ message: String) -> UnitFileError {
        UnitFileError(fileName: "<serialized>", line: line, message: message)
    }

    private static func check(sectionName name: String, line: Int) throws(UnitFileError) {
        if !SystemdText.isSafe(name.utf8) {
            throw problem(line, "Section name \(quoted(name)) has a control character, quote or backslash")
        }
        try checkScalars(name, what: "Section name", line: line)
        if name.utf8.count + 2 >= SystemdText.longLineMax {
            throw problem(line, "Section name is too long for one line")
        }
    }

    private static func check(_ entry: Entry, line: Int) throws(UnitFileError) {
        let key = Array(entry.key.utf8)
        let value = Array(entry.value.utf8)
        guard let first = key.first, let last = key.last else {
            throw problem(line, "Empty key")
        }
        if key.contains(where: { $0 == UInt8(ascii: "=") || isLineBreak($0) }) {
            throw problem(line, "Key \(quoted(entry.key)) contains '=', a line break or NUL")
        }
        if SystemdText.isWhitespace(first) || SystemdText.isWhitespace(last) {
            throw problem(line, "Key \(quoted(entry.key)) starts or ends with whitespace")
        }
        if SystemdText.isCommentStart(first) || first == UInt8(ascii: "[") || entry.key.hasPrefix(".include")
            || entry.key.unicodeScalars.first == "\u{FEFF}"
        {
            throw problem(line, "Key \(quoted(entry.key)) would be read as a comment, section, .include or byte order mark")
        }
        try checkScalars(entry.key, what: "Key", line: line)
        if value.contains(where: isLineBreak) {
            throw problem(line, "Value of \(entry.key)= contains a line break or NUL")
        }
        if let first = value.first, let last = value.last,
            SystemdText.isWhitespace(first) || SystemdText.isWhitespace(last)
        {
            throw problem(line, "Value of \(entry.key)= starts or ends with whitespace")
        }
        if SystemdText.endsWithEscapingBackslash(value) {
            throw problem(line, "Value of \(entry.key)= ends with a backslash, which would continue the line")
        }
        try checkScalars(entry.value, what: "Value of \(entry.key)=", line: line)
        let length = key.count + 1 + value.count
        if length >= SystemdText.longLineMax {
            throw problem(line, "Line for \(entry.key)= is \(length) bytes; systemd reads at most \(SystemdText.longLineMax - 1)")
        }
    }

    private static func checkScalars(_ text: String, what: String, line: Int) throws(UnitFileError) {
        if let scalar = SystemdUTF8.firstRejectedScalar(in: text) {
            throw problem(line, "\(what) contains U+\(String(scalar.value, radix: 16, uppercase: true)), which systemd rejects")
        }
    }

    private static func isLineBreak(_ byte: UInt8) -> Bool {
        byte == SystemdText.newline || byte == SystemdText.carriageReturn || byte == 0
    }

    private static func quoted(_ text: String) -> String {
        let shown = text.count > 60 ? String(text.prefix(60)) + "…" : text
        return "'\(shown.debugDescription.dropFirst().dropLast())'"
    }
}
