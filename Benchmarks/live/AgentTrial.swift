import Foundation
import KubeClient
import KubeTestServer
import SystemdTestSupport

/// One trial of systemk's live mode: a fresh namespaced systemd and test API server, systemk registered
/// and idle, then N pods created through the API at once; the clock stops when a watch (opened before
/// the first create) has seen every pod with phase Running and its container ready.
struct AgentTrial {
    let options: TrialOptions
    static let agentUnit = "systemk-live.service"

    func run() async throws -> ResultLine {
        let files = FileManager.default
        try files.createDirectory(atPath: options.out, withIntermediateDirectories: true)
        try files.createDirectory(atPath: options.state, withIntermediateDirectories: true)
        guard try files.contentsOfDirectory(atPath: options.state).isEmpty else {
            throw NamespacedSystemd.Failure(description: "\(options.state) is not empty: the agent must start from nothing")
        }
        return try await NamespacedSystemd.with { systemd in
            var serverOptions = KubeTestServer.Options()
            serverOptions.pki = try TestPKI.generate()
            serverOptions.nodeAuthorization = true
            serverOptions.historyLimit = 100_000
            // HTTP/2 as kube-apiserver and k3s speak it: systemk's watches share a few connections.
            serverOptions.http2 = options.http2
            let api = try await KubeTestServer.start(serverOptions)
            let admin: KubeClient
            do {
                admin = try Self.client(api, identity: .admin)
            } catch {
                try? await api.shutdown()
                throw error
            }
            do {
                let line = try await measure(systemd: systemd, api: api, admin: admin)
                // The result is out before the teardown, which has nothing left to measure.
                line.emit()
                // systemk first, so that its ~N watch connections close before the API server goes.
                _ = try? systemd.run(["systemctl", "stop", Self.agentUnit])
                await admin.shutdown()
                try? await api.shutdown()
                return line
            } catch {
                try? Data(systemd.journal(Self.agentUnit).utf8).write(to: URL(fileURLWithPath: options.out + "/agent.log"))
                await admin.shutdown()
                try? await api.shutdown()
                throw error
            }
        }
    }

    static func client(_ server: KubeTestServer, identity: TestIdentity) throws -> KubeClient {
        let yaml = try server.kubeconfigYAML(for: identity)
        let configuration = try Kubeconfig(merging: [KubeconfigDocument.parse(yaml, path: "/livebench/kubeconfig")])
            .clientConfiguration()
        var options = KubeClientOptions()
        options.userAgent = "systemk-live-bench"
        return try KubeClient(configuration: configuration, options: options)
    }

