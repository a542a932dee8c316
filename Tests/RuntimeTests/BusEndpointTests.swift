import Testing

@testable import SystemkRuntime

/// Where a bus connects, and how addresses are written.
struct BusEndpointTests {
    @Test func privateSocketAddressesAreEscaped() {
        #expect(
            BusEndpoint.systemdPrivateSocket(path: "/proc/42/root/run/systemd/private").address
                == "unix:path=/proc/42/root/run/systemd/private")
        #expect(BusEndpoint.systemdPrivateSocket(path: "/a b/c,d=é").address == "unix:path=/a%20b/c%2cd%3d%c3%a9")
        #expect(BusEndpoint.system.address == nil)
    }

    @Test func onlyMessageBusesNeedSendersAndDestinations() {
        #expect(BusEndpoint.system.isMessageBus)
        #expect(BusEndpoint.user.isMessageBus)
        #expect(!BusEndpoint.systemdPrivateSocket(path: BusEndpoint.hostPrivateSocket).isMessageBus)
        #expect(BusEndpoint.address("unix:path=/run/dbus/system_bus_socket", isMessageBus: true).isMessageBus)
        #expect(!BusEndpoint.connectedSocket(fd: 3, isMessageBus: false).isMessageBus)
    }

    @Test func connectingToNothingFailsWithTheEndpointAndErrno() async {
        let path = "/var/tmp/systemk-no-such-socket/private"
        await #expect(throws: SystemdError.connectionFailed(endpoint: path, errno: 2)) {
            _ = try await SystemdBus.connect(to: .systemdPrivateSocket(path: path))
        }
    }
}
