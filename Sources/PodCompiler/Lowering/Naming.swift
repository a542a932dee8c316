/// Unit names: `systemk.<namespace>.<pod>.<container>.service`.
///
/// Namespaces and container names are DNS labels (no dots); pod names are DNS subdomains and may
/// hold dots. So a name is read back as: namespace up to the first dot, container after the last dot,
/// the pod in between. A name that would be too long is shortened deterministically: the pod part is
/// cut and followed by `_` and a hash of the full identity (`_` never occurs in a pod name, so a reader
/// knows the pod part is shortened and takes the identity from the `[X-Kubernetes]` section).
public enum UnitNaming {
    public static let prefix = "systemk."
    public static let suffix = ".service"
    /// Longest unit name emitted. systemd allows 255, but `PrivateTmp=` names a directory
    /// `systemd-private-<32 hex>-<unit>-XXXXXX` that must also fit in 255 bytes.
    public static let maxLength = 180

    /// The unit name for one container of a pod.
    public static func unitName(namespace: String, pod: String, container: String) -> String {
        let full = prefix + namespace + "." + pod + "." + container + suffix
        if full.utf8.count <= maxLength { return full }
        let hash = String(SHA256.hex(namespace + "/" + pod + "/" + container).prefix(16))
        let fixed = prefix.count + namespace.count + 1 + 1 + hash.count + 1 + container.count + suffix.count
        let room = max(1, maxLength - fixed)
        var podPart = String(pod.prefix(room))
        while podPart.hasSuffix(".") || podPart.hasSuffix("-") { podPart.removeLast() }
        return prefix + namespace + "." + podPart + "_" + hash + "." + container + suffix
    }

    /// What a unit name says about its pod.
    public struct ParsedName: Sendable, Equatable {
        public var namespace: String
        /// The pod name, or its shortened form when `isShortened`.
        public var pod: String
        public var container: String
        /// True when the pod part was shortened: the full name is in `[X-Kubernetes]`.
        public var isShortened: Bool
    }

    /// Reads a unit name back; nil for names systemk did not make.
    public static func parse(_ unit: String) -> ParsedName? {
        guard unit.hasPrefix(prefix), unit.hasSuffix(suffix) else { return nil }
        let body = unit.dropFirst(prefix.count).dropLast(suffix.count)
        guard let firstDot = body.firstIndex(of: "."), let lastDot = body.lastIndex(of: "."), firstDot < lastDot
        else { return nil }
        let namespace = String(body[..<firstDot])
        let pod = String(body[body.index(after: firstDot)..<lastDot])
        let container = String(body[body.index(after: lastDot)...])
        guard !namespace.isEmpty, !pod.isEmpty, !container.isEmpty else { return nil }
        return ParsedName(namespace: namespace, pod: pod, container: container, isShortened: pod.contains("_"))
    }
}

/// Deterministic pod UIDs for offline rendering: a UUID (version 8, RFC 9562 custom) made from
/// SHA-256 of `systemk:<namespace>/<name>`, so the same manifest always renders the same paths.
public enum DeterministicUID {
    public static func uid(namespace: String, name: String) -> String {
        var b = SHA256.hash(Array("systemk:\(namespace)/\(name)".utf8)).prefix(16).map { $0 }
        b[6] = (b[6] & 0x0f) | 0x80
        b[8] = (b[8] & 0x3f) | 0x80
        let hex = b.map { byte -> String in
            let s = String(byte, radix: 16)
            return s.count == 1 ? "0" + s : s
        }.joined()
        let chars = Array(hex)
        return String(chars[0..<8]) + "-" + String(chars[8..<12]) + "-" + String(chars[12..<16]) + "-"
            + String(chars[16..<20]) + "-" + String(chars[20..<32])
    }
}
