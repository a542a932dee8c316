import Foundation
import KubeTestServer

/// The Deployment controller's rolling update, played by the test: the test API server stores
/// Deployments but runs no controllers. Like the real one (with a RollingUpdate strategy), it reads only
/// what the API says, every 200 ms:
/// - pods of the current template (label `pod-template-hash`) are created, `maxSurge` above `replicas`
///   at most (the test is the scheduler too: they are bound to `node`);
/// - a pod of an older template is deleted only while at least `replicas - maxUnavailable` pods would
///   stay Ready (the pods' Ready condition, as systemk reports it; minReadySeconds 0), not-ready ones first;
/// - the status says what `kubectl rollout status` reads: observedGeneration, replicas, updatedReplicas,
///   readyReplicas, availableReplicas, and the Progressing and Available conditions.
actor RolloutController {
    let api: KubeTestServer
    let name: String
    let namespace: String
    let node: String
    var created = 0
    var loop: Task<Void, Never>?

    init(api: KubeTestServer, deployment name: String, namespace: String = "default", node: String) {
        self.api = api
        self.name = name
        self.namespace = namespace
        self.node = node
    }

    func start() {
        loop = Task {
            while !Task.isCancelled {
                try? await self.step()
                try? await Task.sleep(for: .milliseconds(200))
            }
        }
    }

    func stop() {
        loop?.cancel()
        loop = nil
    }

    /// The pod-template-hash of a template: FNV-1a of its JSON (keys sorted), 10 hex digits.
    static func hash(_ template: JSONValue) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in template.data() {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return String(String(hash, radix: 16).suffix(10))
    }

    static func isReady(_ pod: JSONValue) -> Bool {
        (pod[path: ["status", "conditions"]]?.arrayValue ?? []).contains {
            $0["type"]?.stringValue == "Ready" && $0["status"]?.stringValue == "True"
        }
    }

    func step() async throws {
        var deployment = try await api.get(.deployments, name: name, namespace: namespace)
        let replicas = Int(deployment[path: ["spec", "replicas"]]?.intValue ?? 1)
        let maxSurge = Int(deployment[path: ["spec", "strategy", "rollingUpdate", "maxSurge"]]?.intValue ?? 1)
        let maxUnavailable = Int(deployment[path: ["spec", "strategy", "rollingUpdate", "maxUnavailable"]]?.intValue ?? 0)
        guard let template = deployment[path: ["spec", "template"]],
            let selector = deployment[path: ["spec", "selector", "matchLabels"]]?.objectValue
        else { return }
        let hash = Self.hash(template)
        let pods = await api.list(.pods, namespace: namespace).filter { pod in
            pod[path: ["metadata", "deletionTimestamp"]] == nil
                && selector.allSatisfy { pod[path: ["metadata", "labels", $0.key]] == $0.value }
        }
        let current = pods.filter { $0[path: ["metadata", "labels", "pod-template-hash"]]?.stringValue == hash }
        let old = pods.filter { $0[path: ["metadata", "labels", "pod-template-hash"]]?.stringValue != hash }
        var live = pods.count
        var ready = pods.filter(Self.isReady).count

        if current.count < replicas, live < replicas + maxSurge {
            created += 1
            var pod: JSONValue = ["apiVersion": "v1", "kind": "Pod", "metadata": [:], "spec": template["spec"] ?? [:]]
            pod[path: ["metadata", "name"]] = .string("\(name)-\(hash)-\(created)")
            pod[path: ["metadata", "namespace"]] = .string(namespace)
            var labels = template[path: ["metadata", "labels"]]?.objectValue ?? [:]
            labels["pod-template-hash"] = .string(hash)
            pod[path: ["metadata", "labels"]] = .object(labels)
            pod[path: ["spec", "nodeName"]] = .string(node)
            _ = try await api.create(.pods, pod, namespace: namespace)
            live += 1
        }
        if let victim = old.sorted(by: { !Self.isReady($0) && Self.isReady($1) }).first {
            let staysReady = ready - (Self.isReady(victim) ? 1 : 0)
            if staysReady >= replicas - maxUnavailable, let victimName = victim.name {
                try await api.delete(.pods, name: victimName, namespace: namespace)
                live -= 1
                if Self.isReady(victim) { ready -= 1 }
            }
        }

        let updated = current.count
        let complete = updated == replicas && old.isEmpty && ready >= replicas
        var status: JSONValue = [
            "observedGeneration": deployment[path: ["metadata", "generation"]] ?? 1,
            "replicas": .int(Int64(live)), "updatedReplicas": .int(Int64(updated)),
            "readyReplicas": .int(Int64(ready)), "availableReplicas": .int(Int64(ready)),
            "unavailableReplicas": .int(Int64(max(0, replicas - ready))),
        ]
        status["conditions"] = [
            ["type": "Available", "status": ready >= replicas - maxUnavailable ? "True" : "False",
             "reason": ready >= replicas - maxUnavailable ? "MinimumReplicasAvailable" : "MinimumReplicasUnavailable"],
            ["type": "Progressing", "status": "True", "reason": complete ? "NewReplicaSetAvailable" : "ReplicaSetUpdated"],
        ]
        guard deployment["status"] != status else { return }
        deployment["status"] = status
        _ = try await api.updateStatus(.deployments, deployment)
    }
}
