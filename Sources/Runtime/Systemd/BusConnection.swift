import CSystemd
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// One method call: where it goes and its arguments.
public struct BusMethodCall: Sendable, Hashable, CustomStringConvertible {
    /// The service name on a message bus (ignored on a direct connection to systemd).
    public var destination: String
    public var path: String
    public var interface: String
    public var member: String
    public var arguments: [BusValue]

    public init(
        destination: String = SystemdBus.systemdService, path: String, interface: String, member: String,
        arguments: [BusValue] = []
    ) {
        self.destination = destination
        self.path = path
        self.interface = interface
        self.member = member
        self.arguments = arguments
    }

    /// A method of systemd's manager object (`org.freedesktop.systemd1.Manager`).
    public static func manager(_ member: String, _ arguments: [BusValue] = []) -> BusMethodCall {
        BusMethodCall(
            path: SystemdBus.managerPath, interface: SystemdBus.managerInterface, member: member, arguments: arguments)
    }

    public var description: String { "\(interface).\(member)" }
}

/// The sd-bus connection itself. Lives on, and is only ever touched from, its `EventLoopThread`: every
/// method, and every callback sd-bus makes from `sd_bus_process`, runs on that one thread.
final class BusConnection: PollSource {
    typealias Completion<T> = (Result<T, SystemdError>) -> Void

    private var bus: OpaquePointer?
    private(set) var isMessageBus = true
    private let logger: Logger
    /// Callers waiting for jobs to be removed, by job object path. Several may wait for one job: systemd
    /// merges a second start of a unit into the job already queued and returns its path again.
    private var jobWaiters: [String: [Completion<JobResult>]] = [:]
    private var jobRemovedSlot: OpaquePointer?
    /// Signal subscriptions by id; each owns its slot.
    private var subscriptions: [UInt64: OpaquePointer] = [:]
    private var nextSubscription: UInt64 = 0

    init(logger: Logger) {
        self.logger = logger
    }

    var isOpen: Bool { bus.map { sd_bus_is_open($0) > 0 } ?? false }

    /// Opens the connection and listens for `JobRemoved`. Does not wait for the peer.
    func open(_ endpoint: BusEndpoint) throws(SystemdError) {
        var handle: OpaquePointer?
        var result: Int32
        switch endpoint {
        case .system:
            result = sd_bus_open_system(&handle)
        case .user:
            result = sd_bus_open_user(&handle)
        case .systemdPrivateSocket, .address, .connectedSocket:
            result = sd_bus_new(&handle)
            if result >= 0, let handle {
                if case .connectedSocket(let fd, _) = endpoint {
                    result = sd_bus_set_fd(handle, fd, fd)
                } else {
                    result = sd_bus_set_address(handle, endpoint.address)
                }
                if result >= 0 { result = sd_bus_set_bus_client(handle, endpoint.isMessageBus ? 1 : 0) }
                if result >= 0 { result = sd_bus_start(handle) }
            }
        }
        guard result >= 0, let handle else {
            if let handle {
                sd_bus_flush_close_unref(handle)
            } else if case .connectedSocket(let fd, _) = endpoint {
                Glibc.close(fd)
            }
            throw .connectionFailed(endpoint: endpoint.description, errno: -result)
        }
        bus = handle
        isMessageBus = endpoint.isMessageBus

        // The slot is released in endSubscriptions(), before this object can go away.
        let handler = SignalHandler { [unowned self] message in self.jobRemoved(message) } onEnd: {}
        do {
            jobRemovedSlot = try addMatch(
                path: SystemdBus.managerPath, interface: SystemdBus.managerInterface, member: "JobRemoved",
                handler: handler)
        } catch {
            close()
            throw error
        }
    }

    /// Closes the connection: pending calls and jobs fail with `disconnected`, signal streams end.
    func close() {
        guard let bus else { return }
        endSubscriptions()
        self.bus = nil
        // Floating reply slots are destroyed with the bus; their destroy callbacks fail the callers.
        sd_bus_flush_close_unref(bus)
    }

    // MARK: Method calls

