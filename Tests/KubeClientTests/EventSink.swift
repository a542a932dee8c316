import Foundation
import Testing

@testable import KubeClient

/// Collects what an informer delivers and keeps the consumer's view (key → object), so tests can await a
/// state instead of sleeping.
actor EventSink<Object: KubeResource> {
    private(set) var events: [InformerEvent<Object>] = []
    /// The consumer's view, built only from delivered events.
    private(set) var state: [String: Object] = [:]
    private var waiters: [(id: Int, check: @Sendable (EventSink<Object>.Snapshot) -> Bool, continuation: CheckedContinuation<Void, Never>)] = []
    private var nextID = 0
    private var gateOpen = true
    private var gateWaiters: [CheckedContinuation<Void, Never>] = []

    /// What a waiter sees.
    struct Snapshot: Sendable {
        var events: [InformerEvent<Object>]
        var state: [String: Object]
        /// key → resourceVersion.
        var versions: [String: String] { state.mapValues { $0.metadata.resourceVersion ?? "" } }
    }

    var snapshot: Snapshot { Snapshot(events: events, state: state) }

    func record(_ event: InformerEvent<Object>) {
        events.append(event)
        switch event {
        case .added(let o, _), .modified(let o, _): state[o.key] = o
        case .deleted(let o, _): state.removeValue(forKey: o.key)
        case .synced, .interrupted: break
        }
        let snap = snapshot
        var remaining: [(id: Int, check: @Sendable (Snapshot) -> Bool, continuation: CheckedContinuation<Void, Never>)] = []
        for waiter in waiters {
            if waiter.check(snap) { waiter.continuation.resume() } else { remaining.append(waiter) }
        }
        waiters = remaining
    }

    /// Returns once `check` holds for what was delivered.
    func waitUntil(_ check: @escaping @Sendable (Snapshot) -> Bool) async {
        if check(snapshot) { return }
        await withCheckedContinuation { continuation in
            nextID += 1
            waiters.append((nextID, check, continuation))
        }
    }

    /// Stops the consumer after the next event it records (it does not call `next()` until `open()`).
    func close() { gateOpen = false }

    /// Lets the consumer go on.
    func open() {
        gateOpen = true
        for waiter in gateWaiters { waiter.resume() }
        gateWaiters = []
    }

    func passGate() async {
        if gateOpen { return }
        await withCheckedContinuation { gateWaiters.append($0) }
    }

    /// Consumes an informer into a sink until the task is cancelled.
    static func consume(_ informer: Informer<Object>, into sink: EventSink<Object>) -> Task<Void, Never> {
        Task {
            for await event in informer {
                await sink.record(event)
                await sink.passGate()
            }
        }
    }
}

extension InformerEvent {
    /// `ADDED ns/name @rv (list)` for assertions and messages.
    var summary: String {
        switch self {
        case .added(let o, let origin): "ADDED \(o.key)@\(o.metadata.resourceVersion ?? "")\(origin == .list ? " (list)" : "")"
        case .modified(let o, let origin): "MODIFIED \(o.key)@\(o.metadata.resourceVersion ?? "")\(origin == .list ? " (list)" : "")"
        case .deleted(let o, let origin): "DELETED \(o.key)@\(o.metadata.resourceVersion ?? "")\(origin == .list ? " (list)" : "")"
        case .synced(let rv): "SYNCED \(rv)"
        case .interrupted(let error, let wait): "INTERRUPTED \(error) retry in \(wait)"
        }
    }

    var isSynced: Bool {
        if case .synced = self { return true }
        return false
    }
}
