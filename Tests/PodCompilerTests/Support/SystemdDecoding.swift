/// How systemd 252 reads back the values the compiler writes, written independently of the compiler's
/// encoders so that a round trip through both checks the encoding:
/// - `ExecStart=` and friends (config_parse_exec): the value is split into words by
///   extract_first_word(EXTRACT_UNQUOTE|EXTRACT_CUNESCAPE); the first word's leading `-@:+!` are
///   prefixes and a lone `;` (unquoted, or as the first word) separates commands; each word then has
///   its `%` specifiers resolved; at exec time `$$` becomes `$` and `${NAME}` the variable's value.
/// - `Environment=` (config_parse_environ): the same words, specifiers resolved, each `NAME=value`.
/// - `EnvironmentFile=` files (parse_env_file_internal): `NAME="value"`, where a backslash before
///   `"`, `\`, `` ` `` or `$` is dropped, before a newline joins lines, and is kept before anything else.
///
/// This decoder is strict where systemd would only warn: an escape or specifier the encoders never
/// write is a failure, so a test notices when an encoder starts writing one.
enum SystemdDecoding {
    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    private static let whitespace: Set<UInt8> = [0x20, 0x09, 0x0A, 0x0D]

    /// extract_first_word(EXTRACT_UNQUOTE|EXTRACT_CUNESCAPE), repeated over the whole value.
    /// Returns the words with, for each, whether it was a raw unquoted `;` (a command separator).
    static func words(_ value: String) throws -> [(word: [UInt8], isSeparator: Bool)] {
        let bytes = Array(value.utf8)
        var out: [(word: [UInt8], isSeparator: Bool)] = []
        var i = 0
        while true {
            while i < bytes.count, whitespace.contains(bytes[i]) { i += 1 }
            if i == bytes.count { return out }
            let start = i
            var word: [UInt8] = []
            var quote: UInt8? = nil
            var sawQuote = false
            while i < bytes.count {
                let c = bytes[i]
                if c == UInt8(ascii: "\\") {
                    let (decoded, used) = try unescape(bytes, at: i + 1)
                    word += decoded
                    i += 1 + used
                    continue
                }
                if let q = quote {
                    if c == q { quote = nil } else { word.append(c) }
                    i += 1
                    continue
                }
                if c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") {
                    quote = c
                    sawQuote = true
                    i += 1
                    continue
                }
                if whitespace.contains(c) { break }
                word.append(c)
                i += 1
            }
            if quote != nil { throw Failure("unterminated quote in \(value.debugDescription)") }
            let raw = Array(bytes[start..<i])
            out.append((word, raw == [UInt8(ascii: ";")] && !sawQuote))
        }
    }

    /// cunescape_one: the escape after a backslash at `index`; the bytes it stands for and the
    /// number of bytes it used.
    private static func unescape(_ bytes: [UInt8], at index: Int) throws -> ([UInt8], Int) {
        guard index < bytes.count else { throw Failure("backslash at the end of a value") }
        func hexDigit(_ b: UInt8) -> UInt32? {
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt32(b - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return UInt32(b - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return UInt32(b - UInt8(ascii: "A") + 10)
            default: return nil
            }
        }
        func hex(_ count: Int) throws -> UInt32 {
            guard index + count < bytes.count else { throw Failure("short hexadecimal escape") }
            var v: UInt32 = 0
            for k in 1...count {
                guard let d = hexDigit(bytes[index + k]) else { throw Failure("bad hexadecimal escape") }
                v = v << 4 | d
            }
            return v
        }
        switch bytes[index] {
        case UInt8(ascii: "a"): return ([0x07], 1)
        case UInt8(ascii: "b"): return ([0x08], 1)
        case UInt8(ascii: "f"): return ([0x0C], 1)
        case UInt8(ascii: "n"): return ([0x0A], 1)
        case UInt8(ascii: "r"): return ([0x0D], 1)
        case UInt8(ascii: "t"): return ([0x09], 1)
        case UInt8(ascii: "v"): return ([0x0B], 1)
        case UInt8(ascii: "s"): return ([0x20], 1)
        case UInt8(ascii: "\\"), UInt8(ascii: "\""), UInt8(ascii: "'"): return ([bytes[index]], 1)
        case UInt8(ascii: "x"):
            let v = try hex(2)
            guard v != 0 else { throw Failure("\\x00 is refused") }
            return ([UInt8(v)], 3)  // a raw byte, even above 0x7f
        case UInt8(ascii: "u"), UInt8(ascii: "U"):
            let count = bytes[index] == UInt8(ascii: "u") ? 4 : 8
            let v = try hex(count)
            guard v != 0, let scalar = Unicode.Scalar(v) else { throw Failure("bad unicode escape") }
            return (Array(String(scalar).utf8), 1 + count)
        case UInt8(ascii: "0")...UInt8(ascii: "7"):
            guard index + 2 < bytes.count else { throw Failure("short octal escape") }
            var v = 0
            for k in 0..<3 {
                let d = bytes[index + k]
                guard (UInt8(ascii: "0")...UInt8(ascii: "7")).contains(d) else { throw Failure("bad octal escape") }
                v = v * 8 + Int(d - UInt8(ascii: "0"))
            }
            guard v != 0, v < 256 else { throw Failure("bad octal escape") }
            return ([UInt8(v)], 3)
        default:
            throw Failure("unknown escape \\\(Character(Unicode.Scalar(bytes[index])))")
        }
    }

    /// Specifiers, as unit_full_printf resolves them: only `%%` is expected here.
    static func resolveSpecifiers(_ word: [UInt8]) throws -> [UInt8] {
        var out: [UInt8] = []
        var i = 0
        while i < word.count {
            if word[i] == UInt8(ascii: "%") {
                guard i + 1 < word.count, word[i + 1] == UInt8(ascii: "%") else {
                    throw Failure("a specifier other than %% in \(String(decoding: word, as: UTF8.self).debugDescription)")
                }
                out.append(UInt8(ascii: "%"))
                i += 2
            } else {
                out.append(word[i])
                i += 1
            }
        }
        return out
    }

    /// replace_env for one argument word: `$$` → `$`, `${NAME}` → the value (empty when unset).
    /// A word that is `$NAME` alone would be split by systemd: a failure here.
    static func replaceEnvironment(_ word: [UInt8], env: [String: [UInt8]]) throws -> [UInt8] {
        if word.first == UInt8(ascii: "$"), word.count > 1, word[1] != UInt8(ascii: "{"), word[1] != UInt8(ascii: "$") {
            throw Failure("a whole-word $NAME would be split into several arguments")
        }
        var out: [UInt8] = []
        var i = 0
        while i < word.count {
            guard word[i] == UInt8(ascii: "$"), i + 1 < word.count else {
                out.append(word[i])
                i += 1
                continue
            }
            if word[i + 1] == UInt8(ascii: "$") {
                out.append(UInt8(ascii: "$"))
                i += 2
            } else if word[i + 1] == UInt8(ascii: "{"), let close = word[(i + 2)...].firstIndex(of: UInt8(ascii: "}")) {
                out += env[String(decoding: word[(i + 2)..<close], as: UTF8.self)] ?? []
                i = close + 1
            } else {
                out.append(word[i])
                i += 1
            }
        }
        return out
    }

    /// A whole `ExecStart=` value: the executable and the arguments as the process receives them.
    static func commandLine(_ value: String, env: [String: [UInt8]] = [:]) throws -> (executable: String, arguments: [[UInt8]]) {
        let all = try words(value)
        guard let first = all.first else { throw Failure("empty command line") }
        guard !all.contains(where: \.isSeparator), first.word != [UInt8(ascii: ";")] else {
            throw Failure("a ; separates commands in \(value.debugDescription)")
        }
        if let f = first.word.first, "-@:+!".utf8.contains(f) {
            throw Failure("the executable starts with the prefix \(Character(Unicode.Scalar(f)))")
        }
        let exe = try resolveSpecifiers(first.word)
        guard let executable = String(validating: exe, as: UTF8.self) else { throw Failure("executable is not UTF-8") }
        let arguments = try all.dropFirst().map { w in try replaceEnvironment(try resolveSpecifiers(w.word), env: env) }
        return (executable, arguments)
    }

    /// One argument word as written by `ExecWords.argument`.
    static func argument(_ encoded: String, env: [String: [UInt8]] = [:]) throws -> [UInt8] {
        let all = try words(encoded)
        guard all.count == 1, !all[0].isSeparator else { throw Failure("\(encoded.debugDescription) is \(all.count) words") }
        return try replaceEnvironment(try resolveSpecifiers(all[0].word), env: env)
    }

    /// One `Environment=` value: its assignments, in order.
    static func environment(_ value: String) throws -> [(name: String, value: String)] {
        try words(value).map { w in
            let resolved = try resolveSpecifiers(w.word)
            guard String(validating: resolved, as: UTF8.self) != nil else { throw Failure("not UTF-8: systemd ignores it") }
            // By bytes: "=" followed by a combining mark is one Character.
            guard let eq = resolved.firstIndex(of: UInt8(ascii: "=")) else { throw Failure("no = in \(resolved)") }
            return (String(decoding: resolved[..<eq], as: UTF8.self), String(decoding: resolved[(eq + 1)...], as: UTF8.self))
        }
    }

    /// An `EnvironmentFile=` file made of `NAME="value"` assignments.
    static func environmentFile(_ text: String) throws -> [(name: String, value: String)] {
        var out: [(name: String, value: String)] = []
        let bytes = Array(text.utf8)
        var i = 0
        while i < bytes.count {
            if bytes[i] == 0x0A {
                i += 1
                continue
            }
            guard let eq = bytes[i...].firstIndex(of: UInt8(ascii: "=")) else { throw Failure("a line without =") }
            let name = String(decoding: bytes[i..<eq], as: UTF8.self)
            i = eq + 1
            guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw Failure("value of \(name) is not double-quoted") }
            i += 1
            var value: [UInt8] = []
            var closed = false
            while i < bytes.count {
                let c = bytes[i]
                if c == UInt8(ascii: "\"") {
                    closed = true
                    i += 1
                    break
                }
                if c == UInt8(ascii: "\\"), i + 1 < bytes.count {
                    let n = bytes[i + 1]
                    if "\"\\`$".utf8.contains(n) {
                        value.append(n)
                    } else if n != 0x0A {
                        value += [c, n]
                    }
                    i += 2
                    continue
                }
                value.append(c)
                i += 1
            }
            guard closed else { throw Failure("unterminated value of \(name)") }
            guard i == bytes.count || bytes[i] == 0x0A else { throw Failure("text after the value of \(name)") }
            guard let v = String(validating: value, as: UTF8.self) else { throw Failure("not UTF-8") }
            out.append((name, v))
        }
        return out
    }

    /// Reads the lines of a downwardAPI labels or annotations file: `key="value"`, values quoted as
    /// Go's %q does.
    static func goQuotedMap(_ text: String) throws -> [String: String] {
        var out: [String: String] = [:]
        for line in text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: true) {
            guard let eq = line.firstIndex(of: "=") else { throw Failure("no = in a line") }
            let key = String(String.UnicodeScalarView(line[..<eq]))
            var scalars = Array(line[line.index(after: eq)...])
            guard scalars.first == "\"", scalars.last == "\"", scalars.count >= 2 else { throw Failure("not quoted") }
            scalars = Array(scalars.dropFirst().dropLast())
            var value = String.UnicodeScalarView()
            var k = 0
            while k < scalars.count {
                let s = scalars[k]
                guard s == "\\" else {
                    value.append(s)
                    k += 1
                    continue
                }
                guard k + 1 < scalars.count else { throw Failure("dangling backslash") }
                let e = scalars[k + 1]
                let simple: [Unicode.Scalar: Unicode.Scalar] = [
                    "n": "\n", "t": "\t", "r": "\r", "a": "\u{07}", "b": "\u{08}", "f": "\u{0C}", "v": "\u{0B}",
                    "\\": "\\", "\"": "\"",
                ]
                if let r = simple[e] {
                    value.append(r)
                    k += 2
                } else if e == "x", k + 3 < scalars.count, let v = UInt8(String(String.UnicodeScalarView(scalars[(k + 2)...(k + 3)])), radix: 16) {
                    value.append(Unicode.Scalar(v))
                    k += 4
                } else {
                    throw Failure("unknown escape \\\(e)")
                }
            }
            out[key] = String(value)
        }
        return out
    }
}
