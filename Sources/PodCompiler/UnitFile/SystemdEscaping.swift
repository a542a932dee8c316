/// Writes strings into unit settings so that systemd 252 hands them to the process unchanged.
///
/// Each setting has its own quoting rules (see docs/unit-file-syntax.md); every function here names
/// the settings it is for, and each result is a single value that `UnitFile` can write on one line
/// (no line breaks, no whitespace at either end, no trailing backslash).
public enum SystemdEscaping {
    // MARK: ExecStart= and friends

    /// One argument word of an `ExecStart=`-style command (`argv[1]` and later) that reaches the
    /// process as exactly these bytes.
    ///
    /// The word is double-quoted with C escapes for `\`, `"`, control characters (`\n`, `\t`, `\r`,
    /// `\xNN`) and bytes that are not valid UTF-8 (`\xNN`); valid UTF-8 is kept. `%` becomes `%%`
    /// (specifiers) and, when `environmentExpansion` is true (no `:` prefix on the command), `$` becomes
    /// `$$`. An empty string becomes `""`; `;` becomes `";"`, an argument rather than a separator.
    ///
    /// - Throws: `.nulByte` for a NUL, which no argument can hold.
    public static func execArgument(_ value: String, environmentExpansion: Bool = true)
        throws(SystemdEscapingError) -> String
    {
        try execArgument(bytes: Array(value.utf8), environmentExpansion: environmentExpansion)
    }

    /// `execArgument(_:)` for arbitrary bytes, which need not be UTF-8.
    public static func execArgument(bytes: [UInt8], environmentExpansion: Bool = true)
        throws(SystemdEscapingError) -> String
    {
        if bytes.contains(0) {
            throw SystemdEscapingError(.nulByte, "An argument cannot contain a NUL byte: \(SystemdEscapingError.shown(bytes))")
        }
        return cQuoted(bytes, doublePercent: true, doubleDollar: environmentExpansion)
    }

    /// The executable word of an `ExecStart=`-style command: an absolute path, or a plain file name
    /// that systemd looks up in its search path.
    ///
    /// systemd 252 takes the executable from the unquoted first word, expands specifiers in it, and
    /// refuses names with quotes, backslashes or control characters. It executes that path as written,
    /// but `argv[0]` (a copy of it) goes through `$` substitution with the other arguments. So `%`
    /// becomes `%%`; a path with spaces is double-quoted; and, with `environmentExpansion`, a `$` is
    /// written as is where substitution leaves it alone, while `$$`, `${` and a leading `$` (which would
    /// change `argv[0]` but not the executed file) are refused.
    ///
    /// - Throws: `.nulByte`, `.invalidUTF8`, `.invalidPath` (empty, a directory, invalid name or
    ///   length) or `.unrepresentable` (quotes, backslashes, control characters, a name starting with
    ///   a prefix character `-@:+!`, `;`, or an unsafe `$`).
    public static func execPath(_ path: String, environmentExpansion: Bool = true)
        throws(SystemdEscapingError) -> String
    {
        let bytes = Array(path.utf8)
        let shown = SystemdEscapingError.shown(bytes)
        if bytes.contains(0) { throw SystemdEscapingError(.nulByte, "Executable \(shown) contains a NUL byte") }
        try requireSystemdUTF8(path, what: "Executable \(shown)")
        if bytes.isEmpty { throw SystemdEscapingError(.invalidPath, "Empty executable") }
        if !SystemdText.isSafe(bytes) {
            throw SystemdEscapingError(
                .unrepresentable, "systemd refuses quotes, backslashes and control characters in an executable: \(shown)")
        }
        if bytes.last == UInt8(ascii: "/") {
            throw SystemdEscapingError(.invalidPath, "Executable \(shown) names a directory")
        }
        if bytes[0] == UInt8(ascii: "/") {
            guard SystemdPath.isValid(bytes) else {
                throw SystemdEscapingError(.invalidPath, "Executable \(shown) is too long or has a too long component")
            }
        } else {
            guard SystemdPath.isValidFileName(bytes) else {
                throw SystemdEscapingError(.invalidPath, "Executable \(shown) is neither an absolute path nor a file name")
            }
            if "-@:+!".utf8.contains(bytes[0]) || bytes == [UInt8(ascii: ";")] {
                throw SystemdEscapingError(
                    .unrepresentable, "Executable name \(shown) would be read as a prefix or a command separator")
            }
        }
        if environmentExpansion, let problem = dollarProblem(bytes) {
            throw SystemdEscapingError(.unrepresentable, "Executable \(shown): \(problem)")
        }
        var word = ""
        for scalar in path.unicodeScalars {
            word.unicodeScalars.append(scalar)
            if scalar == "%" { word += "%" }
        }
        return bytes.contains(where: { $0 == SystemdText.space || $0 == SystemdText.tab }) ? "\"\(word)\"" : word
    }

    private static func dollarProblem(_ bytes: [UInt8]) -> String? {
        let dollar = UInt8(ascii: "$")
        if bytes.first == dollar { return "a leading '$' makes argv[0] a variable reference" }
        for index in bytes.indices.dropLast() where bytes[index] == dollar {
            if bytes[index + 1] == dollar || bytes[index + 1] == UInt8(ascii: "{") {
                return "'$$' and '${' would change argv[0] but not the executed path"
            }
        }
        return nil
    }

    // MARK: Environment

    /// Whether systemd keeps a variable of this name: `[A-Za-z_][A-Za-z0-9_]*` (systemd silently drops
    /// assignments with other names).
    public static func isValidEnvironmentName(_ name: String) -> Bool {
        guard let first = name.utf8.first, !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else {
            return false
        }
        return name.utf8.allSatisfy { byte in
            byte == UInt8(ascii: "_") || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
        }
    }

