import Foundation
import PodCompiler

/// The outcome of running one probe once.
public struct ProbeOutcome: Sendable, Equatable {
    public var success: Bool
    /// What the probe saw, for events and logs: the exec's output, the HTTP status, the connect error.
    public var output: String

    public init(success: Bool, output: String) {
        self.success = success
        self.output = output
    }
}

/// Where a probe runs: the node's address (httpGet and tcpSocket default to it: host networking) and
/// the container's main process (exec runs in its context).
public struct ProbeTarget: Sendable, Equatable {
    public var unit: String
    public var host: String
    public var mainPID: UInt32

    public init(unit: String, host: String, mainPID: UInt32) {
        self.unit = unit
        self.host = host
        self.mainPID = mainPID
    }
}

/// Runs probes (exec, httpGet, tcpSocket) against real processes; test doubles live in tests.
public protocol ProbeExecutor: Sendable {
    /// Runs `probe` once; a timeout or an error is a failure, never a throw.
    func run(_ probe: Probe, target: ProbeTarget, timeout: Duration) async -> ProbeOutcome
}

/// A container's run as systemd last reported it.
public struct ProbedContainer: Sendable, Equatable {
    /// The run's InvocationID; nil before it first ran.
    public var id: String?
    public var running: Bool
    /// When the main process started (CLOCK_REALTIME, µs), 0 when unknown.
    public var startedAtMicroseconds: UInt64
    public var mainPID: UInt32

    public init(id: String?, running: Bool, startedAtMicroseconds: UInt64, mainPID: UInt32) {
        self.id = id
        self.running = running
        self.startedAtMicroseconds = startedAtMicroseconds
        self.mainPID = mainPID
    }
}

/// What a probe changed, for the agent: a container's readiness or start, or a restart to make.
public struct ProbeEvent: Sendable, Equatable {
    public enum Change: Sendable, Equatable {
        /// One run failed (every failure, below the threshold too: an Unhealthy event each).
        case failed
        /// Readiness or startup result changed (ready / started true or false).
        case result(Bool)
        /// Liveness or startup failed `failureThreshold` times: restart the container.
        case restart
    }

    public var unit: String
    public var container: String
    public var kind: PlannedProbe.Kind
    public var change: Change
    /// The last outcome's output (the probe's message for an Unhealthy event).
    public var output: String
    /// For `.restart`: the probe's own terminationGracePeriodSeconds (nil: the pod's applies).
    public var gracePeriodSeconds: Int64? = nil
}

