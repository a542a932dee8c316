#if canImport(Glibc)
import Glibc
#endif

/// The node's addresses, chosen as the original systemk chose them when `--node-ip` and
/// `--node-external-ip` are not given: the first private address (RFC 1918 for IPv4, RFC 4193
/// unique-local for IPv6) is the internal one, the first other global address the external one; when
/// only one is found it serves as both; when neither, there is no address to run pods on.
public struct NodeAddresses: Sendable, Hashable {
    public var internalIP: String
    public var externalIP: String

    public init(internalIP: String, externalIP: String) {
        self.internalIP = internalIP
        self.externalIP = externalIP
    }

    public enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        case noAddress
        case invalid(flag: String, value: String)

        public var description: String {
            switch self {
            case .noAddress:
                return "no usable address on any interface; give --node-ip (and --node-external-ip)"
            case let .invalid(flag, value):
                return "\(flag) \(value) is not an IPv4 or IPv6 address"
            }
        }
    }

    /// Picks the addresses from the flags and, for what the flags leave open, from `candidates`
    /// (the interfaces' addresses in interface order).
    public static func choose(
        internalFlag: String?, externalFlag: String?, candidates: [String]
    ) throws(Failure) -> NodeAddresses {
        if let v = internalFlag, !IPAddress.isValid(v) { throw .invalid(flag: "--node-ip", value: v) }
        if let v = externalFlag, !IPAddress.isValid(v) { throw .invalid(flag: "--node-external-ip", value: v) }
        let usable = candidates.filter { IPAddress.isValid($0) && !IPAddress.isLoopback($0) && !IPAddress.isLinkLocal($0) }
        let internalIP = internalFlag ?? usable.first(where: IPAddress.isPrivate)
        let externalIP = externalFlag ?? usable.first(where: { !IPAddress.isPrivate($0) })
        switch (internalIP, externalIP) {
        case let (i?, e?): return NodeAddresses(internalIP: i, externalIP: e)
        case let (i?, nil): return NodeAddresses(internalIP: i, externalIP: i)
        case let (nil, e?): return NodeAddresses(internalIP: e, externalIP: e)
        case (nil, nil): throw .noAddress
        }
    }

    /// The addresses of the host's interfaces that are up, in interface order (getifaddrs).
    public static func interfaceAddresses() -> [String] {
        var head: UnsafeMutablePointer<ifaddrs>? = nil
        guard getifaddrs(&head) == 0, let first = head else { return [] }
        defer { freeifaddrs(head) }
        var out: [String] = []
        var cursor: UnsafeMutablePointer<ifaddrs>? = first
        while let ifa = cursor {
            defer { cursor = ifa.pointee.ifa_next }
            guard let addr = ifa.pointee.ifa_addr, (ifa.pointee.ifa_flags & UInt32(IFF_UP)) != 0 else { continue }
            let family = Int32(addr.pointee.sa_family)
            guard family == AF_INET || family == AF_INET6 else { continue }
            var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            let length = socklen_t(family == AF_INET ? MemoryLayout<sockaddr_in>.size : MemoryLayout<sockaddr_in6>.size)
            guard getnameinfo(addr, length, &host, socklen_t(host.count), nil, 0, NI_NUMERICHOST) == 0 else { continue }
            var text = String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if let percent = text.firstIndex(of: "%") { text = String(text[..<percent]) }
            out.append(text)
        }
        return out
    }
}

/// Just enough address arithmetic to classify node addresses.
public enum IPAddress {
    public static func isValid(_ s: String) -> Bool { ipv4(s) != nil || ipv6(s) != nil }

    static func ipv4(_ s: String) -> [UInt8]? {
        var a = in_addr()
        return inet_pton(AF_INET, s, &a) == 1 ? withUnsafeBytes(of: a) { Array($0) } : nil
    }

    static func ipv6(_ s: String) -> [UInt8]? {
        var a = in6_addr()
        return inet_pton(AF_INET6, s, &a) == 1 ? withUnsafeBytes(of: a) { Array($0) } : nil
    }

    /// RFC 1918 (10/8, 172.16/12, 192.168/16) and RFC 4193 (fc00::/7).
    public static func isPrivate(_ s: String) -> Bool {
        if let b = ipv4(s) {
            return b[0] == 10 || (b[0] == 172 && (16...31).contains(b[1])) || (b[0] == 192 && b[1] == 168)
        }
        if let b = ipv6(s) { return (b[0] & 0xfe) == 0xfc }
        return false
    }

    public static func isLoopback(_ s: String) -> Bool {
        if let b = ipv4(s) { return b[0] == 127 }
        if let b = ipv6(s) { return b == [UInt8](repeating: 0, count: 15) + [1] }
        return false
    }

    /// 169.254/16 and fe80::/10: never a node address.
    public static func isLinkLocal(_ s: String) -> Bool {
        if let b = ipv4(s) { return b[0] == 169 && b[1] == 254 }
        if let b = ipv6(s) { return b[0] == 0xfe && (b[1] & 0xc0) == 0x80 }
        return false
    }
}
