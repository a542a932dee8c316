import SystemdTestSupport
import Foundation
import Testing

@testable import SystemkRuntime

/// Start jobs that last (an init container runs as long as its job) do not hold back the others.
@Suite(.enabled(if: NamespacedSystemd.isAvailable, "needs root and a namespaced systemd"))
struct SlowJobsTests {
    @Test func theDefaultBoundDirectToSystemdQueuesAWholeBatch() {
        #expect(BusSystemdManager.defaultMaxJobsInFlight(for: .systemdPrivateSocket(path: "/run/systemd/private")) >= 1000)
        #expect(BusSystemdManager.defaultMaxJobsInFlight(for: .system) < 128, "the message bus allows 128 calls in flight")
    }

    @Test func unitsQueuedBehindSlowStartJobsStillStart() async throws {
        try await NamespacedSystemd.with { systemd in
            let endpoint = BusEndpoint.systemdPrivateSocket(path: "/run/systemd/private")
            let manager = BusSystemdManager(
                bus: try await systemd.connectBus(), unitDirectory: systemd.unitDirectory,
                maxJobsInFlight: BusSystemdManager.defaultMaxJobsInFlight(for: endpoint))
            let go = systemd.dataDirectory + "/go"
            // 80 oneshot units whose start jobs last until the test creates `go`, then 5 quick ones.
            let slow = (0..<80).map { "rt-slow-\($0).service" }
            let quick = (0..<5).map { "rt-quick-\($0).service" }
            try await manager.install(
                slow.map { serviceUnit($0, "while [ ! -e \(go) ]; do sleep 0.1; done", extra: "Type=oneshot") }
                    + quick.map { serviceUnit($0, "exec sleep infinity") })
            try await manager.daemonReload()
            let starting = Task { try await manager.start(slow + quick) }
            // The quick units run while every slow job is still waiting.
            let deadline = Date().addingTimeInterval(30)
            var active = 0
            while Date() < deadline {
                active = 0
                for unit in quick where try await manager.properties(of: unit).activeState == .active { active += 1 }
                if active == quick.count { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(active == quick.count, "units behind 80 slow start jobs did not start")
            #expect(try await manager.properties(of: slow[79]).activeState == .activating)
            #expect(FileManager.default.createFile(atPath: go, contents: nil))
            try await starting.value
        }
    }
}
