import Foundation
import KubeClient
import PodCompiler
import Synchronization

/// Finds the unit file of an image's package, installing the package first when the runtime may
/// (standalone and live modes) or only looking (dry runs).
public protocol PackageUnitSource: Sendable {
    /// - Parameter installing: called (and awaited) just before a package is installed; not called when
    ///   the package is on the node already.
    func packageUnit(for image: ImageReference, installing: @Sendable () async -> Void) async throws -> PackageUnit?
}

/// The bytes of the plan's files that only the runtime knows (`.runtime(source:)`: service-account
/// tokens, the cluster's CA), by source. Live mode has one; standalone pods have no such files.
public protocol RuntimeContentSource: Sendable {
    func runtimeContent(for plan: PodPlan, pod: CompilerPod) async throws -> [String: [UInt8]]
}

/// One pod the runner should run: the compiler's pod with where it came from, and the ConfigMaps and
/// Secrets of its namespace that it may read.
public struct PodRequest: Sendable {
    public var entry: ManifestSet.PodEntry
    public var configMaps: [String: CompilerConfigMap]
    public var secrets: [String: CompilerSecret]

    public init(
        entry: ManifestSet.PodEntry, configMaps: [String: CompilerConfigMap] = [:],
        secrets: [String: CompilerSecret] = [:]
    ) {
        self.entry = entry
        self.configMaps = configMaps
        self.secrets = secrets
    }

    /// `namespace/name`.
    public var key: String { "\(entry.pod.namespace)/\(entry.pod.name)" }
    /// The pod's UID, or the one the compiler derives for a pod without one.
    public var uid: String {
        entry.pod.metadata.uid ?? DeterministicUID.uid(namespace: entry.pod.namespace, name: entry.pod.name)
    }
}

/// A pod's status as the runner sees it: from its units, or, for a pod held back before install,
/// Pending with the reason.
public struct PodStatusReport: Sendable, Equatable {
    public var namespace: String
    public var name: String
    public var uid: String
    public var status: PodStatus

    public var key: String { "\(namespace)/\(name)" }
}

