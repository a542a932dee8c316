/// A pod's status in the Kubernetes API's JSON shape (`core/v1 PodStatus`): encode it and send it
/// as the pod's `status`. Optional fields that are nil are left out; times are RFC 3339 strings in
/// UTC, second precision, as `metav1.Time` writes them.
public struct PodStatus: Sendable, Equatable, Codable {
    /// `Pending`, `Running`, `Succeeded` or `Failed`.
    public var phase: PodPhase
    /// `Initialized`, `Ready`, `ContainersReady`, `PodScheduled`; `lastTransitionTime` is the
    /// caller's to fill (it needs the previous status and a clock).
    public var conditions: [PodCondition]
    public var message: String?
    public var reason: String?
    public var hostIP: String?
    public var hostIPs: [PodIP]?
    public var podIP: String?
    public var podIPs: [PodIP]?
    public var startTime: String?
    public var qosClass: String?
    /// Init containers and sidecars, in the pod's order.
    public var initContainerStatuses: [ContainerStatus]?
    /// App containers, sorted by name as the kubelet sorts them.
    public var containerStatuses: [ContainerStatus]

    public init(phase: PodPhase, conditions: [PodCondition], initContainerStatuses: [ContainerStatus]?, containerStatuses: [ContainerStatus]) {
        self.phase = phase
        self.conditions = conditions
        self.initContainerStatuses = initContainerStatuses
        self.containerStatuses = containerStatuses
    }
}

/// `status.phase`.
public enum PodPhase: String, Sendable, Equatable, Codable {
    case pending = "Pending"
    case running = "Running"
    case succeeded = "Succeeded"
    case failed = "Failed"
}

/// An address in `hostIPs` or `podIPs`.
public struct PodIP: Sendable, Equatable, Codable {
    public var ip: String
    public init(ip: String) { self.ip = ip }
}

/// One entry of `status.conditions`.
public struct PodCondition: Sendable, Equatable, Codable {
    /// `Initialized`, `Ready`, `ContainersReady`, `PodScheduled`.
    public var type: String
    /// `True`, `False` or `Unknown`.
    public var status: String
    public var lastProbeTime: String?
    public var lastTransitionTime: String?
    public var reason: String?
    public var message: String?

    public init(type: String, status: Bool, reason: String? = nil, message: String? = nil) {
        self.type = type
        self.status = status ? "True" : "False"
        self.reason = reason
        self.message = message
    }
}

/// One entry of `containerStatuses` or `initContainerStatuses`.
public struct ContainerStatus: Sendable, Equatable, Codable {
    public var name: String
    public var state: ContainerState
    /// The previous run, when known; `{}` otherwise, as the API writes it.
    public var lastState: ContainerState
    public var ready: Bool
    public var restartCount: Int32
    /// `image` as the pod wrote it.
    public var image: String
    /// What was installed for it (a package version), when the caller knows; empty otherwise.
    public var imageID: String
    /// `systemd://<unit>`.
    public var containerID: String?
    public var started: Bool?

    public init(
        name: String, state: ContainerState, lastState: ContainerState = ContainerState(), ready: Bool, restartCount: Int32,
        image: String, imageID: String = "", containerID: String?, started: Bool?
    ) {
        self.name = name
        self.state = state
        self.lastState = lastState
        self.ready = ready
        self.restartCount = restartCount
        self.image = image
        self.imageID = imageID
        self.containerID = containerID
        self.started = started
    }
}

/// At most one of its fields is set; none is `{}`.
public struct ContainerState: Sendable, Equatable, Codable {
    public var waiting: ContainerStateWaiting?
    public var running: ContainerStateRunning?
    public var terminated: ContainerStateTerminated?

    public init(waiting: ContainerStateWaiting? = nil, running: ContainerStateRunning? = nil, terminated: ContainerStateTerminated? = nil) {
        self.waiting = waiting
        self.running = running
        self.terminated = terminated
    }

    public static func waiting(_ reason: String?, _ message: String? = nil) -> ContainerState {
        ContainerState(waiting: ContainerStateWaiting(reason: reason, message: message))
    }
}

public struct ContainerStateWaiting: Sendable, Equatable, Codable {
    /// `ContainerCreating`, `PodInitializing`, `CrashLoopBackOff`, `CreateContainerConfigError`, ...
    public var reason: String?
    public var message: String?

    public init(reason: String? = nil, message: String? = nil) {
        self.reason = reason
        self.message = message
    }
}

public struct ContainerStateRunning: Sendable, Equatable, Codable {
    public var startedAt: String?

    public init(startedAt: String?) {
        self.startedAt = startedAt
    }
}

public struct ContainerStateTerminated: Sendable, Equatable, Codable {
    public var exitCode: Int32
    public var signal: Int32?
    /// `Completed`, `Error`, `OOMKilled`, `StartError`, `ContainerStatusUnknown`.
    public var reason: String?
    public var message: String?
    public var startedAt: String?
    public var finishedAt: String?
    public var containerID: String?

    public init(
        exitCode: Int32, signal: Int32? = nil, reason: String?, message: String? = nil, startedAt: String? = nil,
        finishedAt: String? = nil, containerID: String? = nil
    ) {
        self.exitCode = exitCode
        self.signal = signal
        self.reason = reason
        self.message = message
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.containerID = containerID
    }
}

/// `metav1.Time` text: RFC 3339 in UTC with whole seconds, from microseconds since the epoch.
public enum KubernetesTime {
    /// `2024-05-01T12:00:00Z`; nil for 0 (systemd's "never").
    public static func format(microseconds: UInt64) -> String? {
        guard microseconds > 0 else { return nil }
        let seconds = Int64(microseconds / 1_000_000)
        let days = seconds / 86_400
        let rest = seconds % 86_400
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        func two(_ n: Int64) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(year)-\(two(month))-\(two(day))T\(two(rest / 3600)):\(two(rest % 3600 / 60)):\(two(rest % 60))Z"
    }
}