    func measure(systemd: NamespacedSystemd, api: KubeTestServer, admin: KubeClient) async throws -> ResultLine {
        let n = options.pods
        let namespace = Workload.namespace
        // Untimed: the namespace and every pod's ConfigMap exist before systemk starts.
        try await api.create(.namespaces, ["metadata": ["name": .string(namespace)]])
        for i in 0..<n { try await api.create(.configMaps, Workload.configMap(i)) }
        let kubeconfig = systemd.dataDirectory + "/node.kubeconfig"
        try api.kubeconfig(for: .node(Workload.nodeName), at: kubeconfig)

        if options.coldExecutable, let systemk = options.systemk { try Machine.dropPageCache(of: systemk) }
        try systemd.check([
            "systemd-run", "--quiet", "--unit=\(Self.agentUnit)", "-p", "Restart=no",
        ] + options.agentEnvironment.flatMap { ["-E", $0] } + [
            options.systemk ?? "systemk",
            "--kubeconfig", kubeconfig, "--nodename", Workload.nodeName, "--node-ip", "127.0.0.1",
            "--state-dir", options.state, "--port", "0",
        ])
        try await waitRegistered(systemd: systemd, api: api)
        let pid = try systemd.mainPID(Self.agentUnit)
        // Idle: registered, its first pass over no pods long done.
        try await Task.sleep(for: .seconds(2))
        let rssIdle = Machine.memoryKiB("VmRSS", statusFile: systemd.procFile(pid, "status"))
        let anonIdle = Machine.memoryKiB("RssAnon", statusFile: systemd.procFile(pid, "status"))
        Machine.keep(systemd.procFile(pid, "smaps"), as: options.out + "/smaps-idle.txt")

        // Open as many connections as there will be concurrent creates (the creating client is not what is
        // measured), and keep them warm while waiting for a quiet machine.
        let busy = try await Machine.waitQuiet(below: options.quiet, timeout: options.quietTimeout) {
            try await Self.warm(admin, connections: n)
        }
        let load = Machine.load1()

        // The watch is open (its response headers arrived) before the first create.
        let revision = String(await api.currentResourceVersion)
        let (opened, open) = AsyncStream<Void>.makeStream()
        let watcher = Task {
            defer { open.finish() }
            let stream = try await admin.watch(
                KubeClient::Pod.self, scope: WatchScope(namespace: namespace), resourceVersion: revision,
                allowBookmarks: false)
            open.yield()
            return try await RunningWatch.follow(stream, expecting: n)
        }
        var isOpen = false
        for await _ in opened {
            isOpen = true
            break
        }
        guard isOpen else {
            _ = try await watcher.value
            throw NamespacedSystemd.Failure(description: "the watch did not open")
        }
        let timeout = Task {
            try await Task.sleep(for: .seconds(300))
            watcher.cancel()
        }
        let ticks0 = try ticks(systemd, agent: pid)
        let t0 = Machine.now()
        let created = try await withThrowingTaskGroup(of: (Int, Int64).self) { group in
            for i in 0..<n {
                group.addTask {
                    _ = try await admin.createPod(namespace: namespace, json: Workload.pod(i))
                    return (i, Machine.now())
                }
            }
            var out = [Int64](repeating: 0, count: n)
            for try await (i, t) in group { out[i] = t }
            return out
        }
        let seen: [String: PodTimes]
        do {
            seen = try await watcher.value
        } catch {
            throw NamespacedSystemd.Failure(description: "not every pod was seen Running within 300 s: \(error)")
        }
        timeout.cancel()
        let ticks1 = try ticks(systemd, agent: pid)

        // What systemk installed: exactly one unit per pod, the floor's units (UIDs aside).
        let units = systemd.installedPodUnits(namespace: namespace)
        guard units == (0..<n).map(Workload.unitName).sorted() else {
            throw NamespacedSystemd.Failure(description: "systemk installed \(units.count) pod units, expected \(n)")
        }
        let (firstStart, lastActive) = try systemd.unitTimestamps(units, writingTo: options.out + "/unit-timestamps.txt")
        try checkOrCapture(units, systemd: systemd)

        try await Task.sleep(for: .seconds(2))
        let rssLoaded = Machine.memoryKiB("VmRSS", statusFile: systemd.procFile(pid, "status"))
        let anonLoaded = Machine.memoryKiB("RssAnon", statusFile: systemd.procFile(pid, "status"))
        let hwm = Machine.memoryKiB("VmHWM", statusFile: systemd.procFile(pid, "status"))
        Machine.keep(systemd.procFile(pid, "smaps"), as: options.out + "/smaps-loaded.txt")
        let log = try systemd.check(["journalctl", "-u", Self.agentUnit, "-o", "short-unix", "--no-pager"])
        try Data(log.utf8).write(to: URL(fileURLWithPath: options.out + "/agent.log"))
        let agentLog = AgentLog(log)
        try RunningWatch.write(seen, created: created, t0: t0, to: options.out + "/pods.txt")

        let running = seen.values.compactMap(\.running)
        let firstStatus = seen.values.compactMap(\.firstStatus)
        var line = ResultLine()
        line.add("mode", options.mode.rawValue)
        line.add("n", n)
        line.add("api_us", (running.max() ?? t0) - t0)
        line.add("first_running_us", (running.min() ?? t0) - t0)
        line.add("median_running_us", running.median - t0)
        line.add("creates_us", (created.max() ?? t0) - t0)
        line.add("first_status_us", (firstStatus.min() ?? t0) - t0)
        line.add("exact_us", lastActive - t0)
        line.add("first_start_us", firstStart - t0)
        line.add("reload_log_us", agentLog.firstReload.map { $0 - t0 } ?? -1)
        line.add("reloads", agentLog.reloads)
        line.add("rss_idle_kib", rssIdle)
        line.add("rss_loaded_kib", rssLoaded)
        line.add("hwm_kib", hwm)
        line.add("anon_idle_kib", anonIdle)
        line.add("anon_loaded_kib", anonLoaded)
        line.add("cpu_agent_ticks", ticks1.agent - ticks0.agent)
        line.add("cpu_systemd_ticks", ticks1.systemd - ticks0.systemd)
        line.add("cpu_journald_ticks", ticks1.journald - ticks0.journald)
        line.add("cpu_bench_ticks", ticks1.bench - ticks0.bench)
        line.add("busy", busy)
        line.add("load1", load)
        line.add("t0_us", t0)
        return line
    }

