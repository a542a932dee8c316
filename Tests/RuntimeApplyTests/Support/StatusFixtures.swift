import Foundation
import KubeClient
import Testing

@testable import PodCompiler
@testable import SystemkRuntime

/// Units as the compiler writes them, and systemd properties for each state a unit can be in.
enum StatusFixtures {
    /// 2024-05-01T12:00:00Z in microseconds.
    static let t0: UInt64 = 1_714_564_800_000_000
    static let uid = "5d7d1c9e-1111-4a4a-8b8b-000000000001"

    /// The unit files of a pod compiled from YAML: `initContainers` and `containers` are
    /// `name` or `name:sidecar` entries.
    static func units(
        initContainers: [String] = [], containers: [String] = ["web"], restartPolicy: String = "Always", pod: String = "shop",
        uid: String = uid
    ) throws -> [String: PlannedUnit] {
        func container(_ spec: String) -> String {
            let parts = spec.split(separator: ":")
            let sidecar = parts.count > 1 ? ", restartPolicy: Always" : ""
            return "    - {name: \(parts[0]), image: /bin/true\(sidecar)}\n"
        }
        var yaml = """
            apiVersion: v1
            kind: Pod
            metadata: {name: \(pod), namespace: default, uid: \(uid)}
            spec:
              restartPolicy: \(restartPolicy)
              automountServiceAccountToken: false

            """
        if !initContainers.isEmpty { yaml += "  initContainers:\n" + initContainers.map(container).joined() }
        yaml += "  containers:\n" + containers.map(container).joined()
        var set = ManifestSet()
        try set.add(Array(yaml.utf8), file: "pod.yaml")
        let entry = try #require(set.pods.first)
        let plan = try PodCompiler.compile(CompileInput(pod: entry.pod, source: entry.source, node: NodeFacts(serviceAccountTokens: false)))
        return Dictionary(uniqueKeysWithValues: plan.units.map { ($0.container, $0) })
    }

    static func observe(
        _ unit: PlannedUnit, _ properties: UnitProperties, ready: Bool? = nil, started: Bool? = nil,
        lastTermination: ContainerState.Terminated? = nil
    ) -> ObservedUnit {
        var properties = properties
        properties.name = unit.name
        return ObservedUnit(
            name: unit.name, unitFile: unit.contents, properties: properties, ready: ready, started: started,
            lastTermination: lastTermination)
    }

    // MARK: systemd states

    /// `UnitProperties` as the systemd layer reads them, named as systemd names them.
    static func props(
        activeState: String, subState: String, loadState: String = "loaded", result: String = "success", nRestarts: UInt32 = 0,
        execMainPID: UInt32 = 0, execMainCode: Int32 = 0, execMainStatus: Int32 = 0, execMainStartTimestamp: UInt64 = 0,
        execMainExitTimestamp: UInt64 = 0, invocationID: String = ""
    ) -> UnitProperties {
        UnitProperties(
            name: "", activeState: ActiveState(activeState), subState: subState, loadState: loadState, result: result,
            restarts: nRestarts, mainPID: execMainPID, mainExitCode: execMainCode, mainExitStatus: execMainStatus,
            mainStartTimestamp: execMainStartTimestamp, mainExitTimestamp: execMainExitTimestamp, invocationID: invocationID)
    }

    static let exited: Int32 = 1
    static let killed: Int32 = 2
    static let dumped: Int32 = 3

    /// The `InvocationID` of the fixtures' run (every unit that ran has one).
    static let invocation = "0123456789abcdef0123456789abcdef"

    static func running(restarts: UInt32 = 0) -> UnitProperties {
        props(
            activeState: "active", subState: "running", nRestarts: restarts, execMainPID: 4242, execMainStartTimestamp: t0,
            invocationID: invocation)
    }

    /// The main process exited with `status` and the unit waits `RestartSec=` to start it again.
    static func autoRestart(exit status: Int32, restarts: UInt32 = 0) -> UnitProperties {
        props(
            activeState: "activating", subState: "auto-restart", result: status == 0 ? "success" : "exit-code", nRestarts: restarts,
            execMainCode: exited, execMainStatus: status, execMainStartTimestamp: t0,
            execMainExitTimestamp: t0 + 5_000_000, invocationID: invocation)
    }

    /// The unit stopped for good (no restart) after its main process exited with `status`.
    static func exited(_ status: Int32) -> UnitProperties {
        props(
            activeState: status == 0 ? "inactive" : "failed", subState: status == 0 ? "dead" : "failed",
            result: status == 0 ? "success" : "exit-code", execMainCode: exited, execMainStatus: status,
            execMainStartTimestamp: t0, execMainExitTimestamp: t0 + 5_000_000,
            invocationID: invocation)
    }

    /// The unit stopped after a signal killed its main process.
    static func killed(_ signal: Int32, result: String = "signal", dumped: Bool = false) -> UnitProperties {
        props(
            activeState: "failed", subState: "failed", result: result,
            execMainCode: dumped ? Self.dumped : Self.killed, execMainStatus: signal, execMainStartTimestamp: t0,
            execMainExitTimestamp: t0 + 5_000_000, invocationID: invocation)
    }

    /// An init container (`Type=oneshot`, `RemainAfterExit=yes`) that completed.
    static let initCompleted = props(
        activeState: "active", subState: "exited", execMainCode: exited, execMainStatus: 0, execMainStartTimestamp: t0,
        execMainExitTimestamp: t0 + 2_000_000, invocationID: invocation)

    /// An init container running its command.
    static let initRunning = props(
        activeState: "activating", subState: "start", execMainPID: 77, execMainStartTimestamp: t0, invocationID: invocation)

    /// Loaded, never started.
    static let notStarted = props(
        activeState: "inactive", subState: "dead")
}
