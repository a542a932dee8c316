/// Byte-level rules that systemd 252 applies to unit file text, shared by the parser, the serializer and
/// the escaping helpers. Everything here mirrors a named function of systemd's sources.
enum SystemdText {
    /// `LONG_LINE_MAX` (src/basic/fileio.h): `read_line()` fails on a line of this many bytes or more,
    /// so the longest physical line systemd reads is one byte shorter. A continued logical line may
    /// reach exactly this length.
    static let longLineMax = 1_048_576

    /// `PATH_MAX` and `NAME_MAX` as `path_is_valid()` and `filename_is_valid()` use them.
    static let pathMax = 4096
    static let nameMax = 255

    static let backslash = UInt8(ascii: "\\")
    static let doubleQuote = UInt8(ascii: "\"")
    static let singleQuote = UInt8(ascii: "'")
    static let newline = UInt8(ascii: "\n")
    static let carriageReturn = UInt8(ascii: "\r")
    static let space = UInt8(ascii: " ")
    static let tab = UInt8(ascii: "\t")

    /// `WHITESPACE` (src/basic/string-util.h): only these four, not `\v`, `\f` or Unicode spaces.
    static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == space || byte == tab || byte == newline || byte == carriageReturn
    }

    /// `COMMENTS`: a line whose first non-whitespace byte is one of these is a comment.
    static func isCommentStart(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: "#") || byte == UInt8(ascii: ";")
    }

    /// `strstrip()`: drops `WHITESPACE` at both ends.
    static func strip(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var start = bytes.startIndex
        var end = bytes.endIndex
        while start < end, isWhitespace(bytes[start]) { start += 1 }
        while end > start, isWhitespace(bytes[end - 1]) { end -= 1 }
        return bytes[start..<end]
    }

    /// `string_is_safe()`: no control characters, no quotes, no backslash, no DEL.
    static func isSafe(_ bytes: some Sequence<UInt8>) -> Bool {
        bytes.allSatisfy { byte in
            !(byte < 0x20 || byte == doubleQuote || byte == singleQuote || byte == backslash || byte == 0x7F)
        }
    }

    /// Whether a line ending in this text would be taken as continued: an odd run of trailing backslashes.
    static func endsWithEscapingBackslash(_ bytes: some BidirectionalCollection<UInt8>) -> Bool {
        var count = 0
        for byte in bytes.reversed() {
            guard byte == backslash else { break }
            count += 1
        }
        return count % 2 == 1
    }

    /// Builds a `String` from bytes that are known to be valid UTF-8 (slices of a Swift string cut at
    /// ASCII bytes).
    static func string(_ bytes: some Collection<UInt8>) -> String {
        String(decoding: bytes, as: UTF8.self)
    }
}

/// systemd's notion of valid UTF-8 (`utf8_is_valid()`, `unichar_is_valid()` in src/basic/utf8.c):
/// RFC 3629 UTF-8 without overlong forms or surrogates, and additionally without the noncharacters
/// U+FDD0...U+FDEF and U+xxFFFE/U+xxFFFF. A unit file line that fails this is rejected as a whole.
enum SystemdUTF8 {
    /// Whether systemd accepts this scalar inside a unit file or an environment value.
    static func isAccepted(_ scalar: Unicode.Scalar) -> Bool {
        isAccepted(codePoint: scalar.value)
    }

    static func isAccepted(codePoint: UInt32) -> Bool {
        if codePoint >= 0x110000 { return false }
        if codePoint & 0xFFFF_F800 == 0xD800 { return false }
        if codePoint >= 0xFDD0 && codePoint <= 0xFDEF { return false }
        if codePoint & 0xFFFE == 0xFFFE { return false }
        return true
    }

    /// The first scalar of a string that systemd would reject, if any.
    static func firstRejectedScalar(in text: String) -> Unicode.Scalar? {
        text.unicodeScalars.first { !isAccepted($0) }
    }

    /// Length of the valid sequence at `index`, or nil when systemd would call the bytes there invalid.
    static func validSequenceLength(_ bytes: [UInt8], at index: Int) -> Int? {
        let first = bytes[index]
        if first < 0x80 { return 1 }
        let length: Int
        var value: UInt32
        switch first {
        case 0xC0...0xDF: length = 2; value = UInt32(first & 0x1F)
        case 0xE0...0xEF: length = 3; value = UInt32(first & 0x0F)
        case 0xF0...0xF7: length = 4; value = UInt32(first & 0x07)
        default: return nil
        }
        guard index + length <= bytes.count else { return nil }
        for offset in 1..<length {
            let next = bytes[index + offset]
            guard next & 0xC0 == 0x80 else { return nil }
            value = value << 6 | UInt32(next & 0x3F)
        }
        let minimum: UInt32 = length == 2 ? 0x80 : length == 3 ? 0x800 : 0x10000
        guard value >= minimum, isAccepted(codePoint: value) else { return nil }
        return length
    }

    /// Whether the whole byte string is valid in systemd's sense (NUL counts as invalid here).
    static func isValid(_ bytes: [UInt8]) -> Bool {
        var index = 0
        while index < bytes.count {
            guard bytes[index] != 0, let length = validSequenceLength(bytes, at: index) else { return false }
            index += length
        }
        return true
    }

    /// `utf8_encode_unichar()`: encodes a code point without validating it (as `\u` escapes do).
    static func encode(_ codePoint: UInt32) -> [UInt8] {
        switch codePoint {
        case ..<0x80:
            return [UInt8(codePoint)]
        case ..<0x800:
            return [UInt8(0xC0 | (codePoint >> 6)), UInt8(0x80 | (codePoint & 0x3F))]
        case ..<0x10000:
            return [
                UInt8(0xE0 | (codePoint >> 12)), UInt8(0x80 | ((codePoint >> 6) & 0x3F)),
                UInt8(0x80 | (codePoint & 0x3F)),
            ]
        default:
            return [
                UInt8(0xF0 | ((codePoint >> 18) & 0x07)), UInt8(0x80 | ((codePoint >> 12) & 0x3F)),
                UInt8(0x80 | ((codePoint >> 6) & 0x3F)), UInt8(0x80 | (codePoint & 0x3F)),
            ]
        }
    }
}
