import Foundation
import KubeletAPI
import Testing

/// `/stats/summary` and `/metrics/resource`, served from the node's stats source as the kubelet serves them,
/// and `/metrics` from the agent's own metrics.
@Suite struct StatsEndpointTests {
    struct FixedStats: NodeStatsSource {
        func summaryJSON() async -> [UInt8] { Array(#"{"node":{"nodeName":"node-1"},"pods":[]}"#.utf8) }
        func resourceMetrics() async -> String { "# TYPE scrape_error gauge\nscrape_error 0\n" }
    }

    @Test func statsAndResourceMetricsAreServed() async throws {
        try await withKubelet(pods: try await podStore(), stats: FixedStats()) { kubelet in
            let summary = try await kubelet.get("/stats/summary")
            #expect(summary.status == 200)
            #expect(summary.contentType == "application/json")
            #expect(summary.body == #"{"node":{"nodeName":"node-1"},"pods":[]}"#)
            let metrics = try await kubelet.get("/metrics/resource")
            #expect(metrics.status == 200)
            #expect(metrics.contentType?.hasPrefix("text/plain; version=0.0.4") == true)
            #expect(metrics.body.hasSuffix("scrape_error 0\n"))
            #expect(try await kubelet.get("/stats/other").status == 404)
        }
    }

    struct FixedMetrics: AgentMetricsSource {
        func metricsText() -> String { "# TYPE systemk_pods gauge\nsystemk_pods{phase=\"Running\"} 3\n" }
    }

    @Test func theAgentsOwnMetricsAreServed() async throws {
        try await withKubelet(pods: try await podStore(), metrics: FixedMetrics()) { kubelet in
            let metrics = try await kubelet.get("/metrics")
            #expect(metrics.status == 200)
            #expect(metrics.contentType?.hasPrefix("text/plain; version=0.0.4") == true)
            #expect(metrics.body == "# TYPE systemk_pods gauge\nsystemk_pods{phase=\"Running\"} 3\n")
            #expect(try await kubelet.get("/metrics/other").status == 404)
            // Without a stats source, /metrics/resource is still 404.
            #expect(try await kubelet.get("/metrics/resource").status == 404)
        }
    }

    @Test func withoutAStatsSourceTheyAre404() async throws {
        try await withKubelet(pods: try await podStore()) { kubelet in
            let summary = try await kubelet.get("/stats/summary")
            let metrics = try await kubelet.get("/metrics/resource")
            let own = try await kubelet.get("/metrics")
            #expect(summary.status == 404)
            #expect(metrics.status == 404)
            #expect(own.status == 404)
        }
    }
}
