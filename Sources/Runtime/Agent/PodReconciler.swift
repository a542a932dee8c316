import PodCompiler

/// Makes systemd run exactly the desired pods, with systemd as the only record of what runs.
///
/// One pass: read the installed systemk units and group them by the pod UID in their
/// `[X-Kubernetes]` section; stop and remove the units of pods no longer desired (and delete their
/// directories); write the files of every desired pod (a no-op when unchanged); install the units of
/// new and changed pods; reload systemd **once** for the whole pass (never once per unit: a reload
/// costs about 1 ms per loaded unit); start new and changed pods, all of a pod's units together (their
/// own dependencies order init containers before app containers). Pods whose units are already as
/// planned are left alone, running or not: restarting systemk restarts nothing. A unit with the
/// systemk prefix but no valid `[X-Kubernetes]` section is reported, never deleted.
public actor PodReconciler {
    let systemd: any SystemdManager
    let materializer: PlanMaterializer
    let dryRun: Bool
    let log: @Sendable (String) -> Void

    public init(
        systemd: any SystemdManager, materializer: PlanMaterializer, dryRun: Bool = false,
        log: @escaping @Sendable (String) -> Void
    ) {
        self.systemd = systemd
        self.materializer = materializer
        self.dryRun = dryRun
        self.log = log
    }

    /// An installed unit, as read back from its file.
    struct InstalledUnit {
        var name: String
        var contents: String
        var podUID: String
        var podDirectory: String
        var pod: String
    }

    /// Reads the installed systemk units; those without a valid identity go to `foreign`.
    func installedUnits() async throws -> (units: [InstalledUnit], foreign: [String]) {
        var units: [InstalledUnit] = []
        var foreign: [String] = []
        for file in try await systemd.installedUnitFiles(prefix: UnitNaming.prefix) {
            guard file.name.hasSuffix(UnitNaming.suffix) else { continue }
            guard let unit = try? UnitFile.parse(file.contents, fileName: file.name),
                let uid = unit.lastValue("PodUID", in: "X-Kubernetes"), !uid.isEmpty,
                let dir = unit.lastValue("PodDirectory", in: "X-Kubernetes"), !dir.isEmpty,
                let ns = unit.lastValue("Namespace", in: "X-Kubernetes"),
                let pod = unit.lastValue("Pod", in: "X-Kubernetes")
            else {
                foreign.append(file.name)
                continue
            }
            units.append(InstalledUnit(name: file.name, contents: file.contents, podUID: uid, podDirectory: dir, pod: "\(ns)/\(pod)"))
        }
        return (units, foreign.sorted())
    }

    /// One reconcile pass. Installed pods whose UID is in `keep` are left as they are even though
    /// they are not desired (the agent holds them back: a ConfigMap they need vanished, ...).
    public func reconcile(_ desired: [DesiredPod], keep: Set<String> = []) async throws -> ReconcileReport {
        var report = ReconcileReport()
        let (installed, foreign) = try await installedUnits()
        report.foreignUnits = foreign
        for name in foreign {
            log("unit \(name) has the systemk prefix but no valid [X-Kubernetes] section: left alone")
        }
        let installedByName = Dictionary(installed.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        var installedByPod: [String: [InstalledUnit]] = [:]
        for unit in installed { installedByPod[unit.podUID, default: []].append(unit) }
        let desiredUIDs = Set(desired.map(\.plan.uid))

        var toStop: [String] = []
        var toRemove: [String] = []
        var toInstall: [UnitFileContents] = []
        var toStart: [[String]] = []
        var directoriesToRemove: [String] = []

        for (uid, units) in installedByPod.sorted(by: { $0.key < $1.key }) where !desiredUIDs.contains(uid) {
            if keep.contains(uid) {
                report.kept.append(units[0].pod)
                continue
            }
            let names = units.map(\.name).sorted()
            toStop += names
            toRemove += names
            directoriesToRemove.append(units[0].podDirectory)
            report.removed.append(units[0].pod)
        }
        // Each pod's files first, on their own (in parallel: pods share no path below the pods directory,
        // which the first pod's pass makes). A pod whose files fail is held back alone: not installed, or
        // left as it runs; the others go on.
        var failedUIDs: Set<String> = []
        if !dryRun {
            let materializer = self.materializer
            var outcomes: [Result<ApplyReport, ApplyError>] = []
            if let first = desired.first {
                outcomes.append(Result { () throws(ApplyError) in try materializer.apply(first.plan, runtimeContent: first.runtimeContent) })
                outcomes += Array(desired.dropFirst()).concurrentMap { pod in
                    Result { () throws(ApplyError) in try materializer.apply(pod.plan, runtimeContent: pod.runtimeContent) }
                }
            }
            for (pod, outcome) in zip(desired, outcomes) {
                switch outcome {
                case .success(let changes):
                    if !changes.isEmpty { log("pod \(pod.key): \(changes.changes.count) file changes") }
                case .failure(let error):
                    log("error: pod \(pod.key): \(error)")
                    report.failed[pod.key] = error.description
                    failedUIDs.insert(pod.plan.uid)
                    if let running = installedByPod[pod.plan.uid]?.first { report.kept.append(running.pod) }
                    // A new pod's partial files go (its directory is named by its UID, and nothing runs there).
                    if installedByPod[pod.plan.uid] == nil { _ = try? materializer.removePod(directory: pod.plan.podDirectory) }
                }
            }
        }
        for pod in desired where !failedUIDs.contains(pod.plan.uid) {
            let plan = pod.plan
            let existing = installedByPod[plan.uid] ?? []
            let planned = Set(plan.units.map(\.name))
            let changed =
                existing.count != plan.units.count
                || plan.units.contains { installedByName[$0.name]?.contents != $0.contents }
                || existing.contains { !planned.contains($0.name) }
            if existing.isEmpty {
                report.created.append(pod.key)
            } else if changed {
                report.replaced.append(pod.key)
                toStop += existing.map(\.name)
                toRemove += existing.map(\.name).filter { !planned.contains($0) }
            } else {
                report.unchanged.append(pod.key)
                continue
            }
            toInstall += plan.units.map { UnitFileContents(name: $0.name, contents: $0.contents) }
            toStart.append(plan.units.map(\.name))
        }

        if dryRun {
            for pod in report.created { log("dry run: would create pod \(pod)") }
            for pod in report.replaced { log("dry run: would replace pod \(pod)") }
            for pod in report.removed { log("dry run: would remove pod \(pod)") }
            return report
        }

        if !toStop.isEmpty { try await systemd.stop(toStop) }
        if !toRemove.isEmpty { try await systemd.remove(toRemove) }
        if !toInstall.isEmpty { try await systemd.install(toInstall) }
        if !toRemove.isEmpty || !toInstall.isEmpty {
            try await systemd.daemonReload()
            report.daemonReloads += 1
            log("reloaded systemd: \(toInstall.count) unit files written, \(toRemove.count) removed")
        }
        for directory in directoriesToRemove {
            _ = try materializer.removePod(directory: directory)
        }
        // Unchanged pods whose units are loaded but never ran (systemk stopped between install and
        // start): start them. Units that ran and ended stay as they are: their restart policy decided.
        let unchanged = Set(report.unchanged)
        let unchangedPods = desired.filter { unchanged.contains($0.key) }
        let states = await systemd.states(of: Set(unchangedPods.flatMap { $0.plan.units.map(\.name) }))
        for pod in unchangedPods {
            var never: [String] = []
            for unit in pod.plan.units {
                guard let p = states[unit.name] else { continue }
                if p.activeState == .inactive && p.mainStartTimestamp == 0 && p.invocationID.isEmpty { never.append(unit.name) }
            }
            if !never.isEmpty {
                toStart.append(pod.plan.units.map(\.name))
                report.started += never
            }
        }
        let batch = toStart.flatMap { $0 }
        if !batch.isEmpty {
            // Start jobs of init containers last as long as they run: do not hold the pass for them.
            let systemd = self.systemd
            let log = self.log
            Task {
                do {
                    try await systemd.start(batch)
                } catch {
                    log("starting units: \(error)")
                }
            }
        }
        for pod in report.created { log("created pod \(pod)") }
        for pod in report.replaced { log("replaced pod \(pod)") }
        for pod in report.removed { log("removed pod \(pod)") }
        return report
    }
}
