import KubeClient
import Foundation
import PodCompiler

/// Finds the unit file of an image's package, installing the package first when the runtime may
/// (standalone and live modes) or only looking (dry runs).
public protocol PackageUnitSource: Sendable {
    func packageUnit(for image: ImageReference) async throws -> PackageUnit?
}

/// `systemk --manifests DIR`: runs every pod in a directory of manifests, with no cluster, like the
/// kubelet's static pods. Reconciles at start (adopting what already runs), whenever the directory
/// changes, and retries failed init containers per the pod's restartPolicy (systemd does not re-queue
/// app units after a failed init unit later succeeds).
public actor StandaloneAgent {
    var directory: ManifestDirectory
    let node: NodeFacts
    let systemd: any SystemdManager
    let reconciler: PodReconciler
    let packages: (any PackageUnitSource)?
    let users: any UserDatabase
    let log: @Sendable (String) -> Void
    /// Units of the current desired pods, by unit name: (pod key, role, pod restart policy, all units).
    var unitIndex: [String: (pod: String, role: PlannedUnit.Role, policy: String, units: [String])] = [:]
    /// When to try again the images that failed to install, and the back-off after that (10 s
    /// doubling to 300 s, as the kubelet's image pull back-off).
    var imageRetryAt: ContinuousClock.Instant?
    var imageRetryDelay = 10
    /// The manifests' fingerprint at the last reconcile the directory's changes caused.
    var seen: [String: String] = [:]
    /// The last status line logged per pod, so that only changes are logged.
    var lastStatus: [String: String] = [:]
    /// The unit files of the desired pods, by unit name, as last planned (status needs their
    /// `[X-Kubernetes]` sections; no need to read them back from disk at each change).
    var unitFiles: [String: String] = [:]
    /// Pods whose units changed state since their status was last logged: logged together, at most
    /// every `statusInterval`, so that a burst of signals (200 pods starting) costs a few passes.
    var dirtyPods: [String: [String]] = [:]
    var statusFlushScheduled = false
    let statusInterval: Duration = .milliseconds(200)
    /// Back-off of init-container retries per pod, in seconds (10 s doubling to 300 s, as the kubelet).
    var initBackoff: [String: Int] = [:]

    public init(
        directory: String, node: NodeFacts, systemd: any SystemdManager, reconciler: PodReconciler,
        packages: (any PackageUnitSource)?, users: any UserDatabase = SystemUserDatabase(),
        log: @escaping @Sendable (String) -> Void
    ) {
        self.directory = ManifestDirectory(path: directory)
        self.users = users
        self.node = node
        self.systemd = systemd
        self.reconciler = reconciler
        self.packages = packages
        self.log = log
    }

    /// Reads the directory, compiles every pod, reconciles once.
    public func reconcileOnce() async throws -> ReconcileReport {
        let loaded = directory.load()
        var set = loaded.set
        for e in loaded.errors { log("error: \(e)") }
        var packageUnits: [String: PackageUnit] = [:]
        var failedImages: [String: String] = [:]
        if let packages {
            for entry in set.pods {
                for c in (entry.pod.spec.initContainers ?? []) + entry.pod.spec.containers {
                    guard let image = c.image, packageUnits[image] == nil, failedImages[image] == nil,
                        case let .success(ref) = ImageReference.parse(image), ref.packageName != nil
                    else { continue }
                    do {
                        if let unit = try await packages.packageUnit(for: ref) { packageUnits[image] = unit }
                    } catch {
                        failedImages[image] = "\(error)"
                        log("error: pod \(entry.pod.namespace)/\(entry.pod.name): image \(image): \(error)")
                    }
                }
            }
        }
        // Pods with an image that could not be installed wait (ErrImagePull, as the kubelet says), and
        // are tried again after a back-off.
        if !failedImages.isEmpty {
            set.removePods { entry in
                let containers = (entry.pod.spec.initContainers ?? []) + entry.pod.spec.containers
                let failed = containers.filter { $0.image.map { failedImages[$0] != nil } ?? false }
                guard !failed.isEmpty else { return false }
                let names = Set(failed.map(\.name))
                logBlocked(
                    "\(entry.pod.namespace)/\(entry.pod.name)", containers: containers.map(\.name), blocked: names,
                    reason: "ErrImagePull")
                return true
            }
            let delay = imageRetryDelay
            imageRetryDelay = min(300, delay * 2)
            imageRetryAt = ContinuousClock.now.advanced(by: .seconds(delay))
            log("retrying the images that failed in \(delay)s: \(failedImages.keys.sorted().joined(separator: ", "))")
        } else {
            imageRetryDelay = 10
            imageRetryAt = nil
        }
        let (compiled, compileErrors) = set.compileEach(packageUnits: packageUnits, node: node)
        for e in compileErrors { log("error: \(e)") }
        // Pods systemd would refuse to run (a user or group the node lacks) are not installed.
        var plans: [PodPlan] = []
        for plan in compiled {
            let problems = UnitIdentityCheck.problems(in: plan, users: users)
            guard !problems.isEmpty else {
                plans.append(plan)
                continue
            }
            let key = "\(plan.namespace)/\(plan.name)"
            for problem in problems { log("error: pod \(key): \(problem)") }
            logBlocked(
                key, containers: plan.units.map(\.container), blocked: Set(problems.map(\.container)),
                reason: UnitIdentityCheck.reason)
        }
        var index: [String: (pod: String, role: PlannedUnit.Role, policy: String, units: [String])] = [:]
        for plan in plans {
            let policy = plan.units.first.flatMap { try? UnitFile.parse($0.contents).lastValue("RestartPolicy", in: "X-Kubernetes") } ?? "Always"
            for unit in plan.units {
                index[unit.name] = ("\(plan.namespace)/\(plan.name)", unit.role, policy, plan.units.map(\.name))
            }
        }
        unitIndex = index
        unitFiles = Dictionary(plans.flatMap { $0.units.map { ($0.name, $0.contents) } }, uniquingKeysWith: { a, _ in a })
        let report = try await reconciler.reconcile(plans.map { DesiredPod(plan: $0, source: "manifests") })
        return report
    }

    /// Runs until cancelled: reconcile, then react to directory changes (inotify; a burst of changes
    /// reconciled once) and to units' state changes (signals, not polling).
    ///
    /// Run as a `Type=notify` service, it tells systemd it is ready once the first pass is done, shows
    /// the number of pods in `systemctl status`, and, with `WatchdogSec=`, pings the watchdog from this
    /// actor (so a wedged agent is restarted; its pods run on, and the new agent adopts them).
    public func run() async throws {
        let changes = try await systemd.stateChanges()
        let report = try await reconcileOnce()
        ServiceNotifier.status(Self.statusText(report))
        ServiceNotifier.ready()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await self.consume(changes) }
            group.addTask { try await self.watchDirectory() }
            if let interval = ServiceNotifier.watchdogInterval() {
                group.addTask {
                    while !Task.isCancelled {
                        await self.heartbeat()
                        try await Task.sleep(for: interval)
                    }
                }
            }
            try await group.next()
            group.cancelAll()
        }
    }

    /// `WATCHDOG=1`, sent from the actor: only an agent that still gets to run its jobs pings.
    func heartbeat() {
        ServiceNotifier.watchdog()
    }

    /// The line `systemctl status systemk` shows.
    static func statusText(_ report: ReconcileReport) -> String {
        let pods = report.created.count + report.replaced.count + report.unchanged.count
        return "\(pods) pod\(pods == 1 ? "" : "s") from the manifests"
    }

    func consume(_ changes: AsyncStream<UnitStateChange>) async {
        for await change in changes { await handle(change) }
        log("error: the connection to systemd ended")
    }

    /// Reconciles when the directory's manifests change: told by inotify (a burst of changes once it
    /// settles), checked every 2 s as well; polled twice a second where inotify is not available.
    func watchDirectory() async throws {
        seen = directory.fingerprint()
        if let events = DirectoryWatch.events(directory.path) {
            for await _ in events { await reconcileIfChanged() }
            log("the manifest directory \(directory.path) went away; checking it twice a second")
        }
        while !Task.isCancelled {
            try await Task.sleep(for: .milliseconds(500))
            // Let a burst of writes settle, then reconcile once.
            if directory.fingerprint() != seen { try await Task.sleep(for: .milliseconds(300)) }
            await reconcileIfChanged()
        }
    }

    /// Logs the status of a pod held back before install: its `blocked` containers waiting with
    /// `reason`, the others waiting for them.
    func logBlocked(_ key: String, containers: [String], blocked: Set<String>, reason: String) {
        let line = "pod \(key): Pending; " + containers.map {
            "\($0) " + (blocked.contains($0) ? "waiting (\(reason))" : "waiting") + ", restarts 0"
        }.joined(separator: "; ")
        if lastStatus[key] != line {
            lastStatus[key] = line
            log(line)
        }
    }

    /// Reconciles when the manifests' fingerprint changed since the last look, or a failed image is
    /// due to be tried again.
    func reconcileIfChanged() async {
        let now = directory.fingerprint()
        let retryDue = imageRetryAt.map { ContinuousClock.now >= $0 } ?? false
        guard now != seen || retryDue else { return }
        seen = now
        do {
            ServiceNotifier.status(Self.statusText(try await reconcileOnce()))
        } catch {
            log("error: reconcile: \(error)")
        }
    }

    func handle(_ change: UnitStateChange) async {
        guard let entry = unitIndex[change.unit] else { return }
        guard let state = change.activeState else { return }
        dirtyPods[entry.pod] = entry.units
        if !statusFlushScheduled {
            statusFlushScheduled = true
            let interval = statusInterval
            Task {
                try? await Task.sleep(for: interval)
                await self.logDirtyStatuses()
            }
        }
        guard entry.role == .initContainer, state == .failed, entry.policy != "Never" else { return }
        let delay = initBackoff[entry.pod] ?? 10
        initBackoff[entry.pod] = min(300, delay * 2)
        log("pod \(entry.pod): init container unit \(change.unit) failed; retrying the pod's init containers in \(delay)s")
        let systemd = self.systemd
        let units = entry.units
        let log = self.log
        Task {
            try? await Task.sleep(for: .seconds(delay))
            do {
                try await systemd.resetFailed(units)
                try await systemd.start(units)
            } catch {
                log("pod \(entry.pod): retrying init containers: \(error)")
            }
        }
    }

    func logDirtyStatuses() async {
        statusFlushScheduled = false
        let pods = dirtyPods
        dirtyPods = [:]
        for (pod, units) in pods.sorted(by: { $0.key < $1.key }) { await logStatus(of: pod, units: units) }
    }

    /// Rebuilds the pod's status from its unit files (as planned and installed) and systemd's properties
    /// of its units, and logs it when it changed: phase, then each container's state and restart count.
    func logStatus(of pod: String, units: [String]) async {
        var observed: [ObservedUnit] = []
        for unit in units {
            guard let properties = try? await systemd.properties(of: unit) else { continue }
            let text = unitFiles[unit] ?? (try? String(contentsOfFile: systemd.unitDirectory + "/" + unit, encoding: .utf8))
            observed.append(ObservedUnit(name: unit, unitFile: text, properties: properties))
        }
        guard let mapped = PodStatusMapper.map(observed).pods.first else { return }
        let status = mapped.status
        func describe(_ c: ContainerStatus) -> String {
            let state: String
            if let w = c.state?.waiting {
                state = "waiting" + (w.reason.map { " (\($0))" } ?? "")
            } else if c.state?.running != nil {
                state = "running"
            } else if let t = c.state?.terminated {
                state = "terminated (\(t.reason ?? "exit code \(t.exitCode)"))"
            } else {
                state = "unknown"
            }
            return "\(c.name) \(state), restarts \(c.restartCount)"
        }
        let containers = (status.initContainerStatuses ?? []).map(describe) + (status.containerStatuses ?? []).map(describe)
        let line = "pod \(pod): \(status.phase ?? "Unknown"); " + containers.joined(separator: "; ")
        guard lastStatus[pod] != line else { return }
        lastStatus[pod] = line
        log(line)
    }
}
