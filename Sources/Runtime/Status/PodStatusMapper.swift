import KubeClient
import PodCompiler

/// The status of one pod, computed from its units.
public struct MappedPod: Sendable, Equatable {
    public var namespace: String
    public var name: String
    public var uid: String
    /// The pod's directory, from the units' `[X-Kubernetes]` section.
    public var podDirectory: String
    public var status: PodStatus
}

/// What `PodStatusMapper.map` found: a status per pod, and the units it could not attribute.
public struct PodStatusMapping: Sendable, Equatable {
    /// Sorted by namespace, name and UID.
    public var pods: [MappedPod]
    /// Units with the systemk prefix that could not be reported as a container, sorted by unit name.
    public var problems: [UnitProblem]
}

/// Maps systemd's view of systemk's units to Kubernetes pod statuses. Pure: no I/O, no clock; the
/// caller adds what only it knows (conditions' `lastTransitionTime`, `hostIP`, `podIP`,
/// `startTime`, `qosClass`) and keeps a terminal phase terminal, as the kubelet does.
/// docs/status-mapping.md describes the mapping.
public enum PodStatusMapper {
    /// Groups `units` into pods by the `PodUID` of their `[X-Kubernetes]` section and maps each pod.
    ///
    /// - Parameters:
    ///   - units: systemk's services (`systemk.*.service`), in any order; other units (such as
    ///     `systemk.slice`) are ignored.
    ///   - terminalPods: UIDs of pods being deleted: their stopped containers will not be restarted,
    ///     so the phase becomes Succeeded or Failed whatever the restart policy.
    public static func map(_ units: [ObservedUnit], terminalPods: Set<String> = []) -> PodStatusMapping {
        var problems: [UnitProblem] = []
        var pods: [String: [(unit: ObservedUnit, section: KubernetesUnitSection)]] = [:]
        for unit in units.sorted(by: { $0.name < $1.name }) where unit.name.hasPrefix(UnitNaming.prefix) && unit.name.hasSuffix(UnitNaming.suffix) {
            guard let text = unit.unitFile else {
                problems.append(UnitProblem(unit: unit.name, kind: .unitFileUnavailable))
                continue
            }
            switch KubernetesUnitSection.parse(unitName: unit.name, unitFileText: text) {
            case let .failure(problem):
                problems.append(problem)
            case let .success(section):
                if let problem = conflict(section, unit: unit.name, with: pods[section.podUID] ?? []) {
                    problems.append(problem)
                } else {
                    pods[section.podUID, default: []].append((unit, section))
                }
            }
        }
        let mapped = pods.values.map { members -> MappedPod in
            let first = members[0].section
            return MappedPod(
                namespace: first.namespace, name: first.pod, uid: first.podUID, podDirectory: first.podDirectory,
                status: status(of: members, podIsTerminal: terminalPods.contains(first.podUID)))
        }
        return PodStatusMapping(
            pods: mapped.sorted { ($0.namespace, $0.name, $0.uid) < ($1.namespace, $1.name, $1.uid) },
            problems: problems.sorted { $0.unit < $1.unit })
    }

    /// The status of one pod from the units known to belong to it (all with the same `PodUID`).
    static func status(of members: [(unit: ObservedUnit, section: KubernetesUnitSection)], podIsTerminal: Bool) -> PodStatus {
        let hasInit = members.contains { $0.section.role != .app }
        let inits = members.filter { $0.section.role != .app }
            .sorted { ($0.section.initIndex ?? 0, $0.section.container) < ($1.section.initIndex ?? 0, $1.section.container) }
            .map { member in
                PodPhaseMapping.Member(
                    status: ContainerStateMapping.status(unit: member.unit, section: member.section, podHasInitContainers: hasInit),
                    isSidecar: member.section.role == .sidecar)
            }
        let apps = members.filter { $0.section.role == .app }
            .map { ContainerStateMapping.status(unit: $0.unit, section: $0.section, podHasInitContainers: hasInit) }
            .sorted { $0.name < $1.name }
        let policy = members[0].section.restartPolicy
        let phase = PodPhaseMapping.phase(initContainers: inits, containers: apps, restartPolicy: policy, podIsTerminal: podIsTerminal)
        return PodStatus(
            phase: phase.rawValue, conditions: PodPhaseMapping.conditions(initContainers: inits, containers: apps, phase: phase),
            initContainerStatuses: inits.isEmpty ? nil : inits.map(\.status), containerStatuses: apps)
    }

    /// A unit that contradicts the pod's units already accepted.
    static func conflict(
        _ section: KubernetesUnitSection, unit: String, with members: [(unit: ObservedUnit, section: KubernetesUnitSection)]
    ) -> UnitProblem? {
        guard let first = members.first else { return nil }
        if let twin = members.first(where: { $0.section.container == section.container }) {
            return UnitProblem(unit: unit, kind: .duplicateContainer(otherUnit: twin.unit.name), podUID: section.podUID)
        }
        let checks: [(String, String, String)] = [
            ("Namespace", section.namespace, first.section.namespace), ("Pod", section.pod, first.section.pod),
            ("RestartPolicy", section.restartPolicy.rawValue, first.section.restartPolicy.rawValue),
            ("PodDirectory", section.podDirectory, first.section.podDirectory),
        ]
        for (key, mine, theirs) in checks where mine != theirs {
            return UnitProblem(unit: unit, kind: .conflictingPod(key: key, value: mine, otherUnit: first.unit.name), podUID: section.podUID)
        }
        if section.role != .app, let other = members.first(where: { $0.section.role != .app && $0.section.initIndex == section.initIndex }) {
            return UnitProblem(
                unit: unit, kind: .invalidValue(key: "InitIndex", value: String(section.initIndex ?? 0), expected: "unique (\(other.unit.name) has it)"),
                podUID: section.podUID)
        }
        return nil
    }
}
