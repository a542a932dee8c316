extension UnitFile {
    /// Parses unit file text the way systemd 252's `config_parse()` (src/shared/conf-parser.c) reads it.
    ///
    /// - Lines end at `\n`, `\r`, `\r\n`, `\n\r` or NUL (`read_line()`); a physical line of 1 MiB or more
    ///   is an error, as in systemd.
    /// - A line whose first non-whitespace character is `#` or `;` is a comment, also in the middle of a
    ///   continued line. A UTF-8 byte order mark at the start of a line is dropped, once.
    /// - A line ending in an odd number of backslashes continues on the next line: the last backslash
    ///   becomes a space and the next line is appended as it is (its leading whitespace kept).
    /// - `[Name]` starts a section; text after the closing `]`, a missing `]`, or quotes, backslashes or
    ///   control characters in the name are errors (systemd refuses the whole file for these too).
    /// - `Key=value`: whitespace (space, tab, CR, LF) around the key and the value is dropped; keys are
    ///   case-sensitive. A line without `=`, or with nothing before it, is an error (systemd only warns
    ///   and skips it; we refuse, so that a typo is not silently ignored).
    /// - Assignments before the first section are skipped, as systemd skips them (with a warning).
    /// - `.include` lines are obsolete and an error.
    /// - Characters that systemd does not accept as UTF-8 (the noncharacters U+FDD0...U+FDEF and
    ///   U+xxFFFE, U+xxFFFF) are an error, as systemd refuses the file.
    ///
    /// All sections are kept, whatever their name: which sections a unit type knows is the reader's
    /// business (systemd ignores unknown ones).
    ///
    /// - Parameters:
    ///   - text: the file's contents.
    ///   - fileName: the name used in error messages.
    public static func parse(_ text: String, fileName: String = "<unit>") throws(UnitFileError) -> UnitFile {
        var parser = UnitFileParser(fileName: fileName)
        try parser.parse(Array(text.utf8))
        return UnitFile(sections: parser.sections)
    }
}

/// The state of one `UnitFile.parse` run.
struct UnitFileParser {
    let fileName: String
    var sections: [UnitFile.Section] = []

    init(fileName: String) {
        self.fileName = fileName
    }

    private static let byteOrderMark: [UInt8] = [0xEF, 0xBB, 0xBF]

    mutating func parse(_ bytes: [UInt8]) throws(UnitFileError) {
        var lineNumber = 0
        var continuation: [UInt8]?
        var continuationStart = 0
        var byteOrderMarkSeen = false
        var index = 0

        while index < bytes.count {
            let line = try Self.readLine(bytes, from: &index, lineNumber: lineNumber + 1, fileName: fileName)
            lineNumber += 1

            if let first = line.first(where: { !SystemdText.isWhitespace($0) }), SystemdText.isCommentStart(first) {
                continue
            }

            var text = line
            if !byteOrderMarkSeen, text.starts(with: Self.byteOrderMark) {
                text = text.dropFirst(Self.byteOrderMark.count)
                byteOrderMarkSeen = true
            }

            var logical: [UInt8]
            if let previous = continuation {
                if previous.count + text.count > SystemdText.longLineMax {
                    throw UnitFileError(
                        fileName: fileName, line: continuationStart,
                        message: "Continued line is longer than \(SystemdText.longLineMax) bytes")
                }
                logical = previous
                logical.append(contentsOf: text)
            } else {
                logical = Array(text)
                continuationStart = lineNumber
            }

            if SystemdText.endsWithEscapingBackslash(text) {
                logical[logical.count - 1] = SystemdText.space
                continuation = logical
                continue
            }
            continuation = nil
            try parseLogicalLine(logical[...], lineNumber: continuationStart)
        }

        if let joined = continuation {
            try parseLogicalLine(joined[...], lineNumber: continuationStart)
        }
    }

    /// `read_line()`: one physical line and the end-of-line markers after it.
    static func readLine(
        _ bytes: [UInt8], from index: inout Int, lineNumber: Int, fileName: String
    ) throws(UnitFileError) -> ArraySlice<UInt8> {
        let start = index
        while index < bytes.count, !isEndOfLine(bytes[index]) { index += 1 }
        let line = bytes[start..<index]
        if line.count >= SystemdText.longLineMax {
            throw UnitFileError(
                fileName: fileName, line: lineNumber,
                message: "Line is \(line.count) bytes long; systemd reads at most \(SystemdText.longLineMax - 1)")
        }
        // Markers combine (as in "\r\n" or "\n\r\0") until one repeats, or right after a NUL.
        var seen: Set<UInt8> = []
        while index < bytes.count, isEndOfLine(bytes[index]), !seen.contains(0), !seen.contains(bytes[index]) {
            seen.insert(bytes[index])
            index += 1
        }
        return line
    }

    private static func isEndOfLine(_ byte: UInt8) -> Bool {
        byte == SystemdText.newline || byte == SystemdText.carriageReturn || byte == 0
    }

    /// `parse_line()` for one logical line.
    private mutating func parseLogicalLine(_ raw: ArraySlice<UInt8>, lineNumber: Int) throws(UnitFileError) {
        let line = SystemdText.strip(raw)
        guard let first = line.first else { return }

        func column(_ offset: Int) -> Int {
            SystemdText.string(raw[raw.startIndex..<offset]).unicodeScalars.count + 1
        }
        func failure(_ message: String, at offset: Int? = nil) -> UnitFileError {
            UnitFileError(fileName: fileName, line: lineNumber, column: offset.map(column), message: message)
        }

        let text = SystemdText.string(line)
        let scalars = text.unicodeScalars
        if let rejected = scalars.firstIndex(where: { !SystemdUTF8.isAccepted($0) }) {
            let leading = line.startIndex - raw.startIndex
            throw UnitFileError(
                fileName: fileName, line: lineNumber, column: leading + scalars[..<rejected].count + 1,
                message: "Invalid UTF-8 for systemd: U+\(String(scalars[rejected].value, radix: 16, uppercase: true))"
                    + " is a noncharacter")
        }

        if first == UInt8(ascii: "[") {
            guard line.count > 1, line.last == UInt8(ascii: "]") else {
                if let close = line.firstIndex(of: UInt8(ascii: "]")) {
                    throw failure("Invalid section header '\(text)': text after ']'", at: close + 1)
                }
                throw failure("Invalid section header '\(text)': missing ']'")
            }
            let name = line.dropFirst().dropLast()
            if let bad = name.firstIndex(where: { !SystemdText.isSafe(CollectionOfOne($0)) }) {
                throw failure("Bad characters in section header '\(text)'", at: bad)
            }
            sections.append(UnitFile.Section(name: SystemdText.string(name)))
            return
        }

        if text == ".include" || text.hasPrefix(".include ") || text.hasPrefix(".include\t") {
            throw failure(".include is not supported (obsolete since systemd 238); use a drop-in instead")
        }

        guard !sections.isEmpty else { return }  // systemd: "Assignment outside of section. Ignoring."

        guard let equals = line.firstIndex(of: UInt8(ascii: "=")) else {
            throw failure("Missing '=' in '\(text)'")
        }
        if equals == line.startIndex {
            throw failure("Missing key name before '='", at: equals)
        }
        let key = SystemdText.strip(line[line.startIndex..<equals])
        let value = SystemdText.strip(line[(equals + 1)...])
        sections[sections.count - 1].entries.append(
            UnitFile.Entry(key: SystemdText.string(key), value: SystemdText.string(value)))
    }
}
