import KubeClient
import PodCompiler

/// One container's status from its unit's properties, following the kubelet
/// (`convertToAPIContainerStatuses`, the prober's ready and started). docs/status-mapping.md has
/// the table.
enum ContainerStateMapping {
    static let crashLoopBackOff = "CrashLoopBackOff"

    static func status(
        unit: ObservedUnit, section: KubernetesUnitSection, podHasInitContainers: Bool
    ) -> ContainerStatus {
        let p = unit.properties
        // A container is one run of the unit: its ID changes with each (re)start, as the kubelet's does.
        let containerID = containerID(p)
        let pending = ContainerState.waiting(podHasInitContainers ? "PodInitializing" : "ContainerCreating")
        let backOff = ContainerState.waiting(
            crashLoopBackOff,
            "back-off restarting failed container=\(section.container) pod=\(section.pod)_\(section.namespace)(\(section.podUID))")
        var state: ContainerState
        var lastState = unit.lastTermination.map { ContainerState(terminated: $0) } ?? ContainerState()

        /// The runtime starts a failed init container again (its unit has `Restart=no`), unless
        /// the pod's policy is Never: in between it is backing off, as with the kubelet.
        let retriedByRuntime = section.role == .initContainer && section.restartPolicy != .never

        switch p.loadState {
        case "loaded":
            let hasRun = p.mainStartTimestamp > 0 || p.mainExitCode != 0
            let mainEnded = p.mainPID == 0 && (p.mainExitTimestamp > 0 || p.mainExitCode != 0)
            switch p.activeState {
            case .active, .reloading:
                if p.subState == "exited" || mainEnded {
                    state = ContainerState(terminated: terminated(p, containerID: containerID))
                } else {
                    state = running(p)
                }
            case .activating where ["auto-restart", "auto-restart-queued"].contains(p.subState):
                state = backOff
                lastState = ContainerState(terminated: terminated(p, containerID: containerID))
            case .inactive where p.subState.hasSuffix("-before-auto-restart"),
                .failed where p.subState.hasSuffix("-before-auto-restart"):
                state = backOff
                lastState = ContainerState(terminated: terminated(p, containerID: containerID))
            case .inactive, .failed:
                let ended: ContainerState.Terminated
                if hasRun {
                    ended = terminated(p, containerID: containerID)
                } else if p.activeState == .failed {
                    ended = ContainerState.Terminated(
                        exitCode: 128, reason: "StartError", message: "systemd could not start the unit (Result=\(p.result))",
                        containerID: containerID)
                } else {
                    state = pending
                    break
                }
                if p.activeState == .failed && retriedByRuntime {
                    state = backOff
                    lastState = ContainerState(terminated: ended)
                } else {
                    state = ContainerState(terminated: ended)
                }
            case .deactivating where p.mainPID == 0 && hasRun:
                state = ContainerState(terminated: terminated(p, containerID: containerID))
            default:
                // activating (start-pre, start, start-post, condition), deactivating, maintenance, ...
                state = p.mainPID > 0 ? running(p) : pending
            }
        case "masked":
            state = .waiting("CreateContainerError", "the unit \(unit.name) is masked")
        case "bad-setting", "error":
            state = .waiting("CreateContainerConfigError", "systemd refused the unit file (LoadState=\(p.loadState))")
        default:
            state = ContainerState(waiting: ContainerState.Waiting(reason: pending.waiting?.reason, message: "systemd has not loaded the unit (LoadState=\(p.loadState))"))
        }

        let isRunning = state.running != nil
        // systemd's own "started": the unit is active (Type=exec: the command was executed; Type=notify:
        // it sent READY=1; Type=forking: the parent exited). Until then, and while it stops, an app or
        // sidecar container whose process runs is running, but neither started nor ready. (An init
        // container is a Type=oneshot unit: activating for as long as it runs.)
        let unitStarted = section.role == .initContainer || p.activeState == .active || p.activeState == .reloading
        let started = isRunning && unitStarted && (unit.started ?? true)
        let ready: Bool
        if section.role == .initContainer {
            ready = state.terminated?.exitCode == 0
        } else {
            ready = started && (unit.ready ?? true)
        }
        return ContainerStatus(
            name: section.container, state: state, lastState: lastState, ready: ready, started: started,
            restartCount: Int(p.restarts) + Int(unit.additionalRestarts), image: section.image, containerID: containerID)
    }

