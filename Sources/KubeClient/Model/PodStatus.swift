/// `Pod.status`, as the agent reports it.
public struct PodStatus: Codable, Sendable, Hashable {
    /// `Pending`, `Running`, `Succeeded`, `Failed` or `Unknown`.
    public var phase: String?
    public var conditions: [PodCondition]?
    public var message: String?
    public var reason: String?
    public var hostIP: String?
    public var hostIPs: [HostIP]?
    public var podIP: String?
    public var podIPs: [PodIP]?
    public var startTime: Timestamp?
    public var initContainerStatuses: [ContainerStatus]?
    public var containerStatuses: [ContainerStatus]?
    /// `Guaranteed`, `Burstable` or `BestEffort` (set by the server).
    public var qosClass: String?

    /// Creates a status.
    public init(
        phase: String? = nil, conditions: [PodCondition]? = nil, message: String? = nil, reason: String? = nil,
        hostIP: String? = nil, hostIPs: [HostIP]? = nil, podIP: String? = nil, podIPs: [PodIP]? = nil,
        startTime: Timestamp? = nil, initContainerStatuses: [ContainerStatus]? = nil,
        containerStatuses: [ContainerStatus]? = nil, qosClass: String? = nil
    ) {
        self.phase = phase
        self.conditions = conditions
        self.message = message
        self.reason = reason
        self.hostIP = hostIP
        self.hostIPs = hostIPs
        self.podIP = podIP
        self.podIPs = podIPs
        self.startTime = startTime
        self.initContainerStatuses = initContainerStatuses
        self.containerStatuses = containerStatuses
        self.qosClass = qosClass
    }

    /// The JSON keys this model writes: a status update replaces exactly these in the stored status and
    /// leaves any other key the server keeps there untouched.
    static let modelledKeys: Set<String> = [
        "phase", "conditions", "message", "reason", "hostIP", "hostIPs", "podIP", "podIPs", "startTime",
        "initContainerStatuses", "containerStatuses", "qosClass",
    ]
}

/// `{"ip": "10.0.0.1"}` in `status.hostIPs`.
public struct HostIP: Codable, Sendable, Hashable {
    public var ip: String
    /// Creates an entry.
    public init(ip: String) { self.ip = ip }
}

/// `{"ip": "10.0.0.1"}` in `status.podIPs`.
public struct PodIP: Codable, Sendable, Hashable {
    public var ip: String
    /// Creates an entry.
    public init(ip: String) { self.ip = ip }
}

/// A pod condition: `PodScheduled`, `Initialized`, `ContainersReady`, `Ready`, `PodReadyToStartContainers`.
public struct PodCondition: Codable, Sendable, Hashable {
    public var type: String
    /// `True`, `False` or `Unknown`.
    public var status: String
    public var lastProbeTime: Timestamp?
    public var lastTransitionTime: Timestamp?
    public var reason: String?
    public var message: String?

    /// Creates a condition.
    public init(
        type: String, status: String, lastTransitionTime: Timestamp? = nil, reason: String? = nil,
        message: String? = nil
    ) {
        self.type = type
        self.status = status
        self.lastTransitionTime = lastTransitionTime
        self.reason = reason
        self.message = message
    }
}

/// The status of one container.
public struct ContainerStatus: Codable, Sendable, Hashable {
    public var name: String
    public var state: ContainerState?
    public var lastState: ContainerState?
    public var ready: Bool
    public var started: Bool?
    public var restartCount: Int
    public var image: String
    public var imageID: String
    public var containerID: String?

    /// Creates a container status.
    public init(
        name: String, state: ContainerState? = nil, lastState: ContainerState? = nil, ready: Bool = false,
        started: Bool? = nil, restartCount: Int = 0, image: String = "", imageID: String = "",
        containerID: String? = nil
    ) {
        self.name = name
        self.state = state
        self.lastState = lastState
        self.ready = ready
        self.started = started
        self.restartCount = restartCount
        self.image = image
        self.imageID = imageID
        self.containerID = containerID
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        state = try c.decodeIfPresent(ContainerState.self, forKey: .state)
        lastState = try c.decodeIfPresent(ContainerState.self, forKey: .lastState)
        ready = try c.decodeIfPresent(Bool.self, forKey: .ready) ?? false
        started = try c.decodeIfPresent(Bool.self, forKey: .started)
        restartCount = try c.decodeIfPresent(Int.self, forKey: .restartCount) ?? 0
        image = try c.decodeIfPresent(String.self, forKey: .image) ?? ""
        imageID = try c.decodeIfPresent(String.self, forKey: .imageID) ?? ""
        containerID = try c.decodeIfPresent(String.self, forKey: .containerID)
    }
}

/// A container's state: at most one of waiting, running, terminated is set.
public struct ContainerState: Codable, Sendable, Hashable {
    public var waiting: Waiting?
    public var running: Running?
    public var terminated: Terminated?

    /// Creates a state.
    public init(waiting: Waiting? = nil, running: Running? = nil, terminated: Terminated? = nil) {
        self.waiting = waiting
        self.running = running
        self.terminated = terminated
    }

    /// Not running yet (or again): `ContainerCreating`, `CrashLoopBackOff`, ...
    public struct Waiting: Codable, Sendable, Hashable {
        public var reason: String?
        public var message: String?
        /// Creates a waiting state.
        public init(reason: String? = nil, message: String? = nil) {
            self.reason = reason
            self.message = message
        }
    }

    /// Running since `startedAt`.
    public struct Running: Codable, Sendable, Hashable {
        public var startedAt: Timestamp?
        /// Creates a running state.
        public init(startedAt: Timestamp? = nil) { self.startedAt = startedAt }
    }

    /// Ended with `exitCode` (or `signal`).
    public struct Terminated: Codable, Sendable, Hashable {
        public var exitCode: Int32
        public var signal: Int32?
        public var reason: String?
        public var message: String?
        public var startedAt: Timestamp?
        public var finishedAt: Timestamp?
        public var containerID: String?

        /// Creates a terminated state.
        public init(
            exitCode: Int32, signal: Int32? = nil, reason: String? = nil, message: String? = nil,
            startedAt: Timestamp? = nil, finishedAt: Timestamp? = nil, containerID: String? = nil
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
}