/// One scheduler for every probe of every pod on the node.
///
/// Each probe runs every `periodSeconds`, its first run spread over the first period (by a hash of its
/// unit and kind, so that 200 pods' probes do not all fire together). A probe whose previous run has
/// not finished is skipped for that period, so a hanging target never piles runs up; at most
/// `concurrency` probes run at once across the node. Each result goes through its `ProbeWorker`; what
/// changes is handed to `onEvent`.
public actor Prober {
    struct Key: Hashable, Comparable {
        var unit: String
        var kind: PlannedProbe.Kind
        static func < (a: Key, b: Key) -> Bool { (a.unit, a.kind.rawValue) < (b.unit, b.kind.rawValue) }
    }

    struct Entry {
        var planned: PlannedProbe
        var worker: ProbeWorker
        var running = false
    }

    let executor: any ProbeExecutor
    let host: String
    let concurrency: Int
    let state: @Sendable (String) async -> ProbedContainer?
    let onEvent: @Sendable (ProbeEvent) async -> Void
    let metrics: AgentMetrics
    var entries: [Key: Entry] = [:]
    /// When each probe runs next.
    var due: [Key: ContinuousClock.Instant] = [:]
    var inFlight = 0
    var loop: Task<Void, Never>?
    /// Runs started and periods skipped because the previous run had not finished (for metrics and tests).
    public private(set) var runs = 0
    public private(set) var skipped = 0

    /// - Parameters:
    ///   - host: the node's address, for httpGet and tcpSocket probes without a host.
    ///   - state: the container's current run, by unit name (from systemd's last report).
    ///   - onEvent: called with each change, in order per probe.
    public init(
        executor: any ProbeExecutor, host: String, concurrency: Int = 64, metrics: AgentMetrics = .none,
        state: @escaping @Sendable (String) async -> ProbedContainer?,
        onEvent: @escaping @Sendable (ProbeEvent) async -> Void
    ) {
        self.executor = executor
        self.host = host
        self.concurrency = max(1, concurrency)
        self.metrics = metrics
        self.state = state
        self.onEvent = onEvent
    }

    /// Makes the probes exactly `probes` (of every desired pod): new ones start, changed ones start
    /// over, gone ones stop. Unchanged probes keep their state.
    public func set(_ probes: [PlannedProbe]) {
        var next: [Key: Entry] = [:]
        var nextDue: [Key: ContinuousClock.Instant] = [:]
        let now = ContinuousClock.now
        for planned in probes {
            let key = Key(unit: planned.unit, kind: planned.kind)
            if let entry = entries[key], entry.planned == planned, let when = due[key] {
                next[key] = entry
                nextDue[key] = when
            } else {
                let period = max(1, planned.probe.periodSeconds ?? 10)
                let spread = Double(Self.stableHash(planned.unit + "/" + planned.kind.rawValue) % 1000) / 1000
                next[key] = Entry(planned: planned, worker: ProbeWorker(planned))
                nextDue[key] = now.advanced(by: .milliseconds(Int(spread * Double(period) * 1000)))
            }
        }
        entries = next
        due = nextDue
        // A new loop sleeps until the earliest due time of the new set (no loop when there is nothing
        // to probe). It holds no reference to the prober while it sleeps: a dropped prober ends it.
        loop?.cancel()
        loop = nil
        guard !entries.isEmpty else { return }
        loop = Task { [weak self] in
            while !Task.isCancelled {
                guard let wake = await self?.step() else { return }
                try? await Task.sleep(until: wake, clock: .continuous)
            }
        }
    }

    /// The readiness result of `unit` (nil when it has no readiness probe).
    public func ready(_ unit: String) -> Bool? {
        entries[Key(unit: unit, kind: .readiness)].map { $0.worker.result == true }
    }

    /// Whether `unit`'s startup probe succeeded in this run (nil when it has none).
    public func started(_ unit: String) -> Bool? {
        entries[Key(unit: unit, kind: .startup)].map { $0.worker.result == true }
    }

    /// The readiness and startup results of `units` (nil where a unit has no such probe).
    public func results(_ units: Set<String>) -> [String: (ready: Bool?, started: Bool?)] {
        var out: [String: (ready: Bool?, started: Bool?)] = [:]
        for unit in units {
            let r = ready(unit)
            let s = started(unit)
            if r != nil || s != nil { out[unit] = (r, s) }
        }
        return out
    }

    /// Stops probing.
    public func shutdown() {
        loop?.cancel()
        loop = nil
        entries = [:]
        due = [:]
    }

    deinit {
        loop?.cancel()
    }

    /// Runs the probes that are due; returns the next due time (nil: nothing to probe).
    func step() -> ContinuousClock.Instant? {
        let now = ContinuousClock.now
        // Usually one probe is due per wake: sort only those (in a stable order), not every probe. The
        // due times are kept apart from the entries: scanning them copies no probe.
        for key in due.compactMap({ $0.value <= now ? $0.key : nil }).sorted() {
            tick(key, now: now)
        }
        return due.values.min()
    }

    func tick(_ key: Key, now: ContinuousClock.Instant) {
        guard let entry = entries[key], let when = due[key] else { return }
        let period = Duration.seconds(max(1, entry.planned.probe.periodSeconds ?? 10))
        let next = when.advanced(by: period)
        due[key] = next <= now ? now.advanced(by: period) : next
        if entry.running || inFlight >= concurrency {
            skipped += 1
            return
        }
        entries[key]?.running = true
        inFlight += 1
        let planned = entry.planned
        Task { await self.probe(key, planned) }
    }

    func probe(_ key: Key, _ planned: PlannedProbe) async {
        defer {
            inFlight -= 1
            entries[key]?.running = false
        }
        let started = await state(planned.unit)
        let startupDone = entries[Key(unit: planned.unit, kind: .startup)].map { $0.worker.result == true } ?? true
        guard var worker = entries[key]?.worker, entries[key]?.planned == planned else { return }
        let before = worker.result
        let container = ProbeWorker.Container(
            id: started?.id, running: started?.running ?? false,
            secondsSinceStart: Self.secondsSince(started?.startedAtMicroseconds ?? 0), started: startupDone)
        let go = worker.shouldProbe(container)
        entries[key]?.worker = worker
        if worker.result != before, let result = worker.result, planned.kind != .liveness {
            await onEvent(ProbeEvent(unit: planned.unit, container: planned.container, kind: planned.kind, change: .result(result), output: ""))
        }
        guard go, let started else { return }
        runs += 1
        let target = ProbeTarget(unit: planned.unit, host: host, mainPID: started.mainPID)
        let timeout = Duration.seconds(max(1, planned.probe.timeoutSeconds ?? 1))
        let outcome = await executor.run(planned.probe, target: target, timeout: timeout)
        metrics.probeRan(planned.kind, success: outcome.success)
        // The pod may be gone, or its probe changed, while this run ran.
        guard var current = entries[key]?.worker, entries[key]?.planned == planned, current.containerID == started.id else { return }
        let effect = current.record(success: outcome.success)
        entries[key]?.worker = current
        if !outcome.success {
            await onEvent(ProbeEvent(unit: planned.unit, container: planned.container, kind: planned.kind, change: .failed, output: outcome.output))
        }
        switch effect {
        case .none: break
        case .changed(let result):
            if planned.kind != .liveness {
                await onEvent(ProbeEvent(unit: planned.unit, container: planned.container, kind: planned.kind, change: .result(result), output: outcome.output))
            }
        case .restart:
            await onEvent(
                ProbeEvent(
                    unit: planned.unit, container: planned.container, kind: planned.kind, change: .restart, output: outcome.output,
                    gracePeriodSeconds: planned.probe.terminationGracePeriodSeconds))
        }
    }

    static func secondsSince(_ micros: UInt64) -> Int {
        guard micros > 0 else { return 0 }
        let now = UInt64(max(0, Date().timeIntervalSince1970 * 1_000_000))
        return now > micros ? Int((now - micros) / 1_000_000) : 0
    }

    /// FNV-1a: the same spread on every start (Swift's `hashValue` is seeded per process).
    static func stableHash(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return hash
    }
}
