import CoreMetrics
import KubeClient
import PodCompiler
import Prometheus

/// systemk's own metrics, counted through swift-metrics' API with the factory given (never the global
/// one: every part of systemk takes its metrics from here, so tests and the benchmarks can each count
/// on their own). `AgentMetrics.prometheus()` makes the factory behind the kubelet API's `/metrics`.
///
/// | metric | type | labels |
/// |---|---|---|
/// | `systemk_pods` | gauge | `phase`: Pending, Running, Succeeded, Failed, Unknown |
/// | `systemk_reconcile_duration_seconds` | histogram | |
/// | `systemk_daemon_reloads_total` | counter | |
/// | `systemk_api_errors_total` | counter | `method`, `code` (HTTP status, or `transport`, `decoding`, `configuration`) |
/// | `systemk_probe_results_total` | counter | `probe_type` (Liveness, Readiness, Startup), `result` (successful, failed) |
public struct AgentMetrics: Sendable {
    public static let phases = ["Pending", "Running", "Succeeded", "Failed", "Unknown"]

    let factory: any MetricsFactory
    let reconcileDuration: CoreMetrics.Timer
    let daemonReloads: CoreMetrics.Counter
    let podGauges: [String: CoreMetrics.Gauge]
    let probeResults: [String: CoreMetrics.Counter]

    /// Metrics that go nowhere (the default of every component).
    public static let none = AgentMetrics(factory: NOOPMetricsHandler.instance)

    public init(factory: any MetricsFactory) {
        self.factory = factory
        reconcileDuration = CoreMetrics.Timer(label: "systemk_reconcile_duration_seconds", factory: factory)
        daemonReloads = CoreMetrics.Counter(label: "systemk_daemon_reloads_total", factory: factory)
        var podGauges: [String: CoreMetrics.Gauge] = [:]
        for phase in Self.phases {
            podGauges[phase] = CoreMetrics.Gauge(label: "systemk_pods", dimensions: [("phase", phase)], factory: factory)
        }
        self.podGauges = podGauges
        var probeResults: [String: CoreMetrics.Counter] = [:]
        for kind in [PlannedProbe.Kind.liveness, .readiness, .startup] {
            for success in [true, false] {
                probeResults[Self.probeKey(kind, success)] = CoreMetrics.Counter(
                    label: "systemk_probe_results_total",
                    dimensions: [("probe_type", kind.rawValue.prefix(1).uppercased() + kind.rawValue.dropFirst()),
                                 ("result", success ? "successful" : "failed")],
                    factory: factory)
            }
        }
        self.probeResults = probeResults
    }

    /// The metrics the kubelet API's `/metrics` serves, and what writes them.
    public static func prometheus() -> (metrics: AgentMetrics, exposition: MetricsExposition) {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        // A pass over 200 pods takes seconds (package installs excluded): buckets up to a minute.
        factory.durationHistogramBuckets["systemk_reconcile_duration_seconds"] = [
            .milliseconds(10), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
            .milliseconds(2500), .seconds(5), .seconds(10), .seconds(30), .seconds(60),
        ]
        return (AgentMetrics(factory: factory), MetricsExposition(registry: registry))
    }

    /// One reconcile pass took `duration` and reloaded systemd `reloads` times.
    func reconciled(in duration: Duration, reloads: Int) {
        reconcileDuration.recordNanoseconds(Int64((duration / .nanoseconds(1)).rounded()))
        if reloads > 0 { daemonReloads.increment(by: reloads) }
    }

    /// systemd was reloaded outside a pass (masking a package's own unit).
    func reloaded() {
        daemonReloads.increment()
    }

    /// The pods the node runs now, by phase (every phase is set, 0 where none).
    func pods(byPhase counts: [String: Int]) {
        for (phase, gauge) in podGauges { gauge.record(counts[phase] ?? 0) }
    }

    func probeRan(_ kind: PlannedProbe.Kind, success: Bool) {
        probeResults[Self.probeKey(kind, success)]?.increment()
    }

    /// A failed attempt of an API request (a hook for `KubeClientOptions.onError`).
    public func apiError(method: String, _ error: KubeError) {
        CoreMetrics.Counter(
            label: "systemk_api_errors_total", dimensions: [("method", method), ("code", error.metricLabel)], factory: factory
        ).increment()
    }

    static func probeKey(_ kind: PlannedProbe.Kind, _ success: Bool) -> String { "\(kind.rawValue)/\(success)" }
}

/// Writes the metrics of `AgentMetrics.prometheus()` in Prometheus' text format (version 0.0.4).
public struct MetricsExposition: Sendable {
    let registry: PrometheusCollectorRegistry

    public func metricsText() -> String {
        registry.emitToString()
    }
}
