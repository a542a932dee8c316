import AsyncHTTPClient
import Foundation
import Logging

/// How an event reached the consumer.
public enum EventOrigin: Sendable, Equatable {
    /// A watch event from the server.
    case watch
    /// Synthesised from a list: the initial list, or a re-list after 410 Gone compared with what the
    /// consumer had already been given.
    case list
}

/// What an `Informer` delivers.
public enum InformerEvent<Object: KubeResource>: Sendable {
    /// The object appeared.
    case added(Object, origin: EventOrigin)
    /// The object changed.
    case modified(Object, origin: EventOrigin)
    /// The object went away (for `.list`, the last version the consumer was given).
    case deleted(Object, origin: EventOrigin)
    /// The events so far bring the consumer exactly to the server's state at `resourceVersion`: sent after
    /// the initial list and after every re-list.
    case synced(resourceVersion: String)
    /// The watch failed and will be resumed after `retryIn` (a re-list follows a 410).
    case interrupted(KubeError, retryIn: Duration)
}

/// Settings of an informer.
public struct InformerOptions: Sendable {
    /// The `timeoutSeconds` asked of the server for each watch, picked at random in this range so that
    /// many watches do not reconnect together. Keep it under `KubeClientOptions.watchIdleTimeout`.
    public var watchTimeoutSeconds: ClosedRange<Int> = 240...300
    /// Ask for BOOKMARK events, which advance the resourceVersion without changes.
    public var allowBookmarks = true
    /// The page size of lists (0: no pagination).
    public var listPageSize = 500

    /// The defaults.
    public init() {}
}

/// An informer-like sequence of events that never loses one: it lists (recording the resourceVersion),
/// watches from there, resumes each dropped or timed-out watch from the last resourceVersion seen
/// (bookmarks advance it) with jittered exponential back-off, honours Retry-After on 429, and after a
/// 410 Gone re-lists and delivers only the difference from what the consumer already has (never an event
/// with the same resourceVersion twice).
///
/// Iterating drives it: while the consumer is busy, at most a few chunks are read ahead (`ResponseStream`),
/// then nothing more until it asks again. The sequence ends (returns nil) only when the consuming task is
/// cancelled, which closes the connection at once.
public struct Informer<Object: KubeResource>: AsyncSequence, Sendable {
    public typealias Element = InformerEvent<Object>
    let transport: Transport
    let scope: WatchScope
    let options: InformerOptions

    /// Starts: the first call to `next()` lists.
    public func makeAsyncIterator() -> Iterator {
        Iterator(transport: transport, scope: scope, options: options)
    }

    /// The informer's state: its cache of what the consumer was given, the resourceVersion, the connection.
    public struct Iterator: AsyncIteratorProtocol {
        private let transport: Transport
        private let scope: WatchScope
        private let options: InformerOptions
        private var cache: [String: Object] = [:]
        private var resourceVersion: String?
        private var needsList = true
        private var connection: WatchConnection<Object>?
        private var connectionMadeProgress = false
        private var failures = 0
        private var delay: Duration?
        private var pending: [InformerEvent<Object>] = []
        private var pendingIndex = 0
        private var finished = false

        init(transport: Transport, scope: WatchScope, options: InformerOptions) {
            self.transport = transport
            self.scope = scope
            self.options = options
        }

        /// The next event; nil once the consuming task is cancelled.
        public mutating func next() async -> InformerEvent<Object>? {
            while !finished {
                if pendingIndex < pending.count {
                    defer { pendingIndex += 1 }
                    return pending[pendingIndex]
                }
                pending.removeAll(keepingCapacity: true)
                pendingIndex = 0
                if Task.isCancelled { break }
                if let wait = delay {
                    delay = nil
                    do {
                        try await transport.options.sleep(wait)
                    } catch {
                        break
                    }
                    continue
                }
                if needsList {
                    await list()
                } else if connection == nil {
                    await openWatch()
                } else {
                    await readEvent()
                }
            }
            finished = true
            connection = nil
            return nil
        }

        // MARK: Steps
        //
        // An informer's task lives as long as its watch, and the task allocator keeps the memory of its
        // deepest moment for as long as the task lives. So the steps that wait (for a whole watch) are
        // kept small: each awaits one thing and hands what came to a synchronous, non-inlined function,
        // whose locals live on the thread's stack, not in the task's async frames (readEvent's frame was
        // 8 KB when it decoded and handled the event itself). The requests, which go deepest, run in child
        // tasks, whose memory goes back when they end (BENCHMARKS.md, "Watches").

        private mutating func list() async {
            let (transport, scope, pageSize) = (self.transport, self.scope, options.listPageSize)
            async let answer = Self.fetchList(transport: transport, scope: scope, pageSize: pageSize)
            listed(await answer)
        }

        @inline(never)
        private mutating func listed(_ result: Result<KubeList<Object>, KubeError>) {
            do {
                let list = try result.get()
                let version = list.metadata.resourceVersion ?? ""
                replace(with: list.items)
                pending.append(.synced(resourceVersion: version))
                resourceVersion = version
                needsList = false
                failures = 0
            } catch {
                fail(error)
            }
        }

        private mutating func openWatch() async {
            let request = watchRequest()
            let transport = self.transport
            async let answer = Self.open(request, transport: transport)
            opened(await answer, path: request.path)
        }

