import Foundation

/// What `kubectl logs` asks for, as the kubelet's `/containerLogs` takes it.
public struct ContainerLogOptions: Sendable, Hashable {
    /// Where output starts in time.
    public enum Since: Sendable, Hashable {
        /// The last this many seconds (`sinceSeconds`).
        case seconds(Int64)
        /// From this time on (`sinceTime`), µs since the epoch.
        case time(microsecondsSinceEpoch: UInt64)
    }

    /// Keep streaming what the run writes until it ends (or the reader stops reading).
    public var follow: Bool
    /// Only the last this many lines (`tailLines`); nil for all.
    public var tailLines: Int?
    public var since: Since?
    /// Prefix each line with the time journald received it, RFC 3339 with fractional seconds, in UTC.
    public var timestamps: Bool
    /// Stop after this many bytes of output (`limitBytes`), even within a line.
    public var limitBytes: Int?
    /// The run before the current one (`previous`): the container before its last restart.
    public var previous: Bool

    public init(
        follow: Bool = false, tailLines: Int? = nil, since: Since? = nil, timestamps: Bool = false,
        limitBytes: Int? = nil, previous: Bool = false
    ) {
        self.follow = follow
        self.tailLines = tailLines
        self.since = since
        self.timestamps = timestamps
        self.limitBytes = limitBytes
        self.previous = previous
    }
}

/// Why a container's log cannot be read.
public enum ContainerLogError: Error, Equatable, CustomStringConvertible {
    /// systemd knows no such unit (the pod or container does not run here).
    case unitNotFound(unit: String)
    /// The unit never ran, so it has no output yet.
    case notStarted(unit: String)
    /// `previous` was asked for, but the journal knows no run before the current one.
    case noPreviousRun(unit: String)
    /// An option out of range.
    case invalidOption(String)
    /// systemd or the journal failed.
    case systemd(SystemdError)

    public var description: String {
        switch self {
        case .unitNotFound(let unit): "no unit \(unit): the container does not run on this node"
        case .notStarted(let unit): "\(unit) has not started yet"
        case .noPreviousRun(let unit): "\(unit) has no previous run in the journal (it has not restarted)"
        case .invalidOption(let text): text
        case .systemd(let error): error.description
        }
    }
}

/// A container's output, read back from the journal by its unit and run (`InvocationID`), the way
/// the kubelet serves `kubectl logs`.
///
/// journald rate-limits noisy units (by default only part of a flood of lines is kept), so what comes
/// back is what journald kept: docs/standalone.md says so for users.
public struct ContainerLogs: Sendable {
    let systemd: any SystemdManager
    let journal: JournalReader
    let userManager: Bool
    let now: @Sendable () -> UInt64
    let finalDrain: Duration

    /// - Parameters:
    ///   - userManager: the units belong to a user manager (`--user`), whose journal fields differ.
    ///   - now: the wall clock, µs since the epoch (for `sinceSeconds`).
    ///   - finalDrain: when a followed run ends, how long to keep reading what journald has not yet
    ///     stored of its last lines (journald reads a stream after systemd saw the process exit).
    public init(
        systemd: any SystemdManager, journal: JournalReader, userManager: Bool = false,
        now: @escaping @Sendable () -> UInt64 = { UInt64(Date().timeIntervalSince1970 * 1_000_000) },
        finalDrain: Duration = .milliseconds(300)
    ) {
        self.systemd = systemd
        self.journal = journal
        self.userManager = userManager
        self.now = now
        self.finalDrain = finalDrain
    }

