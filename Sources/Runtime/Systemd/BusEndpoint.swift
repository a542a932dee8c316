import Foundation

/// Where a `SystemdBus` connects.
public enum BusEndpoint: Sendable, Hashable, CustomStringConvertible {
    /// The system message bus (dbus-daemon): systemd's system manager as `org.freedesktop.systemd1`.
    case system
    /// The user's session bus: the user's systemd manager.
    case user
    /// systemd's own socket (`/run/systemd/private` on a host), talked to directly without a message bus.
    /// Root only. Preferred as root: the message bus limits each connection to 128 calls in flight and,
    /// with many unfinished jobs, systemd ran out of match slots there and stopped sending signals.
    case systemdPrivateSocket(path: String)
    /// Any D-Bus address (`unix:path=...`). `isMessageBus` says whether a dbus-daemon is on the other side
    /// (it then needs `Hello` and routes by service name) or systemd itself.
    case address(String, isMessageBus: Bool)
    /// A stream socket already connected to systemd or a message bus; the connection takes ownership of
    /// the descriptor. Useful when the connecting must happen elsewhere: systemd refuses EXTERNAL
    /// authentication from a peer whose PID it cannot see (another PID namespace), so a process inside
    /// that namespace connects and hands over the socket.
    case connectedSocket(fd: Int32, isMessageBus: Bool)

    /// The host's `/run/systemd/private`.
    public static let hostPrivateSocket = "/run/systemd/private"

    /// systemd's private socket when running as root and it exists, otherwise the system bus.
    public static var preferredSystem: BusEndpoint {
        if geteuid() == 0 && FileManager.default.fileExists(atPath: hostPrivateSocket) {
            return .systemdPrivateSocket(path: hostPrivateSocket)
        }
        return .system
    }

    /// Whether a message bus sits between us and systemd (so messages carry a sender and need a
    /// destination), as opposed to a direct connection to systemd.
    var isMessageBus: Bool {
        switch self {
        case .system, .user: true
        case .systemdPrivateSocket: false
        case .address(_, let isMessageBus), .connectedSocket(_, let isMessageBus): isMessageBus
        }
    }

    /// The D-Bus address to hand to `sd_bus_set_address`, nil for the system and user bus.
    var address: String? {
        switch self {
        case .system, .user: nil
        case .systemdPrivateSocket(let path): "unix:path=" + Self.escapeAddressValue(path)
        case .address(let address, _): address
        case .connectedSocket: nil
        }
    }

    public var description: String {
        switch self {
        case .system: "the system bus"
        case .user: "the user bus"
        case .systemdPrivateSocket(let path): path
        case .address(let address, _): address
        case .connectedSocket(let fd, _): "socket fd \(fd)"
        }
    }

    /// Escapes a value for a D-Bus address: bytes outside `[-0-9A-Za-z_/.\*]` become `%XX`.
    static func escapeAddressValue(_ value: String) -> String {
        var escaped = ""
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "/"), UInt8(ascii: "."), UInt8(ascii: "\\"),
                UInt8(ascii: "*"), UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "A")...UInt8(ascii: "Z"):
                escaped.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                escaped += "%" + String(byte, radix: 16, uppercase: false).leftPadded(to: 2)
            }
        }
        return escaped
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