    /// Sends `call`; `completion` gets the reply's values (or the error) on this thread.
    /// `unit` only labels errors.
    func call(
        _ call: BusMethodCall, unit: String? = nil, timeoutMicroseconds: UInt64 = 0,
        completion: @escaping Completion<[BusValue]>
    ) {
        guard let bus, sd_bus_is_open(bus) > 0 else { return completion(.failure(.disconnected)) }
        var message: OpaquePointer?
        var result = sd_bus_message_new_method_call(
            bus, &message, isMessageBus ? call.destination : nil, call.path, call.interface, call.member)
        guard result >= 0, let message else {
            return completion(.failure(.operationFailed(operation: "build \(call)", unit: unit, errno: -result)))
        }
        defer { sd_bus_message_unref(message) }
        do {
            try BusMessageCoding.append(call.arguments, to: message, context: call.description)
        } catch {
            return completion(.failure(error))
        }
        let handler = ReplyHandler(method: call.description, unit: unit, completion: completion)
        let userdata = Unmanaged.passRetained(handler).toOpaque()
        var slot: OpaquePointer?
        result = sd_bus_call_async(bus, &slot, message, replyCallback, userdata, timeoutMicroseconds)
        guard result >= 0, let slot else {
            Unmanaged<ReplyHandler>.fromOpaque(userdata).release()
            let error: SystemdError =
                result == -ENOTCONN || result == -ECONNRESET
                ? .disconnected : .operationFailed(operation: "send \(call)", unit: unit, errno: -result)
            return completion(.failure(error))
        }
        // The bus owns the slot from now on; the destroy callback releases the handler exactly once.
        sd_bus_slot_set_destroy_callback(slot, releaseReplyHandler)
        sd_bus_slot_set_floating(slot, 1)
        sd_bus_slot_unref(slot)
    }

    /// Queues a job with a manager method that returns a job path (`StartUnit`, `StopUnit` ...), and
    /// calls `completion` with its result once `JobRemoved` reports it.
    func runJob(_ call: BusMethodCall, unit: String, completion: @escaping Completion<JobResult>) {
        self.call(call, unit: unit) { [unowned self] reply in
            switch reply {
            case .failure(let error):
                completion(.failure(error))
            case .success(let values):
                guard let path = values.first?.stringValue else {
                    return completion(
                        .failure(.unexpectedReply(method: call.description, detail: "no job path in \(values)")))
                }
                // The reply always arrives before the job's JobRemoved on the same connection, and both are
                // handled on this thread, so registering here cannot miss the signal.
                jobWaiters[path, default: []].append(completion)
            }
        }
    }

    private func jobRemoved(_ message: OpaquePointer) {
        guard let values = try? BusMessageCoding.readAll(from: message, context: "JobRemoved"), values.count == 4,
            let path = values[1].stringValue, let result = values[3].stringValue
        else { return }
        for completion in jobWaiters.removeValue(forKey: path) ?? [] {
            completion(.success(JobResult(rawValue: result)))
        }
    }

    // MARK: Signals

    /// Subscribes to signals; `handler.receive` runs on this thread for each one, `handler.onEnd` once
    /// when the subscription ends (removed, or the connection closed).
    /// `path` nil matches every object; `pathNamespace` matches a path and everything below it.
    func subscribe(
        path: String? = nil, pathNamespace: String? = nil, interface: String, member: String,
        handler: SignalHandler
    ) throws(SystemdError) -> UInt64 {
        let slot = try addMatch(
            path: path, pathNamespace: pathNamespace, interface: interface, member: member, handler: handler)
        nextSubscription += 1
        subscriptions[nextSubscription] = slot
        return nextSubscription
    }

    /// Ends a subscription made with `subscribe`. Does nothing if it already ended.
    func unsubscribe(_ id: UInt64) {
        if let slot = subscriptions.removeValue(forKey: id) { sd_bus_slot_unref(slot) }
    }

    private func addMatch(
        path: String?, pathNamespace: String? = nil, interface: String, member: String, handler: SignalHandler
    ) throws(SystemdError) -> OpaquePointer {
        guard let bus, sd_bus_is_open(bus) > 0 else { throw .disconnected }
        // On a direct connection messages carry no sender, so a sender match would never fire.
        let sender = isMessageBus ? SystemdBus.systemdService : nil
        let userdata = Unmanaged.passRetained(handler).toOpaque()
        var slot: OpaquePointer?
        let result: Int32
        if let pathNamespace {
            var rule = "type='signal',interface='\(interface)',member='\(member)',path_namespace='\(pathNamespace)'"
            if let sender { rule += ",sender='\(sender)'" }
            result = sd_bus_add_match(bus, &slot, rule, signalCallback, userdata)
        } else {
            result = sd_bus_match_signal(bus, &slot, sender, path, interface, member, signalCallback, userdata)
        }
        guard result >= 0, let slot else {
            Unmanaged<SignalHandler>.fromOpaque(userdata).release()
            throw .operationFailed(operation: "subscribe to \(interface).\(member)", unit: nil, errno: -result)
        }
        sd_bus_slot_set_destroy_callback(slot, releaseSignalHandler)
        return slot
    }

