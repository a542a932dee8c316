import NIOCore
import Synchronization

/// Which requests a fault applies to: all of them by default.
public struct RequestMatch: Sendable, Hashable {
    /// Kubernetes verb (get, list, watch, create, update, patch, delete, deletecollection), nil for any.
    public var verb: String?
    /// A substring the request path must contain, nil for any.
    public var pathContains: String?

    /// A match on verb and/or path.
    public init(verb: String? = nil, pathContains: String? = nil) {
        self.verb = verb
        self.pathContains = pathContains
    }

    /// Every request.
    public static let any = RequestMatch()

    func matches(verb: String, path: String) -> Bool {
        if let v = self.verb, v != verb { return false }
        if let p = pathContains, !path.contains(p) { return false }
        return true
    }
}

/// One request the server saw (after authentication).
public struct RequestRecord: Sendable, Hashable {
    /// HTTP method.
    public var method: String
    /// Kubernetes verb, or the HTTP method in lower case for non-resource paths.
    public var verb: String
    /// The path without query.
    public var path: String
    /// The raw query string ("" when none).
    public var query: String
}

/// Faults a test can inject into a running server, and counters of what it served.
public final class FaultInjector: Sendable {
    private struct Failure {
        var remaining: Int
        var status: Int
        var retryAfter: Int?
        var match: RequestMatch
    }

    private struct State {
        var failures: [Failure] = []
        var delay: (Duration, RequestMatch)?
        var requests: [RequestRecord] = []
        var watchesOpened = 0
        var openWatches: [Int: any Channel] = [:]
        var watchPaths: [String] = []
        var watchWaiters: [(RequestMatch, Int, CheckedContinuation<Void, Never>)] = []

        func opened(_ match: RequestMatch) -> Int {
            watchPaths.filter { match.matches(verb: "watch", path: $0) }.count
        }
    }

    private let state = Mutex(State())
    private let store: ObjectStore

    init(store: ObjectStore) {
        self.store = store
    }

    /// Answers the next `count` matching requests with `status` (500 InternalError, 429 TooManyRequests
    /// with `Retry-After: retryAfter`, 503, ...) and a Status body.
    public func failNext(_ count: Int, status: Int = 500, retryAfter: Int? = nil, matching match: RequestMatch = .any) {
        state.withLock { $0.failures.append(Failure(remaining: count, status: status, retryAfter: retryAfter, match: match)) }
    }

    /// Delays every matching answer by `duration` until `delay(nil)`.
    public func delay(_ duration: Duration?, matching match: RequestMatch = .any) {
        state.withLock { $0.delay = duration.map { ($0, match) } }
    }

    /// Closes every open watch connection at once, without the terminating chunk: clients see the
    /// connection reset mid-stream. Returns how many were dropped.
    @discardableResult
    public func dropWatches() async -> Int {
        let channels = state.withLock { state in
            let channels = Array(state.openWatches.values)
            state.openWatches.removeAll()
            return channels
        }
        for channel in channels { try? await channel.close() }
        await store.endAllWatches()
        return channels.count
    }

    /// A restart: every watch is lost, and with `compact` the history is too, so any resourceVersion older
    /// than the current one answers 410 Gone (Expired) on the next watch. Objects and revisions survive,
    /// as they do in etcd.
    public func restart(compact: Bool = true) async {
        await dropWatches()
        if compact { await store.compact() }
    }

    /// Every request seen, in order.
    public var requests: [RequestRecord] { state.withLock { $0.requests } }

    /// How many requests matched `match`.
    public func count(_ match: RequestMatch = .any) -> Int {
        state.withLock { $0.requests.filter { match.matches(verb: $0.verb, path: $0.path) }.count }
    }

    /// How many watch streams were opened since start.
    public var watchesOpened: Int { state.withLock { $0.watchesOpened } }

    /// How many watch connections are open now.
    public var openWatchConnections: Int { state.withLock { $0.openWatches.count } }

    /// How many TCP connections carry the open watches: as many as watches over HTTP/1.1, fewer when
    /// HTTP/2 multiplexes them (a watch's channel is then a stream, whose parent is the connection, whose
    /// parent is the listening socket).
    public var openWatchTransports: Int {
        state.withLock { state in
            Set(state.openWatches.values.map { channel in
                if let connection = channel.parent, connection.parent != nil { return ObjectIdentifier(connection) }
                return ObjectIdentifier(channel)
            }).count
        }
    }

    // MARK: Server side

    /// Records the request and returns the fault to apply to it, if any.
    func admit(_ record: RequestRecord) -> (error: APIError?, delay: Duration?) {
        state.withLock { state in
            state.requests.append(record)
            var delay: Duration?
            if let delayed = state.delay, delayed.1.matches(verb: record.verb, path: record.path) { delay = delayed.0 }
            guard let index = state.failures.firstIndex(where: { $0.remaining > 0 && $0.match.matches(verb: record.verb, path: record.path) }) else {
                return (nil, delay)
            }
            state.failures[index].remaining -= 1
            let failure = state.failures[index]
            if failure.remaining == 0 { state.failures.remove(at: index) }
            return (Self.error(status: failure.status, retryAfter: failure.retryAfter), delay)
        }
    }

    static func error(status: Int, retryAfter: Int?) -> APIError {
        switch status {
        case 429:
            return APIError(code: 429, reason: "TooManyRequests", message: "Too many requests, please try again later.",
                            retryAfterSeconds: retryAfter)
        case 503:
            return APIError(code: 503, reason: "ServiceUnavailable", message: "The server is currently unable to handle the request",
                            retryAfterSeconds: retryAfter)
        case 504:
            return APIError(code: 504, reason: "Timeout", message: "The server was unable to return a response in the time allotted, but may still be processing the request")
        default:
            var e = APIError.internalError("injected fault")
            e.code = status
            e.retryAfterSeconds = retryAfter
            return e
        }
    }

    /// Returns once `count` watches matching `match` (on their collection path, e.g.
    /// "/api/v1/namespaces/default/pods"; verb "watch") have been opened since the server started.
    /// Lets a test wait for a client to (re)connect its watch without sleeping.
    public func waitForWatch(_ match: RequestMatch = .any, count: Int = 1) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let opened = state.withLock { state -> Bool in
                if state.opened(match) >= count { return true }
                state.watchWaiters.append((match, count, continuation))
                return false
            }
            if opened { continuation.resume() }
        }
    }

    func watchOpened(_ id: Int, path: String, channel: any Channel) {
        let ready = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.watchesOpened += 1
            state.openWatches[id] = channel
            state.watchPaths.append(path)
            var ready: [CheckedContinuation<Void, Never>] = []
            var waiting: [(RequestMatch, Int, CheckedContinuation<Void, Never>)] = []
            for waiter in state.watchWaiters {
                if state.opened(waiter.0) >= waiter.1 { ready.append(waiter.2) } else { waiting.append(waiter) }
            }
            state.watchWaiters = waiting
            return ready
        }
        for continuation in ready { continuation.resume() }
    }

    func watchClosed(_ id: Int) {
        _ = state.withLock { $0.openWatches.removeValue(forKey: id) }
    }
}