    /// Resolves which run of `unit` to read and checks the options (so a caller can answer an error
    /// before any output), then returns its output: lines as written, each ending in a newline.
    /// Dropping the stream stops reading.
    public func open(unit: String, options: ContainerLogOptions) async throws(ContainerLogError)
        -> AsyncThrowingStream<[UInt8], any Error>
    {
        if let tail = options.tailLines, tail < 0 { throw .invalidOption("tailLines must not be negative") }
        if let limit = options.limitBytes, limit <= 0 { throw .invalidOption("limitBytes must be positive") }
        if case .seconds(let seconds) = options.since, seconds <= 0 {
            throw .invalidOption("sinceSeconds must be positive")
        }
        // Subscribed before the state is read, so that the end of a followed run is never missed.
        let changes: AsyncStream<UnitStateChange>?
        let properties: UnitProperties
        do {
            changes = options.follow && !options.previous ? try await systemd.stateChanges() : nil
            properties = try await systemd.properties(of: unit)
        } catch {
            throw .systemd(error)
        }
        let invocation = try await run(of: unit, properties, previous: options.previous)
        let filter = userManager
            ? JournalFilter(userUnit: unit, invocationID: invocation) : JournalFilter(unit: unit, invocationID: invocation)
        let since: UInt64? = switch options.since {
        case .none: nil
        case .seconds(let seconds): now() &- UInt64(seconds) &* 1_000_000
        case .time(let time): time
        }
        let stillRunning = options.follow && !options.previous && Self.isRunning(properties)
        let reader = LogReader(
            journal: journal, filter: filter, since: since, tail: options.tailLines,
            format: LogFormat(timestamps: options.timestamps, limitBytes: options.limitBytes),
            follow: stillRunning ? (unit, invocation, changes, finalDrain) : nil)
        return AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    try await reader.run(continuation)
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// The invocation ID of the run to read.
    private func run(of unit: String, _ properties: UnitProperties, previous: Bool) async throws(ContainerLogError)
        -> String
    {
        guard properties.loadState != "not-found" else { throw .unitNotFound(unit: unit) }
        let current = properties.invocationID
        guard previous else {
            guard !current.isEmpty else { throw .notStarted(unit: unit) }
            return current
        }
        let runs: [String]
        do {
            runs = try await journal.recentInvocations(of: unit, userManager: userManager, count: 3)
        } catch {
            throw .systemd(error)
        }
        // The current run may not have logged yet: then the newest run in the journal is the previous.
        guard let before = runs.first(where: { $0 != current }) else { throw .noPreviousRun(unit: unit) }
        return before
    }

    /// The `--timestamps` prefix for a time in µs since the epoch: RFC 3339 in UTC with up to nine
    /// fractional digits, trailing zeros cut (Go's `RFC3339Nano`, as the kubelet writes it).
    public static func timestamp(microseconds: UInt64) -> String {
        LogFormat.timestamp(microseconds: microseconds)
    }

    static func isRunning(_ p: UnitProperties) -> Bool {
        switch p.activeState {
        case .active, .activating, .reloading, .deactivating:
            !["auto-restart", "exited", "dead", "failed"].contains(p.subState)
        default: false
        }
    }

    /// True when `change` says the run `invocation` of `unit` is over.
    static func ends(_ change: UnitStateChange, unit: String, invocation: String) -> Bool {
        guard change.unit == unit else { return false }
        if let id = change.invocationID, !id.isEmpty, id != invocation { return true }
        if let state = change.activeState, state == .inactive || state == .failed { return true }
        if let sub = change.subState, ["auto-restart", "exited", "dead", "failed"].contains(sub) { return true }
        return false
    }
}

/// Reads one run's entries and writes them out formatted.
private struct LogReader: Sendable {
    let journal: JournalReader
    let filter: JournalFilter
    let since: UInt64?
    let tail: Int?
    let format: LogFormat
    let follow: (unit: String, invocation: String, changes: AsyncStream<UnitStateChange>?, drain: Duration)?

    static let page = 1000

