import Foundation
import KubeTestServer
import SystemdTestSupport
import Testing

/// A Deployment's rolling update on a systemk node waits for readiness, as on a kubelet node: the
/// test plays the Deployment controller (`RolloutController`: the test API server has none) from what
/// the API says, and `kubectl rollout status` judges the rollout. A version whose readiness probe fails
/// stalls it (its pod stays NotReady, the old pods keep running); a version whose liveness probe fails
/// shows restarts and Unhealthy events.
@Suite(
    .serialized,
    .enabled(if: NamespacedSystemd.isAvailable, "\(NamespacedSystemd.unavailableReason ?? "")"),
    .enabled(if: Kubectl.available, "kubectl is not installed"))
struct DeploymentRolloutTests {
    static func deployment(version: Int, readiness: String = "/bin/true", liveness: String? = nil) -> String {
        let livenessProbe = liveness.map {
            "\n        livenessProbe: {exec: {command: [\($0)]}, initialDelaySeconds: 2, periodSeconds: 1, failureThreshold: 1}"
        } ?? ""
        return """
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: web, namespace: default}
            spec:
              replicas: 2
              selector: {matchLabels: {app: web}}
              strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}
              template:
                metadata: {labels: {app: web}}
                spec:
                  automountServiceAccountToken: false
                  terminationGracePeriodSeconds: 2
                  containers:
                  - name: app
                    image: /bin/sleep
                    args: [infinity]
                    env: [{name: VERSION, value: "\(version)"}]
                    readinessProbe: {exec: {command: [\(readiness)]}, periodSeconds: 1}\(livenessProbe)
            """
    }

    /// The names of the pods of `web` with the given template hash label (any when nil), without the deleted ones.
    static func pods(_ cluster: LiveEndToEndTests.Cluster, hash: String? = nil) async -> [JSONValue] {
        await cluster.api.list(.pods, namespace: "default").filter {
            $0[path: ["metadata", "labels", "app"]]?.stringValue == "web" && $0[path: ["metadata", "deletionTimestamp"]] == nil
                && (hash == nil || $0[path: ["metadata", "labels", "pod-template-hash"]]?.stringValue == hash)
        }
    }

    static func currentHash(_ cluster: LiveEndToEndTests.Cluster) async throws -> String {
        let deployment = try await cluster.api.get(.deployments, name: "web", namespace: "default")
        return RolloutController.hash(try #require(deployment[path: ["spec", "template"]]))
    }

    @Test func aRolloutWaitsForReadinessAndALivenessFailureShowsAsRestarts() async throws {
        try await NamespacedSystemd.with { systemd in
            var cluster = try await LiveEndToEndTests.Cluster.start(systemd)
            let controller = RolloutController(api: cluster.api, deployment: "web", node: "node-1")
            do {
                try cluster.startNode()
                try await cluster.wait("node-1 Ready") {
                    try await cluster.get("node node-1", #"{.status.conditions[?(@.type=="Ready")].status}"#) == "True"
                }
                await controller.start()

                // Version 1 rolls out: both pods Ready, and kubectl says the rollout is complete.
                try await cluster.apply("web.yaml", Self.deployment(version: 1))
                let first = try await cluster.kubectl("rollout", "status", "deployment/web", "--timeout=90s")
                #expect(first.status == 0, "\(first)")
                #expect(first.stdout.contains("successfully rolled out"), "\(first)")
                let v1 = try await Self.currentHash(cluster)
                let v1Pods = await Self.pods(cluster, hash: v1).compactMap(\.name).sorted()
                #expect(v1Pods.count == 2)
                #expect(try await cluster.get("pods -l app=web", "{.items[*].status.containerStatuses[0].ready}") == "true true")

                // Version 2 never gets ready: one new pod runs, NotReady; the rollout waits, so both old
                // pods keep running and ready.
                try await cluster.apply("web.yaml", Self.deployment(version: 2, readiness: "/bin/false"))
                let v2 = try await Self.currentHash(cluster)
                try await cluster.wait("version 2's pod running", seconds: 60) {
                    guard let pod = await Self.pods(cluster, hash: v2).first?.name else { return false }
                    return try await cluster.get("pod \(pod)", "{.status.containerStatuses[0].state.running.startedAt}") != ""
                }
                // Several readiness periods.
                try await Task.sleep(for: .seconds(4))
                let stalled = try await cluster.kubectl("rollout", "status", "deployment/web", "--timeout=3s")
                #expect(stalled.status != 0, "the rollout must not complete: \(stalled)")
                #expect(stalled.stdout.contains("1 out of 2 new replicas have been updated"), "\(stalled)")
                let v2Pods = await Self.pods(cluster, hash: v2).compactMap(\.name)
                #expect(v2Pods.count == 1, "maxSurge 1: \(v2Pods)")
                let v2Pod = try #require(v2Pods.first)
                #expect(try await cluster.get("pod \(v2Pod)", "{.status.phase}") == "Running")
                #expect(try await cluster.get("pod \(v2Pod)", #"{.status.conditions[?(@.type=="Ready")].status}"#) == "False")
                #expect(try await cluster.get("pod \(v2Pod)", "{.status.containerStatuses[0].ready}") == "false")
                #expect(await Self.pods(cluster, hash: v1).compactMap(\.name).sorted() == v1Pods, "the old pods stay")
                for pod in v1Pods {
                    #expect(try await cluster.get("pod \(pod)", #"{.status.conditions[?(@.type=="Ready")].status}"#) == "True")
                }
                #expect(try await cluster.get("deployment web", "{.status.availableReplicas}") == "2")
                let reasons = await LiveEndToEndTests.eventReasons(cluster, pod: v2Pod)
                #expect(reasons.contains("Unhealthy"), "\(reasons)")

                // Version 3 gets ready, but its liveness probe fails: its containers restart, counted, with
                // Unhealthy events saying why.
                try await cluster.apply("web.yaml", Self.deployment(version: 3, liveness: "/bin/false"))
                let v3 = try await Self.currentHash(cluster)
                var restarted = ""
                try await cluster.wait("a restart of version 3's container", seconds: 60) {
                    for pod in await Self.pods(cluster, hash: v3).compactMap(\.name) {
                        let count = try await cluster.get("pod \(pod)", "{.status.containerStatuses[0].restartCount}")
                        if (Int(count) ?? 0) >= 1 {
                            restarted = pod
                            return true
                        }
                    }
                    return false
                }
                let describe = try await cluster.kubectl("describe", "pod", restarted).stdout
                #expect(describe.contains("Liveness probe failed"), "\(describe)")
                #expect(describe.contains("Container app failed liveness probe, will be restarted"), "\(describe)")
                // The pod that never got ready went first.
                #expect(await Self.pods(cluster, hash: v2).isEmpty)
            } catch {
                print(cluster.log())
                await controller.stop()
                await cluster.stop()
                throw error
            }
            await controller.stop()
            await cluster.stop()
        }
    }
}
