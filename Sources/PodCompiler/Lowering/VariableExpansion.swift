/// Kubernetes' `$(VAR)` expansion, as the kubelet does it (k8s.io/kubernetes
/// third_party/forked/golang/expansion): `$$` is an escaped `$`, `$(NAME)` is replaced when NAME is
/// defined and kept as written when not, an unterminated `$(` is kept, and any other `$x` is kept.
///
/// A `$` before any other character keeps that whole character: kubelets before kubernetes/kubernetes
/// PR 136325 (fixed in 1.34 and 1.35 patch releases and later) copied only its first *byte* (Go's
/// `string(byte)`), which turned `$é` into invalid UTF-8 and made container creation fail; the fixed
/// kubelet, which this follows, keeps `$é` as written.
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
                    // `$` and the whole character after it (its UTF-8 bytes), as written.
                    let length = utf8SequenceLength(first)
                    literal.append(contentsOf: bytes[cursor..<min(cursor + 1 + length, bytes.count)])
                    advance = length
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

    /// The number of bytes of the UTF-8 sequence that starts with `lead` (1 for ASCII).
    private static func utf8SequenceLength(_ lead: UInt8) -> Int {
        switch lead {
        case 0xF0...: return 4
        case 0xE0...: return 3
        case 0xC0...: return 2
        default: return 1
        }
    }

    /// Expands with plain values only; the result's bytes.
    static func expandBytes(_ input: String, values: [String: [UInt8]]) -> [UInt8] {
        expand(input) { name in values[name].map { .literal($0) } }.flatMap { seg -> [UInt8] in
            if case let .literal(b) = seg { return b }
            return []
        }
    }
}
