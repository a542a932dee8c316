/// A port of systemd 252's `extract_first_word()` (src/basic/extract-word.c) and `cunescape_one()`
/// (src/basic/escape.c), byte for byte, for the flag combinations unit settings use.
///
/// The cursor is an index into `bytes`, or nil once systemd would have set `*p = NULL` (end reached).
/// The end of the array plays the role of the terminating NUL.
struct WordExtractor {
    struct Flags: OptionSet, Sendable {
        let rawValue: Int
        static let unquote = Flags(rawValue: 1 << 0)
        static let cunescape = Flags(rawValue: 1 << 1)
        static let unescapeRelax = Flags(rawValue: 1 << 2)
        static let relax = Flags(rawValue: 1 << 3)
        static let dontCoalesceSeparators = Flags(rawValue: 1 << 4)
        static let retainSeparators = Flags(rawValue: 1 << 5)
        static let unescapeSeparators = Flags(rawValue: 1 << 6)
    }

    /// One extracted word: its unquoted bytes and where it was written.
    struct Word: Equatable {
        var bytes: [UInt8]
        /// The raw text of the word, from its first byte up to (not including) the separator that ended it.
        var rawRange: Range<Int>
    }

    /// `-EINVAL` from `extract_first_word()`: an unbalanced quote, a bad escape, a trailing backslash.
    struct Invalid: Error, Equatable {
        /// The byte offset where extraction gave up.
        var offset: Int
    }

    static let whitespace: [UInt8] = Array(" \t\n\r".utf8)

    let bytes: [UInt8]

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    private func at(_ index: Int) -> UInt8 {
        index < bytes.count ? bytes[index] : 0
    }

    /// Extracts the next word. Returns nil when there is none (systemd's return value 0).
    func next(
        _ cursor: inout Int?, separators: [UInt8] = WordExtractor.whitespace, flags: Flags
    ) throws(Invalid) -> Word? {
        guard var index = cursor else { return nil }
        var output: [UInt8]? = flags.contains(.dontCoalesceSeparators) ? [] : nil
        var quote: UInt8 = 0
        var backslash = false
        var start = index

        // Skip leading separators.
        while true {
            let byte = at(index)
            if byte == 0 {
                cursor = nil
                return output.map { Word(bytes: $0, rawRange: start..<index) }
            }
            if separators.contains(byte) {
                if flags.contains(.dontCoalesceSeparators) {
                    let end = index
                    if !flags.contains(.retainSeparators) { index += 1 }
                    cursor = index
                    return Word(bytes: output ?? [], rawRange: start..<end)
                }
                index += 1
                start = index
                continue
            }
            if output == nil { output = [] }
            break
        }
        var word = output ?? []

        while true {
            let byte = at(index)
            if backslash {
                if byte == 0 {
                    if flags.contains(.unescapeRelax) && (quote == 0 || flags.contains(.relax)) {
                        word.append(SystemdText.backslash)
                        cursor = nil
                        return Word(bytes: word, rawRange: start..<index)
                    }
                    if flags.contains(.relax) {
                        cursor = nil
                        return Word(bytes: word, rawRange: start..<index)
                    }
                    throw Invalid(offset: index)
                }
                if !flags.isDisjoint(with: [.cunescape, .unescapeSeparators]) {
                    if flags.contains(.cunescape), let escape = Self.cunescapeOne(bytes, at: index) {
                        index += escape.length - 1
                        word.append(contentsOf: escape.bytes)
                    } else if flags.contains(.unescapeSeparators)
                        && (separators.contains(byte) || byte == SystemdText.backslash)
                    {
                        word.append(byte)
                    } else if flags.contains(.unescapeRelax) {
                        word.append(SystemdText.backslash)
                        word.append(byte)
                    } else {
                        throw Invalid(offset: index)
                    }
                } else {
                    word.append(byte)
                }
                backslash = false
                index += 1
            } else if quote != 0 {
                while true {
                    let byte = at(index)
                    if byte == 0 {
                        if flags.contains(.relax) {
                            cursor = nil
                            return Word(bytes: word, rawRange: start..<index)
                        }
                        throw Invalid(offset: index)
                    } else if byte == quote {
                        quote = 0
                        if flags.contains(.unquote) { break }
                    } else if byte == SystemdText.backslash {
                        backslash = true
                        break
                    }
                    word.append(byte)
                    if quote == 0 { break }
                    index += 1
                }
                index += 1
            } else {
                while true {
                    let byte = at(index)
                    if byte == 0 {
                        cursor = nil
                        return Word(bytes: word, rawRange: start..<index)
                    } else if (byte == SystemdText.singleQuote || byte == SystemdText.doubleQuote)
                        && flags.contains(.unquote)
                    {
                        quote = byte
                        break
                    } else if byte == SystemdText.backslash {
                        backslash = true
                        break
                    } else if separators.contains(byte) {
                        let end = index
                        if flags.contains(.dontCoalesceSeparators) {
                            if !flags.contains(.retainSeparators) { index += 1 }
                            cursor = index
                            return Word(bytes: word, rawRange: start..<end)
                        }
                        if !flags.contains(.retainSeparators) {
                            while true {
                                let next = at(index)
                                if next == 0 {
                                    cursor = nil
                                    return Word(bytes: word, rawRange: start..<end)
                                }
                                if !separators.contains(next) { break }
                                index += 1
                            }
                        }
                        cursor = index
                        return Word(bytes: word, rawRange: start..<end)
                    }
                    word.append(byte)
                    index += 1
                }
                index += 1
            }
        }
    }

