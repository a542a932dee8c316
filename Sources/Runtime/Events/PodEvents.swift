import Foundation
import KubeClient

/// One thing that happened to a pod or one of its containers, as `kubectl describe pod` lists it.
public struct PodEvent: Sendable, Equatable {
    public enum Kind: String, Sendable { case normal = "Normal", warning = "Warning" }

    public var namespace: String
    public var pod: String
    public var podUID: String
    /// The container it is about (`spec.containers{web}`, `spec.initContainers{setup}`); nil for the pod.
    public var fieldPath: String?
    public var kind: Kind
    /// The kubelet's reasons: Pulling, Pulled, Created, Started, Killing, BackOff, Unhealthy, Failed,
    /// FailedMount.
    public var reason: String
    public var message: String

    public init(
        namespace: String, pod: String, podUID: String, fieldPath: String? = nil, kind: Kind = .normal, reason: String,
        message: String
    ) {
        self.namespace = namespace
        self.pod = pod
        self.podUID = podUID
        self.fieldPath = fieldPath
        self.kind = kind
        self.reason = reason
        self.message = message
    }

    /// The field path of a container: `spec.containers{NAME}` or `spec.initContainers{NAME}`.
    public static func fieldPath(container: String, initContainer: Bool) -> String {
        (initContainer ? "spec.initContainers{" : "spec.containers{") + container + "}"
    }
}

/// Where the runner's pod events go.
public protocol PodEventSink: Sendable {
    func record(_ event: PodEvent) async
    /// Forgets what is kept about a gone pod (its folded events, its rate limit).
    func forget(podUID: String) async
}

extension PodEventSink {
    public func forget(podUID: String) async {}
}