        @inline(never)
        private func watchRequest() -> APIRequest {
            var query = scope.query
            query.append(("watch", "true"))
            if let resourceVersion, !resourceVersion.isEmpty { query.append(("resourceVersion", resourceVersion)) }
            if options.allowBookmarks { query.append(("allowWatchBookmarks", "true")) }
            let range = options.watchTimeoutSeconds
            let timeout = range.lowerBound + Int(Double(range.count - 1) * transport.options.random())
            query.append(("timeoutSeconds", String(timeout)))
            return APIRequest(method: .GET, path: Object.resource.collectionPath(namespace: scope.namespace), query: query)
        }

        @inline(never)
        private mutating func opened(_ result: Result<ResponseStream, KubeError>, path: String) {
            do {
                connection = WatchConnection(stream: try result.get(), path: path)
                connectionMadeProgress = false
            } catch {
                fail(error)
            }
        }

        private mutating func readEvent() async {
            guard var current = connection else { return }
            connection = nil
            let result = await current.nextResult()
            received(result, on: current)
        }

        @inline(never)
        private mutating func received(_ result: Result<WatchEvent<Object>?, KubeError>, on current: WatchConnection<Object>) {
            let event: WatchEvent<Object>?
            switch result {
            case .success(let next):
                event = next
            case .failure(let error):
                if Task.isCancelled { return }
                fail(error)
                return
            }
            connection = current
            guard let event else {
                // The server ended the watch (its timeout, or a dropped connection closed cleanly).
                connection = nil
                if connectionMadeProgress {
                    failures = 0
                } else {
                    delay = nextDelay()
                }
                return
            }
            connectionMadeProgress = true
            failures = 0
            switch event {
            case .added(let object), .modified(let object):
                let isAdded: Bool
                if case .added = event { isAdded = true } else { isAdded = false }
                let version = object.metadata.resourceVersion
                if let version { resourceVersion = version }
                if let version, cache[object.key]?.metadata.resourceVersion == version { return }
                cache[object.key] = object
                pending.append(isAdded ? .added(object, origin: .watch) : .modified(object, origin: .watch))
            case .deleted(let object):
                if let version = object.metadata.resourceVersion { resourceVersion = version }
                guard cache.removeValue(forKey: object.key) != nil else { return }
                pending.append(.deleted(object, origin: .watch))
            case .bookmark(let version):
                if !version.isEmpty { resourceVersion = version }
            case .error(let status):
                connection = nil
                let error = KubeError.from(
                    code: status.code ?? 500, reasonPhrase: status.reason ?? "Error", method: "GET",
                    path: Object.resource.collectionPath(namespace: scope.namespace), status: status,
                    body: status.message ?? "", retryAfterHeader: nil)
                fail(error)
            }
        }

        // MARK: Helpers

        private static func fetchList(transport: Transport, scope: WatchScope, pageSize: Int) async -> Result<KubeList<Object>, KubeError> {
            do {
                return .success(try await ResourceOperations(transport: transport).list(Object.self, scope: scope, pageSize: pageSize))
            } catch {
                return .failure(error)
            }
        }

        private static func open(_ request: APIRequest, transport: Transport) async -> Result<ResponseStream, KubeError> {
            do {
                return .success(try await transport.openStream(request))
            } catch {
                return .failure(error)
            }
        }

        /// Records a failure: 410 → re-list now; 429 → wait Retry-After; otherwise back off.
        @inline(never)
        private mutating func fail(_ error: KubeError) {
            connection = nil
            // A cancelled consumer ends the sequence; that is not a failure to report.
            if Task.isCancelled { return }
            let wait: Duration
            switch error {
            case .gone:
                needsList = true
                wait = .zero
            case .tooManyRequests(_, let retryAfter?):
                wait = Swift.min(retryAfter, transport.options.maxRetryAfter)
            default:
                wait = nextDelay()
            }
            connection = nil
            delay = wait == .zero ? nil : wait
            transport.options.logger.info(
                "watch interrupted",
                metadata: [
                    "resource": "\(Object.resource.plural)", "error": "\(error)", "retryIn": "\(wait)",
                    "resourceVersion": "\(resourceVersion ?? "")",
                ])
            pending.append(.interrupted(error, retryIn: wait))
        }

        private mutating func nextDelay() -> Duration {
            defer { failures += 1 }
            return transport.options.backoff.delay(attempt: failures, random: transport.options.random())
        }

        /// Compares a fresh list with what the consumer has and queues the difference.
        @inline(never)
        private mutating func replace(with items: [Object]) {
            var fresh: [String: Object] = [:]
            for object in items {
                let key = object.key
                fresh[key] = object
                guard let old = cache[key] else {
                    pending.append(.added(object, origin: .list))
                    continue
                }
                if old.metadata.resourceVersion == object.metadata.resourceVersion { continue }
                if let oldUID = old.metadata.uid, let newUID = object.metadata.uid, oldUID != newUID {
                    pending.append(.deleted(old, origin: .list))
                    pending.append(.added(object, origin: .list))
                } else {
                    pending.append(.modified(object, origin: .list))
                }
            }
            for (key, old) in cache.sorted(by: { $0.key < $1.key }) where fresh[key] == nil {
                pending.append(.deleted(old, origin: .list))
            }
            cache = fresh
        }
    }
}
