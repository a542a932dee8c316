import SystemdTestSupport
import Foundation
import SystemkRuntime

extension NamespacedSystemd {
    /// The namespace's message bus socket, seen from the host.
    var systemBusSocket: String { "/proc/\(pid)/root/run/dbus/system_bus_socket" }
    /// The namespace's runtime journal, seen from the host.
    var journalDirectory: String { "/proc/\(pid)/root/run/log/journal" }

    /// A socket connected to the namespace's `/run/systemd/private`.
    ///
    /// The test process cannot connect itself: its PID is invisible in the namespace, so the kernel reports
    /// the peer's PID as 0, sd-bus's `getpeercred` fails with ENODATA and systemd refuses EXTERNAL
    /// authentication (the connection is reset). A process inside the namespace connects instead and hands
    /// the socket over with SCM_RIGHTS.
    func connectPrivateSocket() throws -> Int32 {
        var pair: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else {
            throw Failure(description: "socketpair: errno \(errno)")
        }
        defer { close(pair[0]) }
        let script = """
            import socket
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect("/run/systemd/private")
            socket.send_fds(socket.socket(fileno=0), [b"x"], [s.fileno()])
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/nsenter")
        process.arguments = ["-t", String(pid), "-m", "-p", "--", "/usr/bin/python3", "-c", script]
        // Foundation's Process hands the child this descriptor as its standard input (without CLOEXEC).
        process.standardInput = FileHandle(fileDescriptor: pair[1], closeOnDealloc: true)
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(description: "connecting inside the namespace failed: exit \(process.terminationStatus)")
        }
        return try Self.receiveDescriptor(over: pair[0])
    }

    /// Receives one descriptor sent with SCM_RIGHTS.
    private static func receiveDescriptor(over socket: Int32) throws -> Int32 {
        var byte: UInt8 = 0
        // struct cmsghdr { size_t len; int level; int type; } followed by one int: CMSG_SPACE(4) is 24.
        var control = [UInt8](repeating: 0, count: 64)
        let received = withUnsafeMutablePointer(to: &byte) { bytePointer in
            control.withUnsafeMutableBytes { controlBuffer in
                var vector = iovec(iov_base: UnsafeMutableRawPointer(bytePointer), iov_len: 1)
                return withUnsafeMutablePointer(to: &vector) { vectorPointer in
                    var message = msghdr()
                    message.msg_iov = vectorPointer
                    message.msg_iovlen = 1
                    message.msg_control = controlBuffer.baseAddress
                    message.msg_controllen = controlBuffer.count
                    return recvmsg(socket, &message, Int32(MSG_CMSG_CLOEXEC))
                }
            }
        }
        let level = control.withUnsafeBytes { $0.load(fromByteOffset: 8, as: Int32.self) }
        let type = control.withUnsafeBytes { $0.load(fromByteOffset: 12, as: Int32.self) }
        guard received == 1, level == SOL_SOCKET, type == Int32(SCM_RIGHTS) else {
            throw Failure(description: "no descriptor received (recvmsg \(received), errno \(errno))")
        }
        return control.withUnsafeBytes { $0.load(fromByteOffset: 16, as: Int32.self) }
    }

    /// A bus connection to this systemd over its private socket (the way systemk runs as root).
    func connectBus() async throws -> SystemdBus {
        try await SystemdBus.connect(to: .connectedSocket(fd: try connectPrivateSocket(), isMessageBus: false))
    }

    /// A manager talking to this systemd over its private socket, installing into its unit directory.
    func connectManager() async throws -> BusSystemdManager {
        BusSystemdManager(bus: try await connectBus(), unitDirectory: unitDirectory)
    }
}

/// A plain service unit running `command` through /bin/sh.
func serviceUnit(_ name: String, _ command: String, extra: String = "") -> UnitFileContents {
    UnitFileContents(
        name: name,
        contents: """
            [Unit]
            Description=systemk runtime test \(name)

            [Service]
            ExecStart=/bin/sh -c '\(command)'
            \(extra)

            """)
}