/// Pod events into the API as core/v1 Events (what `kubectl describe` reads), as the kubelet's event
/// recorder writes them:
///
/// - The same event again (same pod, container, reason, message and type) within 10 minutes is one
///   Event whose `count` and `lastTimestamp` are patched, not a new object.
/// - Per pod, a token bucket (25 at once, then one per 5 minutes, client-go's spam filter) bounds what
///   is sent, so a crash loop cannot flood the API server; what is dropped is counted.
/// - Writes go out in the background, in order, one at a time: a slow API server never holds the
///   runner up; an Event the API refuses is logged once and dropped.
public actor APIEventRecorder: PodEventSink {
    struct Key: Hashable {
        var podUID: String
        var fieldPath: String?
        var reason: String
        var message: String
        var kind: PodEvent.Kind
    }

    struct Recorded {
        var name: String
        var namespace: String
        var count: Int
        var last: Date
    }

    struct Bucket {
        var tokens: Double
        var updated: Date
    }

    let client: KubeClient
    let node: String
    let log: @Sendable (String) -> Void
    let now: @Sendable () -> Date
    let burst: Double
    let refillPerSecond: Double
    let aggregationWindow: TimeInterval
    var recorded: [Key: Recorded] = [:]
    /// When `recorded` was last rid of events past the window.
    var pruned: Date?
    var buckets: [String: Bucket] = [:]
    var sequence: UInt64 = 0
    var queue: [(Key, PodEvent, Date)] = []
    var writing = false
    var idleWaiters: [CheckedContinuation<Void, Never>] = []
    /// Events dropped by the rate limit, since start.
    public private(set) var dropped = 0
    /// Events written (created or patched), since start.
    public private(set) var written = 0

    public init(
        client: KubeClient, node: String, burst: Int = 25, refillEvery: TimeInterval = 300,
        aggregationWindow: TimeInterval = 600, now: @escaping @Sendable () -> Date = { Date() },
        log: @escaping @Sendable (String) -> Void
    ) {
        self.client = client
        self.node = node
        self.burst = Double(burst)
        self.refillPerSecond = 1 / refillEvery
        self.aggregationWindow = aggregationWindow
        self.now = now
        self.log = log
    }

    public func record(_ event: PodEvent) async {
        let time = now()
        var bucket = buckets[event.podUID] ?? Bucket(tokens: burst, updated: time)
        bucket.tokens = min(burst, bucket.tokens + time.timeIntervalSince(bucket.updated) * refillPerSecond)
        bucket.updated = time
        guard bucket.tokens >= 1 else {
            buckets[event.podUID] = bucket
            dropped += 1
            return
        }
        bucket.tokens -= 1
        buckets[event.podUID] = bucket
        queue.append((Key(podUID: event.podUID, fieldPath: event.fieldPath, reason: event.reason, message: event.message, kind: event.kind), event, time))
        guard !writing else { return }
        writing = true
        Task { await self.drain() }
    }

    /// Forgets a deleted pod's events and its bucket.
    public func forget(podUID: String) {
        buckets[podUID] = nil
        recorded = recorded.filter { $0.key.podUID != podUID }
    }

    /// Waits until every queued event was written (for tests and shutdown).
    public func flush() async {
        guard writing || !queue.isEmpty else { return }
        await withCheckedContinuation { idleWaiters.append($0) }
    }

    func drain() async {
        while !queue.isEmpty {
            let (key, event, time) = queue.removeFirst()
            await write(key, event, at: time)
        }
        writing = false
        for waiter in idleWaiters { waiter.resume() }
        idleWaiters = []
    }

    /// Creates the event, or patches the count of the same one recorded within the aggregation window.
    func write(_ key: Key, _ event: PodEvent, at time: Date) async {
        // Events past the window are not folded into any more: forget them (probe outputs vary), at most
        // once a minute (not at each of 200 pods' events).
        if pruned.map({ time.timeIntervalSince($0) >= 60 }) ?? true {
            pruned = time
            recorded = recorded.filter { time.timeIntervalSince($0.value.last) < aggregationWindow }
        }
        if var previous = recorded[key], time.timeIntervalSince(previous.last) < aggregationWindow {
            previous.count += 1
            previous.last = time
            recorded[key] = previous
            let patch = SeriesPatch(
                count: previous.count, lastTimestamp: Timestamp(time).description,
                series: .init(count: previous.count, lastObservedTime: MicroTimestamp(time).description))
            do throws(KubeError) {
                _ = try await client.patchEvent(namespace: previous.namespace, name: previous.name, patch: patch.json)
                written += 1
                return
            } catch .notFound {
                // Expired or deleted on the server: created anew below.
            } catch {
                log("error: event \(event.reason) for pod \(event.namespace)/\(event.pod): \(error)")
                return
            }
        }
        sequence += 1
        // The kubelet's naming: the pod's name and a unique hexadecimal suffix.
        let name = "\(event.pod).\(String(UInt64(time.timeIntervalSince1970 * 1e9) &+ sequence, radix: 16))"
        var object = Event(
            metadata: ObjectMeta(name: name, namespace: event.namespace),
            involvedObject: ObjectReference(
                apiVersion: "v1", kind: "Pod", namespace: event.namespace, name: event.pod, uid: event.podUID,
                fieldPath: event.fieldPath),
            reason: event.reason, message: event.message, type: event.kind.rawValue,
            source: EventSource(component: "kubelet", host: node), count: 1, firstTimestamp: Timestamp(time),
            lastTimestamp: Timestamp(time))
        object.reportingComponent = "kubelet"
        object.reportingInstance = node
        do throws(KubeError) {
            _ = try await client.createEvent(object)
            recorded[key] = Recorded(name: name, namespace: event.namespace, count: 1, last: time)
            written += 1
        } catch {
            log("error: event \(event.reason) for pod \(event.namespace)/\(event.pod): \(error)")
        }
    }
}

/// Pod events into systemk's log (standalone mode: there is no API to write them to).
public struct LogEventSink: PodEventSink {
    let log: @Sendable (String) -> Void

    public init(log: @escaping @Sendable (String) -> Void) {
        self.log = log
    }

    public func record(_ event: PodEvent) async {
        let container = event.fieldPath.map { " \($0)" } ?? ""
        log("event: pod \(event.namespace)/\(event.pod)\(container): \(event.kind.rawValue) \(event.reason): \(event.message)")
    }
}

/// The merge patch that counts one more occurrence of an event (`count`, `lastTimestamp` and `series`).
struct SeriesPatch: Encodable {
    struct Series: Encodable {
        var count: Int
        var lastObservedTime: String
    }
    var count: Int
    var lastTimestamp: String
    var series: Series

    var json: Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(self)) ?? Data("{}".utf8)
    }
}
