import Foundation
import KubeClient
import PodCompiler

/// `systemk --kubeconfig ...`: runs the pods the API server binds to this node.
///
/// It watches the pods with `spec.nodeName` = this node (one informer, which never loses an event),
/// and for each reads its ConfigMaps and Secrets (`ReferencedObjects`) and service-account tokens
/// (`ServiceAccountTokens`); `PodRunner` installs packages, compiles and reconciles systemd. Statuses
/// come from systemd's signals and are written to each pod's status subresource when they change.
/// A pod being deleted is stopped (its units' stop timeout is its grace period), its units and files
/// removed, then the pod is deleted for good with a UID precondition (so a new pod of the same name is
/// never deleted by mistake). Changes to ConfigMaps, Secrets and renewed tokens rewrite the files.
/// After a restart, pods whose units are as planned are adopted without a restart.
///
/// Pods of `--manifests` run alongside, like the kubelet's static pods (their status goes to the log).
public actor LiveAgent {
    let client: KubeClient
    let node: NodeFacts
    let systemd: any SystemdManager
    let objects: ReferencedObjects
    let tokens: ServiceAccountTokens
    let manifests: ManifestDirectory?
    let log: @Sendable (String) -> Void
    let onPod: @Sendable (KubeClient::Pod, _ removed: Bool) async -> Void
    let runner: PodRunner
    let events: (any PodEventSink)?
    let staticLog: StatusLog
    /// Trims the heap once a pass and its status writes are done.
    let heap: HeapTrimmer

    /// The API's pods bound to this node, by UID.
    var pods: [String: KubeClient::Pod] = [:]
    /// Pods parsed for the compiler, by UID, with the resourceVersion they were parsed at.
    var parsed: [String: (version: String, entry: Result<ManifestSet.PodEntry, CompileError>)] = [:]
    /// The status last written per pod UID (or read back from the API).
    var written: [String: PodStatus] = [:]
    /// UIDs whose final delete was sent.
    var finalized: Set<String> = []
    var synced = false
    var reconcilePending = false
    var reconcileRunning = false
    /// Status writes in flight at most (the API server's and this process' connection pool).
    let statusConcurrency = 16
    /// Status writes waiting, the newest per pod UID (a newer status replaces one not sent yet), in the
    /// order they were first queued; and the UIDs being written. A pod has one write in flight at most,
    /// so its statuses reach the API in order; the runner's next flush does not wait for the writes.
    var queuedWrites: [String: (pod: KubeClient::Pod, status: PodStatus)] = [:]
    var writeOrder: [String] = []
    var writing: Set<String> = []
    /// Who waits for a pod's writes to be done (its final delete).
    var writeWaiters: [String: [CheckedContinuation<Void, Never>]] = [:]
    /// Change nothing, in systemd or the API: log what would change (`dryRunOnce`).
    let dryRun: Bool

    public init(
        client: KubeClient, node: NodeFacts, systemd: any SystemdManager, reconciler: PodReconciler,
        packages: (any PackageUnitSource)?, objects: ReferencedObjects, tokens: ServiceAccountTokens,
        manifests: String?, users: any UserDatabase = SystemUserDatabase(), dryRun: Bool = false,
        probes: (any ProbeExecutor)? = nil, events: (any PodEventSink)? = nil, metrics: AgentMetrics = .none,
        log: @escaping @Sendable (String) -> Void,
        heap: HeapTrimmer = HeapTrimmer(),
        onPod: @escaping @Sendable (KubeClient::Pod, _ removed: Bool) async -> Void = { _, _ in }
    ) {
        self.client = client
        self.heap = heap
        self.node = node
        self.systemd = systemd
        self.objects = objects
        self.tokens = tokens
        self.manifests = manifests.map { ManifestDirectory(path: $0) }
        self.log = log
        self.onPod = onPod
        self.staticLog = StatusLog(log: log)
        self.dryRun = dryRun
        self.events = events
        let box = WeakAgent()
        self.runner = PodRunner(
            node: node, systemd: systemd, reconciler: reconciler, packages: packages,
            runtimeContent: dryRun ? nil : TokenContent(tokens: tokens), users: users, probes: dryRun ? nil : probes,
            events: dryRun ? nil : events, metrics: metrics, log: log,
            onStatus: { reports in await box.agent?.report(reports) })
        box.agent = self
    }

    /// Runs until cancelled: follows the pods, systemd's signals, object and token changes.
    /// `ready` is called once the first pass over the API's pods is done.
    public func run(ready: @escaping @Sendable (Int) -> Void = { _ in }) async throws {
        let changes = try await systemd.stateChanges()
        let informer = client.podInformer(nodeName: node.nodeName)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await self.runner.consume(changes) }
            group.addTask {
                for await event in informer { await self.handle(event, ready: ready) }
            }
            group.addTask {
                for await ref in self.objects.changes {
                    self.log("\(ref) changed: updating the pods that use it")
                    await self.scheduleReconcile()
                }
            }
            group.addTask {
                for await key in self.tokens.renewals {
                    self.log("token of \(key.namespace)/\(key.podName) renewed: rewriting its files")
                    await self.scheduleReconcile()
                }
            }
            group.addTask {
                // Images that failed to install are tried again when due; static pods' directory is
                // checked for changes.
                var seen = self.manifests?.fingerprint() ?? [:]
                while !Task.isCancelled {
                    try await Task.sleep(for: .seconds(1))
                    let now = self.manifests?.fingerprint() ?? [:]
                    if await self.runner.imageRetryDue || now != seen {
                        seen = now
                        await self.scheduleReconcile()
                    }
                }
            }
            try await group.next()
            group.cancelAll()
        }
    }

    /// Keeps the pods current (and the kubelet API's copy, one pod at a time); reconciles when what a
    /// pod runs may have changed: a new or gone pod, its spec, labels or annotations (the downward API
    /// reads them), or its deletion. A status write, systemk's own included, changes none of these.
    func handle(_ event: InformerEvent<KubeClient::Pod>, ready: @Sendable (Int) -> Void) async {
        switch event {
        case .added(let pod, _), .modified(let pod, _):
            guard let uid = pod.metadata.uid else { return }
            let before = pods[uid]
            pods[uid] = pod
            if let status = pod.status { written[uid] = status }
            await onPod(pod, false)
            if let before, !Self.changesWhatRuns(from: before, to: pod) { return }
        case .deleted(let pod, _):
            guard let uid = pod.metadata.uid else { return }
            pods[uid] = nil
            await onPod(pod, true)
        case .synced:
            if !synced {
                synced = true
                await reconcile()
                ready(pods.count)
            }
            return
        case .interrupted(let error, let retryIn):
            log("watching pods: \(error); again in \(retryIn)")
            return
        }
        scheduleReconcile()
    }

    /// Whether `after` may run differently from `before`: its spec, labels or annotations (the downward
    /// API reads them) or its deletion changed. Status writes and other metadata (resourceVersion,
    /// managedFields) do not.
    public static func changesWhatRuns(from before: KubeClient::Pod, to after: KubeClient::Pod) -> Bool {
        before.rawSpec != after.rawSpec || before.metadata.labels != after.metadata.labels
            || before.metadata.annotations != after.metadata.annotations
            || before.metadata.deletionTimestamp != after.metadata.deletionTimestamp
    }

    /// Reconciles soon: the events of the next 30 ms (a burst of pods created) go into one pass; events
    /// during a pass are followed by one more pass.
    func scheduleReconcile() {
        guard synced else { return }
        if reconcileRunning {
            reconcilePending = true
            return
        }
        guard !reconcilePending else { return }
        reconcilePending = true
        Task {
            try? await Task.sleep(for: .milliseconds(30))
            await self.reconcile()
        }
    }

    /// A dry run: the pods bound to this node now, compiled and compared with what systemd runs; what
    /// would change is logged. Nothing is written to systemd or the API (no Node, no status, no token).
    public func dryRunOnce() async throws -> ReconcileReport? {
        precondition(dryRun, "dryRunOnce needs an agent made with dryRun: true")
        for pod in try await client.listPods(onNode: node.nodeName).items {
            if let uid = pod.metadata.uid { pods[uid] = pod }
        }
        synced = true
        return await reconcile()
    }

    /// One pass: the desired pods to the runner, then the final delete of pods whose units are gone.
    @discardableResult
    func reconcile() async -> ReconcileReport? {
        reconcilePending = false
        reconcileRunning = true
        defer {
            reconcileRunning = false
            if reconcilePending {
                reconcilePending = false
                scheduleReconcile()
            }
            settleIfIdle()
        }
        var entries: [ManifestSet.PodEntry] = []
        var needs: [String: [ObjectRef]] = [:]
        var deleting: [KubeClient::Pod] = []
        var unparsable: [PodStatusReport] = []
        for (uid, pod) in pods.sorted(by: { $0.key < $1.key }) {
            if pod.metadata.deletionTimestamp != nil {
                deleting.append(pod)
                continue
            }
            guard let entry = entry(uid: uid, pod: pod) else {
                if case .failure(let error)? = parsed[uid]?.entry { unparsable.append(Self.unparsable(pod, uid: uid, error: error)) }
                continue
            }
            entries.append(entry)
            needs[uid] = PodReferences(entry.pod, serviceAccountTokens: node.serviceAccountTokens).objectRefs
        }
        await objects.need(needs)
        let known = await objects.objects(namespaces: Set(entries.map(\.pod.namespace)))
        var requests = entries.map { entry in
            let objects = known[entry.pod.namespace]
            return PodRequest(entry: entry, configMaps: objects?.configMaps ?? [:], secrets: objects?.secrets ?? [:])
        }
        if let manifests {
            var directory = manifests
            let loaded = directory.load()
            for e in loaded.errors { log("error: \(e)") }
            let keys = Set(requests.map(\.key))
            for entry in loaded.set.pods {
                let request = PodRequest(
                    entry: entry, configMaps: loaded.set.configMaps[entry.pod.namespace] ?? [:],
                    secrets: loaded.set.secrets[entry.pod.namespace] ?? [:])
                guard !keys.contains(request.key) else {
                    log("error: static pod \(request.key) of \(manifests.path) has the name of a pod of the API: not run")
                    continue
                }
                requests.append(request)
            }
        }
        let parsedUIDs = Set(pods.keys)
        parsed = parsed.filter { parsedUIDs.contains($0.key) }
        await runner.setTerminating(Set(deleting.compactMap(\.metadata.uid)))
        let report: ReconcileReport
        do {
            report = try await runner.run(requests)
        } catch {
            log("error: reconcile: \(error)")
            return nil
        }
        if dryRun { return report }
        if !unparsable.isEmpty { await self.report(unparsable) }
        // The units of the pods being deleted are stopped and removed: delete them for good.
        for pod in deleting {
            guard let uid = pod.metadata.uid, !finalized.contains(uid) else { continue }
            finalized.insert(uid)
            await finalize(pod, uid: uid)
        }
        // Forget what gone pods needed.
        let present = Set(pods.keys)
        for uid in finalized where !present.contains(uid) { finalized.remove(uid) }
        for uid in Set(written.keys).subtracting(present) {
            written[uid] = nil
            await objects.release(podUID: uid)
            await tokens.forget(podUID: uid)
            await events?.forget(podUID: uid)
        }
        return report
    }

    /// The final delete of a pod whose containers stopped: grace period 0, only this incarnation.
    func finalize(_ pod: KubeClient::Pod, uid: String) async {
        let namespace = pod.metadata.namespace ?? "default"
        let name = pod.metadata.name ?? ""
        // Its last status first, as the kubelet.
        await writesDone(uid)
        do {
            try await client.deletePod(namespace: namespace, name: name, gracePeriodSeconds: 0, uid: uid)
            log("pod \(namespace)/\(name): stopped and deleted")
        } catch .notFound {
            // Already gone.
        } catch .conflict {
            log("pod \(namespace)/\(name): not deleted: the name now belongs to another pod")
        } catch {
            finalized.remove(uid)
            log("error: pod \(namespace)/\(name): final delete: \(error); trying again in 5 s")
            Task {
                try? await Task.sleep(for: .seconds(5))
                self.scheduleReconcile()
            }
        }
        await objects.release(podUID: uid)
        await tokens.forget(podUID: uid)
    }

    /// The compiler's view of an API pod, parsed again only when the pod changed.
    func entry(uid: String, pod: KubeClient::Pod) -> ManifestSet.PodEntry? {
        let version = pod.metadata.resourceVersion ?? ""
        if let cached = parsed[uid], cached.version == version {
            return try? cached.entry.get()
        }
        let result = Self.parse(pod)
        if case .failure(let error) = result {
            log("error: pod \(pod.metadata.namespace ?? "default")/\(pod.metadata.name ?? ""): \(error)")
        }
        parsed[uid] = (version, result)
        return try? result.get()
    }

    /// Reads an API pod's manifest for the compiler. The parsed document is not kept (6 KiB a pod, held
    /// for as long as the pod runs): it only lets compile errors name a line and column, and the API
    /// server's JSON is one line that no one edits. Errors still name the pod, the field and the reason.
    public static func parse(_ pod: KubeClient::Pod) -> Result<ManifestSet.PodEntry, CompileError> {
        let key = "\(pod.metadata.namespace ?? "default")/\(pod.metadata.name ?? "")"
        do throws(CompileError) {
            guard let manifest = pod.manifest else {
                throw CompileError(.invalidDocument, path: "", "the API server sent pod \(key) without its JSON")
            }
            var set = ManifestSet()
            try set.add(Array(manifest), file: "api:\(key)")
            guard var first = set.pods.first else {
                throw CompileError(.invalidDocument, path: "", "pod \(key) is not a Pod")
            }
            first.source.node = nil
            return .success(first)
        } catch {
            return .failure(error)
        }
    }

    /// The status of a pod systemk cannot read (the compiler refused its manifest): every container
    /// waits with CreateContainerConfigError and the reason, as for a pod that does not compile.
    static func unparsable(_ pod: KubeClient::Pod, uid: String, error: CompileError) -> PodStatusReport {
        let summary = { (c: ContainerSummary) in (name: c.name, image: c.image) }
        let containers = (pod.spec?.containers ?? []).map(summary)
        let inits = (pod.spec?.initContainers ?? []).map(summary)
        return PodRunner.heldBack(
            namespace: pod.metadata.namespace ?? "default", name: pod.metadata.name ?? "", uid: uid,
            initContainers: inits, containers: containers, blocked: Set((inits + containers).map(\.name)),
            reason: "CreateContainerConfigError", message: error.description)
    }

    /// Writes the statuses that changed to the API (static pods' to the log).
    func report(_ reports: [PodStatusReport]) async {
        guard !dryRun else { return }
        var updates: [(pod: KubeClient::Pod, status: PodStatus)] = []
        var local: [PodStatusReport] = []
        let now = Date()
        for report in reports {
            guard let pod = pods[report.uid] else {
                local.append(report)
                continue
            }
            let previous = written[report.uid] ?? pod.status ?? PodStatus()
            let status = Self.merge(report.status, into: previous, node: node, now: now)
            guard status != previous else { continue }
            written[report.uid] = status
            updates.append((pod, status))
        }
        if !local.isEmpty { await staticLog.record(local) }
        for (pod, status) in updates {
            guard let uid = pod.metadata.uid else { continue }
            if queuedWrites[uid] == nil { writeOrder.append(uid) }
            queuedWrites[uid] = (pod, status)
        }
        startWrites()
    }

    /// Starts queued status writes, `statusConcurrency` at most, one per pod at a time.
    func startWrites() {
        var index = 0
        while writing.count < statusConcurrency, index < writeOrder.count {
            let uid = writeOrder[index]
            guard !writing.contains(uid) else {
                index += 1
                continue
            }
            writeOrder.remove(at: index)
            guard let (pod, status) = queuedWrites.removeValue(forKey: uid) else { continue }
            writing.insert(uid)
            let client = self.client
            let log = self.log
            Task {
                let namespace = pod.metadata.namespace ?? "default"
                let name = pod.metadata.name ?? ""
                do throws(KubeError) {
                    let status = Self.keepTerminal(status, over: pod.status ?? PodStatus())
                    try await client.setPodStatus(namespace: namespace, name: name, uid: uid, status: status)
                } catch .notFound {
                    // Deleted meanwhile.
                } catch .invalid(let failure) where failure.message.contains("metadata.uid") {
                    // Deleted meanwhile, and another pod of the same name created.
                } catch {
                    log("error: pod \(namespace)/\(name): status update: \(error)")
                }
                self.wrote(uid)
            }
        }
    }

    func wrote(_ uid: String) {
        writing.remove(uid)
        startWrites()
        if !writing.contains(uid), queuedWrites[uid] == nil, let waiters = writeWaiters.removeValue(forKey: uid) {
            for waiter in waiters { waiter.resume() }
        }
        settleIfIdle()
    }

    /// No pass and no status write is under way or queued: the heap can be trimmed (after a quiet while).
    func settleIfIdle() {
        guard !reconcileRunning, !reconcilePending, writing.isEmpty, writeOrder.isEmpty else { return }
        let heap = self.heap
        Task { await heap.settle() }
    }

    /// Returns once pod `uid` has no status write queued or in flight.
    func writesDone(_ uid: String) async {
        guard writing.contains(uid) || queuedWrites[uid] != nil else { return }
        await withCheckedContinuation { writeWaiters[uid, default: []].append($0) }
    }

    /// The runner's status with what only the agent knows: the node's addresses (host networking),
    /// the start time, the conditions' transition times (kept while a condition's status is unchanged),
    /// the scheduler's condition and the QoS class the API server set.
    static func merge(_ mapped: PodStatus, into previous: PodStatus, node: NodeFacts, now: Date) -> PodStatus {
        var status = mapped
        let ip = node.internalIP
        status.hostIP = ip
        status.hostIPs = ip.map { [HostIP(ip: $0)] }
        status.podIP = ip
        status.podIPs = ip.map { [PodIP(ip: $0)] }
        status.startTime = previous.startTime ?? Timestamp(Date(timeIntervalSince1970: now.timeIntervalSince1970.rounded(.down)))
        status.qosClass = previous.qosClass
        let stamp = Timestamp(Date(timeIntervalSince1970: now.timeIntervalSince1970.rounded(.down)))
        status.conditions = (mapped.conditions ?? []).map { condition in
            var condition = condition
            if condition.type == "PodScheduled", let scheduled = previous.conditions?.first(where: { $0.type == "PodScheduled" }) {
                return scheduled
            }
            if let old = previous.conditions?.first(where: { $0.type == condition.type }), old.status == condition.status {
                condition.lastTransitionTime = old.lastTransitionTime ?? stamp
            } else {
                condition.lastTransitionTime = stamp
            }
            return condition
        }
        return keepTerminal(status, over: previous)
    }

    /// A pod that reached Succeeded or Failed stays there, as the kubelet keeps it.
    static func keepTerminal(_ status: PodStatus, over current: PodStatus) -> PodStatus {
        if let phase = current.podPhase, phase == .succeeded || phase == .failed, status.podPhase != phase {
            return current
        }
        return status
    }
}

/// The runner's way back to the agent (the agent owns the runner).
final class WeakAgent: @unchecked Sendable {
    weak var agent: LiveAgent?
}

/// Service-account tokens and the cluster CA for the plans' runtime files.
struct TokenContent: RuntimeContentSource {
    let tokens: ServiceAccountTokens

    func runtimeContent(for plan: PodPlan, pod: CompilerPod) async throws -> [String: [UInt8]] {
        try await tokens.runtimeContent(for: plan, serviceAccount: pod.spec.serviceAccountName ?? pod.spec.serviceAccount ?? "default")
    }
}

extension LiveAgent {
    /// `WATCHDOG=1`, sent from the actor: only an agent that still gets to run its jobs pings.
    public func heartbeat() {
        _ = ServiceNotifier.watchdog()
    }
}