    /// The value of one `Environment=` line setting one variable, such as `"NAME=va\"lue"`.
    ///
    /// systemd 252 splits `Environment=` into words with C unescaping, then expands specifiers, and
    /// does not expand `$`. So the assignment is double-quoted, `%` becomes `%%`, `\` and `"` and
    /// control characters are C-escaped (a newline as `\n`), and `$` is kept.
    ///
    /// Environment values are readable by every local user over D-Bus: secrets belong in an
    /// `EnvironmentFile=` (see `environmentFileLine`).
    ///
    /// - Throws: `.invalidName`, `.nulByte`, `.invalidUTF8` (systemd drops values that are not UTF-8).
    public static func environmentAssignment(name: String, value: String) throws(SystemdEscapingError) -> String {
        try environmentAssignment(name: name, bytes: Array(value.utf8))
    }

    /// `environmentAssignment(name:value:)` for a value given as bytes.
    public static func environmentAssignment(name: String, bytes: [UInt8]) throws(SystemdEscapingError) -> String {
        try checkEnvironment(name: name, bytes: bytes)
        return cQuoted(Array(name.utf8) + [UInt8(ascii: "=")] + bytes, doublePercent: true, doubleDollar: false)
    }

    /// One assignment for a file read by `EnvironmentFile=`, ending in a newline, such that the value
    /// arrives byte for byte, newlines included; assignments can be concatenated into a file.
    ///
    /// systemd 252 reads these files with `parse_env_file_internal()`: inside double quotes a
    /// backslash escapes `"`, `\`, `` ` `` and `$` (before anything else it is kept, before a newline
    /// both vanish), and every other byte, newlines included, is literal; `$` is never expanded; the
    /// whole value must be valid UTF-8. So the value is written as `NAME="..."` with those four
    /// characters backslash-escaped.
    ///
    /// - Throws: `.invalidName`, `.nulByte`, `.invalidUTF8` (systemd refuses the whole file).
    public static func environmentFileLine(name: String, value: String) throws(SystemdEscapingError) -> String {
        try environmentFileLine(name: name, bytes: Array(value.utf8))
    }

    /// `environmentFileLine(name:value:)` for a value given as bytes.
    public static func environmentFileLine(name: String, bytes: [UInt8]) throws(SystemdEscapingError) -> String {
        try checkEnvironment(name: name, bytes: bytes)
        var line = Array(name.utf8) + Array("=\"".utf8)
        for byte in bytes {
            if "\"\\`$".utf8.contains(byte) { line.append(SystemdText.backslash) }
            line.append(byte)
        }
        line.append(contentsOf: Array("\"\n".utf8))
        return SystemdText.string(line)
    }

    private static func checkEnvironment(name: String, bytes: [UInt8]) throws(SystemdEscapingError) {
        guard isValidEnvironmentName(name) else {
            throw SystemdEscapingError(
                .invalidName, "Environment variable name \(name.debugDescription) is not [A-Za-z_][A-Za-z0-9_]*")
        }
        if bytes.contains(0) {
            throw SystemdEscapingError(.nulByte, "The value of \(name) contains a NUL byte")
        }
        guard SystemdUTF8.isValid(bytes) else {
            throw SystemdEscapingError(.invalidUTF8, "The value of \(name) is not valid UTF-8 (as systemd sees it)")
        }
    }

    static func requireSystemdUTF8(_ text: String, what: String) throws(SystemdEscapingError) {
        if let scalar = SystemdUTF8.firstRejectedScalar(in: text) {
            throw SystemdEscapingError(
                .invalidUTF8, "\(what) contains U+\(String(scalar.value, radix: 16, uppercase: true)), which systemd rejects")
        }
    }

    // MARK: Quoting

    /// Double-quotes bytes for a setting unquoted with `EXTRACT_UNQUOTE|EXTRACT_CUNESCAPE`.
    static func cQuoted(_ bytes: [UInt8], doublePercent: Bool, doubleDollar: Bool) -> String {
        var out: [UInt8] = [SystemdText.doubleQuote]
        out.reserveCapacity(bytes.count + 2)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte >= 0x80 {
                if let length = SystemdUTF8.validSequenceLength(bytes, at: index) {
                    out.append(contentsOf: bytes[index..<index + length])
                    index += length
                } else {
                    out.append(contentsOf: hexEscape(byte))
                    index += 1
                }
                continue
            }
            switch byte {
            case SystemdText.backslash: out.append(contentsOf: Array("\\\\".utf8))
            case SystemdText.doubleQuote: out.append(contentsOf: Array("\\\"".utf8))
            case SystemdText.newline: out.append(contentsOf: Array("\\n".utf8))
            case SystemdText.tab: out.append(contentsOf: Array("\\t".utf8))
            case SystemdText.carriageReturn: out.append(contentsOf: Array("\\r".utf8))
            case UInt8(ascii: "%") where doublePercent: out.append(contentsOf: Array("%%".utf8))
            case UInt8(ascii: "$") where doubleDollar: out.append(contentsOf: Array("$$".utf8))
            case ..<0x20, 0x7F: out.append(contentsOf: hexEscape(byte))
            default: out.append(byte)
            }
            index += 1
        }
        out.append(SystemdText.doubleQuote)
        return SystemdText.string(out)
    }

    /// Quotes the unquoted form of a word again without touching specifiers or variables.
    static func quoteUnquoted(_ bytes: [UInt8]) -> String {
        cQuoted(bytes, doublePercent: false, doubleDollar: false)
    }

    private static func hexEscape(_ byte: UInt8) -> [UInt8] {
        let digits = Array("0123456789abcdef".utf8)
        return [SystemdText.backslash, UInt8(ascii: "x"), digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]]
    }
}
