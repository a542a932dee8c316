import PodCompiler

/// What one probe of one container concludes, run after run, as the kubelet's prober worker does
/// (`pkg/kubelet/prober/worker.go`): pure state, no clock and no I/O, so that the rules are tested
/// against a fake clock.
///
/// - Initial result: readiness `false` (not ready until it succeeds), liveness `true`, startup unknown.
/// - A new run of the container (a new container ID) resets the result to the initial one and ends
///   any hold.
/// - While the container is not running: readiness is `false`; nothing is probed.
/// - `initialDelaySeconds` after the container started: nothing is probed, the result stays.
/// - A startup probe gates the others: until it succeeds, liveness and readiness are not probed; once
///   it succeeded, it is not probed again for this run.
/// - The result changes after `successThreshold` consecutive successes or `failureThreshold`
///   consecutive failures; a liveness or startup failure asks for the container to be restarted, and
///   probing holds until the restarted container runs (a new ID).
public struct ProbeWorker: Sendable, Equatable {
    public let kind: PlannedProbe.Kind
    public let initialDelaySeconds: Int
    public let successThreshold: Int
    public let failureThreshold: Int

    /// The container run the result is about (its InvocationID); nil before it first ran.
    public private(set) var containerID: String?
    /// true: success, false: failure, nil: unknown (a startup probe that has not concluded).
    public private(set) var result: Bool?
    /// After a liveness or startup failure: nothing is probed until the container runs again.
    public private(set) var onHold = false
    private var lastOutcome: Bool?
    private var run = 0

    public init(kind: PlannedProbe.Kind, initialDelaySeconds: Int, successThreshold: Int, failureThreshold: Int) {
        self.kind = kind
        self.initialDelaySeconds = initialDelaySeconds
        self.successThreshold = max(1, successThreshold)
        self.failureThreshold = max(1, failureThreshold)
        self.result = Self.initialResult(kind)
    }

    /// A worker for a planned probe (whose defaults the compiler filled in).
    public init(_ planned: PlannedProbe) {
        self.init(
            kind: planned.kind, initialDelaySeconds: planned.probe.initialDelaySeconds ?? 0,
            successThreshold: planned.probe.successThreshold ?? 1, failureThreshold: planned.probe.failureThreshold ?? 3)
    }

    static func initialResult(_ kind: PlannedProbe.Kind) -> Bool? {
        switch kind {
        case .readiness: false
        case .liveness: true
        case .startup: nil
        }
    }

    /// The container as the prober sees it at a probe's time.
    public struct Container: Sendable, Equatable {
        /// The run's ID (InvocationID); nil before it first ran.
        public var id: String?
        /// Its main process runs.
        public var running: Bool
        /// Whole seconds since this run started (for `initialDelaySeconds`).
        public var secondsSinceStart: Int
        /// Its startup probe succeeded in this run (true when it has none).
        public var started: Bool

        public init(id: String?, running: Bool, secondsSinceStart: Int, started: Bool) {
            self.id = id
            self.running = running
            self.secondsSinceStart = secondsSinceStart
            self.started = started
        }
    }

    /// Takes in the container's state at a probe's time; returns whether to probe now. A result change
    /// (a new run resets it; a stopped container is not ready) is visible in `result` afterwards.
    public mutating func shouldProbe(_ container: Container) -> Bool {
        if container.id != containerID {
            containerID = container.id
            result = Self.initialResult(kind)
            onHold = false
            lastOutcome = nil
            run = 0
        }
        if onHold { return false }
        guard container.running else {
            if containerID != nil, kind == .readiness { result = false }
            return false
        }
        if container.secondsSinceStart < initialDelaySeconds { return false }
        if container.started {
            if kind == .startup { return false }
        } else if kind != .startup {
            return false
        }
        return true
    }

    /// What a probe's outcome changed.
    public enum Effect: Sendable, Equatable {
        /// Nothing visible: below the threshold, or the same result again.
        case none
        /// The result became `success` (true) or `failure` (false).
        case changed(Bool)
        /// A liveness or startup probe failed `failureThreshold` times: restart the container. The
        /// worker holds until the new run.
        case restart
    }

    /// Records one probe's outcome (a timeout or an error is a failure).
    public mutating func record(success: Bool) -> Effect {
        if lastOutcome == success {
            run += 1
        } else {
            lastOutcome = success
            run = 1
        }
        if success ? run < successThreshold : run < failureThreshold { return .none }
        let before = result
        result = success
        if !success, kind == .liveness || kind == .startup {
            onHold = true
            run = 0
            return .restart
        }
        return before == success ? .none : .changed(success)
    }
}
