import Testing
@testable import SystemkRuntime

@Suite struct NodeAddressesTests {
    @Test func privateFirstForInternalOtherFirstForExternal() throws {
        let a = try NodeAddresses.choose(internalFlag: nil, externalFlag: nil, candidates: ["127.0.0.1", "::1", "fe80::1", "203.0.113.7", "192.168.1.5", "10.0.0.2", "2001:db8::1"])
        #expect(a == NodeAddresses(internalIP: "192.168.1.5", externalIP: "203.0.113.7"))
    }

    @Test func oneAddressServesAsBoth() throws {
        #expect(try NodeAddresses.choose(internalFlag: nil, externalFlag: nil, candidates: ["127.0.0.1", "172.16.4.4"]) == NodeAddresses(internalIP: "172.16.4.4", externalIP: "172.16.4.4"))
        #expect(try NodeAddresses.choose(internalFlag: nil, externalFlag: nil, candidates: ["2001:db8::5"]) == NodeAddresses(internalIP: "2001:db8::5", externalIP: "2001:db8::5"))
    }

    @Test func flagsWinAndAreChecked() throws {
        #expect(try NodeAddresses.choose(internalFlag: "fd00::1", externalFlag: nil, candidates: ["10.0.0.2", "198.51.100.1"]) == NodeAddresses(internalIP: "fd00::1", externalIP: "198.51.100.1"))
        #expect(throws: NodeAddresses.Failure.invalid(flag: "--node-ip", value: "10.0.0")) {
            try NodeAddresses.choose(internalFlag: "10.0.0", externalFlag: nil, candidates: [])
        }
    }

    @Test func noAddressIsFatal() {
        #expect(throws: NodeAddresses.Failure.noAddress) {
            try NodeAddresses.choose(internalFlag: nil, externalFlag: nil, candidates: ["127.0.0.1", "::1", "169.254.3.3", "fe80::2"])
        }
    }

    @Test func classification() {
        for p in ["10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.0.1", "fd12::1", "fc00::1"] { #expect(IPAddress.isPrivate(p), "\(p)") }
        for p in ["172.32.0.1", "172.15.0.1", "11.0.0.1", "2001:db8::1", "8.8.8.8"] { #expect(!IPAddress.isPrivate(p), "\(p)") }
        #expect(!NodeAddresses.interfaceAddresses().isEmpty, "this machine has at least a loopback address")
    }
}
