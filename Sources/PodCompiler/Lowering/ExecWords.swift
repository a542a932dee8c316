/// Command-line words for ExecStart=, ExecStartPost= and ExecStop=, each reaching the process byte for
/// byte. The quoting itself is `SystemdEscaping`'s (checked against systemd 252, see
/// docs/unit-file-syntax.md); this adds two things the compiler needs:
/// - words made only of plain characters (letters, digits, `/_.,:=@+-`, and `%`, `$` doubled) are
///   written bare, so units stay readable (`ExecStart=/bin/sleep 300`);
/// - a word may hold references the compiler wants systemd to expand (a Secret that must not be
///   written into the unit): written `${NAME}` inside the word, which systemd replaces by the exact
///   value, as part of the same word.
enum ExecWords {
    enum WordError: Error, Equatable {
        case nul
        /// The executable cannot be written so that systemd runs exactly it (a `$` that systemd would
        /// expand in argv[0], a prefix character `-@:+!` or a lone `;`, quotes, backslashes, control
        /// characters, invalid UTF-8); `message` says which.
        case executable(String)
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
        var literalOnly: [UInt8] = []
        var hasReference = false
        for seg in segments {
            switch seg {
            case let .literal(bytes):
                if bytes.contains(0) { throw .nul }
                literalOnly += bytes
            case .reference:
                hasReference = true
            }
        }
        if let bare = bareForm(segments) { return bare }
        if !hasReference {
            return SystemdEscaping.cQuoted(literalOnly, doublePercent: true, doubleDollar: true)
        }
        // Inside one pair of double quotes: each literal run quoted by SystemdEscaping (its quotes
        // dropped), each reference as `${NAME}`.
        var body = ""
        for seg in segments {
            switch seg {
            case let .literal(bytes):
                body += String(SystemdEscaping.cQuoted(bytes, doublePercent: true, doubleDollar: true).dropFirst().dropLast())
            case let .reference(name):
                body += "${" + name + "}"
            }
        }
        return "\"" + body + "\""
    }

    /// The word unquoted, when it needs no quotes: plain characters, `%` as `%%`, `$` as `$$`, and
    /// references as `${NAME}`.
    private static func bareForm(_ segments: [VariableExpansion.Segment]) -> String? {
        var out = ""
        for seg in segments {
            switch seg {
            case let .reference(name):
                out += "${" + name + "}"
            case let .literal(bytes):
                for b in bytes {
                    if isBare(b) {
                        out.unicodeScalars.append(UnicodeScalar(b))
                    } else if b == UInt8(ascii: "%") {
                        out += "%%"
                    } else if b == UInt8(ascii: "$") {
                        out += "$$"
                    } else {
                        return nil
                    }
                }
            }
        }
        return out.isEmpty ? nil : out
    }

    static func argument(_ text: String) throws(WordError) -> String {
        try argument([.literal(Array(text.utf8))])
    }

    /// The executable word.
    static func executable(_ text: String) throws(WordError) -> String {
        do {
            return try SystemdEscaping.execPath(text)
        } catch {
            if error.reason == .nulByte { throw .nul }
            throw .executable(error.message)
        }
    }

    /// A whole command line from already-encoded words.
    static func line(_ words: [String]) -> String {
        words.joined(separator: " ")
    }

    static func hex(_ b: UInt8) -> String {
        let s = String(b, radix: 16)
        return s.count == 1 ? "0" + s : s
    }
}
