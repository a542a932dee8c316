import Foundation
import KubeletAPI
import Testing

/// `/stats/summary` and `/metrics/resource`, served from the node's stats source as the kubelet serves them.
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

    @Test func withoutAStatsSourceTheyAre404() async throws {
        try await withKubelet(pods: try await podStore()) { kubelet in
            let summary = try await kubelet.get("/stats/summary")
            let metrics = try await kubelet.get("/metrics/resource")
            #expect(summary.status == 404)
            #expect(metrics.status == 404)
        }
    }
}
