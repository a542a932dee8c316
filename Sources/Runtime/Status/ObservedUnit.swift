import KubeClient
/// One systemk unit as observed: its name, its unit file, its properties (`UnitProperties` from
/// the systemd layer: `ActiveState`, `SubState`, `LoadState`, `Result`, `NRestarts`,
/// `ExecMain*`, `InvocationID`), and what the runtime knows beyond systemd.
public struct ObservedUnit: Sendable, Equatable {
    /// The unit name, `systemk.<namespace>.<pod>.<container>.service`.
    public var name: String
    /// The unit file's text, whose `[X-Kubernetes]` section says which pod and container it is;
    /// nil when it could not be read.
    public var unitFile: String?
    public var properties: UnitProperties
    /// The prober's results; nil means "no probe": ready and started follow running.
    public var ready: Bool?
    public var started: Bool?
    /// How the previous run ended, when the runtime remembers it: systemd forgets it when the
    /// service starts again, so it is `lastState` only when the caller provides it (or while the
    /// service waits to restart, when it is still in the properties).
    public var lastTermination: ContainerState.Terminated?
    /// Restarts the runtime made itself (an init container it started again), added to `NRestarts`.
    public var additionalRestarts: Int32

    public init(
        name: String, unitFile: String?, properties: UnitProperties, ready: Bool? = nil, started: Bool? = nil,
        lastTermination: ContainerState.Terminated? = nil, additionalRestarts: Int32 = 0
    ) {
        self.name = name
        self.unitFile = unitFile
        self.properties = properties
        self.ready = ready
        self.started = started
        self.lastTermination = lastTermination
        self.additionalRestarts = additionalRestarts
    }
}

/// `ExecMainCode`: the `si_code` of `waitid(2)` for the main process.
enum ExecMainCode {
    static let exited: Int32 = 1
    static let killed: Int32 = 2
    static let dumped: Int32 = 3
}