    // MARK: PollSource

    func pollRequest() -> (fd: Int32, events: Int16, deadline: UInt64?)? {
        guard let bus, sd_bus_is_open(bus) > 0 else { return nil }
        let fd = sd_bus_get_fd(bus)
        let events = sd_bus_get_events(bus)
        guard fd >= 0, events >= 0 else { return nil }
        var deadline: UInt64 = 0
        let hasDeadline = sd_bus_get_timeout(bus, &deadline) > 0 && deadline != UInt64.max
        return (fd, Int16(truncatingIfNeeded: events), hasDeadline ? deadline : nil)
    }

    func process() -> Bool {
        guard let bus else { return false }
        // A bounded batch, so that a flood of signals cannot starve the actor's jobs.
        for _ in 0..<64 {
            let result = sd_bus_process(bus, nil)
            if result == 0 { return false }
            if result < 0 {
                if sd_bus_is_open(bus) <= 0 { connectionLost(errno: -result) }
                return false
            }
        }
        return true
    }

    /// The peer went away: sd-bus has failed the calls in flight; fail the jobs, end the streams.
    private func connectionLost(errno code: Int32) {
        guard jobRemovedSlot != nil else { return }
        logger.warning("systemd bus connection lost: \(SystemdError.describe(errno: code))")
        endSubscriptions()
    }

    /// Fails every job waiter and releases every match slot (their destroy callbacks end the streams).
    private func endSubscriptions() {
        if let slot = jobRemovedSlot { sd_bus_slot_unref(slot) }
        jobRemovedSlot = nil
        let waiters = jobWaiters
        jobWaiters.removeAll()
        for completion in waiters.values.joined() { completion(.failure(.disconnected)) }
        let slots = subscriptions.values
        subscriptions.removeAll()
        for slot in slots { sd_bus_slot_unref(slot) }
    }
}

/// The reply of one call in flight: handed to sd-bus as userdata, retained once, released by the
/// slot's destroy callback (after the reply, or when the bus goes away without one).
private final class ReplyHandler {
    let method: String
    let unit: String?
    var completion: BusConnection.Completion<[BusValue]>?

    init(method: String, unit: String?, completion: @escaping BusConnection.Completion<[BusValue]>) {
        self.method = method
        self.unit = unit
        self.completion = completion
    }

    func finish(_ result: Result<[BusValue], SystemdError>) {
        guard let completion else { return }
        self.completion = nil
        completion(result)
    }

    func handle(_ message: OpaquePointer) {
        if sd_bus_message_is_method_error(message, nil) > 0 {
            let error = sd_bus_message_get_error(message)
            let name = error?.pointee.name.map { String(cString: $0) } ?? "org.freedesktop.DBus.Error.Failed"
            let text = error?.pointee.message.map { String(cString: $0) } ?? ""
            return finish(.failure(.callFailed(method: method, unit: unit, name: name, message: text)))
        }
        do {
            finish(.success(try BusMessageCoding.readAll(from: message, context: method)))
        } catch {
            finish(.failure(error))
        }
    }
}

/// One signal subscription's callbacks, handed to sd-bus as userdata like `ReplyHandler`.
final class SignalHandler {
    let receive: (OpaquePointer) -> Void
    let onEnd: () -> Void

    init(receive: @escaping (OpaquePointer) -> Void, onEnd: @escaping () -> Void) {
        self.receive = receive
        self.onEnd = onEnd
    }
}

private let replyCallback: sd_bus_message_handler_t = { message, userdata, _ in
    guard let message, let userdata else { return 0 }
    Unmanaged<ReplyHandler>.fromOpaque(userdata).takeUnretainedValue().handle(message)
    return 1
}

private let releaseReplyHandler: sd_bus_destroy_t = { userdata in
    guard let userdata else { return }
    Unmanaged<ReplyHandler>.fromOpaque(userdata).takeRetainedValue().finish(.failure(.disconnected))
}

private let signalCallback: sd_bus_message_handler_t = { message, userdata, _ in
    guard let message, let userdata else { return 0 }
    Unmanaged<SignalHandler>.fromOpaque(userdata).takeUnretainedValue().receive(message)
    // 0: let other matches for the same message run too.
    return 0
}

private let releaseSignalHandler: sd_bus_destroy_t = { userdata in
    guard let userdata else { return }
    Unmanaged<SignalHandler>.fromOpaque(userdata).takeRetainedValue().onEnd()
}
