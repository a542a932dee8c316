import KubeClient
import Foundation
import PodCompiler

/// `systemk --manifests DIR`: runs every pod in a directory of manifests, with no cluster, like the
/// kubelet's static pods. Reconciles at start (adopting what already runs) and whenever the directory
/// changes; the pods' statuses go to the log, one line per change. The work itself is `PodRunner`'s.
public actor StandaloneAgent {
    var directory: ManifestDirectory
    let systemd: any SystemdManager
    let runner: PodRunner
    let log: @Sendable (String) -> Void
    /// The manifests' fingerprint at the last reconcile the directory's changes caused.
    var seen: [String: String] = [:]
    let statusLog: StatusLog

    public init(
        directory: String, node: NodeFacts, systemd: any SystemdManager, reconciler: PodReconciler,
        packages: (any PackageUnitSource)?, users: any UserDatabase = SystemUserDatabase(),
        probes: (any ProbeExecutor)? = nil, log: @escaping @Sendable (String) -> Void
    ) {
        self.directory = ManifestDirectory(path: directory)
        self.systemd = systemd
        self.log = log
        let statusLog = StatusLog(log: log)
        self.statusLog = statusLog
        self.runner = PodRunner(
            node: node, systemd: systemd, reconciler: reconciler, packages: packages, users: users, probes: probes, log: log,
            onStatus: { reports in await statusLog.record(reports) })
    }

    /// Reads the directory, compiles every pod, reconciles once.
    public func reconcileOnce() async throws -> ReconcileReport {
        let loaded = directory.load()
        for e in loaded.errors { log("error: \(e)") }
        let set = loaded.set
        let requests = set.pods.map { entry in
            PodRequest(
                entry: entry, configMaps: set.configMaps[entry.pod.namespace] ?? [:],
                secrets: set.secrets[entry.pod.namespace] ?? [:])
        }
        // Two pods with one name: the first wins, the second is reported.
        var seenKeys: Set<String> = []
        var unique: [PodRequest] = []
        for request in requests {
            if seenKeys.insert(request.key).inserted {
                unique.append(request)
            } else {
                log("error: \(request.entry.source.file ?? "?"): pod \(request.key) is defined twice; the first one runs")
            }
        }
        return try await runner.run(unique)
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
            group.addTask { await self.runner.consume(changes) }
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

    /// Reconciles when the manifests' fingerprint changed since the last look, or a failed image is
    /// due to be tried again.
    func reconcileIfChanged() async {
        let now = directory.fingerprint()
        let retryDue = await runner.imageRetryDue
        guard now != seen || retryDue else { return }
        seen = now
        do {
            ServiceNotifier.status(Self.statusText(try await reconcileOnce()))
        } catch {
            log("error: reconcile: \(error)")
        }
    }
}

/// The pods' statuses as log lines: phase, then each container's state and restart count, logged
/// when the line changes.
actor StatusLog {
    let log: @Sendable (String) -> Void
    var last: [String: String] = [:]

    init(log: @escaping @Sendable (String) -> Void) {
        self.log = log
    }

    func record(_ reports: [PodStatusReport]) {
        for report in reports {
            let line = Self.line(report)
            guard last[report.key] != line else { continue }
            last[report.key] = line
            log(line)
        }
    }

    static func line(_ report: PodStatusReport) -> String {
        func describe(_ c: ContainerStatus) -> String {
            let state: String
            if let w = c.state?.waiting {
                state = "waiting" + (w.reason.map { " (\($0))" } ?? "")
            } else if c.state?.running != nil {
                state = c.ready ? "running" : "running (not ready)"
            } else if let t = c.state?.terminated {
                state = "terminated (\(t.reason ?? "exit code \(t.exitCode)"))"
            } else {
                state = "unknown"
            }
            return "\(c.name) \(state), restarts \(c.restartCount)"
        }
        let status = report.status
        let containers = (status.initContainerStatuses ?? []).map(describe) + (status.containerStatuses ?? []).map(describe)
        return "pod \(report.key): \(status.phase ?? "Unknown"); " + containers.joined(separator: "; ")
    }
}
