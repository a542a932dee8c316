import Foundation
import KubeClient
import PodCompiler

/// What is known of one referenced ConfigMap or Secret.
public enum ReferencedObjectState: Sendable, Equatable {
    /// Its first list has not been answered yet.
    case loading
    /// It exists; `configMaps(namespace:)` / `secrets(namespace:)` hold it.
    case present
    /// The server says it does not exist.
    case absent
    /// It cannot be read (403 Forbidden, a failing server); treated as absent while the informer retries.
    case failed(String)
}

/// The ConfigMaps and Secrets the node's current pods reference, kept current.
///
/// A node identity may read these only by name, and only while a pod bound to it references them, so
/// each object gets its own informer (list and watch with `fieldSelector=metadata.name=NAME`), started
/// when a first pod needs it and stopped when the last pod that needs it is released.
///
/// The agent, per pod: `await need(PodReferences(pod).objectRefs, for: uid)`, then compiles with
/// `configMaps(namespace:)` and `secrets(namespace:)`; it re-compiles the pods that use an object each
/// time `changes` yields it; and `release(podUID:)` once the pod is gone. An object that cannot be read
/// is reported through `log` and treated as absent (the compiler then fails the pod, unless the
/// reference is optional); its informer keeps retrying with back-off, and a later success is a change.
public actor ReferencedObjects {
    private struct Watched {
        /// Distinguishes this informer's events from those of an earlier one for the same object.
        var id: Int
        var pods: Set<String>
        var task: Task<Void, Never>?
        var content: Content?
        var failure: String?
        /// The first list was answered (or failed, or took too long): from now on, content changes are
        /// reported on `changes`.
        var settled = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private enum Content: Equatable {
        case configMap(PodCompiler::ConfigMap)
        case secret(PodCompiler::Secret)
    }

    private enum Observation {
        case object(Content)
        case gone
        case synced
        case failed(KubeError)
    }

    private let client: KubeClient
    private let options: InformerOptions
    private let firstListTimeout: Duration
    private let log: @Sendable (String) -> Void
    private var watched: [ObjectRef: Watched] = [:]
    private var refsByPod: [String: Set<ObjectRef>] = [:]
    private var nextID = 0
    private let continuation: AsyncStream<ObjectRef>.Continuation

    /// Objects whose content changed after their first list (created, updated, deleted, readable again),
    /// so that the agent can re-compile the pods that use them. One consumer; ends with `shutdown()`.
    public nonisolated let changes: AsyncStream<ObjectRef>

    /// - Parameters:
    ///   - client: a client with the node's identity.
    ///   - firstListTimeout: how long `need` waits for a new object's first list.
    ///   - log: where failures to read an object are reported, as whole lines.
    public init(
        client: KubeClient, firstListTimeout: Duration = .seconds(5), informerOptions: InformerOptions = InformerOptions(),
        log: @escaping @Sendable (String) -> Void
    ) {
        self.client = client
        self.firstListTimeout = firstListTimeout
        self.options = informerOptions
        self.log = log
        (changes, continuation) = AsyncStream.makeStream(of: ObjectRef.self)
    }

    deinit {
        for entry in watched.values { entry.task?.cancel() }
        continuation.finish()
    }

    /// Records that pod `podUID` references exactly `refs` (replacing what it referenced before), starts
    /// watching the objects no pod needed yet, and returns once each of `refs` has had its first list
    /// answered, or failed, or `firstListTimeout` has passed (it is then absent until it arrives, which
    /// is a change).
    public func need(_ refs: [ObjectRef], for podUID: String) async {
        await need([podUID: refs])
    }

    /// `need(_:for:)` for many pods at once: every new object's informer is started before any is waited
    /// for, so a burst of pods waits for the slowest first list, not for the sum of them.
    public func need(_ refsByPodUID: [String: [ObjectRef]]) async {
        var pending: Set<ObjectRef> = []
        for (podUID, refs) in refsByPodUID.sorted(by: { $0.key < $1.key }) {
            let wanted = Set(refs)
            let before = refsByPod[podUID] ?? []
            refsByPod[podUID] = wanted.isEmpty ? nil : wanted
            for ref in before.subtracting(wanted) { drop(podUID, from: ref) }
            for ref in wanted.sorted() {
                if watched[ref] != nil {
                    watched[ref]?.pods.insert(podUID)
                } else {
                    start(ref, for: podUID)
                }
            }
            pending.formUnion(wanted.filter { watched[$0]?.settled == false })
        }
        guard !pending.isEmpty else { return }
        let ids = Dictionary(uniqueKeysWithValues: pending.compactMap { ref in watched[ref].map { (ref, $0.id) } })
        let timeout = firstListTimeout
        let timer = Task { [weak self] in
            do { try await Task.sleep(for: timeout) } catch { return }
            await self?.timedOut(ids, after: timeout)
        }
        for ref in pending.sorted() {
            await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
                if watched[ref]?.settled == false {
                    watched[ref]?.waiters.append(waiter)
                } else {
                    waiter.resume()
                }
            }
        }
        timer.cancel()
    }

    /// Forgets what pod `podUID` referenced; objects no other pod needs are no longer watched.
    public func release(podUID: String) {
        for ref in refsByPod.removeValue(forKey: podUID) ?? [] { drop(podUID, from: ref) }
    }

    /// The ConfigMaps and Secrets that exist of each of `namespaces`, by namespace and name: one snapshot
    /// for a whole pass (each namespace's dictionaries are shared by its pods, not copied per pod).
    public func objects(namespaces: Set<String>) -> [String: (configMaps: [String: PodCompiler::ConfigMap], secrets: [String: PodCompiler::Secret])] {
        var out: [String: (configMaps: [String: PodCompiler::ConfigMap], secrets: [String: PodCompiler::Secret])] = [:]
        for namespace in namespaces { out[namespace] = ([:], [:]) }
        for (ref, entry) in watched where namespaces.contains(ref.namespace) {
            switch entry.content {
            case .configMap(let object)?: out[ref.namespace]?.configMaps[ref.name] = object
            case .secret(let object)?: out[ref.namespace]?.secrets[ref.name] = object
            case nil: break
            }
        }
        return out
    }

    /// The ConfigMaps of `namespace` that the current pods reference and that exist, by name.
    public func configMaps(namespace: String) -> [String: PodCompiler::ConfigMap] {
        objects(namespaces: [namespace])[namespace]?.configMaps ?? [:]
    }

    /// The Secrets of `namespace` that the current pods reference and that exist, by name.
    public func secrets(namespace: String) -> [String: PodCompiler::Secret] {
        objects(namespaces: [namespace])[namespace]?.secrets ?? [:]
    }

    /// What is known of `ref`; nil when no pod references it.
    public func state(of ref: ObjectRef) -> ReferencedObjectState? {
        guard let entry = watched[ref] else { return nil }
        if entry.content != nil { return .present }
        if let failure = entry.failure { return .failed(failure) }
        return entry.settled ? .absent : .loading
    }

    /// The objects being watched, sorted.
    public var watchedObjects: [ObjectRef] { watched.keys.sorted() }

    /// The pods that reference `ref`.
    public func pods(referencing ref: ObjectRef) -> Set<String> { watched[ref]?.pods ?? [] }

    /// Stops every informer and ends `changes`.
    public func shutdown() {
        for ref in Array(watched.keys) { stop(ref) }
        refsByPod = [:]
        continuation.finish()
    }

    // MARK: Informers

    private func start(_ ref: ObjectRef, for podUID: String) {
        nextID += 1
        let id = nextID
        watched[ref] = Watched(id: id, pods: [podUID])
        let task: Task<Void, Never>
        switch ref.kind {
        case .configMap:
            let informer = client.configMapInformer(namespace: ref.namespace, name: ref.name, options: options)
            task = Task { [weak self] in
                for await event in informer {
                    guard let self else { return }
                    await self.observe(Self.observation(configMap: event), of: ref, id: id)
                }
            }
        case .secret:
            let informer = client.secretInformer(namespace: ref.namespace, name: ref.name, options: options)
            task = Task { [weak self] in
                for await event in informer {
                    guard let self else { return }
                    await self.observe(Self.observation(secret: event), of: ref, id: id)
                }
            }
        }
        watched[ref]?.task = task
    }

    // Not inlined: the informers' tasks live as long as their watches and keep the memory of their
    // deepest async frames, which the conversion's locals would enlarge (see `Informer`).
    @inline(never)
    private static func observation(configMap event: InformerEvent<KubeClient::ConfigMap>) -> Observation {
        observation(event) { .configMap(PodCompiler::ConfigMap($0)) }
    }

    @inline(never)
    private static func observation(secret event: InformerEvent<KubeClient::Secret>) -> Observation {
        observation(event) { .secret(PodCompiler::Secret($0)) }
    }

    private static func observation<Object: KubeResource>(
        _ event: InformerEvent<Object>, _ convert: (Object) -> Content
    ) -> Observation {
        switch event {
        case .added(let object, _), .modified(let object, _): return .object(convert(object))
        case .deleted: return .gone
        case .synced: return .synced
        case .interrupted(let error, _): return .failed(error)
        }
    }

    private func drop(_ podUID: String, from ref: ObjectRef) {
        watched[ref]?.pods.remove(podUID)
        if watched[ref]?.pods.isEmpty == true { stop(ref) }
    }

    private func stop(_ ref: ObjectRef) {
        guard let entry = watched.removeValue(forKey: ref) else { return }
        entry.task?.cancel()
        for waiter in entry.waiters { waiter.resume() }
    }

    private func observe(_ observation: Observation, of ref: ObjectRef, id: Int) {
        guard var entry = watched[ref], entry.id == id else { return }
        let before = entry.content
        switch observation {
        case .object(let content):
            entry.content = content
        case .gone:
            entry.content = nil
        case .synced:
            entry.settled = true
        case .failed(let error):
            let message = Self.describe(error)
            if entry.failure != message {
                let consequence = entry.content == nil ? "treated as absent" : "keeping the last version read"
                log("error: \(ref): \(message); \(consequence) while retrying")
            }
            entry.failure = message
            if entry.content == nil { entry.settled = true }
        }
        if case .failed = observation {
        } else if entry.failure != nil {
            entry.failure = nil
            log("\(ref): readable again")
        }
        if entry.settled {
            for waiter in entry.waiters { waiter.resume() }
            entry.waiters = []
        }
        let changed = entry.content != before
        watched[ref] = entry
        if changed, entry.settled { continuation.yield(ref) }
    }

    private func timedOut(_ ids: [ObjectRef: Int], after timeout: Duration) {
        for (ref, id) in ids.sorted(by: { $0.key < $1.key }) {
            guard var entry = watched[ref], entry.id == id, !entry.settled else { continue }
            log("error: \(ref): no answer from the API server within \(timeout); absent until it arrives")
            entry.settled = true
            for waiter in entry.waiters { waiter.resume() }
            entry.waiters = []
            watched[ref] = entry
        }
    }

    private static func describe(_ error: KubeError) -> String {
        if case .forbidden = error {
            return "forbidden (a node may read only objects its pods reference): \(error)"
        }
        return "\(error)"
    }
}
