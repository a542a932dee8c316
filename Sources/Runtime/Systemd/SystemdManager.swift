/// What the runtime needs from systemd: unit files in, jobs run, state out.
///
/// One real implementation, `BusSystemdManager`, talks to systemd over sd-bus; tests of the layers above
/// use doubles. Every method that takes many units handles them in one go: systemd's costs grow with each
/// `daemonReload()` (0.24 s at 100 running units, 2.3 s at 1000), so callers install all files first
/// and reload once.
public protocol SystemdManager: Sendable {
    /// The directory unit files are installed into: `/run/systemd/system` for the system manager,
    /// `$XDG_RUNTIME_DIR/systemd/user` for a user manager.
    var unitDirectory: String { get }

    /// Writes unit files into `unitDirectory`, each atomically (temporary file, then rename). Takes effect
    /// at the next `daemonReload()`.
    func install(_ units: [UnitFileContents]) async throws(SystemdError)
    /// Removes unit files (and their `NAME.d` drop-in directories) from `unitDirectory`; missing ones are
    /// fine. Takes effect at the next `daemonReload()`.
    func remove(_ units: [String]) async throws(SystemdError)
    /// The unit files in `unitDirectory` whose names start with `prefix`, sorted by name (regular files
    /// only: runtime masks and temporary files are left out).
    func installedUnitFiles(prefix: String) async throws(SystemdError) -> [UnitFileContents]
    /// Makes systemd reread all unit files (`Reload`); returns when it has.
    func daemonReload() async throws(SystemdError)

    /// Starts units (`StartUnit`, mode `replace`) and returns when all their jobs are done. Throws
    /// `jobsFailed` naming each unit whose job could not be queued or did not end `done`.
    func start(_ units: [String]) async throws(SystemdError)
    /// Stops units; units that are not loaded count as stopped.
    func stop(_ units: [String]) async throws(SystemdError)
    /// Restarts units (starting those that are not running).
    func restart(_ units: [String]) async throws(SystemdError)
    /// Clears the failed state and restart counters of units (`ResetFailedUnit`).
    func resetFailed(_ units: [String]) async throws(SystemdError)
    /// Sends `signal` to every process of a unit (`KillUnit`, whom `all`); the unit's own stop logic
    /// (ExecStop=, TimeoutStopSec=) is not involved.
    func kill(_ unit: String, signal: Int32) async throws(SystemdError)

    /// Masks units until the next boot (a runtime mask: a link to /dev/null in the runtime unit
    /// directory). Takes effect at the next `daemonReload()`.
    func mask(_ units: [String]) async throws(SystemdError)
    /// Removes runtime masks. Takes effect at the next `daemonReload()`.
    func unmask(_ units: [String]) async throws(SystemdError)

    /// The loaded units whose names match a shell glob such as `systemk-*.service`.
    func listUnits(matching pattern: String) async throws(SystemdError) -> [UnitStatus]
    /// The state of one unit, loading it if needed (a unit with no file has `loadState` `not-found`).
    func properties(of unit: String) async throws(SystemdError) -> UnitProperties
    /// What status needs of each of `units`: state, sub-state, load state, result, restarts, the main
    /// process's last run, `InvocationID`, the fragment path; not the figures systemd does not signal
    /// (memory, CPU, control group: nil or empty). A connection that follows systemd's signals answers
    /// from them, reading only units it does not follow yet. Units systemd cannot answer for are left out.
    func states(of units: Set<String>) async -> [String: UnitProperties]
    /// Changes of units' states as systemd signals them (no polling). Subscribed when this returns, so
    /// no change after that is missed; the stream ends when the connection does.
    func stateChanges() async throws(SystemdError) -> AsyncStream<UnitStateChange>
}

/// A unit file to install: its name (`foo.service`) and its whole text.
public struct UnitFileContents: Sendable, Hashable {
    public var name: String
    public var contents: String

    public init(name: String, contents: String) {
        self.name = name
        self.contents = contents
    }
}

/// A unit's `ActiveState`.
public enum ActiveState: Sendable, Hashable, CustomStringConvertible {
    case active, reloading, inactive, failed, activating, deactivating, maintenance
    /// A state this code does not know yet.
    case other(String)

    public init(_ text: String) {
        switch text {
        case "active": self = .active
        case "reloading": self = .reloading
        case "inactive": self = .inactive
        case "failed": self = .failed
        case "activating": self = .activating
        case "deactivating": self = .deactivating
        case "maintenance": self = .maintenance
        default: self = .other(text)
        }
    }

    public var description: String {
        switch self {
        case .active: "active"
        case .reloading: "reloading"
        case .inactive: "inactive"
        case .failed: "failed"
        case .activating: "activating"
        case .deactivating: "deactivating"
        case .maintenance: "maintenance"
        case .other(let text): text
        }
    }
}

/// One row of `ListUnitsByPatterns`.
public struct UnitStatus: Sendable, Hashable {
    public var name: String
    public var description: String
    /// `loaded`, `not-found`, `masked`, `error` ...
    public var loadState: String
    public var activeState: ActiveState
    /// The type-specific state: `running`, `exited`, `auto-restart`, `dead` ...
    public var subState: String
    public var objectPath: String

