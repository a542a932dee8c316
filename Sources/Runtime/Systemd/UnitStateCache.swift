import Synchronization

/// What status needs of each unit (`ActiveState`, `SubState`, the main process's last run, restarts,
/// `InvocationID` ...), kept current by systemd's own `PropertiesChanged` signals, so that reporting 200
/// pods' status does not ask systemd for every unit's properties at each change.
///
/// At every change of a unit systemd signals all the properties it flags "emits change", first of the
/// unit's type interface (`...Service`), then of `...Unit` (`sd_bus_emit_properties_changed_strv` with
/// no names); every key kept here is one of those, or fixed while the unit stays loaded (`FragmentPath`).
/// So an entry read once with `GetAll` stays whole and current:
/// - entries are made only from `GetAll` replies, and signals update only existing entries;
/// - an entry goes when systemd drops the unit from memory (`UnitRemoved`: the next read finds it as it
///   then is) or invalidates one of its properties without sending the value;
/// - everything goes when systemd reloads (`Reloading`: a unit file may have changed under a loaded unit)
///   and when the connection ends (no more signals).
///
/// Replies and signals are applied on the connection's thread in the order systemd sent them, so a
/// reply never overwrites a later signal.
final class UnitStateCache: Sendable {
    /// The properties kept: what `UnitProperties` reads, except the ones systemd does not signal
    /// (`MemoryCurrent`, `CPUUsageNSec`, `ControlGroup`).
    static let keys: Set<String> = [
        "ActiveState", "SubState", "LoadState", "Result", "NRestarts", "ExecMainPID", "ExecMainCode",
        "ExecMainStatus", "ExecMainStartTimestamp", "ExecMainExitTimestamp", "InvocationID", "FragmentPath",
    ]

    private struct State {
        var units: [String: [String: BusValue]] = [:]
        /// False once the connection ended: nothing keeps entries current any more.
        var tracking = true
        var hits = 0
        var reads = 0
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

    /// A `GetAll` reply (all interfaces) for `unit`, read on the connection's thread.
    func store(_ unit: String, all: [String: BusValue]) {
        let kept = all.filter { Self.keys.contains($0.key) }
        state.withLock { state in
            state.reads += 1
            if state.tracking { state.units[unit] = kept }
        }
    }

    /// A `PropertiesChanged` of one unit's interface.
    func apply(_ change: UnitPropertiesChange) {
        state.withLock { state in
            guard var entry = state.units[change.unit] else { return }
            if change.invalidated.contains(where: Self.keys.contains) {
                state.units[change.unit] = nil
                return
            }
            for (key, value) in change.changed where Self.keys.contains(key) { entry[key] = value }
            state.units[change.unit] = entry
        }
    }

    /// systemd dropped `unit` from memory.
    func remove(_ unit: String) {
        _ = state.withLock { $0.units.removeValue(forKey: unit) }
    }

    /// systemd reloads (or reloaded) its unit files.
    func clear() {
        state.withLock { $0.units.removeAll() }
    }

    /// The connection ended.
    func stopTracking() {
        state.withLock { state in
            state.tracking = false
            state.units.removeAll()
        }
    }

    /// How many states were answered from the cache, and how many were read from systemd.
    var statistics: (hits: Int, reads: Int) {
        state.withLock { ($0.hits, $0.reads) }
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
