/// Writes command-line words for ExecStart=, ExecStartPost= and ExecStop= so that each reaches the
/// process byte for byte (systemd.service(5), "Command lines"; checked against systemd 252 in
/// EscapingRoundTripTests):
/// - `%` is a specifier: written `%%`.
/// - `$` starts a variable in arguments: written `$$`. A reference the compiler wants systemd to
///   expand (a secret that must not be written into the unit) is written `${NAME}`, which systemd
///   replaces by the exact value, as part of the same word.
/// - Words with anything but plain characters are double-quoted, with C escapes for `\`, `"`,
///   control characters and bytes that are not valid UTF-8 (`\xNN`); valid UTF-8 is kept as is.
/// - A NUL byte cannot be carried: an error.
enum ExecWords {
    enum WordError: Error, Equatable {
        case nul
        case dollarInExecutable
        /// An executable starting with `-`, `@`, `:`, `+` or `!`, or a lone `;`: systemd reads those
        /// from the unquoted word, so quoting cannot protect them (`"+sh"` runs `sh` with full
        /// privileges, outside the sandbox).
        case prefixInExecutable
    }

    private static func isBare(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "/_.,:=@+-".utf8.contains(b)
        }
    }

    /// One argument word (argv[1] and later).
    static func argument(_ segments: [VariableExpansion.Segment]) throws(WordError) -> String {
        try word(segments, escapeDollar: true)
    }

    static func argument(_ text: String) throws(WordError) -> String {
        try word([.literal(Array(text.utf8))], escapeDollar: true)
    }

    /// The executable word: systemd does not expand `$` in the path it executes but does in argv[0],
    /// so a `$` there cannot reach the process unchanged: refused. systemd takes a leading `-`, `@`,
    /// `:`, `+` or `!` of the first word as a prefix and a lone `;` as a separator *after* unquoting
    /// it (config_parse_exec), so no quoting can carry such a name: refused too.
    static func executable(_ text: String) throws(WordError) -> String {
        if text.contains("$") { throw .dollarInExecutable }
        if let f = text.first, "-@:+!".contains(f) || text == ";" { throw .prefixInExecutable }
        return try word([.literal(Array(text.utf8))], escapeDollar: false)
    }

    private static func word(_ segments: [VariableExpansion.Segment], escapeDollar: Bool) throws(WordError) -> String {
        var body = ""
        var needsQuotes = segments.isEmpty
        for seg in segments {
            switch seg {
            case let .reference(name):
                body += "${" + name + "}"
            case let .literal(bytes):
                if bytes.contains(0) { throw .nul }
                if bytes.isEmpty { continue }
                let valid = String(validating: bytes, as: UTF8.self)
                if let valid {
                    for scalar in valid.unicodeScalars {
                        if scalar.value >= 0x80 {
                            needsQuotes = true
                            body.unicodeScalars.append(scalar)
                        } else {
                            append(UInt8(scalar.value), to: &body, quote: &needsQuotes, escapeDollar: escapeDollar)
                        }
                    }
                } else {
                    for b in bytes {
                        if b >= 0x80 {
                            needsQuotes = true
                            body += "\\x" + hex(b)
                        } else {
                            append(b, to: &body, quote: &needsQuotes, escapeDollar: escapeDollar)
                        }
                    }
                }
            }
        }
        if body.isEmpty { needsQuotes = true }
        return needsQuotes ? "\"" + body + "\"" : body
    }

    private static func append(_ b: UInt8, to body: inout String, quote: inout Bool, escapeDollar: Bool) {
        switch b {
        case UInt8(ascii: "%"): body += "%%"
        case UInt8(ascii: "$"):
            body += escapeDollar ? "$$" : "$"
        case UInt8(ascii: "\\"):
            quote = true
            body += "\\\\"
        case UInt8(ascii: "\""):
            quote = true
            body += "\\\""
        case UInt8(ascii: "\n"):
            quote = true
            body += "\\n"
        case UInt8(ascii: "\t"):
            quote = true
            body += "\\t"
        case 0x20:
            quote = true
            body += " "
        case 0..<0x20, 0x7f:
            quote = true
            body += "\\x" + hex(b)
        default:
            if !isBare(b) { quote = true }
            body.unicodeScalars.append(UnicodeScalar(b))
        }
    }

    static func hex(_ b: UInt8) -> String {
        let s = String(b, radix: 16)
        return s.count == 1 ? "0" + s : s
    }

    /// A whole command line from already-encoded words.
    static func line(_ words: [String]) -> String {
        words.joined(separator: " ")
    }
}
