/// Kubernetes' `$(VAR)` expansion, as the kubelet does it (k8s.io/kubernetes
/// third_party/forked/golang/expansion): `$$` is an escaped `$`, `$(NAME)` is replaced when NAME is
/// defined and kept as written when not, an unterminated `$(` is kept, and any other `$x` is kept.
///
/// One quirk is reproduced on purpose: after a `$` the kubelet copies the next *byte* as if it were a
/// character (Go's `string(byte)`), so `$` before a non-ASCII character re-encodes that byte as
/// Latin-1. The result is then usually not valid UTF-8, which systemd cannot carry: the compiler
/// reports such a value as unrepresentable instead of passing on mangled bytes.
enum VariableExpansion {
    /// A piece of an expanded string: literal bytes, or a reference to a variable the caller wants to
    /// keep symbolic (a secret that must not be written into a unit file).
    enum Segment: Equatable {
        case literal([UInt8])
        case reference(String)
    }

    /// Expands `input`. `lookup` returns the value of a defined variable, or `.reference` to keep it
    /// symbolic, or nil when the variable is not defined.
    static func expand(_ input: String, lookup: (String) -> Segment?) -> [Segment] {
        let bytes = Array(input.utf8)
        var out: [Segment] = []
        var literal: [UInt8] = []
        func flush() {
            if !literal.isEmpty {
                out.append(.literal(literal))
                literal.removeAll()
            }
        }
        var checkpoint = 0
        var cursor = 0
        while cursor < bytes.count {
            if bytes[cursor] == UInt8(ascii: "$") && cursor + 1 < bytes.count {
                literal.append(contentsOf: bytes[checkpoint..<cursor])
                let rest = bytes[(cursor + 1)...]
                let first = rest[rest.startIndex]
                var advance = 1
                switch first {
                case UInt8(ascii: "$"):
                    literal.append(UInt8(ascii: "$"))
                case UInt8(ascii: "("):
                    if let close = rest.dropFirst().firstIndex(of: UInt8(ascii: ")")) {
                        let nameBytes = Array(rest[(rest.startIndex + 1)..<close])
                        let name = String(decoding: nameBytes, as: UTF8.self)
                        advance = close - rest.startIndex + 1
                        if let seg = lookup(name) {
                            switch seg {
                            case let .literal(b): literal.append(contentsOf: b)
                            case .reference:
                                flush()
                                out.append(seg)
                            }
                        } else {
                            literal.append(contentsOf: Array("$(".utf8) + nameBytes + [UInt8(ascii: ")")])
                        }
                    } else {
                        literal.append(contentsOf: Array("$(".utf8))
                    }
                default:
                    literal.append(UInt8(ascii: "$"))
                    // Go's string(byte): the byte as a code point, UTF-8 encoded.
                    literal.append(contentsOf: Array(String(UnicodeScalar(first)).utf8))
                }
                cursor += advance
                checkpoint = cursor + 1
            }
            cursor += 1
        }
        if checkpoint < bytes.count {
            literal.append(contentsOf: bytes[checkpoint...])
        }
        flush()
        return out
    }

    /// Expands with plain values only; the result's bytes.
    static func expandBytes(_ input: String, values: [String: [UInt8]]) -> [UInt8] {
        expand(input) { name in values[name].map { .literal($0) } }.flatMap { seg -> [UInt8] in
            if case let .literal(b) = seg { return b }
            return []
        }
    }
}