    func run(_ out: AsyncThrowingStream<[UInt8], any Error>.Continuation) async throws {
        var writer = format.writer()
        var last: String?
        func emit(_ entries: [JournalEntry]) -> Bool {
            guard !entries.isEmpty else { return true }
            let (bytes, more) = writer.format(entries)
            if !bytes.isEmpty { out.yield(bytes) }
            return more
        }
        if let tail {
            let entries = try await journal.entries(filter, from: .tail(lines: tail))
            last = entries.last?.cursor
            guard emit(entries.filter { $0.realtimeMicroseconds >= since ?? 0 }) else { return }
        } else {
            var position: JournalPosition = since.map { .since(realtimeMicroseconds: $0) } ?? .head
            while true {
                try Task.checkCancellation()
                let entries = try await journal.entries(filter, from: position, limit: Self.page)
                if let cursor = entries.last?.cursor {
                    last = cursor
                    position = .after(cursor: cursor)
                }
                guard emit(entries) else { return }
                if entries.count < Self.page { break }
            }
        }
        guard let follow else { return }
        // Everything after the last entry read, as it is written, until the run ends.
        let stream = try await journal.follow(filter, from: last.map { .after(cursor: $0) } ?? .head)
        enum Event: Sendable { case entry(JournalEntry), runEnded }
        let (events, sink) = AsyncStream.makeStream(of: Event.self)
        let forward = Task {
            for await entry in stream { sink.yield(.entry(entry)) }
            sink.finish()
        }
        let watch = Task {
            guard let changes = follow.changes else { return }
            for await change in changes
            where ContainerLogs.ends(change, unit: follow.unit, invocation: follow.invocation) {
                // What journald has yet to store of the run's last lines arrives meanwhile.
                try? await Task.sleep(for: follow.drain)
                sink.yield(.runEnded)
                return
            }
        }
        defer {
            forward.cancel()
            watch.cancel()
        }
        // Until the run ends, the byte limit is reached, or the reader goes away.
        for await event in events {
            switch event {
            case .entry(let entry):
                last = entry.cursor
                guard emit([entry]) else { return }
            case .runEnded:
                // What the follower has not delivered yet of the run's last lines.
                let rest = try await journal.entries(filter, from: last.map { .after(cursor: $0) } ?? .head)
                _ = emit(rest)
                return
            }
        }
    }
}

/// Lines as `kubectl logs` prints them: the message and a newline, with `timestamps` the time first
/// (RFC 3339 with up to 9 fractional digits and trailing zeros cut, in UTC: Go's `RFC3339Nano`, as
/// the kubelet writes it), at most `limitBytes` bytes in all.
struct LogFormat: Sendable {
    var timestamps: Bool
    var limitBytes: Int?

    func writer() -> Writer { Writer(format: self, remaining: limitBytes ?? Int.max) }

    struct Writer: Sendable {
        let format: LogFormat
        var remaining: Int

        /// The bytes for `entries`, and false once the byte limit is reached (nothing more to write).
        mutating func format(_ entries: [JournalEntry]) -> ([UInt8], Bool) {
            var bytes: [UInt8] = []
            for entry in entries {
                guard remaining > 0 else { break }
                var line: [UInt8] = []
                if format.timestamps {
                    line += Array(LogFormat.timestamp(microseconds: entry.realtimeMicroseconds).utf8)
                    line.append(UInt8(ascii: " "))
                }
                line += entry.message
                line.append(UInt8(ascii: "\n"))
                let take = min(line.count, remaining)
                bytes += line.prefix(take)
                remaining -= take
            }
            return (bytes, remaining > 0)
        }
    }

    /// `2026-11-26T02:00:00.1234Z` for a time in µs since the epoch.
    static func timestamp(microseconds: UInt64) -> String {
        var seconds = time_t(microseconds / 1_000_000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        var text = "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T"
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))"
        let fraction = microseconds % 1_000_000
        if fraction > 0 {
            var digits = String(fraction)
            digits = String(repeating: "0", count: 6 - digits.count) + digits
            while digits.hasSuffix("0") { digits.removeLast() }
            text += "." + digits
        }
        return text + "Z"
    }
}
