/// Kubernetes name rules, for names that become parts of unit names and file names.
enum Validation {
    /// RFC 1123 label: lowercase alphanumerics and `-`, starting and ending alphanumeric, ≤ 63.
    static func isDNSLabel(_ s: String) -> Bool {
        guard !s.isEmpty, s.utf8.count <= 63 else { return false }
        let bytes = Array(s.utf8)
        func alnum(_ b: UInt8) -> Bool {
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(b) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b)
        }
        guard alnum(bytes[0]), alnum(bytes[bytes.count - 1]) else { return false }
        return bytes.allSatisfy { alnum($0) || $0 == UInt8(ascii: "-") }
    }

    /// RFC 1123 subdomain as Kubernetes checks it: dot-separated labels of lowercase alphanumerics and
    /// `-` (each starting and ending alphanumeric), ≤ 253 in all; unlike a DNS label, a single label
    /// may be longer than 63.
    static func isDNSSubdomain(_ s: String) -> Bool {
        guard !s.isEmpty, s.utf8.count <= 253 else { return false }
        return s.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            !label.isEmpty && isDNSLabel(String(label.prefix(1)) + String(label.suffix(1)))
                && label.utf8.allSatisfy { b in
                    (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(b) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b)
                        || b == UInt8(ascii: "-")
                }
        }
    }

    /// ConfigMap and Secret keys: `[-._a-zA-Z0-9]+`, ≤ 253, not `.` or `..`.
    static func isConfigKey(_ s: String) -> Bool {
        guard !s.isEmpty, s.utf8.count <= 253, s != ".", s != "..", !s.hasPrefix("..") else { return false }
        return s.utf8.allSatisfy { b in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(b) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(b)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b) || b == UInt8(ascii: "-") || b == UInt8(ascii: "_")
                || b == UInt8(ascii: ".")
        }
    }
}
