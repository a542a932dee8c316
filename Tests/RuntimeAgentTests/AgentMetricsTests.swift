import Foundation
import KubeClient
import PodCompiler
import Synchronization
import Testing

@testable import SystemkRuntime

/// systemk's own metrics as `/metrics` writes them: each counter where its component counts it.
@Suite struct AgentMetricsTests {
    func lines(_ exposition: MetricsExposition, _ prefix: String) -> [String] {
        exposition.metricsText().split(separator: "\n").map(String.init).filter { $0.hasPrefix(prefix) }.sorted()
    }

    @Test func countsAreWrittenInPrometheusTextFormat() {
        let (metrics, exposition) = AgentMetrics.prometheus()
        metrics.reconciled(in: .milliseconds(30), reloads: 1)
        metrics.reconciled(in: .seconds(3), reloads: 0)
        metrics.reloaded()
        metrics.pods(byPhase: ["Running": 2, "Pending": 1])
        metrics.probeRan(.readiness, success: false)
        metrics.probeRan(.readiness, success: false)
        metrics.probeRan(.liveness, success: true)
        metrics.apiError(method: "GET", .server(code: 500, APIFailure(method: "GET", path: "/api/v1/nodes/n1", code: 500, reason: "", message: "")))
        metrics.apiError(method: "PATCH", .transport(method: "PATCH", path: "/", detail: "refused"))

        #expect(lines(exposition, "systemk_daemon_reloads_total") == ["systemk_daemon_reloads_total 2"])
        #expect(lines(exposition, "systemk_pods") == [
            #"systemk_pods{phase="Failed"} 0.0"#, #"systemk_pods{phase="Pending"} 1.0"#, #"systemk_pods{phase="Running"} 2.0"#,
            #"systemk_pods{phase="Succeeded"} 0.0"#, #"systemk_pods{phase="Unknown"} 0.0"#,
        ])
        #expect(lines(exposition, "systemk_probe_results_total").contains(#"systemk_probe_results_total{probe_type="Readiness",result="failed"} 2"#))
        #expect(lines(exposition, "systemk_probe_results_total").contains(#"systemk_probe_results_total{probe_type="Liveness",result="successful"} 1"#))
        #expect(lines(exposition, "systemk_api_errors_total") == [
            #"systemk_api_errors_total{method="GET",code="500"} 1"#, #"systemk_api_errors_total{method="PATCH",code="transport"} 1"#,
        ])
        let histogram = lines(exposition, "systemk_reconcile_duration")
        #expect(histogram.contains("systemk_reconcile_duration_seconds_count 2"))
        #expect(histogram.contains(#"systemk_reconcile_duration_seconds_bucket{le="0.05"} 1"#))
        #expect(histogram.contains(#"systemk_reconcile_duration_seconds_bucket{le="5.0"} 2"#))
        #expect(exposition.metricsText().contains("# TYPE systemk_reconcile_duration_seconds histogram"))
    }

    @Test func theRunnerReportsPodsByPhase() async throws {
        let systemd = StatusFlushOrderTests.SlowFirstRead()
        systemd.state.withLock { $0.active = true }
        let (metrics, exposition) = AgentMetrics.prometheus()
        let reported = Mutex(0)
        let runner = PodRunner(
            node: NodeFacts(nodeName: "node-1"), systemd: systemd,
            reconciler: PodReconciler(systemd: systemd, materializer: PlanMaterializer(stateDirectory: "/nonexistent"), log: { _ in }),
            packages: nil, metrics: metrics, log: { _ in },
            onStatus: { batch in reported.withLock { $0 += batch.count } })
        await runner.setUnitFile(StatusFlushOrderTests.unit, StatusFlushOrderTests.unitFile)
        await runner.markDirty("default/web", units: [StatusFlushOrderTests.unit])
        for _ in 0..<200 where reported.withLock({ $0 }) < 1 { try await Task.sleep(for: .milliseconds(20)) }
        #expect(lines(exposition, #"systemk_pods{phase="Running"}"#) == [#"systemk_pods{phase="Running"} 1.0"#])
        // A pass without the pod forgets it; the pass itself is timed.
        _ = try await runner.run([])
        #expect(lines(exposition, #"systemk_pods{phase="Running"}"#) == [#"systemk_pods{phase="Running"} 0.0"#])
        #expect(lines(exposition, "systemk_reconcile_duration_seconds_count") == ["systemk_reconcile_duration_seconds_count 1"])
    }

    final class Alternating: ProbeExecutor {
        let runs = Mutex(0)
        func run(_ probe: Probe, target: ProbeTarget, timeout: Duration) async -> ProbeOutcome {
            let n = runs.withLock { r in
                r += 1
                return r
            }
            return ProbeOutcome(success: n % 2 == 1, output: "")
        }
    }

    @Test func theProberCountsEachRunByTypeAndResult() async throws {
        let (metrics, exposition) = AgentMetrics.prometheus()
        let executor = Alternating()
        let planned = try JSONDecoder().decode(
            PlannedProbe.self,
            from: Data(#"{"container":"app","unit":"u.service","kind":"readiness","probe":{"tcpSocket":{"port":1},"periodSeconds":1}}"#.utf8))
        let prober = Prober(
            executor: executor, host: "127.0.0.1", metrics: metrics,
            state: { _ in ProbedContainer(id: "run-1", running: true, startedAtMicroseconds: 1, mainPID: 1) }, onEvent: { _ in })
        await prober.set([planned])
        for _ in 0..<200 where executor.runs.withLock({ $0 }) < 2 { try await Task.sleep(for: .milliseconds(20)) }
        await prober.shutdown()
        try await Task.sleep(for: .milliseconds(50))
        let runs = executor.runs.withLock { $0 }
        let counted = lines(exposition, "systemk_probe_results_total{probe_type=\"Readiness\"")
        #expect(counted == [
            #"systemk_probe_results_total{probe_type="Readiness",result="failed"} \#(runs / 2)"#,
            #"systemk_probe_results_total{probe_type="Readiness",result="successful"} \#(runs - runs / 2)"#,
        ])
    }
}
