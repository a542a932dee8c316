import KubeClient
/// A pod's phase and conditions from its containers' statuses, as the kubelet computes them
/// (`getPhase` in pkg/kubelet/kubelet_pods.go, pkg/kubelet/status/generate.go), with the pod's
/// containers being the units observed for it.
enum PodPhaseMapping {
    /// One container as the kubelet's pod spec would list it.
    struct Member {
        var status: ContainerStatus
        /// An init container with `restartPolicy: Always`.
        var isSidecar: Bool
    }

    static func phase(
        initContainers: [Member], containers: [ContainerStatus], restartPolicy: KubernetesUnitSection.RestartPolicy,
        podIsTerminal: Bool
    ) -> PodPhase {
        var pendingInitialization = 0
        var failedInitialization = 0
        for member in initContainers where !member.isSidecar {
            let s = member.status
            if s.state?.running != nil {
                pendingInitialization += 1
            } else if let terminated = s.state?.terminated {
                if terminated.exitCode != 0 { failedInitialization += 1 }
            } else if s.state?.waiting != nil, let last = s.lastState?.terminated {
                if last.exitCode != 0 { failedInitialization += 1 }
            } else {
                pendingInitialization += 1
            }
        }

        var running = 0
        var waiting = 0
        var stopped = 0
        var succeeded = 0
        for member in initContainers where member.isSidecar {
            let s = member.status
            if s.state?.running != nil {
                if s.started != true { pendingInitialization += 1 }
                running += 1
            } else if s.state?.terminated != nil {
                // Terminated sidecars do not count.
            } else if s.state?.waiting != nil, s.lastState?.terminated != nil {
                // Nor do sidecars waiting to restart.
            } else {
                pendingInitialization += 1
                waiting += 1
            }
        }
        for s in containers {
            if s.state?.running != nil {
                running += 1
            } else if let terminated = s.state?.terminated {
                stopped += 1
                if terminated.exitCode == 0 { succeeded += 1 }
            } else if s.state?.waiting != nil, s.lastState?.terminated != nil {
                stopped += 1
            } else {
                waiting += 1
            }
        }

        if failedInitialization > 0 && restartPolicy == .never { return .failed }
        if pendingInitialization > 0 && !hasAnyRegularContainerStarted(containers) { return .pending }
        if waiting > 0 { return .pending }
        if running > 0 { return .running }
        if stopped > 0 {
            if podIsTerminal { return stopped == succeeded ? .succeeded : .failed }
            if restartPolicy == .always { return .running }
            if stopped == succeeded { return .succeeded }
            if restartPolicy == .never { return .failed }
            return .running
        }
        return .pending
    }

    /// `Initialized`, `Ready`, `ContainersReady`, `PodScheduled`, in the kubelet's order.
    static func conditions(initContainers: [Member], containers: [ContainerStatus], phase: PodPhase) -> [PodCondition] {
        let containersReady = containersReadyCondition(initContainers: initContainers, containers: containers, phase: phase)
        var ready = containersReady
        ready.type = "Ready"
        return [
            initializedCondition(initContainers: initContainers, containers: containers, phase: phase), ready, containersReady,
            PodCondition(type: "PodScheduled", status: true),
        ]
    }

    static func initializedCondition(initContainers: [Member], containers: [ContainerStatus], phase: PodPhase) -> PodCondition {
        let incomplete = initContainers.filter { member in
            member.isSidecar ? member.status.started != true : !member.status.ready
        }.map(\.status.name)
        if phase == .succeeded { return PodCondition(type: "Initialized", status: true, reason: "PodCompleted") }
        if hasAnyRegularContainerStarted(containers) || incomplete.isEmpty { return PodCondition(type: "Initialized", status: true) }
        return PodCondition(
            type: "Initialized", status: false, reason: "ContainersNotInitialized",
            message: "containers with incomplete status: \(goList(incomplete))")
    }

    static func containersReadyCondition(initContainers: [Member], containers: [ContainerStatus], phase: PodPhase) -> PodCondition {
        if phase == .succeeded { return PodCondition(type: "ContainersReady", status: false, reason: "PodCompleted") }
        if phase == .failed { return PodCondition(type: "ContainersReady", status: false, reason: "PodFailed") }
        let unready = (initContainers.filter(\.isSidecar).map(\.status) + containers).filter { !$0.ready }.map(\.name)
        if unready.isEmpty { return PodCondition(type: "ContainersReady", status: true) }
        return PodCondition(
            type: "ContainersReady", status: false, reason: "ContainersNotReady", message: "containers with unready status: \(goList(unready))")
    }

    /// Running or terminated: the pod has been initialized before.
    static func hasAnyRegularContainerStarted(_ containers: [ContainerStatus]) -> Bool {
        containers.contains { $0.state?.running != nil || $0.state?.terminated != nil }
    }

    /// A list as Go's `%s` prints a `[]string`: `[a b]`.
    static func goList(_ names: [String]) -> String {
        "[" + names.joined(separator: " ") + "]"
    }
}
