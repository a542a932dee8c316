import Foundation

/// Finds the byte ranges of JSON values without decoding them, so that an object inside a watch event
/// or a list can be decoded from (and kept as) exactly the bytes the server sent.
///
/// It checks structure only (balanced brackets, terminated strings); the values themselves are validated
/// when they are decoded.
enum RawJSON {
    struct Failure: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }

    /// The members of the top-level object: key → byte range of its value. Keys with escapes are kept
    /// as written (the keys this client looks up are plain ASCII); of a key written twice, the first.
    static func objectMembers(_ data: Data) throws -> [String: Range<Int>] {
        var result: [String: Range<Int>] = [:]
        for member in try objectMemberList(data).members where result[member.key] == nil {
            result[member.key] = member.value
        }
        return result
    }

    /// One member of an object as written: its key (escapes kept as written), the bytes of the key with
    /// its quotes, and the bytes of its value.
    struct Member {
        var key: String
        var keyRange: Range<Int>
        var value: Range<Int>
    }

    /// The members of the object at `range` (nil: the whole of `data`, the top-level object) in the order
    /// written, and the index of the object's closing brace.
    static func objectMemberList(_ data: Data, in range: Range<Int>? = nil) throws -> (members: [Member], end: Int) {
        try data.withUnsafeBytes { raw in
            let bytes = raw.bindMemory(to: UInt8.self)
            let bounds = range.map { ($0.lowerBound - data.startIndex)..<($0.upperBound - data.startIndex) } ?? 0..<bytes.count
            var scanner = Scanner(bytes: bytes, index: bounds.lowerBound, end: bounds.upperBound, base: data.startIndex)
            let members = try scanner.members()
            return (members, scanner.index + data.startIndex)
        }
    }

    /// The byte ranges of the elements of the array at `range` (a `null` gives none).
    static func arrayElements(_ data: Data, in range: Range<Int>) throws -> [Range<Int>] {
        try data.withUnsafeBytes { raw in
            let bytes = raw.bindMemory(to: UInt8.self)
            var scanner = Scanner(
                bytes: bytes, index: range.lowerBound - data.startIndex, end: range.upperBound - data.startIndex,
                base: data.startIndex)
            return try scanner.elements()
        }
    }

    private struct Scanner {
        let bytes: UnsafeBufferPointer<UInt8>
        var index: Int
        let end: Int
        let base: Int

        mutating func skipSpace() {
            while index < end, bytes[index] == 0x20 || bytes[index] == 0x0A || bytes[index] == 0x0D || bytes[index] == 0x09 {
                index += 1
            }
        }

        mutating func expect(_ byte: UInt8) throws {
            skipSpace()
            guard index < end, bytes[index] == byte else {
                throw Failure(message: "expected '\(Character(Unicode.Scalar(byte)))' at byte \(index)")
            }
            index += 1
        }

        /// Leaves `index` at the closing brace.
        mutating func members() throws -> [Member] {
            var result: [Member] = []
            try expect(UInt8(ascii: "{"))
            skipSpace()
            if index < end, bytes[index] == UInt8(ascii: "}") { return result }
            while true {
                skipSpace()
                let keyStart = index
                try skipString()
                let key = String(decoding: UnsafeBufferPointer(rebasing: bytes[(keyStart + 1)..<(index - 1)]), as: UTF8.self)
                let keyRange = (keyStart + base)..<(index + base)
                try expect(UInt8(ascii: ":"))
                skipSpace()
                let valueStart = index
                try skipValue()
                result.append(Member(key: key, keyRange: keyRange, value: (valueStart + base)..<(index + base)))
                skipSpace()
                guard index < end else { throw Failure(message: "unterminated object") }
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                if bytes[index] == UInt8(ascii: "}") { return result }
                throw Failure(message: "expected ',' or '}' at byte \(index)")
            }
        }

        mutating func elements() throws -> [Range<Int>] {
            skipSpace()
            if end - index >= 4, bytes[index] == UInt8(ascii: "n") {
                try skipValue()
                return []
            }
            var result: [Range<Int>] = []
            try expect(UInt8(ascii: "["))
            skipSpace()
            if index < end, bytes[index] == UInt8(ascii: "]") { return result }
            while true {
                skipSpace()
                let start = index
                try skipValue()
                result.append((start + base)..<(index + base))
                skipSpace()
                guard index < end else { throw Failure(message: "unterminated array") }
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                if bytes[index] == UInt8(ascii: "]") { return result }
                throw Failure(message: "expected ',' or ']' at byte \(index)")
            }
        }

        mutating func skipString() throws {
            guard index < end, bytes[index] == UInt8(ascii: "\"") else {
                throw Failure(message: "expected a string at byte \(index)")
            }
            index += 1
            while index < end {
                switch bytes[index] {
                case UInt8(ascii: "\\"): index += 2
                case UInt8(ascii: "\""):
                    index += 1
                    return
                default: index += 1
                }
            }
            throw Failure(message: "unterminated string")
        }

        mutating func skipValue() throws {
            guard index < end else { throw Failure(message: "missing value at byte \(index)") }
            switch bytes[index] {
            case UInt8(ascii: "\""):
                try skipString()
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                var depth = 0
                while index < end {
                    switch bytes[index] {
                    case UInt8(ascii: "\""):
                        try skipString()
                        continue
                    case UInt8(ascii: "{"), UInt8(ascii: "["):
                        depth += 1
                    case UInt8(ascii: "}"), UInt8(ascii: "]"):
                        depth -= 1
                        if depth == 0 {
                            index += 1
                            return
                        }
                    default: break
                    }
                    index += 1
                }
                throw Failure(message: "unterminated object or array")
            default:
                let start = index
                while index < end {
                    let c = bytes[index]
                    if c == UInt8(ascii: ",") || c == UInt8(ascii: "}") || c == UInt8(ascii: "]") || c == 0x20
                        || c == 0x0A || c == 0x0D || c == 0x09
                    {
                        break
                    }
                    index += 1
                }
                if index == start { throw Failure(message: "unexpected byte at \(index)") }
            }
        }
    }
}
