import Foundation
import KubeletAPI
import Synchronization
import SystemkRuntime
import Testing

/// The real log source names a container's unit with `UnitNaming` and reads it through `ContainerLogs`.
@Suite("journal log source")
struct JournalContainerLogSourceTests {
    /// A systemd that knows one loaded unit that never ran, and records which units were asked for.
    final class OneUnitSystemd: SystemdManager {
        let known: String
        private let asked = Mutex<[String]>([])
        var askedUnits: [String] { asked.withLock { $0 } }
        init(known: String) { self.known = known }

        var unitDirectory: String { "/nonexistent" }
        func properties(of unit: String) async throws(SystemdError) -> UnitProperties {
            asked.withLock { $0.append(unit) }
            return UnitProperties(name: unit, activeState: .inactive, subState: "dead",
                                  loadState: unit == known ? "loaded" : "not-found")
        }
        func stateChanges() async throws(SystemdError) -> AsyncStream<UnitStateChange> { AsyncStream { $0.finish() } }
        func install(_ units: [UnitFileContents]) async throws(SystemdError) { throw .disconnected }
        func remove(_ units: [String]) async throws(SystemdError) { throw .disconnected }
        func installedUnitFiles(prefix: String) async throws(SystemdError) -> [UnitFileContents] { throw .disconnected }
        func daemonReload() async throws(SystemdError) { throw .disconnected }
        func start(_ units: [String]) async throws(SystemdError) { throw .disconnected }
        func stop(_ units: [String]) async throws(SystemdError) { throw .disconnected }
        func restart(_ units: [String]) async throws(SystemdError) { throw .disconnected }
        func resetFailed(_ units: [String]) async throws(SystemdError) { throw .disconnected }
        func kill(_ unit: String, signal: Int32) async throws(SystemdError) { throw .disconnected }
        func mask(_ units: [String]) async throws(SystemdError) { throw .disconnected }
        func unmask(_ units: [String]) async throws(SystemdError) { throw .disconnected }
        func listUnits(matching pattern: String) async throws(SystemdError) -> [UnitStatus] { throw .disconnected }
    }

    @Test func containersAreReadFromTheirUnits() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let systemd = OneUnitSystemd(known: "systemk.default.web.app.service")
        let journal = try await JournalReader.open(.directory(directory))
        let source = JournalContainerLogSource(ContainerLogs(systemd: systemd, journal: journal))

        await #expect(throws: ContainerLogError.notStarted(unit: "systemk.default.web.app.service")) {
            _ = try await source.logs(namespace: "default", pod: "web", container: "app", options: .init())
        }
        // Pod names may hold dots.
        await #expect(throws: ContainerLogError.unitNotFound(unit: "systemk.prod.web.v2.main.service")) {
            _ = try await source.logs(namespace: "prod", pod: "web.v2", container: "main", options: .init())
        }
        #expect(systemd.askedUnits == ["systemk.default.web.app.service", "systemk.prod.web.v2.main.service"])

        // Through the server: the kubelet's answer for a container that has not started.
        try await withKubelet(logs: source, pods: try await podStore(podJSON("web"))) { kubelet in
            let answer = try await kubelet.get("/containerLogs/default/web/app")
            #expect(answer.status == 400)
            #expect(answer.body == #"container "app" in pod "web" is waiting to start: ContainerCreating"#)
        }
        await journal.close()
    }
}
