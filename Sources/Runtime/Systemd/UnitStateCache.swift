import Synchronization

/// What status needs of each unit (`ActiveState`, `SubState`, the main process's last run, restarts,
/// `InvocationID` ...), kept current by systemd's own `PropertiesChanged` signals, so that reporting 200
/// pods' status does not ask systemd for every unit's properties at each change.
///
/// At every change of a unit systemd signals all the properties it flags "emits change", first of the
/// unit's type interface (`...Service`), then of `...Unit` (`sd_bus_emit_properties_changed_strv` with
/// no names); every key kept here is one of those, or fixed while the unit stays loaded (`FragmentPath`).
/// So an entry read once stays whole and current:
/// - entries are made only from reads (`beginRead` ... `deliver`), and signals update only existing
///   entries and reads in progress;
/// - an entry goes when systemd drops the unit from memory (`UnitRemoved`: the next read finds it as it
///   then is) or invalidates one of its properties without sending the value;
/// - everything goes when systemd reloads (`Reloading`: a unit file may have changed under a loaded unit)
///   and when the connection ends (no more signals).
///
/// A read is one `Get` per key (`reads(for:)`), never `GetAll`: the first `GetAll` of a unit's `Unit`
/// interface after each load or reload makes systemd work out `UnitFileState` (a search through every
/// unit directory), 2.2 ms of its CPU per unit here, while the twelve `Get`s cost it 1.1 ms
/// (BENCHMARKS.md, "Status reads"). The replies and the unit's signals are merged in the order they
/// arrive, which is the order systemd sent them, so a reply never overwrites a later signal, nor a signal
/// a later reply. The replies are not one snapshot: a change between two of them is followed by its
/// signals, which carry every kept key of their interface and so leave the entry whole.
final class UnitStateCache: Sendable {
    /// The properties kept, by interface: what `UnitProperties` reads, except the ones systemd does not
    /// signal (`MemoryCurrent`, `CPUUsageNSec`, `ControlGroup`).
    static let unitKeys = ["ActiveState", "SubState", "LoadState", "InvocationID", "FragmentPath"]
    static let serviceKeys = [
        "Result", "NRestarts", "ExecMainPID", "ExecMainCode", "ExecMainStatus", "ExecMainStartTimestamp", "ExecMainExitTimestamp",
    ]
    static let keys = Set(unitKeys + serviceKeys)

    /// The `Get` calls (interface, property) that read `unit`'s kept keys: the service keys only for services.
    static func reads(for unit: String) -> [(interface: String, property: String)] {
        unitKeys.map { (SystemdBus.unitInterface, $0) }
            + (unit.hasSuffix(".service") ? serviceKeys.map { (SystemdBus.serviceInterface, $0) } : [])
    }

    /// One read in progress.
    private struct Read {
        var unit: String
        var awaiting: Int
        var values: [String: BusValue] = [:]
        /// The first failed `Get`, if any.
        var error: SystemdError?
        /// False once something made the values unfit to keep (a reload, the unit dropped, a property
        /// invalidated): the caller still gets them, the cache does not keep them.
        var keep = true
    }

    private struct State {
        var units: [String: [String: BusValue]] = [:]
        var reads: [UInt64: Read] = [:]
        /// The reads in progress of each unit.
        var readsOfUnit: [String: Set<UInt64>] = [:]
        var nextRead: UInt64 = 0
        /// False once the connection ended: nothing keeps entries current any more.
        var tracking = true
        var hits = 0
        var completedReads = 0

        mutating func forEachRead(of unit: String, _ body: (inout Read) -> Void) {
            for id in readsOfUnit[unit] ?? [] { body(&reads[id]!) }
        }

        mutating func dropAllReads() {
            for id in reads.keys { reads[id]!.keep = false }
        }
    }

    private let state = Mutex(State())

    /// The unit's properties as last signalled, or nil when they must be read.
    func entry(_ unit: String) -> [String: BusValue]? {
        state.withLock { state in
            guard state.tracking, let entry = state.units[unit] else { return nil }
            state.hits += 1
            return entry
        }
    }

