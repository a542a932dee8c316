import CSystemd
import Logging

/// One sd-bus connection to systemd, owned by one dedicated thread.
///
/// sd-bus objects are not thread-safe, so the connection lives on its own thread: this actor's methods
/// run there (it uses that thread as its executor), and so do sd-bus's callbacks, driven by an event loop
/// (`sd_bus_process`, then a poll on the bus descriptor) between the actor's jobs. Many calls can be in
/// flight at once; each `await` ends when its reply arrives.
///
/// Call `close()` when done; the thread ends when the last reference goes away.
public actor SystemdBus {
    /// systemd's service name on a message bus.
    public static let systemdService = "org.freedesktop.systemd1"
    /// The manager object.
    public static let managerPath = "/org/freedesktop/systemd1"
    public static let managerInterface = "org.freedesktop.systemd1.Manager"
    public static let unitInterface = "org.freedesktop.systemd1.Unit"
    public static let serviceInterface = "org.freedesktop.systemd1.Service"
    static let propertiesInterface = "org.freedesktop.DBus.Properties"

    /// Where this connection goes.
    public nonisolated let endpoint: BusEndpoint
    private let loop: EventLoopThread
    private let connection: BusConnection
    /// Units' state as systemd last signalled it (see `unitState(_:)`).
    let unitStates = UnitStateCache()
    /// The streams of `unitPropertiesChanges()`.
    private let propertyStreams = PropertiesChangedFanout()

    public nonisolated var unownedExecutor: UnownedSerialExecutor {
        loop.asUnownedSerialExecutor()
    }

    private init(endpoint: BusEndpoint, logger: Logger) throws(SystemdError) {
        self.endpoint = endpoint
        self.loop = try EventLoopThread(name: "systemk-sd-bus")
        self.connection = BusConnection(logger: logger)
    }

    /// Connects to systemd at `endpoint` and subscribes to its signals (`Subscribe`); returns once
    /// systemd has answered.
    public static func connect(
        to endpoint: BusEndpoint = .preferredSystem,
        logger: Logger = Logger(label: "systemk.systemd")
    ) async throws(SystemdError) -> SystemdBus {
        let bus = try SystemdBus(endpoint: endpoint, logger: logger)
        try await bus.open()
        return bus
    }

    private func open() async throws(SystemdError) {
        loop.source = connection
        try connection.open(endpoint)
        try trackUnitStates()
        _ = try await call(.manager("Subscribe"))
    }

    /// Keeps `unitStates` current: each unit's `PropertiesChanged`, `UnitRemoved` and the manager's
    /// `Reloading`, applied on this thread as they arrive. Each `PropertiesChanged` is decoded once, applied
    /// to the cache, then handed to the streams of `unitPropertiesChanges()` (so that a reader woken by a
    /// change finds it in the cache).
    private func trackUnitStates() throws(SystemdError) {
        let cache = unitStates
        let streams = propertyStreams
        let end = {
            cache.stopTracking()
            streams.end()
        }
        _ = try connection.subscribe(
            pathNamespace: UnitName.objectPathPrefix, interface: Self.propertiesInterface, member: "PropertiesChanged",
            handler: SignalHandler(
                receive: { message in
                    if let signal = BusSignal(message: message), let change = UnitPropertiesChange(signal: signal) {
                        cache.apply(change)
                        streams.yield(change)
                    }
                }, onEnd: end))
        _ = try connection.subscribe(
            path: Self.managerPath, interface: Self.managerInterface, member: "UnitRemoved",
            handler: SignalHandler(
                receive: { message in
                    if let signal = BusSignal(message: message), case .removed(let unit, _)? = UnitLifecycleEvent(signal: signal) {
                        cache.remove(unit)
                    }
                }, onEnd: end))
        _ = try connection.subscribe(
            path: Self.managerPath, interface: Self.managerInterface, member: "Reloading",
            handler: SignalHandler(receive: { _ in cache.clear() }, onEnd: end))
    }

    /// Closes the connection. Calls still in flight fail with `disconnected` and signal streams finish.
    public func close() {
        connection.close()
    }

    isolated deinit {
        connection.close()
        loop.source = nil
        loop.stop()
    }

    /// Whether the connection is still open.
    public var isConnected: Bool { connection.isOpen }

    // MARK: Calls

    /// Calls a method and returns the reply's values. `unit` labels errors; `timeoutMicroseconds` 0 means
    /// sd-bus's default (25 s).
    public func call(_ call: BusMethodCall, unit: String? = nil, timeoutMicroseconds: UInt64 = 0)
        async throws(SystemdError) -> [BusValue]
    {
        let result = await withCheckedContinuation { continuation in
            connection.call(call, unit: unit, timeoutMicroseconds: timeoutMicroseconds) {
                continuation.resume(returning: $0)
            }
        }
        return try result.get()
    }

    /// Queues a job with a manager method that returns a job path (`StartUnit`, `StopUnit`,
    /// `RestartUnit` ...) and returns its result once systemd reports the job removed (`JobRemoved`).
    public func runJob(_ call: BusMethodCall, unit: String) async throws(SystemdError) -> JobResult {
        let result = await withCheckedContinuation { continuation in
            connection.runJob(call, unit: unit) { continuation.resume(returning: $0) }
        }
        return try result.get()
    }

    /// All properties of one interface of an object (`org.freedesktop.DBus.Properties.GetAll`).
    public func allProperties(path: String, interface: String, unit: String? = nil) async throws(SystemdError)
        -> [String: BusValue]
    {
        let reply = try await call(
            BusMethodCall(
                path: path, interface: Self.propertiesInterface, member: "GetAll", arguments: [.string(interface)]),
            unit: unit)
        guard let properties = reply.first?.stringKeyedEntries else {
            throw .unexpectedReply(method: "GetAll(\(interface))", detail: "expected a{sv}, got \(reply)")
        }
        return properties
    }

    /// The properties status needs of `unit` (see `UnitStateCache.keys`): as systemd's signals last left
    /// them, or, for a unit not followed yet, read with one `Get` per property (which loads the unit when
    /// needed) and followed from then on.
    public func unitState(_ unit: String) async throws(SystemdError) -> [String: BusValue] {
        if let entry = unitStates.entry(unit) { return entry }
        let path = try UnitName.objectPath(for: unit)
        let reads = UnitStateCache.reads(for: unit)
        let cache = unitStates
        let read = cache.beginRead(unit, count: reads.count)
        let result = await withCheckedContinuation { continuation in
            for (interface, property) in reads {
                let method = "Get(\(property))"
                connection.call(
                    BusMethodCall(
                        path: path, interface: Self.propertiesInterface, member: "Get",
                        arguments: [.string(interface), .string(property)]),
                    unit: unit
                ) { reply in
                    // Merged here, on this thread, before any later signal is handled.
                    let value = reply.flatMap { values -> Result<BusValue, SystemdError> in
                        guard let value = values.first else {
                            return .failure(.unexpectedReply(method: method, detail: "expected v, got \(values)"))
                        }
                        return .success(value)
                    }
                    if let done = cache.deliver(read, property: property, value) { continuation.resume(returning: done) }
                }
            }
        }
        return try result.get()
    }

    /// How many unit states `unitState(_:)` answered from what systemd signalled, and how many it read.
    public nonisolated var unitStateStatistics: (fromSignals: Int, read: Int) {
        let (hits, reads) = unitStates.statistics
        return (hits, reads)
    }

    // MARK: Signals

    /// Every signal `interface.member` from systemd, from `path` (nil: any object) or from any object
    /// at or below `pathNamespace`. The stream starts before this returns and ends when the connection
    /// closes; stop iterating (or drop the stream) to unsubscribe.
    public func signals(
        path: String? = nil, pathNamespace: String? = nil, interface: String, member: String
    ) throws(SystemdError) -> AsyncStream<BusSignal> {
        try subscribe(path: path, pathNamespace: pathNamespace, interface: interface, member: member) { $0 }
    }

    /// `PropertiesChanged` of unit objects (`/org/freedesktop/systemd1/unit/...`): ActiveState, SubState,
    /// Result and the like, as systemd announces them.
    public func unitPropertiesChanges() throws(SystemdError) -> AsyncStream<UnitPropertiesChange> {
        let (stream, continuation) = AsyncStream.makeStream(of: UnitPropertiesChange.self)
        guard connection.isOpen, let id = propertyStreams.add(continuation) else {
            continuation.finish()
            throw .disconnected
        }
        continuation.onTermination = { [propertyStreams] _ in propertyStreams.remove(id) }
        return stream
    }

    /// `JobRemoved` of the manager: every job that finished, with its result.
    public func jobRemovals() throws(SystemdError) -> AsyncStream<JobRemoval> {
        try subscribe(
            path: Self.managerPath, interface: Self.managerInterface, member: "JobRemoved",
            decode: JobRemoval.init(signal:))
    }

    /// `UnitNew` and `UnitRemoved` of the manager: units loaded into and dropped from memory, in order.
    public func unitLifecycleEvents() throws(SystemdError) -> AsyncStream<UnitLifecycleEvent> {
        try subscribe(
            path: Self.managerPath, interface: Self.managerInterface, members: ["UnitNew", "UnitRemoved"],
            decode: UnitLifecycleEvent.init(signal:))
    }

    /// One stream fed by one match per member; it ends when any of them ends.
    private func subscribe<Element: Sendable>(
        path: String? = nil, pathNamespace: String? = nil, interface: String, members: [String],
        decode: @escaping (BusSignal) -> Element?
    ) throws(SystemdError) -> AsyncStream<Element> {
        let (stream, continuation) = AsyncStream.makeStream(of: Element.self)
        var ids: [UInt64] = []
        for member in members {
            let handler = SignalHandler { message in
                if let signal = BusSignal(message: message), let element = decode(signal) {
                    continuation.yield(element)
                }
            } onEnd: {
                continuation.finish()
            }
            do {
                ids.append(
                    try connection.subscribe(
                        path: path, pathNamespace: pathNamespace, interface: interface, member: member,
                        handler: handler))
            } catch {
                for id in ids { connection.unsubscribe(id) }
                continuation.finish()
                throw error
            }
        }
        continuation.onTermination = { [weak self, ids] _ in
            Task { await self?.unsubscribe(ids) }
        }
        return stream
    }

    private func subscribe<Element: Sendable>(
        path: String? = nil, pathNamespace: String? = nil, interface: String, member: String,
        decode: @escaping (BusSignal) -> Element?
    ) throws(SystemdError) -> AsyncStream<Element> {
        try subscribe(path: path, pathNamespace: pathNamespace, interface: interface, members: [member], decode: decode)
    }

    private func unsubscribe(_ ids: [UInt64]) {
        for id in ids { connection.unsubscribe(id) }
    }
}