    /// Waits until the Node is Ready in the API server and systemk has logged its first pass.
    func waitRegistered(systemd: NamespacedSystemd, api: KubeTestServer) async throws {
        let deadline = ContinuousClock.now + .seconds(120)
        while ContinuousClock.now < deadline {
            let node = try? await api.get(.nodes, name: Workload.nodeName)
            let ready = node?[path: ["status", "conditions"]]?.arrayValue?.contains {
                $0["type"]?.stringValue == "Ready" && $0["status"]?.stringValue == "True"
            } ?? false
            if ready, systemd.journal(Self.agentUnit).contains("ready: 0 pods bound to this node") { return }
            let state = try systemd.check(["systemctl", "show", "-p", "ActiveState", "--value", Self.agentUnit])
            if state.hasPrefix("failed") || state.hasPrefix("inactive") {
                throw NamespacedSystemd.Failure(description: "systemk ended:\n\(systemd.journal(Self.agentUnit))")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw NamespacedSystemd.Failure(description: "systemk did not register within 120 s:\n\(systemd.journal(Self.agentUnit))")
    }

    /// `connections` concurrent reads, so that the client's pool holds that many open connections.
    static func warm(_ client: KubeClient, connections: Int) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<connections {
                group.addTask { _ = try await client.getConfigMap(namespace: Workload.namespace, name: "p0-config") }
            }
            try await group.waitForAll()
        }
    }

    struct Ticks {
        var agent: Int
        var systemd: Int
        var journald: Int
        /// This process: the API server and the creating and watching client.
        var bench: Int
    }

    func ticks(_ systemd: NamespacedSystemd, agent pid: Int) throws -> Ticks {
        let (s, j) = try systemd.systemdAndJournaldTicks()
        return Ticks(
            agent: Machine.cpuTicks(statFile: systemd.procFile(pid, "stat")), systemd: s, journald: j,
            bench: Machine.cpuTicks(statFile: "/proc/self/stat"))
    }

    /// The capture trial keeps the unit files for the floor; the others must have installed the same.
    func checkOrCapture(_ units: [String], systemd: NamespacedSystemd) throws {
        var texts: [String: String] = [:]
        for unit in units {
            texts[unit] = try String(contentsOfFile: systemd.hostPath("/run/systemd/system/" + unit), encoding: .utf8)
        }
        let directory = options.capture + "/units"
        if options.mode == .capture {
            try? FileManager.default.removeItem(atPath: directory)
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            for (unit, text) in texts {
                try Data(text.utf8).write(to: URL(fileURLWithPath: directory + "/" + unit))
            }
        } else {
            try Workload.checkSame(texts, asIn: directory)
        }
    }
}

/// What the agent's journal says, with journald's timestamps (µs since the epoch).
struct AgentLog {
    var firstReload: Int64?
    var reloads = 0

    init(_ shortUnix: String) {
        for line in shortUnix.split(separator: "\n") where line.contains("reloaded systemd:") {
            reloads += 1
            if firstReload == nil { firstReload = Self.micros(line) }
        }
    }

    /// `1764140000.123456 host unit[pid]: message` → µs.
    static func micros(_ line: Substring) -> Int64? {
        guard let stamp = line.split(separator: " ").first else { return nil }
        let parts = stamp.split(separator: ".")
        guard parts.count == 2, let s = Int64(parts[0]), let us = Int64(parts[1].prefix(6).padding(toLength: 6, withPad: "0", startingAt: 0))
        else { return nil }
        return s * 1_000_000 + us
    }
}
