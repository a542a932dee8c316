import Foundation
import PodCompiler
import Synchronization
import Testing

@testable import SystemkRuntime

/// Status flushes report in the order they read systemd: a flush whose reads are slow must not report
/// after a later one (the older status would be written last and stay, as seen in CI).
@Suite struct StatusFlushOrderTests {
    /// A systemd with one unit whose state the test sets; the first read of it is slow.
    final class SlowFirstRead: SystemdManager {
        let state = Mutex<(active: Bool, reads: Int)>((false, 0))
        var unitDirectory: String { "/nonexistent" }

        func properties(of unit: String) async throws(SystemdError) -> UnitProperties {
            let (active, read) = state.withLock { s in
                s.reads += 1
                return (s.active, s.reads)
            }
            if read == 1 { try? await Task.sleep(for: .milliseconds(400)) }
            return active
                ? UnitProperties(name: unit, activeState: .active, subState: "running", loadState: "loaded", mainPID: 42,
                                 mainStartTimestamp: 1_700_000_000_000_000, invocationID: "ab")
                : UnitProperties(name: unit, activeState: .activating, subState: "start", loadState: "loaded")
        }
        func stateChanges() async throws(SystemdError) -> AsyncStream<UnitStateChange> { AsyncStream { $0.finish() } }
        func install(_ units: [UnitFileContents]) async throws(SystemdError) {}
        func remove(_ units: [String]) async throws(SystemdError) {}
        func installedUnitFiles(prefix: String) async throws(SystemdError) -> [UnitFileContents] { [] }
        func daemonReload() async throws(SystemdError) {}
        func start(_ units: [String]) async throws(SystemdError) {}
        func stop(_ units: [String]) async throws(SystemdError) {}
        func restart(_ units: [String]) async throws(SystemdError) {}
        func resetFailed(_ units: [String]) async throws(SystemdError) {}
        func kill(_ unit: String, signal: Int32) async throws(SystemdError) {}
        func mask(_ units: [String]) async throws(SystemdError) {}
        func unmask(_ units: [String]) async throws(SystemdError) {}
        func listUnits(matching pattern: String) async throws(SystemdError) -> [UnitStatus] { [] }
    }

    static let unit = "systemk.default.web.app.service"
    static let unitFile = """
        [Service]
        ExecStart=/bin/sleep infinity

        [X-Kubernetes]
        PodUID=uid-1
        Namespace=default
        Pod=web
        Container=app
        ContainerRole=app
        Image=/bin/sleep
        RestartPolicy=Always
        PodDirectory=/var/lib/systemk/pods/uid-1
        """

    @Test func aSlowFlushDoesNotReportAfterALaterOne() async throws {
        let systemd = SlowFirstRead()
        let reports = Mutex<[String]>([])
        let runner = PodRunner(
            node: NodeFacts(nodeName: "node-1"), systemd: systemd,
            reconciler: PodReconciler(systemd: systemd, materializer: PlanMaterializer(stateDirectory: "/nonexistent"), log: { _ in }),
            packages: nil, log: { _ in },
            onStatus: { batch in reports.withLock { $0 += batch.map { $0.status.phase ?? "" } } })
        await runner.setUnitFile(Self.unit, Self.unitFile)
        // The first flush reads "activating" slowly; meanwhile the unit becomes active and is marked again.
        await runner.markDirty("default/web", units: [Self.unit])
        try await Task.sleep(for: .milliseconds(100))
        systemd.state.withLock { $0.active = true }
        await runner.markDirty("default/web", units: [Self.unit])
        for _ in 0..<100 where reports.withLock({ $0.count }) < 2 { try await Task.sleep(for: .milliseconds(20)) }
        try await Task.sleep(for: .milliseconds(300))
        // Under load both reads may see the unit active already; never may a stale Pending come last.
        let seen = reports.withLock { $0 }
        #expect(seen.last == "Running", "\(seen)")
        #expect(!seen.drop(while: { $0 != "Running" }).contains("Pending"), "\(seen)")
    }
}