    /// `systemd://` and the run's `InvocationID`; nil before the unit first ran.
    static func containerID(_ p: UnitProperties) -> String? {
        p.invocationID.isEmpty ? nil : "systemd://" + p.invocationID
    }

    static func running(_ p: UnitProperties) -> ContainerState {
        ContainerState(running: ContainerState.Running(startedAt: KubernetesTime.timestamp(microseconds: p.mainStartTimestamp)))
    }

    /// How the last main process ended: an exit status as is, a signal as 128 + its number.
    static func terminated(_ p: UnitProperties, containerID: String?) -> ContainerState.Terminated {
        let startedAt = KubernetesTime.timestamp(microseconds: p.mainStartTimestamp)
        let finishedAt = KubernetesTime.timestamp(microseconds: p.mainExitTimestamp)
        let exitCode: Int32
        var signal: Int32? = nil
        switch p.mainExitCode {
        case ExecMainCode.exited:
            exitCode = p.mainExitStatus
        case ExecMainCode.killed, ExecMainCode.dumped:
            signal = p.mainExitStatus
            exitCode = 128 &+ p.mainExitStatus
        default:
            return ContainerState.Terminated(
                exitCode: 137, reason: "ContainerStatusUnknown", message: "systemd did not record how the process ended (Result=\(p.result))",
                startedAt: startedAt, finishedAt: finishedAt, containerID: containerID)
        }
        let reason = p.result == "oom-kill" ? "OOMKilled" : exitCode == 0 ? "Completed" : "Error"
        return ContainerState.Terminated(
            exitCode: exitCode, signal: signal, reason: reason, message: message(p), startedAt: startedAt, finishedAt: finishedAt,
            containerID: containerID)
    }

    /// What systemd knows beyond the exit status, for a person.
    static func message(_ p: UnitProperties) -> String? {
        if p.mainExitCode == ExecMainCode.exited, let name = systemdExitStatus[p.mainExitStatus] {
            return "exit status \(p.mainExitStatus) is systemd's \(name): it could not set up or run the process"
        }
        switch p.result {
        case "timeout": return "systemd stopped it after a timeout (Result=timeout)"
        case "watchdog": return "its watchdog timed out (Result=watchdog)"
        case "start-limit-hit": return "systemd stopped restarting it (Result=start-limit-hit)"
        case "resources": return "systemd could not set up its resources (Result=resources)"
        case "protocol": return "it did not follow its service type's protocol (Result=protocol)"
        case "core-dump": return "it dumped core"
        default: return nil
        }
    }

    /// systemd.exec(5), "Process exit codes": statuses systemd itself uses when it cannot run the
    /// process. A program exiting with one of these numbers itself is reported the same way.
    static let systemdExitStatus: [Int32: String] = [
        200: "CHDIR", 201: "NICE", 202: "FDS", 203: "EXEC", 204: "MEMORY", 205: "LIMITS", 206: "OOM_ADJUST", 207: "SIGNAL_MASK",
        208: "STDIN", 209: "STDOUT", 210: "CHROOT", 211: "IOPRIO", 212: "TIMERSLACK", 213: "SECUREBITS", 214: "SETSCHEDULER",
        215: "CPUAFFINITY", 216: "GROUP", 217: "USER", 218: "CAPABILITIES", 219: "CGROUP", 220: "SETSID", 221: "CONFIRM",
        222: "STDERR", 224: "PAM", 225: "NETWORK", 226: "NAMESPACE", 227: "NO_NEW_PRIVILEGES", 228: "SECCOMP",
        229: "SELINUX_CONTEXT", 230: "PERSONALITY", 231: "APPARMOR_PROFILE", 232: "ADDRESS_FAMILIES", 233: "RUNTIME_DIRECTORY",
        235: "CHOWN", 236: "SMACK_PROCESS_LABEL", 237: "KEYRING", 238: "STATE_DIRECTORY", 239: "CACHE_DIRECTORY",
        240: "LOGS_DIRECTORY", 241: "CONFIGURATION_DIRECTORY", 242: "NUMA_POLICY", 243: "CREDENTIALS", 245: "BPF",
    ]
}
