import Foundation

/// Where an object lives: namespace ("" for cluster-scoped) and name.
struct ObjectKey: Hashable, Sendable, Comparable {
    var namespace: String
    var name: String

    static func < (a: ObjectKey, b: ObjectKey) -> Bool { (a.namespace, a.name) < (b.namespace, b.name) }
}

/// Delete options as the API takes them (query or `DeleteOptions` body).
public struct DeleteOptions: Sendable, Hashable {
    /// Grace period; nil uses the object's default (a pod's `terminationGracePeriodSeconds`, else 30).
    public var gracePeriodSeconds: Int64?
    /// Precondition on `metadata.uid`: 409 Conflict when it differs.
    public var preconditionUID: String?
    /// Precondition on `metadata.resourceVersion`: 409 Conflict when it differs.
    public var preconditionResourceVersion: String?

    /// Options with the given fields.
    public init(gracePeriodSeconds: Int64? = nil, preconditionUID: String? = nil, preconditionResourceVersion: String? = nil) {
        self.gracePeriodSeconds = gracePeriodSeconds
        self.preconditionUID = preconditionUID
        self.preconditionResourceVersion = preconditionResourceVersion
    }
}

/// The result of a delete: removed now, or marked for graceful deletion and kept.
public enum DeleteOutcome: Sendable, Hashable {
    /// The object is gone; the value is its last state.
    case deleted(JSONValue)
    /// The object got a `deletionTimestamp` and stays until the node confirms (or its finalizers clear).
    case pending(JSONValue)

    /// The object in either case.
    public var object: JSONValue {
        switch self {
        case .deleted(let o), .pending(let o): return o
        }
    }
}

