@testable import PodCompiler

/// A port of systemd 252's `parse_env_file_internal()` (src/basic/env-file.c), to check
/// `SystemdEscaping.environmentFileLine` without a running systemd.
enum EnvironmentFileReader {
    enum State { case preKey, key, preValue, value, valueEscape, singleQuote, doubleQuote, doubleQuoteEscape, comment, commentEscape }

    static func parse(_ bytes: [UInt8]) -> [(key: String, value: [UInt8])] {
        let whitespace = Array(" \t\n\r".utf8)
        let newline = Array("\n\r".utf8)
        let needEscape = Array("\"\\`$".utf8)
        var result: [(key: String, value: [UInt8])] = []
        var state = State.preKey
        var key: [UInt8] = []
        var value: [UInt8] = []
        var lastKeyWhitespace: Int?
        var lastValueWhitespace: Int?

        func push() {
            var k = key
            if let cut = lastKeyWhitespace { k = Array(k[..<cut]) }
            result.append((String(decoding: k, as: UTF8.self), value))
            key = []
            value = []
        }

        for c in bytes {
            if c == 0 { break }
            switch state {
            case .preKey:
                if c == UInt8(ascii: "#") || c == UInt8(ascii: ";") {
                    state = .comment
                } else if !whitespace.contains(c) {
                    state = .key
                    lastKeyWhitespace = nil
                    key.append(c)
                }
            case .key:
                if newline.contains(c) {
                    state = .preKey
                    key = []
                } else if c == UInt8(ascii: "=") {
                    state = .preValue
                    lastValueWhitespace = nil
                } else {
                    if !whitespace.contains(c) {
                        lastKeyWhitespace = nil
                    } else if lastKeyWhitespace == nil {
                        lastKeyWhitespace = key.count
                    }
                    key.append(c)
                }
            case .preValue:
                if newline.contains(c) {
                    state = .preKey
                    push()
                } else if c == UInt8(ascii: "'") {
                    state = .singleQuote
                } else if c == UInt8(ascii: "\"") {
                    state = .doubleQuote
                } else if c == UInt8(ascii: "\\") {
                    state = .valueEscape
                } else if !whitespace.contains(c) {
                    state = .value
                    value.append(c)
                }
            case .value:
                if newline.contains(c) {
                    state = .preKey
                    if let cut = lastValueWhitespace { value = Array(value[..<cut]) }
                    push()
                } else if c == UInt8(ascii: "\\") {
                    state = .valueEscape
                    lastValueWhitespace = nil
                } else {
                    if !whitespace.contains(c) {
                        lastValueWhitespace = nil
                    } else if lastValueWhitespace == nil {
                        lastValueWhitespace = value.count
                    }
                    value.append(c)
                }
            case .valueEscape:
                state = .value
                if !newline.contains(c) { value.append(c) }
            case .singleQuote:
                if c == UInt8(ascii: "'") { state = .preValue } else { value.append(c) }
            case .doubleQuote:
                if c == UInt8(ascii: "\"") {
                    state = .preValue
                } else if c == UInt8(ascii: "\\") {
                    state = .doubleQuoteEscape
                } else {
                    value.append(c)
                }
            case .doubleQuoteEscape:
                state = .doubleQuote
                if needEscape.contains(c) {
                    value.append(c)
                } else if c != UInt8(ascii: "\n") {
                    value.append(UInt8(ascii: "\\"))
                    value.append(c)
                }
            case .comment:
                if c == UInt8(ascii: "\\") {
                    state = .commentEscape
                } else if newline.contains(c) {
                    state = .preKey
                }
            case .commentEscape:
                state = .comment
            }
        }
        switch state {
        case .preValue, .value, .valueEscape, .singleQuote, .doubleQuote, .doubleQuoteEscape:
            if state == .value, let cut = lastValueWhitespace { value = Array(value[..<cut]) }
            push()
        default:
            break
        }
        return result
    }
}

/// The word-level part of systemd 252's `config_parse_bind_paths()` (src/core/load-fragment.c) for one
/// entry: source, optional destination, optional options.
enum BindPathReader {
    static func parse(_ value: String) -> (source: [UInt8], destination: [UInt8]?, options: String?)? {
        let bytes = Array(value.utf8)
        let extractor = WordExtractor(bytes)
        let separators = Array(":".utf8) + WordExtractor.whitespace
        let flags: WordExtractor.Flags = [.unquote, .dontCoalesceSeparators]
        var cursor: Int? = 0
        func afterColon() -> Bool {
            guard let index = cursor, index > 0 else { return false }
            return bytes[index - 1] == UInt8(ascii: ":")
        }
        guard var source = (try? extractor.next(&cursor, separators: separators, flags: flags))??.bytes else { return nil }
        if source.first == UInt8(ascii: "-") { source.removeFirst() }
        guard afterColon() else { return (source, nil, nil) }
        guard let destination = (try? extractor.next(&cursor, separators: separators, flags: flags))??.bytes else { return nil }
        guard afterColon() else { return (source, destination, nil) }
        let options = (try? extractor.next(&cursor, flags: [.unquote]))??.bytes
        return (source, destination, options.map { String(decoding: $0, as: UTF8.self) })
    }
}