    /// Starts a read of `unit` by `count` `Get` calls; `deliver` each reply.
    func beginRead(_ unit: String, count: Int) -> UInt64 {
        state.withLock { state in
            state.nextRead += 1
            let id = state.nextRead
            state.reads[id] = Read(unit: unit, awaiting: count)
            state.readsOfUnit[unit, default: []].insert(id)
            return id
        }
    }

    /// One `Get` reply of read `id`, on the connection's thread. After the last one: the values read (and
    /// signalled meanwhile), kept as the unit's entry unless something made them unfit, or the first error.
    func deliver(_ id: UInt64, property: String, _ reply: Result<BusValue, SystemdError>)
        -> Result<[String: BusValue], SystemdError>?
    {
        state.withLock { state in
            guard var read = state.reads[id] else { return nil }
            switch reply {
            case .success(let value): read.values[property] = value
            case .failure(let error): read.error = read.error ?? error
            }
            read.awaiting -= 1
            guard read.awaiting <= 0 else {
                state.reads[id] = read
                return nil
            }
            state.reads[id] = nil
            state.readsOfUnit[read.unit]?.remove(id)
            if state.readsOfUnit[read.unit]?.isEmpty == true { state.readsOfUnit[read.unit] = nil }
            if let error = read.error { return .failure(error) }
            state.completedReads += 1
            if read.keep && state.tracking { state.units[read.unit] = read.values }
            return .success(read.values)
        }
    }

    /// A `PropertiesChanged` of one unit's interface.
    func apply(_ change: UnitPropertiesChange) {
        state.withLock { state in
            let invalidated = change.invalidated.contains(where: Self.keys.contains)
            state.forEachRead(of: change.unit) { read in
                if invalidated { read.keep = false }
                for (key, value) in change.changed where Self.keys.contains(key) { read.values[key] = value }
            }
            guard var entry = state.units[change.unit] else { return }
            if invalidated {
                state.units[change.unit] = nil
                return
            }
            for (key, value) in change.changed where Self.keys.contains(key) { entry[key] = value }
            state.units[change.unit] = entry
        }
    }

    /// systemd dropped `unit` from memory.
    func remove(_ unit: String) {
        state.withLock { state in
            state.units[unit] = nil
            state.forEachRead(of: unit) { $0.keep = false }
        }
    }

    /// systemd reloads (or reloaded) its unit files.
    func clear() {
        state.withLock { state in
            state.units.removeAll()
            state.dropAllReads()
        }
    }

    /// The connection ended.
    func stopTracking() {
        state.withLock { state in
            state.tracking = false
            state.units.removeAll()
            state.dropAllReads()
        }
    }

    /// How many states were answered from the cache, and how many were read from systemd.
    var statistics: (hits: Int, reads: Int) {
        state.withLock { ($0.hits, $0.completedReads) }
    }
}

/// The streams that get every unit's `PropertiesChanged` (`SystemdBus.unitPropertiesChanges()`), fed from
/// the connection's one match for them.
final class PropertiesChangedFanout: Sendable {
    private struct State {
        var next: UInt64 = 0
        var streams: [UInt64: AsyncStream<UnitPropertiesChange>.Continuation] = [:]
        var ended = false
    }

    private let state = Mutex(State())

    /// Adds a stream; nil once the connection ended.
    func add(_ stream: AsyncStream<UnitPropertiesChange>.Continuation) -> UInt64? {
        state.withLock { state in
            guard !state.ended else { return nil }
            state.next += 1
            state.streams[state.next] = stream
            return state.next
        }
    }

    func remove(_ id: UInt64) {
        _ = state.withLock { $0.streams.removeValue(forKey: id) }
    }

    func yield(_ change: UnitPropertiesChange) {
        for stream in state.withLock({ Array($0.streams.values) }) { stream.yield(change) }
    }

    /// The connection ended: every stream finishes.
    func end() {
        let streams = state.withLock { state in
            state.ended = true
            defer { state.streams.removeAll() }
            return Array(state.streams.values)
        }
        for stream in streams { stream.finish() }
    }
}
