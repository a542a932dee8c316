import SystemdTestSupport
import Foundation
import SystemkRuntime
import Testing

/// Install, reload, start, observe, stop, remove: against a real systemd in a private namespace.
@Suite(.enabled(if: NamespacedSystemd.isAvailable, "needs root and a namespaced systemd"))
struct UnitLifecycleTests {
    @Test func threeUnitsStartReportStateBySignalsAndGoAway() async throws {
        try await NamespacedSystemd.with { systemd in
            let manager = try await systemd.connectManager()
            let names = ["rt-life-a.service", "rt-life-b.service", "rt-life-c.service"]
            try await manager.install(names.map { serviceUnit($0, "exec sleep infinity") })
            try await manager.daemonReload()
            #expect(try await manager.installedUnitFiles(prefix: "rt-life-").map(\.name) == names)

            let changes = await StreamRecorder.recording(try await manager.stateChanges())
            try await manager.start(names)
            // Signalled, not polled: the recorder only sees what systemd sent.
            try await changes.wait(for: "all three running") { seen in
                names.allSatisfy { name in seen.contains { $0.unit == name && $0.subState == "running" } }
            }

            for name in names {
                let properties = try await manager.properties(of: name)
                #expect(properties.activeState == .active)
                #expect(properties.subState == "running")
                #expect(properties.loadState == "loaded")
                #expect(properties.mainPID > 0)
                #expect(properties.mainStartTimestamp > 0)
                #expect(properties.invocationID.count == 32)
                #expect(properties.fragmentPath == "/run/systemd/system/" + name)
            }
            let listed = try await manager.listUnits(matching: "rt-life-*.service")
            #expect(listed.map(\.name).sorted() == names)
            #expect(listed.allSatisfy { $0.activeState == .active && $0.objectPath.hasPrefix(UnitName.objectPathPrefix) })

            try await manager.stop(names)
            try await changes.wait(for: "all three stopped") { seen in
                names.allSatisfy { name in seen.contains { $0.unit == name && $0.activeState == .inactive } }
            }
            try await manager.remove(names)
            try await manager.daemonReload()
            #expect(try await manager.installedUnitFiles(prefix: "rt-life-").isEmpty)
            for name in names {
                #expect(try await manager.properties(of: name).loadState == "not-found")
                #expect(!FileManager.default.fileExists(atPath: manager.unitDirectory + "/" + name))
            }
            await manager.bus.close()
        }
    }
}