    public init(
        name: String, description: String, loadState: String, activeState: ActiveState, subState: String,
        objectPath: String
    ) {
        self.name = name
        self.description = description
        self.loadState = loadState
        self.activeState = activeState
        self.subState = subState
        self.objectPath = objectPath
    }
}

/// A unit's state, from `org.freedesktop.systemd1.Unit` and (for services) `...Service` properties.
/// Service-only values are zero or nil for other unit types.
public struct UnitProperties: Sendable, Hashable {
    public var name: String
    public var activeState: ActiveState
    public var subState: String
    public var loadState: String
    /// The service's `Result`: `success`, `exit-code`, `signal`, `core-dump`, `timeout`, `start-limit-hit` ...
    public var result: String
    /// How often systemd restarted the service automatically (`NRestarts`).
    public var restarts: UInt32
    /// `ExecMainPID`: the main process of the current or, once it ended, the last run; 0 before any.
    public var mainPID: UInt32
    /// `ExecMainCode`: how the main process ended, as a `si_code` (1 exited, 2 killed, 3 dumped core).
    public var mainExitCode: Int32
    /// `ExecMainStatus`: its exit status, or the signal number when killed.
    public var mainExitStatus: Int32
    /// `ExecMainStartTimestamp`, µs since the epoch; 0 when it never started.
    public var mainStartTimestamp: UInt64
    /// `ExecMainExitTimestamp`, µs since the epoch; 0 when it has not exited.
    public var mainExitTimestamp: UInt64
    /// `InvocationID` as 32 hex digits; empty when the unit never ran.
    public var invocationID: String
    /// `MemoryCurrent` in bytes; nil when not known (no memory accounting, not running).
    public var memoryCurrent: UInt64?
    /// `CPUUsageNSec`; nil when not known.
    public var cpuUsageNanoseconds: UInt64?
    /// The unit file systemd loaded; empty when none.
    public var fragmentPath: String
    /// `ControlGroup`: the unit's cgroup below the cgroup root (`/systemk.slice/NAME`); empty when none.
    public var controlGroup: String

    public init(
        name: String, activeState: ActiveState, subState: String, loadState: String, result: String = "",
        restarts: UInt32 = 0, mainPID: UInt32 = 0, mainExitCode: Int32 = 0, mainExitStatus: Int32 = 0,
        mainStartTimestamp: UInt64 = 0, mainExitTimestamp: UInt64 = 0, invocationID: String = "",
        memoryCurrent: UInt64? = nil, cpuUsageNanoseconds: UInt64? = nil, fragmentPath: String = "",
        controlGroup: String = ""
    ) {
        self.name = name
        self.activeState = activeState
        self.subState = subState
        self.loadState = loadState
        self.result = result
        self.restarts = restarts
        self.mainPID = mainPID
        self.mainExitCode = mainExitCode
        self.mainExitStatus = mainExitStatus
        self.mainStartTimestamp = mainStartTimestamp
        self.mainExitTimestamp = mainExitTimestamp
        self.invocationID = invocationID
        self.memoryCurrent = memoryCurrent
        self.cpuUsageNanoseconds = cpuUsageNanoseconds
        self.fragmentPath = fragmentPath
        self.controlGroup = controlGroup
    }
}

/// A change of one unit's state, as signalled by systemd. Only what the signal carried is set.
public struct UnitStateChange: Sendable, Hashable {
    public var unit: String
    public var activeState: ActiveState?
    public var subState: String?
    public var loadState: String?
    /// The service's `Result`, when the signal was about the Service interface and carried it.
    public var result: String?
    /// `InvocationID` as hex, when carried (a new one at each start).
    public var invocationID: String?

    public init(
        unit: String, activeState: ActiveState? = nil, subState: String? = nil, loadState: String? = nil,
        result: String? = nil, invocationID: String? = nil
    ) {
        self.unit = unit
        self.activeState = activeState
        self.subState = subState
        self.loadState = loadState
        self.result = result
        self.invocationID = invocationID
    }
}

extension SystemdManager {
    /// The properties of `units`, asked for concurrently (the bus pipelines the calls: one at a time,
    /// 200 pods' units would wait for a round trip each). Units systemd cannot answer for are left out.
    public func properties(of units: Set<String>, concurrency: Int = 32) async -> [String: UnitProperties] {
        await Self.concurrently(units, concurrency: concurrency) { unit in try? await self.properties(of: unit) }
    }

    /// Read afresh, as `properties(of:)` (an implementation that follows systemd's signals answers from them).
    public func states(of units: Set<String>) async -> [String: UnitProperties] {
        await properties(of: units)
    }

    /// `read` for each of `units`, at most `concurrency` at a time; nil answers are left out.
    static func concurrently(
        _ units: Set<String>, concurrency: Int = 32, _ read: @escaping @Sendable (String) async -> UnitProperties?
    ) async -> [String: UnitProperties] {
        await withTaskGroup(of: (String, UnitProperties?).self) { group in
            var out: [String: UnitProperties] = [:]
            var inFlight = 0
            for unit in units.sorted() {
                if inFlight == concurrency, let (name, value) = await group.next() {
                    out[name] = value
                    inFlight -= 1
                }
                inFlight += 1
                group.addTask { (unit, await read(unit)) }
            }
            for await (name, value) in group { out[name] = value }
            return out
        }
    }
}
