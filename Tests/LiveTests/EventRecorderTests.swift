import Foundation
import KubeClient
import KubeTestServer
import Synchronization
import SystemkRuntime
import Testing

/// Pod events as the kubelet records them: core/v1 Events with the node as source, repeats folded into
/// one Event's count, and a per-pod rate limit so that a crash loop cannot flood the API server.
@Suite("Pod events in the API")
struct EventRecorderTests {
    final class Clock: Sendable {
        private let time = Mutex(Date(timeIntervalSince1970: 1_800_000_000))
        var now: Date { time.withLock { $0 } }
        func advance(_ seconds: TimeInterval) { time.withLock { $0 = $0.addingTimeInterval(seconds) } }
    }

    static func event(_ reason: String, _ message: String, container: String? = "app", warning: Bool = false, uid: String = "uid-1")
        -> PodEvent
    {
        PodEvent(
            namespace: "default", pod: "web", podUID: uid,
            fieldPath: container.map { PodEvent.fieldPath(container: $0, initContainer: false) },
            kind: warning ? .warning : .normal, reason: reason, message: message)
    }

    @Test func eventsAreWrittenAsTheKubeletWritesThemAndRepeatsAreCounted() async throws {
        var options = KubeTestServer.Options()
        options.nodeAuthorization = true
        try await withCluster(node: "node-a", serverOptions: options) { server, _, nodeClient in
            let clock = Clock()
            let recorder = APIEventRecorder(client: nodeClient, node: "node-a", now: { clock.now }, log: { _ in })
            await recorder.record(Self.event("Started", "Started container app"))
            for _ in 0..<3 {
                clock.advance(10)
                await recorder.record(Self.event("Unhealthy", "Liveness probe failed: dial tcp 127.0.0.1:80: refused", warning: true))
            }
            await recorder.flush()
            let events = await server.list(.events, namespace: "default")
            #expect(events.count == 2)
            let started = try #require(events.first { $0["reason"] == "Started" })
            #expect(started["type"] == "Normal")
            #expect(started["count"] == 1)
            #expect(started[path: ["involvedObject", "kind"]] == "Pod")
            #expect(started[path: ["involvedObject", "name"]] == "web")
            #expect(started[path: ["involvedObject", "uid"]] == "uid-1")
            #expect(started[path: ["involvedObject", "fieldPath"]] == "spec.containers{app}")
            #expect(started[path: ["source", "component"]] == "kubelet")
            #expect(started[path: ["source", "host"]] == "node-a")
            let unhealthy = try #require(events.first { $0["reason"] == "Unhealthy" })
            #expect(unhealthy["type"] == "Warning")
            #expect(unhealthy["count"] == 3, "one Event, its count patched")
            #expect(unhealthy["firstTimestamp"] != unhealthy["lastTimestamp"])
            #expect(unhealthy[path: ["series", "count"]] == 3)

            // The same again after the aggregation window is a new Event.
            clock.advance(3600)
            await recorder.record(Self.event("Unhealthy", "Liveness probe failed: dial tcp 127.0.0.1:80: refused", warning: true))
            await recorder.flush()
            #expect(await server.list(.events, namespace: "default").count == 3)
        }
    }

    @Test func aCrashLoopIsRateLimitedPerPod() async throws {
        try await withCluster(node: "node-a") { server, _, nodeClient in
            let clock = Clock()
            let recorder = APIEventRecorder(client: nodeClient, node: "node-a", burst: 5, refillEvery: 300, now: { clock.now }, log: { _ in })
            // Every message different (no folding): only the burst goes through.
            for i in 0..<20 {
                await recorder.record(Self.event("BackOff", "Back-off \(i)", warning: true))
            }
            // Another pod has its own allowance.
            await recorder.record(Self.event("Started", "Started container app", uid: "uid-2"))
            await recorder.flush()
            #expect(await recorder.dropped == 15)
            #expect(await server.list(.events, namespace: "default").count == 6)
            // One token back every 5 minutes.
            clock.advance(300)
            await recorder.record(Self.event("BackOff", "Back-off 20", warning: true))
            await recorder.record(Self.event("BackOff", "Back-off 21", warning: true))
            await recorder.flush()
            #expect(await server.list(.events, namespace: "default").count == 7)
            #expect(await recorder.dropped == 16)
        }
    }
}
