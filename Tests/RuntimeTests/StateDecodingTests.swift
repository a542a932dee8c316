import Testing

@testable import SystemkRuntime

/// Reading systemd's properties and signals into the runtime's types.
struct StateDecodingTests {
    @Test func servicePropertiesFromGetAll() {
        let unit: [String: BusValue] = [
            "ActiveState": .variant(.string("failed")), "SubState": .variant(.string("failed")),
            "LoadState": .variant(.string("loaded")),
            "InvocationID": .variant(.bytes([0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0, 0, 0, 0, 0, 0, 0, 0xff])),
            "FragmentPath": .variant(.string("/run/systemd/system/a.service")),
        ]
        let service: [String: BusValue] = [
            "Result": .variant(.string("exit-code")), "NRestarts": .variant(.uint32(4)),
            "ExecMainPID": .variant(.uint32(1234)), "ExecMainCode": .variant(.int32(1)),
            "ExecMainStatus": .variant(.int32(3)), "ExecMainStartTimestamp": .variant(.uint64(1_700_000_000_000_000)),
            "ExecMainExitTimestamp": .variant(.uint64(1_700_000_001_000_000)),
            "MemoryCurrent": .variant(.uint64(UInt64.max)), "CPUUsageNSec": .variant(.uint64(5_000_000)),
        ]
        let properties = UnitProperties(name: "a.service", all: unit.merging(service) { a, _ in a })
        #expect(
            properties
                == UnitProperties(
                    name: "a.service", activeState: .failed, subState: "failed", loadState: "loaded",
                    result: "exit-code", restarts: 4, mainPID: 1234, mainExitCode: 1, mainExitStatus: 3,
                    mainStartTimestamp: 1_700_000_000_000_000, mainExitTimestamp: 1_700_000_001_000_000,
                    invocationID: "0123456789abcdef00000000000000ff", memoryCurrent: nil,
                    cpuUsageNanoseconds: 5_000_000, fragmentPath: "/run/systemd/system/a.service"))
    }

    @Test func unknownStatesAreKeptAsText() {
        #expect(ActiveState("refreshing") == .other("refreshing"))
        #expect(ActiveState("refreshing").description == "refreshing")
        #expect(ActiveState("deactivating") == .deactivating)
        let empty = UnitProperties(name: "a.target", all: [:])
        #expect(empty.activeState == .other("") && empty.invocationID == "" && empty.memoryCurrent == nil)
    }

    @Test func propertiesChangedOfAUnitBecomesAStateChange() throws {
        let signal = BusSignal(
            path: "/org/freedesktop/systemd1/unit/web_2d0_2eservice", interface: "org.freedesktop.DBus.Properties",
            member: "PropertiesChanged",
            arguments: [
                .string("org.freedesktop.systemd1.Unit"),
                .stringVariantDictionary([
                    ("ActiveState", .string("active")), ("SubState", .string("running")),
                    ("InvocationID", .bytes(Array(repeating: 0xaa, count: 16))), ("Other", .uint32(1)),
                ]),
                .strings(["Conditions"]),
            ])
        let change = try #require(UnitPropertiesChange(signal: signal))
        #expect(change.unit == "web-0.service")
        #expect(change.invalidated == ["Conditions"])
        #expect(
            UnitStateChange(change)
                == UnitStateChange(
                    unit: "web-0.service", activeState: .active, subState: "running",
                    invocationID: String(repeating: "aa", count: 16)))
    }

    @Test func serviceResultsAndIrrelevantChanges() throws {
        func change(_ interface: String, _ entries: [(String, BusValue)]) -> UnitPropertiesChange {
            UnitPropertiesChange(
                unit: "a.service", interface: interface,
                changed: BusValue.stringVariantDictionary(entries).stringKeyedEntries ?? [:], invalidated: [])
        }
        #expect(
            UnitStateChange(change("org.freedesktop.systemd1.Service", [("Result", .string("exit-code"))]))
                == UnitStateChange(unit: "a.service", result: "exit-code"))
        #expect(UnitStateChange(change("org.freedesktop.systemd1.Service", [("MainPID", .uint32(5))])) == nil)
        #expect(UnitStateChange(change("org.freedesktop.systemd1.Unit", [("InvocationID", .bytes([]))])) == nil)
        #expect(UnitStateChange(change("org.freedesktop.systemd1.Socket", [("Result", .string("x"))])) == nil)
    }

    @Test func managerSignals() {
        let removed = BusSignal(
            path: "/org/freedesktop/systemd1", interface: "org.freedesktop.systemd1.Manager", member: "JobRemoved",
            arguments: [.uint32(7), .objectPath("/org/freedesktop/systemd1/job/7"), .string("a.service"), .string("done")])
        #expect(
            JobRemoval(signal: removed)
                == JobRemoval(id: 7, job: "/org/freedesktop/systemd1/job/7", unit: "a.service", result: .done))
        let new = BusSignal(
            path: "/org/freedesktop/systemd1", interface: "org.freedesktop.systemd1.Manager", member: "UnitNew",
            arguments: [.string("a.service"), .objectPath("/org/freedesktop/systemd1/unit/a_2eservice")])
        #expect(
            UnitLifecycleEvent(signal: new) == .added(unit: "a.service", path: "/org/freedesktop/systemd1/unit/a_2eservice"))
        var gone = new
        gone.member = "UnitRemoved"
        #expect(UnitLifecycleEvent(signal: gone) == .removed(unit: "a.service", path: "/org/freedesktop/systemd1/unit/a_2eservice"))
        #expect(JobRemoval(signal: new) == nil)
        #expect(UnitPropertiesChange(signal: removed) == nil)
    }

    @Test func hexLikeSystemdPrintsIt() {
        #expect(hexString([]) == "")
        #expect(hexString([0x00, 0x0f, 0xf0, 0xff]) == "000ff0ff")
    }
}