/// The object store: every object as JSON, one revision counter across all of them (etcd's revision),
/// a bounded history of changes for watch replay, and the open watches.
actor ObjectStore {
    private(set) var revision: Int64 = 0
    private var buckets: [ResourceType: [ObjectKey: JSONValue]] = [:]
    /// Changes after `compactedThrough`, oldest first, at most `historyLimit`.
    private var history: [StoreChange] = []
    /// Watches from a resourceVersion below this get 410 Expired.
    private(set) var compactedThrough: Int64 = 0
    private var historyLimit: Int
    private var watchers: [Int: Watcher] = [:]
    private var nextWatcherID = 0
    private var observers: [Int: AsyncStream<StoreChange>.Continuation] = [:]

    struct Watcher {
        var filter: WatchFilter
        var continuation: AsyncStream<WatchItem>.Continuation
    }

    init(historyLimit: Int) {
        self.historyLimit = max(1, historyLimit)
    }

    // MARK: Reads

    func get(_ resource: ResourceType, namespace: String?, name: String) throws(APIError) -> JSONValue {
        guard let object = buckets[resource]?[ObjectKey(namespace: namespace ?? "", name: name)] else {
            throw APIError.notFound(resource, name)
        }
        return object
    }

    /// Matching objects sorted by namespace and name, with the revision they were read at.
    func list(_ filter: WatchFilter) -> (items: [JSONValue], revision: Int64) {
        let items = (buckets[filter.resource] ?? [:]).sorted { $0.key < $1.key }.map(\.value).filter(filter.matches)
        return (items, revision)
    }

    // MARK: Writes

    func create(_ resource: ResourceType, namespace: String?, object: JSONValue) throws(APIError) -> JSONValue {
        var object = try Strategy.prepareForCreate(resource, object, namespace: namespace)
        if resource.namespaced, let ns = object.namespace,
           buckets[.namespaces]?[ObjectKey(namespace: "", name: ns)] == nil {
            throw APIError.notFound(.namespaces, ns)
        }
        if object.name == nil, let prefix = object[path: ["metadata", "generateName"]]?.stringValue {
            var candidate: String
            repeat { candidate = prefix + Self.randomSuffix() } while
                buckets[resource]?[ObjectKey(namespace: object.namespace ?? "", name: candidate)] != nil
            object[path: ["metadata", "name"]] = .string(candidate)
        }
        guard let name = object.name, !name.isEmpty else {
            throw APIError.invalid(resource, "", field: "metadata.name", "Required value: name or generateName is required")
        }
        let key = ObjectKey(namespace: object.namespace ?? "", name: name)
        if buckets[resource]?[key] != nil { throw APIError.alreadyExists(resource, name) }
        return commit(.added, resource, key, object, previous: nil)
    }

    /// Replaces an object. `subresource` "status" changes only the status; the main resource keeps the old
    /// status. A stale `metadata.resourceVersion` gives 409 Conflict; an unchanged object is a no-op.
    func update(_ resource: ResourceType, namespace: String?, name: String, object: JSONValue,
                subresource: String? = nil) throws(APIError) -> JSONValue {
        let key = ObjectKey(namespace: namespace ?? "", name: name)
        guard let old = buckets[resource]?[key] else { throw APIError.notFound(resource, name) }
        if let rv = object.resourceVersion, !rv.isEmpty, rv != old.resourceVersion {
            throw APIError.conflict(resource, name, APIError.staleObject)
        }
        let new = try Strategy.prepareForUpdate(resource, old: old, new: object, subresource: subresource,
                                                namespace: namespace, name: name)
        return try finishUpdate(resource, key, old: old, new: new)
    }

    /// Read-modify-write under the store's isolation (used by PATCH): `transform` gets the current object.
    func modify(_ resource: ResourceType, namespace: String?, name: String, subresource: String?,
                _ transform: @Sendable (JSONValue) throws(APIError) -> JSONValue) throws(APIError) -> JSONValue {
        let key = ObjectKey(namespace: namespace ?? "", name: name)
        guard let old = buckets[resource]?[key] else { throw APIError.notFound(resource, name) }
        let patched = try transform(old)
        if let rv = patched.resourceVersion, !rv.isEmpty, rv != old.resourceVersion {
            throw APIError.conflict(resource, name, APIError.staleObject)
        }
        let new = try Strategy.prepareForUpdate(resource, old: old, new: patched, subresource: subresource,
                                                namespace: namespace, name: name)
        return try finishUpdate(resource, key, old: old, new: new)
    }

    private func finishUpdate(_ resource: ResourceType, _ key: ObjectKey, old: JSONValue, new: JSONValue) throws(APIError) -> JSONValue {
        var comparable = new
        comparable[path: ["metadata", "resourceVersion"]] = old[path: ["metadata", "resourceVersion"]]
        if comparable == old { return old }
        // An object marked for deletion whose last finalizer went away is removed (as the real server does).
        if new[path: ["metadata", "deletionTimestamp"]] != nil, Strategy.finalizers(new).isEmpty,
           old[path: ["metadata", "deletionGracePeriodSeconds"]]?.intValue == 0 {
            return commit(.deleted, resource, key, new, previous: old)
        }
        return commit(.modified, resource, key, new, previous: old)
    }

    func delete(_ resource: ResourceType, namespace: String?, name: String, options: DeleteOptions) throws(APIError) -> DeleteOutcome {
        let key = ObjectKey(namespace: namespace ?? "", name: name)
        guard let old = buckets[resource]?[key] else { throw APIError.notFound(resource, name) }
        if let uid = options.preconditionUID, uid != old.uid {
            throw APIError(code: 409, reason: "Conflict",
                           message: "Operation cannot be fulfilled on \(resource.qualifiedPlural) \"\(name)\": Precondition failed: UID in precondition: \(uid), UID in object meta: \(old.uid ?? "")",
                           details: APIError.details(resource, name: name))
        }
        if let rv = options.preconditionResourceVersion, rv != old.resourceVersion {
            throw APIError(code: 409, reason: "Conflict",
                           message: "Operation cannot be fulfilled on \(resource.qualifiedPlural) \"\(name)\": Precondition failed: ResourceVersion in precondition: \(rv), ResourceVersion in object meta: \(old.resourceVersion ?? "")",
                           details: APIError.details(resource, name: name))
        }
        let grace = Strategy.gracePeriod(resource, old, requested: options.gracePeriodSeconds)
        let finalizers = Strategy.finalizers(old)
        if grace == 0, finalizers.isEmpty {
            return .deleted(commit(.deleted, resource, key, old, previous: old))
        }
        // Graceful deletion: set (or shorten) deletionTimestamp and keep the object.
        var marked = old
        let existingGrace = old[path: ["metadata", "deletionGracePeriodSeconds"]]?.intValue
        if existingGrace == nil || grace < (existingGrace ?? 0) {
            let when = Date().addingTimeInterval(TimeInterval(grace))
            marked[path: ["metadata", "deletionTimestamp"]] = .string(Strategy.timestamp(when))
            marked[path: ["metadata", "deletionGracePeriodSeconds"]] = .int(grace)
        }
        if marked == old { return .pending(old) }
        return .pending(commit(.modified, resource, key, marked, previous: old))
    }

    /// Deletes every object of a namespace (the namespace's own deletion, done at once here).
    func deleteContents(ofNamespace namespace: String) {
        for resource in ResourceType.all where resource.namespaced {
            for (key, object) in buckets[resource] ?? [:] where key.namespace == namespace {
                _ = commit(.deleted, resource, key, object, previous: object)
            }
        }
    }

    private func commit(_ type: WatchEventType, _ resource: ResourceType, _ key: ObjectKey, _ object: JSONValue,
                        previous: JSONValue?) -> JSONValue {
        revision += 1
        var object = object
        object[path: ["metadata", "resourceVersion"]] = .string(String(revision))
        if type == .deleted {
            buckets[resource]?[key] = nil
        } else {
            buckets[resource, default: [:]][key] = object
        }
        let change = StoreChange(type: type, resource: resource, object: object, previous: previous, revision: revision)
        history.append(change)
        if history.count > historyLimit {
            let dropped = history.count - historyLimit
            compactedThrough = history[dropped - 1].revision
            history.removeFirst(dropped)
        }
        for watcher in watchers.values where watcher.filter.resource == resource {
            if let item = Self.translate(change, for: watcher.filter) { watcher.continuation.yield(item) }
        }
        for observer in observers.values { observer.yield(change) }
        return object
    }

    /// How a change looks to one watch: entering its selection is ADDED, leaving it DELETED (with the old
    /// object at the new resourceVersion), as the real watch cache does.
    static func translate(_ change: StoreChange, for filter: WatchFilter) -> WatchItem? {
        let now = change.type != .deleted && filter.matches(change.object)
        let before = change.previous.map(filter.matches) ?? false
        switch (before, now) {
        case (false, true): return .event(.added, change.object)
        case (true, true): return .event(.modified, change.object)
        case (true, false):
            var old = change.type == .deleted ? change.object : (change.previous ?? change.object)
            old[path: ["metadata", "resourceVersion"]] = .string(String(change.revision))
            return .event(.deleted, old)
        case (false, false): return nil
        }
    }

    private static func randomSuffix() -> String {
        let alphabet = Array("bcdfghjklmnpqrstvwxz2456789")
        return String((0..<5).map { _ in alphabet.randomElement() ?? "x" })
    }

    // MARK: Watches

    /// Opens a watch. `from` nil: synthetic ADDED for every current match, then changes; otherwise the
    /// history after that revision, or a 410 Expired error item when it was compacted away.
    /// With `initialEvents` (a watch-list: `sendInitialEvents=true`): ADDED for every current match, then a
    /// BOOKMARK annotated `k8s.io/initial-events-end: "true"`, then changes.
    func watch(_ filter: WatchFilter, from resourceVersion: Int64?, initialEvents: Bool = false) -> (id: Int, items: AsyncStream<WatchItem>) {
        let (stream, continuation) = AsyncStream<WatchItem>.makeStream()
        nextWatcherID += 1
        let id = nextWatcherID
        if initialEvents {
            for object in list(filter).items { continuation.yield(.event(.added, object)) }
            var end = bookmarkObject(filter.resource)
            end[path: ["metadata", "annotations"]] = ["k8s.io/initial-events-end": "true"]
            continuation.yield(.event(.bookmark, end))
        } else if let from = resourceVersion, from > 0 {
            if from < compactedThrough {
                continuation.yield(.error(APIError.expired("too old resource version: \(from) (\(compactedThrough))")))
                continuation.finish()
                return (id, stream)
            }
            for change in history where change.revision > from && change.resource == filter.resource {
                if let item = Self.translate(change, for: filter) { continuation.yield(item) }
            }
        } else {
            for object in list(filter).items { continuation.yield(.event(.added, object)) }
        }
        watchers[id] = Watcher(filter: filter, continuation: continuation)
        return (id, stream)
    }

    /// Sends a BOOKMARK at the current revision into one watch, in order with its events.
    func bookmark(_ id: Int) {
        guard let watcher = watchers[id] else { return }
        watcher.continuation.yield(.event(.bookmark, bookmarkObject(watcher.filter.resource)))
    }

    private func bookmarkObject(_ resource: ResourceType) -> JSONValue {
        ["kind": .string(resource.kind), "apiVersion": .string(resource.apiVersion),
         "metadata": ["resourceVersion": .string(String(revision)), "creationTimestamp": nil]]
    }

    func endWatch(_ id: Int) {
        watchers.removeValue(forKey: id)?.continuation.finish()
    }

    /// Ends every watch stream (their connections are closed separately).
    func endAllWatches() {
        for watcher in watchers.values { watcher.continuation.finish() }
        watchers.removeAll()
    }

    var openWatchCount: Int { watchers.count }

    /// Forgets history: every resourceVersion before the current revision becomes too old (410).
    func compact() {
        history.removeAll()
        compactedThrough = revision
    }

    func setHistoryLimit(_ limit: Int) { historyLimit = max(1, limit) }

    /// All changes after `revision` still in history, for tests.
    func changes(after revision: Int64) -> [StoreChange] {
        history.filter { $0.revision > revision }
    }

    /// A stream of every change from now on (for tests waiting on a condition; not an API watch).
    func observe() -> (id: Int, changes: AsyncStream<StoreChange>) {
        let (stream, continuation) = AsyncStream<StoreChange>.makeStream()
        nextWatcherID += 1
        observers[nextWatcherID] = continuation
        return (nextWatcherID, stream)
    }

    func endObserving(_ id: Int) {
        observers.removeValue(forKey: id)?.finish()
    }
}
