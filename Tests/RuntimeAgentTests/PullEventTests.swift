import Foundation
import PodCompiler
import Synchronization
import Testing

@testable import SystemkRuntime

/// Pulling and Pulled, as `kubectl describe pod` shows them: a package installed for the pod says so
/// (before and after the install); a container whose image was already on the node says that instead,
/// before its Created.
@Suite struct PullEventTests {
    /// Installs `uptimed` (once), knows nothing else.
    final class Packages: PackageUnitSource {
        let installs = Mutex(0)
        func packageUnit(for image: ImageReference, installing: @Sendable () async -> Void) async throws -> PackageUnit? {
            guard image.packageName == "uptimed" else { return nil }
            if installs.withLock({ $0 }) == 0 { await installing() }
            installs.withLock { $0 += 1 }
            let unit = try UnitFile.parse("[Unit]\nDescription=uptimed\n[Service]\nExecStart=/usr/sbin/uptimed -f\n", fileName: "uptimed.service")
            return PackageUnit(path: "/usr/lib/systemd/system/uptimed.service", unit: unit)
        }
    }

    final class Events: PodEventSink {
        let recorded = Mutex<[PodEvent]>([])
        func record(_ event: PodEvent) async { recorded.withLock { $0.append(event) } }
        func forget(podUID: String) async {}
        var lines: [String] {
            recorded.withLock { $0.map { "\($0.fieldPath ?? "-") \($0.reason): \($0.message)" } }
        }
    }

    static let pod = """
        apiVersion: v1
        kind: Pod
        metadata: {name: web, namespace: default, uid: uid-1}
        spec:
          automountServiceAccountToken: false
          containers:
          - {name: up, image: uptimed}
          - {name: sh, image: /bin/sleep, args: [infinity]}
        """

    @Test func anInstallIsPullingThenPulledAndAnImageThereIsAlreadyPresent() async throws {
        let state = "/run/systemk-pull-events-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: state) }
        let systemd = StatusFlushOrderTests.SlowFirstRead()
        systemd.state.withLock { $0.active = true }
        let events = Events()
        let runner = PodRunner(
            node: NodeFacts(nodeName: "node-1", stateDirectory: state), systemd: systemd,
            reconciler: PodReconciler(systemd: systemd, materializer: PlanMaterializer(stateDirectory: state), log: { _ in }),
            packages: Packages(), events: events, log: { _ in }, onStatus: { _ in })
        var set = ManifestSet()
        try set.add(Array(Self.pod.utf8), file: "pod.yaml")
        _ = try await runner.run(set.pods.map { PodRequest(entry: $0) })
        for _ in 0..<200 where !events.lines.contains(where: { $0.contains("Started") && $0.contains("{sh}") }) {
            try await Task.sleep(for: .milliseconds(20))
        }
        let lines = events.lines
        #expect(lines.filter { $0.contains("{up}") }.map { $0.replacing(/in [0-9.]+s/, with: "in Ns") } == [
            #"spec.containers{up} Pulling: Pulling image "uptimed""#,
            #"spec.containers{up} Pulled: Successfully pulled image "uptimed" in Ns (package uptimed installed)"#,
            "spec.containers{up} Created: Created container up",
            "spec.containers{up} Started: Started container up",
        ], "\(lines)")
        #expect(lines.filter { $0.contains("{sh}") } == [
            #"spec.containers{sh} Pulled: Container image "/bin/sleep" already present on machine"#,
            "spec.containers{sh} Created: Created container sh",
            "spec.containers{sh} Started: Started container sh",
        ], "\(lines)")
    }
}
