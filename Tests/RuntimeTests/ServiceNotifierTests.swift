import Foundation
import SystemkRuntime
import Testing

/// sd_notify messages reach the socket named by $NOTIFY_SOCKET.
@Suite(.serialized)
struct ServiceNotifierTests {
    @Test func messagesArriveAtTheNotifySocket() throws {
        let path = "/var/tmp/systemk-tests/notify-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).sock"
        try FileManager.default.createDirectory(atPath: "/var/tmp/systemk-tests", withIntermediateDirectories: true)
        let socket = Glibc.socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        try #require(socket >= 0)
        defer {
            close(socket)
            unlink(path)
            unsetenv("NOTIFY_SOCKET")
        }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            buffer.copyBytes(from: path.utf8)
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(socket, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        try #require(bound == 0)
        setenv("NOTIFY_SOCKET", path, 1)

        #expect(ServiceNotifier.ready())
        #expect(ServiceNotifier.status("reconciling\n3 pods"))
        #expect(ServiceNotifier.watchdog())
        var received: [String] = []
        for _ in 0..<3 {
            var buffer = [UInt8](repeating: 0, count: 4096)
            let count = recv(socket, &buffer, buffer.count, Int32(MSG_DONTWAIT))
            if count > 0 { received.append(String(decoding: buffer[..<count], as: UTF8.self)) }
        }
        #expect(received == ["READY=1", "STATUS=reconciling 3 pods", "WATCHDOG=1"])

        unsetenv("NOTIFY_SOCKET")
        #expect(!ServiceNotifier.ready())
        #expect(ServiceNotifier.watchdogInterval() == nil)
    }
}