    /// `extract_first_word_and_warn()`: tries strictly, then again keeping unknown escapes verbatim.
    func nextRelaxingEscapes(_ cursor: inout Int?, flags: Flags) throws(Invalid) -> Word? {
        let saved = cursor
        do {
            return try next(&cursor, flags: flags)
        } catch {
            cursor = saved
            return try next(&cursor, flags: flags.union(.unescapeRelax))
        }
    }

    /// `cunescape_one()` with `accept_nul` false: the bytes an escape after a backslash at `index` stands
    /// for, and how many bytes of input it used; nil for an escape systemd calls invalid.
    static func cunescapeOne(_ bytes: [UInt8], at index: Int) -> (bytes: [UInt8], length: Int)? {
        func at(_ i: Int) -> UInt8 { i < bytes.count ? bytes[i] : 0 }
        func hex(_ byte: UInt8) -> UInt32? {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(byte - UInt8(ascii: "A") + 10)
            default: nil
            }
        }
        func octal(_ byte: UInt8) -> UInt32? {
            (UInt8(ascii: "0")...UInt8(ascii: "7")).contains(byte) ? UInt32(byte - UInt8(ascii: "0")) : nil
        }
        let simple: [UInt8: UInt8] = [
            UInt8(ascii: "a"): 0x07, UInt8(ascii: "b"): 0x08, UInt8(ascii: "f"): 0x0C,
            UInt8(ascii: "n"): 0x0A, UInt8(ascii: "r"): 0x0D, UInt8(ascii: "t"): 0x09,
            UInt8(ascii: "v"): 0x0B, UInt8(ascii: "\\"): 0x5C, UInt8(ascii: "\""): 0x22,
            UInt8(ascii: "'"): 0x27, UInt8(ascii: "s"): 0x20,
        ]
        let first = at(index)
        if let value = simple[first] { return ([value], 1) }
        switch first {
        case UInt8(ascii: "x"):
            guard let a = hex(at(index + 1)), let b = hex(at(index + 2)), a != 0 || b != 0 else { return nil }
            return ([UInt8(a << 4 | b)], 3)
        case UInt8(ascii: "u"), UInt8(ascii: "U"):
            let digits = first == UInt8(ascii: "u") ? 4 : 8
            var value: UInt32 = 0
            for offset in 1...digits {
                guard let digit = hex(at(index + offset)) else { return nil }
                value = value << 4 | digit
            }
            guard value != 0 else { return nil }
            if digits == 8 && !SystemdUTF8.isAccepted(codePoint: value) { return nil }
            return (SystemdUTF8.encode(value), digits + 1)
        case UInt8(ascii: "0")...UInt8(ascii: "7"):
            guard let a = octal(at(index)), let b = octal(at(index + 1)), let c = octal(at(index + 2)),
                a != 0 || b != 0 || c != 0
            else { return nil }
            let value = a << 6 | b << 3 | c
            guard value <= 255 else { return nil }
            return ([UInt8(value)], 3)
        default:
            return nil
        }
    }
}