/// The part of the node agent shared by standalone and live mode: given the pods to run, install
/// their packages, compile them, check them, and reconcile systemd with them; then follow systemd's
/// signals, report each pod's status as it changes, and retry failed init containers per the pod's
/// restartPolicy (systemd does not re-queue app units after a failed init unit later succeeds).
///
/// A pod that cannot run yet is held back, with a status saying why (as the kubelet's waiting
/// reasons): its package failed to install (`ErrImagePull`, tried again with back-off 10 s doubling to
/// 5 min), it does not compile or names a user the node lacks (`CreateContainerConfigError`), or its
/// runtime files (tokens) are not available (`ContainerCreating`). A held-back pod that already runs
/// keeps running as it was.
public actor PodRunner {
    let node: NodeFacts
    let systemd: any SystemdManager
    let reconciler: PodReconciler
    let packages: (any PackageUnitSource)?
    let runtimeContent: (any RuntimeContentSource)?
    let users: any UserDatabase
    let log: @Sendable (String) -> Void
    let onStatus: @Sendable ([PodStatusReport]) async -> Void
    /// Runs the pods' liveness, readiness and startup probes; nil: no probes run (containers are ready
    /// when they run).
    var prober: Prober?
    /// systemd's properties of each unit as last read for status: the prober's view of the containers.
    var lastProperties: [String: UnitProperties] = [:]
    /// Where pod events go (the API's Events in live mode); nil: none.
    let events: (any PodEventSink)?
    /// The last run (InvocationID) seen of each unit: a new one is a container created and started.
    var lastInvocation: [String: String] = [:]
    /// Units this runner installed or started: their first run is an event too (adopted units' is not).
    var freshUnits: Set<String> = []
    /// The waiting reason last reported per pod UID and container (a new CrashLoopBackOff is an event).
    var lastWaiting: [String: String] = [:]
    /// The reason a held-back pod last waited for, per UID (each new one is an event, not each pass).
    var lastHeld: [String: String] = [:]
    /// Units whose image this runner installed (a Pulled event said so): their Created is not preceded by
    /// "already present".
    var pulledUnits: Set<String> = []

    /// Units of the current desired pods, by unit name.
    var unitIndex: [String: IndexedUnit] = [:]
    struct IndexedUnit {
        var pod: String
        var uid: String
        var container: String
        var role: PlannedUnit.Role
        var policy: String
        var units: [String]
        var image: String = ""
    }
    /// The unit files of the desired pods, by unit name, as last planned (status needs their
    /// `[X-Kubernetes]` sections; no need to read them back from disk at each change).
    var unitFiles: [String: String] = [:]
    /// When to try again the images that failed to install, and the back-off after that.
    public private(set) var imageRetryAt: ContinuousClock.Instant?
    var imageRetryDelay = 10
    /// Pods whose units changed state since their status was last reported: reported together once
    /// systemd has been quiet for `statusQuiet` (a pod's activating and active come a few ms apart), and
    /// at the latest `statusInterval` after the first change, so that a burst of signals (200 pods
    /// starting) costs a few passes and a single pod is not delayed.
    var dirtyPods: [String: [String]] = [:]
    var statusFlushScheduled = false
    var flushing = false
    var lastDirty = ContinuousClock.now
    let statusInterval: Duration
    let statusQuiet: Duration = .milliseconds(25)
    /// Pods whose status from their units was reported since they were planned; pods the pass leaves
    /// alone are not re-read (systemd's signals report their changes).
    var reportedFromUnits: Set<String> = []
    /// Back-off of init-container retries per pod, in seconds (10 s doubling to 300 s, as the kubelet).
    var initBackoff: [String: Int] = [:]
    /// Restarts of init containers the runner made itself, by unit (systemd counts only its own).
    var runtimeRestarts: [String: Int32] = [:]
    /// UIDs being deleted: their stopped containers will not restart, so their phase is terminal.
    var terminating: Set<String> = []
    /// systemk's own metrics (`/metrics`).
    let metrics: AgentMetrics
    /// The phase last reported of each pod of the last pass, by `namespace/name` (for `systemk_pods`).
    var phases: [String: String] = [:]

    public init(
        node: NodeFacts, systemd: any SystemdManager, reconciler: PodReconciler, packages: (any PackageUnitSource)?,
        runtimeContent: (any RuntimeContentSource)? = nil, users: any UserDatabase = SystemUserDatabase(),
        statusInterval: Duration = .milliseconds(200), probes: (any ProbeExecutor)? = nil,
        events: (any PodEventSink)? = nil, metrics: AgentMetrics = .none, log: @escaping @Sendable (String) -> Void,
        onStatus: @escaping @Sendable ([PodStatusReport]) async -> Void
    ) {
        self.metrics = metrics
        self.node = node
        self.systemd = systemd
        self.reconciler = reconciler
        self.packages = packages
        self.runtimeContent = runtimeContent
        self.users = users
        self.statusInterval = statusInterval
        self.log = log
        self.onStatus = onStatus
        self.events = events
        if let probes {
            let box = WeakRunner()
            prober = Prober(
                executor: probes, host: node.internalIP ?? "127.0.0.1", metrics: metrics,
                state: { unit in await box.runner?.probedContainer(unit) },
                onEvent: { event in await box.runner?.probeEvent(event) })
            box.runner = self
        }
    }

    final class WeakRunner: @unchecked Sendable {
        weak var runner: PodRunner?
    }

    /// Records an event about pod `key` ("namespace/name"), or one of its containers.
    func emit(
        _ key: String, uid: String, container: String? = nil, initContainer: Bool = false, warning: Bool = false,
        reason: String, message: String
    ) async {
        guard let events else { return }
        let parts = key.split(separator: "/", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { return }
        await events.record(
            PodEvent(
                namespace: parts[0], pod: parts[1], podUID: uid,
                fieldPath: container.map { PodEvent.fieldPath(container: $0, initContainer: initContainer) },
                kind: warning ? .warning : .normal, reason: reason, message: message))
    }

    /// Ends a container's run within `grace` (a probe's own terminationGracePeriodSeconds, instead of
    /// the unit's TimeoutStopSec=): SIGTERM to all its processes, SIGKILL to what is left at the end.
    /// The restart (or stop) that follows finds the unit no longer running (with Restart=, waiting to
    /// restart: systemd counts no restart of its own then).
    func kill(_ unit: String, within grace: Duration) async {
        func ended() async -> Bool {
            guard let p = await systemd.states(of: [unit])[unit] else { return true }
            return p.activeState != .active && p.activeState != .deactivating
        }
        try? await systemd.kill(unit, signal: SIGTERM)
        let deadline = ContinuousClock.now.advanced(by: grace)
        while ContinuousClock.now < deadline {
            if await ended() { return }
            try? await Task.sleep(for: .milliseconds(100))
        }
        try? await systemd.kill(unit, signal: SIGKILL)
        for _ in 0..<20 where !(await ended()) { try? await Task.sleep(for: .milliseconds(50)) }
    }

    /// Pulling or Pulled for each of `users` (a pod and one of its containers).
    func emitPull(_ users: [(PodRequest, Container)], reason: String, message: String) async {
        for (request, container) in users {
            let inits = Set((request.entry.pod.spec.initContainers ?? []).map(\.name))
            await emit(
                request.key, uid: request.uid, container: container.name, initContainer: inits.contains(container.name),
                reason: reason, message: message)
        }
    }

    /// Set once, from any task.
    final class Flag: Sendable {
        private let value = Mutex(false)
        func set() { value.withLock { $0 = true } }
        var isSet: Bool { value.withLock { $0 } }
    }

    /// The events of a pass: why held-back pods wait (once per reason), containers stopped for pods
    /// removed; and which units' first run is news (installed or started by this pass).
    func recordEvents(
        failures: [(request: PodRequest, blocked: Set<String>, reason: String, message: String)], report: ReconcileReport,
        desired: [DesiredPod], previousIndex: [String: IndexedUnit]
    ) async {
        for failure in failures {
            let uid = failure.request.uid
            let text = failure.reason + ": " + failure.message
            guard lastHeld[uid] != text else { continue }
            lastHeld[uid] = text
            let inits = Set((failure.request.entry.pod.spec.initContainers ?? []).map(\.name))
            let mount = report.failed[failure.request.key] != nil
            for container in Self.containers(of: failure.request) where failure.blocked.contains(container.name) {
                let message: String
                switch failure.reason {
                case "ErrImagePull": message = "Failed to pull image \"\(container.image ?? "")\": \(failure.message)"
                case _ where mount: message = "MountVolume.SetUp failed: \(failure.message)"
                default: message = "Error: \(failure.message)"
                }
                await emit(
                    failure.request.key, uid: uid, container: container.name, initContainer: inits.contains(container.name),
                    warning: true, reason: mount ? "FailedMount" : "Failed", message: message)
                if mount { break }
            }
        }
        let heldNow = Set(failures.map(\.request.uid))
        lastHeld = lastHeld.filter { heldNow.contains($0.key) }
        let removed = Set(report.removed)
        for (_, entry) in previousIndex.sorted(by: { $0.key < $1.key }) where removed.contains(entry.pod) {
            await emit(
                entry.pod, uid: entry.uid, container: entry.container, initContainer: entry.role == .initContainer,
                reason: "Killing", message: "Stopping container \(entry.container)")
        }
        let touched = Set(report.created).union(report.replaced)
        for pod in desired where touched.contains(pod.key) { freshUnits.formUnion(pod.plan.units.map(\.name)) }
        freshUnits.formUnion(report.started)
    }

    /// Created and Started for each new run of a unit (a new InvocationID: a start, a restart), BackOff
    /// for a container that starts backing off.
    func recordRunEvents(_ properties: [String: UnitProperties], reports: [PodStatusReport]) async {
        for (unit, p) in properties.sorted(by: { $0.key < $1.key }) where !p.invocationID.isEmpty && p.mainStartTimestamp > 0 {
            guard let entry = unitIndex[unit], lastInvocation[unit] != p.invocationID else { continue }
            let news = lastInvocation[unit] != nil || freshUnits.contains(unit)
            lastInvocation[unit] = p.invocationID
            freshUnits.remove(unit)
            guard news else { continue }
            let isInit = entry.role == .initContainer
            // As the kubelet before each container it creates: the image was pulled (said then), or was there.
            if pulledUnits.remove(unit) == nil {
                await emit(
                    entry.pod, uid: entry.uid, container: entry.container, initContainer: isInit, reason: "Pulled",
                    message: "Container image \"\(entry.image)\" already present on machine")
            }
            await emit(entry.pod, uid: entry.uid, container: entry.container, initContainer: isInit, reason: "Created", message: "Created container \(entry.container)")
            await emit(entry.pod, uid: entry.uid, container: entry.container, initContainer: isInit, reason: "Started", message: "Started container \(entry.container)")
        }
        for report in reports {
            let inits = Set((report.status.initContainerStatuses ?? []).map(\.name))
            for c in (report.status.initContainerStatuses ?? []) + (report.status.containerStatuses ?? []) {
                let key = report.uid + "/" + c.name
                let reason = c.state?.waiting?.reason ?? ""
                defer { lastWaiting[key] = reason }
                guard reason == ContainerStateMapping.crashLoopBackOff, lastWaiting[key] != reason else { continue }
                await emit(
                    report.key, uid: report.uid, container: c.name, initContainer: inits.contains(c.name), warning: true,
                    reason: "BackOff", message: "Back-off restarting failed container \(c.name) in pod \(report.name)_\(report.namespace)(\(report.uid))")
            }
        }
    }

    /// Records a unit's planned file text (as a pass does), for status.
    func setUnitFile(_ unit: String, _ text: String) {
        unitFiles[unit] = text
    }

    /// The container of `unit` as systemd last reported it, for the prober.
    func probedContainer(_ unit: String) -> ProbedContainer? {
        guard let p = lastProperties[unit] else { return nil }
        return ProbedContainer(
            id: p.invocationID.isEmpty ? nil : p.invocationID, running: p.activeState == .active && p.mainPID > 0,
            startedAtMicroseconds: p.mainStartTimestamp, mainPID: p.mainPID)
    }

    /// A probe changed a container's readiness or start (its pod's status is reported again), or
    /// failed it: the container is restarted (stopped, under restartPolicy Never), which counts as a restart.
    func probeEvent(_ event: ProbeEvent) async {
        guard let entry = unitIndex[event.unit] else { return }
        let isInit = entry.role == .initContainer
        switch event.change {
        case .failed:
            await emit(
                entry.pod, uid: entry.uid, container: event.container, initContainer: isInit, warning: true, reason: "Unhealthy",
                message: "\(event.kind.rawValue.prefix(1).uppercased() + event.kind.rawValue.dropFirst()) probe failed: \(event.output)")
            return
        case .result(let value):
            if event.kind == .readiness, !value, !event.output.isEmpty {
                log("pod \(entry.pod): container \(event.container): Unhealthy: readiness probe failed: \(event.output)")
            }
        case .restart:
            let message = "\(event.kind.rawValue) probe failed: \(event.output)"
            log("pod \(entry.pod): container \(event.container): Unhealthy: \(message); \(entry.policy == "Never" ? "stopping" : "restarting") it")
            await emit(
                entry.pod, uid: entry.uid, container: event.container, initContainer: isInit, reason: "Killing",
                message: "Container \(event.container) failed \(event.kind.rawValue) probe, will be restarted")
            do {
                if let grace = event.gracePeriodSeconds { await kill(event.unit, within: .seconds(grace)) }
                if entry.policy == "Never" {
                    try await systemd.stop([event.unit])
                } else {
                    countRestart(event.unit)
                    try await systemd.restart([event.unit])
                }
            } catch {
                log("pod \(entry.pod): container \(event.container): after the failed \(event.kind.rawValue) probe: \(error)")
            }
        }
        markDirty(entry.pod, units: entry.units)
    }

    /// True when images that failed to install are due to be tried again.
    public var imageRetryDue: Bool { imageRetryAt.map { ContinuousClock.now >= $0 } ?? false }

    /// Makes systemd run exactly `requests` (one reconcile pass); pods held back are reported.
    public func run(_ requests: [PodRequest]) async throws -> ReconcileReport {
        let passStarted = ContinuousClock.now
        var reloads = 0
        defer { metrics.reconciled(in: ContinuousClock.now - passStarted, reloads: reloads) }
        var held: [PodStatusReport] = []
        var keep: Set<String> = []
        var failures: [(request: PodRequest, blocked: Set<String>, reason: String, message: String)] = []
        func holdBack(_ request: PodRequest, blocked: Set<String>, reason: String, message: String) {
            keep.insert(request.uid)
            failures.append((request, blocked, reason, message))
            reportedFromUnits.remove(request.key)
            held.append(Self.heldBack(request, blocked: blocked, reason: reason, message: message))
        }

        // Packages, one image at a time (apt takes one lock anyway).
        var packageUnits: [String: PackageUnit] = [:]
        var newlyPulled: Set<String> = []
        var failedImages: [String: String] = [:]
        if let packages {
            for request in requests {
                for c in Self.containers(of: request) {
                    guard let image = c.image, packageUnits[image] == nil, failedImages[image] == nil,
                        case let .success(ref) = ImageReference.parse(image), ref.packageName != nil
                    else { continue }
                    // Pulling and Pulled for each container of the pass that uses the image, when it is installed.
                    let users = requests.flatMap { r in Self.containers(of: r).filter { $0.image == image }.map { (r, $0) } }
                    let started = ContinuousClock.now
                    let pulled = Flag()
                    do {
                        let unit = try await packages.packageUnit(for: ref) {
                            pulled.set()
                            await self.emitPull(users, reason: "Pulling", message: "Pulling image \"\(image)\"")
                        }
                        if let unit { packageUnits[image] = unit }
                        if pulled.isSet {
                            let seconds = String(format: "%.3fs", Double((ContinuousClock.now - started) / .milliseconds(1)) / 1000)
                            await emitPull(
                                users, reason: "Pulled",
                                message: "Successfully pulled image \"\(image)\" in \(seconds) (package \(ref.packageName ?? image) installed)")
                            newlyPulled.formUnion(users.map { "\($0.0.key)/\($0.1.name)" })
                        }
                    } catch {
                        failedImages[image] = "\(error)"
                        log("error: pod \(request.key): image \(image): \(error)")
                    }
                }
            }
        }
        if failedImages.isEmpty {
            imageRetryDelay = 10
            imageRetryAt = nil
        } else {
            let delay = imageRetryDelay
            imageRetryDelay = min(300, delay * 2)
            imageRetryAt = ContinuousClock.now.advanced(by: .seconds(delay))
            log("retrying the images that failed in \(delay)s: \(failedImages.keys.sorted().joined(separator: ", "))")
        }

        // Compile each pod on its own (in parallel); a pod's error holds back only that pod.
        var compilable: [PodRequest] = []
        for request in requests {
            let failed = Self.containers(of: request).filter { $0.image.map { failedImages[$0] != nil } ?? false }
            if failed.isEmpty {
                compilable.append(request)
            } else {
                let message = failed.compactMap { c in c.image.flatMap { failedImages[$0] }.map { "\(c.name): \($0)" } }
                holdBack(request, blocked: Set(failed.map(\.name)), reason: "ErrImagePull", message: message.joined(separator: "; "))
            }
        }
        let node = self.node
        let found = packageUnits
        let results = compilable.concurrentMap { request in
            Result { () throws(CompileError) in
                try PodCompiler.compile(
                    CompileInput(
                        pod: request.entry.pod, source: request.entry.source, configMaps: request.configMaps,
                        secrets: request.secrets, packageUnits: found, node: node))
            }
        }
        var desired: [DesiredPod] = []
        for (request, result) in zip(compilable, results) {
            let plan: PodPlan
            switch result {
            case .success(let compiled): plan = compiled
            case .failure(let error):
                log("error: \(error)")
                holdBack(request, blocked: Set(Self.containers(of: request).map(\.name)), reason: "CreateContainerConfigError", message: error.description)
                continue
            }
            // Pods systemd would refuse to run (a user or group the node lacks) are not installed.
            let problems = UnitIdentityCheck.problems(in: plan, users: users)
            if !problems.isEmpty {
                for problem in problems { log("error: pod \(request.key): \(problem)") }
                holdBack(
                    request, blocked: Set(problems.map(\.container)), reason: UnitIdentityCheck.reason,
                    message: problems.map(\.description).joined(separator: "; "))
                continue
            }
            var content: [String: [UInt8]] = [:]
            if let runtimeContent, plan.files.contains(where: { if case .runtime = $0.content { true } else { false } }) {
                do {
                    content = try await runtimeContent.runtimeContent(for: plan, pod: request.entry.pod)
                } catch {
                    log("error: pod \(request.key): \(error)")
                    holdBack(request, blocked: Set(plan.units.map(\.container)), reason: "ContainerCreating", message: "\(error)")
                    continue
                }
            }
            desired.append(DesiredPod(plan: plan, source: request.entry.source.file ?? "api", runtimeContent: content))
        }

        var index: [String: IndexedUnit] = [:]
        for pod in desired {
            let plan = pod.plan
            let policy = plan.units.first.flatMap { try? UnitFile.parse($0.contents).lastValue("RestartPolicy", in: "X-Kubernetes") } ?? "Always"
            for unit in plan.units {
                index[unit.name] = IndexedUnit(
                    pod: pod.key, uid: plan.uid, container: unit.container, role: unit.role, policy: policy, units: plan.units.map(\.name),
                    image: unit.image)
                if newlyPulled.contains("\(pod.key)/\(unit.container)") { pulledUnits.insert(unit.name) }
            }
        }
        let report = try await reconciler.reconcile(desired, keep: keep)
        reloads = report.daemonReloads
        let previousIndex = unitIndex
        // Pods whose files could not be written wait with the reason (unless their units run on as they were).
        for (key, message) in report.failed.sorted(by: { $0.key < $1.key }) {
            guard let request = requests.first(where: { $0.key == key }) else { continue }
            holdBack(request, blocked: Set(Self.containers(of: request).map(\.name)), reason: "CreateContainerConfigError", message: message)
            if !report.kept.contains(key) { index = index.filter { $0.value.pod != key } }
        }
        // Units of held-back pods that keep running stay indexed, so their status still follows them.
        for (name, entry) in unitIndex where keep.contains(entry.uid) && index[name] == nil { index[name] = entry }
        unitIndex = index
        var files = Dictionary(desired.flatMap { $0.plan.units.map { ($0.name, $0.contents) } }, uniquingKeysWith: { a, _ in a })
        for (name, text) in unitFiles where index[name] != nil && files[name] == nil { files[name] = text }
        unitFiles = files
        let live = Set(index.values.map(\.uid))
        initBackoff = initBackoff.filter { key, _ in index.values.contains { $0.pod == key } }
        terminating.formIntersection(live)
        runtimeRestarts = runtimeRestarts.filter { index[$0.key] != nil }
        lastProperties = lastProperties.filter { index[$0.key] != nil }
        lastInvocation = lastInvocation.filter { index[$0.key] != nil }
        pulledUnits = pulledUnits.filter { index[$0] != nil }
        let liveUIDs = Set(index.values.map(\.uid))
        lastWaiting = lastWaiting.filter { liveUIDs.contains(String($0.key.prefix { $0 != "/" })) }

        await prober?.set(desired.filter { report.failed[$0.key] == nil }.flatMap(\.plan.probes))
        await recordEvents(failures: failures, report: report, desired: desired, previousIndex: previousIndex)
        let stillRunning = Set(report.kept)
        let waiting = held.filter { !stillRunning.contains($0.key) }
        let requested = Set(requests.map(\.key))
        phases = phases.filter { requested.contains($0.key) }
        record(phases: waiting)
        if !waiting.isEmpty { await onStatus(waiting) }
        // Report the pods the pass created, replaced or started (new pods start Pending), and the pods not
        // reported yet (adopted ones, as they are; ones held back before).
        reportedFromUnits.formIntersection(desired.map(\.key))
        var touched = Set(report.created).union(report.replaced)
        for unit in report.started { if let pod = index[unit]?.pod { touched.insert(pod) } }
        for pod in desired where report.failed[pod.key] == nil && (touched.contains(pod.key) || !reportedFromUnits.contains(pod.key)) {
            markDirty(pod.key, units: pod.plan.units.map(\.name))
        }
        return report
    }

    /// Marks pods whose deletion began: their containers will not restart, their phase becomes terminal.
    public func setTerminating(_ uids: Set<String>) {
        terminating = uids
    }

    /// Follows systemd's unit state changes until the stream ends.
    public func consume(_ changes: AsyncStream<UnitStateChange>) async {
        for await change in changes { await handle(change) }
        log("error: the connection to systemd ended")
    }

    func handle(_ change: UnitStateChange) async {
        guard let entry = unitIndex[change.unit] else { return }
        guard let state = change.activeState else { return }
        markDirty(entry.pod, units: entry.units)
        guard entry.role == .initContainer, state == .failed, entry.policy != "Never", !terminating.contains(entry.uid) else { return }
        let delay = initBackoff[entry.pod] ?? 10
        initBackoff[entry.pod] = min(300, delay * 2)
        log("pod \(entry.pod): init container unit \(change.unit) failed; retrying the pod's init containers in \(delay)s")
        let systemd = self.systemd
        let units = entry.units
        let log = self.log
        let unit = change.unit
        Task {
            try? await Task.sleep(for: .seconds(delay))
            guard self.stillIndexed(unit, uid: entry.uid) else { return }
            self.countRestart(unit)
            do {
                try await systemd.resetFailed(units)
                try await systemd.start(units)
            } catch {
                log("pod \(entry.pod): retrying init containers: \(error)")
            }
        }
    }

    func stillIndexed(_ unit: String, uid: String) -> Bool {
        unitIndex[unit]?.uid == uid && !terminating.contains(uid)
    }

    func countRestart(_ unit: String) {
        runtimeRestarts[unit, default: 0] += 1
    }

    func markDirty(_ pod: String, units: [String]) {
        dirtyPods[pod] = units
        lastDirty = ContinuousClock.now
        scheduleFlush()
    }

    /// One flush at a time: a flush that read systemd earlier must not report after one that read it
    /// later (the older status would be written last and stay). Changes during a flush are flushed after it.
    func scheduleFlush() {
        guard !statusFlushScheduled, !flushing, !dirtyPods.isEmpty else { return }
        statusFlushScheduled = true
        let deadline = lastDirty.advanced(by: statusInterval)
        Task {
            while true {
                let quietAt = self.lastDirty.advanced(by: self.statusQuiet)
                let wake = min(quietAt, deadline)
                if wake <= ContinuousClock.now { break }
                try? await Task.sleep(until: wake, clock: .continuous)
            }
            await self.flushStatuses()
        }
    }

    func flushStatuses() async {
        statusFlushScheduled = false
        flushing = true
        defer {
            flushing = false
            scheduleFlush()
        }
        let pods = dirtyPods
        dirtyPods = [:]
        let properties = await systemd.states(of: Set(pods.values.joined()))
        for (unit, value) in properties { lastProperties[unit] = value }
        let probed = await prober?.results(Set(pods.values.joined())) ?? [:]
        var reports: [PodStatusReport] = []
        for (key, units) in pods.sorted(by: { $0.key < $1.key }) {
            if let report = status(of: units, properties: properties, probes: probed) { reports.append(report) }
            if unitIndex[units.first ?? ""]?.pod == key { reportedFromUnits.insert(key) }
        }
        if events != nil { await recordRunEvents(properties, reports: reports) }
        record(phases: reports)
        if !reports.isEmpty { await onStatus(reports) }
    }

    /// Notes the phases reported, and sets `systemk_pods` from them.
    func record(phases reports: [PodStatusReport]) {
        for report in reports { phases[report.key] = report.status.phase ?? "Unknown" }
        var counts: [String: Int] = [:]
        for phase in phases.values { counts[phase, default: 0] += 1 }
        metrics.pods(byPhase: counts)
    }

    /// Rebuilds a pod's status from its unit files (as planned and installed) and systemd's properties.
    func status(
        of units: [String], properties: [String: UnitProperties], probes: [String: (ready: Bool?, started: Bool?)] = [:]
    ) -> PodStatusReport? {
        var observed: [ObservedUnit] = []
        for unit in units {
            guard let properties = properties[unit] else { continue }
            let text = unitFiles[unit] ?? (try? String(contentsOfFile: systemd.unitDirectory + "/" + unit, encoding: .utf8))
            observed.append(
                ObservedUnit(
                    name: unit, unitFile: text, properties: properties, ready: probes[unit]?.ready, started: probes[unit]?.started,
                    additionalRestarts: runtimeRestarts[unit] ?? 0))
        }
        guard let mapped = PodStatusMapper.map(observed, terminalPods: terminating).pods.first else { return nil }
        return PodStatusReport(namespace: mapped.namespace, name: mapped.name, uid: mapped.uid, status: mapped.status)
    }

    /// The status of a pod held back before install: its `blocked` containers waiting with `reason`,
    /// the others waiting for them.
    static func heldBack(_ request: PodRequest, blocked: Set<String>, reason: String, message: String) -> PodStatusReport {
        let pod = request.entry.pod
        return heldBack(
            namespace: pod.namespace, name: pod.name, uid: request.uid,
            initContainers: (pod.spec.initContainers ?? []).map { ($0.name, $0.image) },
            containers: pod.spec.containers.map { ($0.name, $0.image) },
            blocked: blocked, reason: reason, message: message)
    }

    /// The status of a pod none of whose containers can be created yet: the `blocked` ones waiting with
    /// `reason` and `message`, the others waiting for them; Pending, not initialized, not ready.
    public static func heldBack(
        namespace: String, name: String, uid: String, initContainers: [(name: String, image: String?)],
        containers: [(name: String, image: String?)], blocked: Set<String>, reason: String, message: String
    ) -> PodStatusReport {
        func status(_ c: (name: String, image: String?)) -> ContainerStatus {
            let waiting: ContainerState =
                blocked.contains(c.name)
                ? .waiting(reason, message)
                : .waiting(initContainers.isEmpty ? "ContainerCreating" : "PodInitializing")
            return ContainerStatus(name: c.name, state: waiting, lastState: ContainerState(), image: c.image ?? "")
        }
        let inits = initContainers.map(status)
        let apps = containers.map(status).sorted { $0.name < $1.name }
        let unready = "containers with unready status: [" + apps.map(\.name).joined(separator: " ") + "]"
        var conditions = [
            PodCondition(type: "Initialized", status: inits.isEmpty, reason: inits.isEmpty ? nil : "ContainersNotInitialized",
                         message: inits.isEmpty ? nil : "containers with incomplete status: [" + inits.map(\.name).joined(separator: " ") + "]"),
            PodCondition(type: "Ready", status: false, reason: "ContainersNotReady", message: unready),
            PodCondition(type: "ContainersReady", status: false, reason: "ContainersNotReady", message: unready),
            PodCondition(type: "PodScheduled", status: true),
        ]
        conditions.sort { order($0.type) < order($1.type) }
        return PodStatusReport(
            namespace: namespace, name: name, uid: uid,
            status: PodStatus(
                phase: PodPhase.pending.rawValue, conditions: conditions, initContainerStatuses: inits.isEmpty ? nil : inits,
                containerStatuses: apps))
    }

    static func order(_ type: String) -> Int {
        ["Initialized": 0, "Ready": 1, "ContainersReady": 2, "PodScheduled": 3][type] ?? 4
    }

    static func containers(of request: PodRequest) -> [Container] {
        (request.entry.pod.spec.initContainers ?? []) + request.entry.pod.spec.containers
    }
}
