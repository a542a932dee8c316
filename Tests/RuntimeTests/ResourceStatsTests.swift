import Foundation
import SystemdTestSupport
import SystemkRuntime
import Testing

/// `/stats/summary` and `/metrics/resource` from a real systemd's cgroup accounting, checked against
/// `systemctl show` of the same units.
@Suite(.enabled(if: NamespacedSystemd.isAvailable, "needs root and a namespaced systemd"))
struct ResourceStatsTests {
    static func unit(pod: String, container: String, uid: String, script: String) -> UnitFileContents {
        UnitFileContents(
            name: "systemk.default.\(pod).\(container).service",
            contents: """
                [Unit]
                Description=stats test

                [Service]
                ExecStart=/usr/bin/python3 \(script)
                CPUAccounting=yes
                MemoryAccounting=yes

                [X-Kubernetes]
                PodUID=\(uid)
                Namespace=default
                Pod=\(pod)
                Container=\(container)
                ContainerRole=app
                Image=/usr/bin/python3
                RestartPolicy=Always
                PodDirectory=/var/lib/systemk/pods/\(uid)

                """)
    }

    /// Spends about 0.3 s of CPU, holds 32 MiB, then sleeps.
    static let busy = "import time\nx = bytearray(32 * 1024 * 1024)\nt = time.process_time()\nwhile time.process_time() - t < 0.3: pass\ntime.sleep(3600)"

    @Test func summaryAndResourceMetricsMatchSystemdsAccounting() async throws {
        try await NamespacedSystemd.with { systemd in
            let manager = try await systemd.connectManager()
            let busy = systemd.dataDirectory + "/busy.py", idle = systemd.dataDirectory + "/idle.py"
            try Self.busy.write(toFile: busy, atomically: true, encoding: .utf8)
            try "import time\ntime.sleep(3600)\n".write(toFile: idle, atomically: true, encoding: .utf8)
            let units = [
                Self.unit(pod: "web", container: "app", uid: "uid-web", script: busy),
                Self.unit(pod: "web", container: "sidecar", uid: "uid-web", script: idle),
            ]
            try await manager.install(units)
            try await manager.daemonReload()
            try await manager.start(units.map(\.name))
            // The busy part is over once its CPU time stops growing (when systemd can account CPU here:
            // systemd in a namespace on a cgroup v1 host reports none; then after 2 s).
            var last: UInt64 = 0
            for _ in 0..<100 {
                try await Task.sleep(for: .milliseconds(200))
                guard let now = try await manager.properties(of: units[0].name).cpuUsageNanoseconds else {
                    try await Task.sleep(for: .seconds(2))
                    break
                }
                if now >= 300_000_000, now == last { break }
                last = now
            }
            let stats = ResourceStats(systemd: manager, nodeName: "node-1")
            let summary = await stats.summary()
            let shown = try await manager.properties(of: units[0].name)

            #expect(summary.node.nodeName == "node-1")
            #expect((summary.node.cpu?.usageCoreNanoSeconds ?? 0) > 0)
            #expect((summary.node.memory?.workingSetBytes ?? 0) > 0)
            let pod = try #require(summary.pods.first { $0.podRef.name == "web" })
            #expect(pod.podRef.namespace == "default")
            #expect(pod.podRef.uid == "uid-web")
            #expect(pod.containers.map(\.name).sorted() == ["app", "sidecar"])
            let app = try #require(pod.containers.first { $0.name == "app" })
            // The same counter as `systemctl show`, read a moment apart from an idle process; absent when
            // systemd accounts no CPU.
            let cpu = app.cpu?.usageCoreNanoSeconds
            if let shownCPU = shown.cpuUsageNanoseconds {
                let cpu = try #require(cpu)
                #expect(cpu >= 300_000_000)
                #expect(shownCPU >= cpu && shownCPU - cpu < 20_000_000, "summary \(cpu) ns, systemctl show \(shownCPU) ns")
            } else {
                #expect(cpu == nil)
            }
            let usage = try #require(app.memory?.usageBytes)
            let shownMemory = try #require(shown.memoryCurrent)
            #expect(usage >= 32 * 1024 * 1024)
            #expect(Double(max(usage, shownMemory) - min(usage, shownMemory)) < 0.1 * Double(shownMemory))
            let workingSet = try #require(app.memory?.workingSetBytes)
            #expect(workingSet <= usage && workingSet >= 32 * 1024 * 1024)
            // The pod is the sum of its containers.
            let sidecar = pod.containers.first { $0.name == "sidecar" }
            #expect(pod.memory?.usageBytes == usage + (sidecar?.memory?.usageBytes ?? 0))
            if let cpu {
                #expect(pod.cpu?.usageCoreNanoSeconds == cpu + (sidecar?.cpu?.usageCoreNanoSeconds ?? 0))
                // A rate needs two reads.
                #expect(app.cpu?.usageNanoCores == nil)
                try await Task.sleep(for: .milliseconds(300))
                let second = await stats.summary()
                let again = second.pods.first { $0.podRef.name == "web" }?.containers.first { $0.name == "app" }
                #expect(again?.cpu?.usageNanoCores != nil)
            }
            // The node's rate needs two reads too.
            #expect((await stats.summary()).node.cpu?.usageNanoCores != nil)

            let metrics = await stats.resourceMetrics()
            #expect(metrics.contains("# TYPE container_cpu_usage_seconds_total counter"))
            if cpu != nil {
                #expect(metrics.contains(#"container_cpu_usage_seconds_total{container="app",namespace="default",pod="web"} 0."#))
            }
            #expect(metrics.contains(#"container_memory_working_set_bytes{container="app",namespace="default",pod="web"} "#))
            #expect(metrics.contains(#"pod_memory_working_set_bytes{namespace="default",pod="web"} "#))
            #expect(metrics.contains("node_cpu_usage_seconds_total "))
            #expect(metrics.hasSuffix("scrape_error 0\n"))
        }
    }
}
