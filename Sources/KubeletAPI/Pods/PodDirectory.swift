import Foundation

/// The pods this node runs, as the kubelet API needs them: a lookup for `/containerLogs` (does the pod
/// exist here, which containers does it have, why is one still waiting) and the `/pods` list.
/// `PodStore` is the implementation the agent feeds; doubles live in tests.
public protocol PodDirectory: Sendable {
    /// The pod `namespace/name` when it is bound to this node, nil otherwise.
    func pod(namespace: String, name: String) async -> NodePod?
    /// A v1 `PodList` of the pods bound to this node, JSON-encoded (the body of `GET /pods`).
    func podListJSON() async -> [UInt8]
}

/// What `/containerLogs` needs to know of one pod.
public struct NodePod: Sendable, Hashable {
    public var namespace: String
    public var name: String
    /// Names of `spec.containers`.
    public var containers: [String]
    /// Names of `spec.initContainers`.
    public var initContainers: [String]
    /// `status.containerStatuses[].state.waiting.reason` (and the init containers'), by container name.
    public var waitingReasons: [String: String]

    public init(namespace: String, name: String, containers: [String], initContainers: [String] = [],
                waitingReasons: [String: String] = [:]) {
        self.namespace = namespace
        self.name = name
        self.containers = containers
        self.initContainers = initContainers
        self.waitingReasons = waitingReasons
    }

    /// True when `container` is one of the pod's containers or init containers.
    public func has(container: String) -> Bool {
        containers.contains(container) || initContainers.contains(container)
    }

    /// Why `container` has no output yet, as the kubelet words it: the reason in its status, else
    /// `PodInitializing` for an app container of a pod with init containers, else `ContainerCreating`
    /// (the kubelet's default waiting states).
    public func waitingReason(of container: String) -> String {
        if let reason = waitingReasons[container], !reason.isEmpty { return reason }
        return !initContainers.isEmpty && containers.contains(container) ? "PodInitializing" : "ContainerCreating"
    }
}

/// Why a pod object was not taken into a `PodStore`.
public enum PodStoreError: Error, Equatable, CustomStringConvertible {
    /// The bytes are not a JSON object with `metadata.name`.
    case notAPod(String)

    public var description: String {
        switch self {
        case .notAPod(let reason): "not a v1 Pod object: \(reason)"
        }
    }
}

/// The pods bound to this node as the API server sent them (JSON objects, kept as received), for the
/// kubelet API. The agent calls `set(podJSON:)` for every pod it runs (and again when its status
/// changes) and `remove(namespace:name:)` when a pod is gone.
public actor PodStore: PodDirectory {
    private struct Entry {
        var json: [UInt8]
        var pod: NodePod
    }

    private var entries: [String: Entry] = [:]

    /// An empty store.
    public init() {}

    /// Adds or replaces a pod (v1 Pod JSON; `metadata.namespace` defaults to `default`).
    public func set(podJSON: [UInt8]) throws(PodStoreError) {
        let pod = try Self.parse(podJSON)
        entries["\(pod.namespace)/\(pod.name)"] = Entry(json: podJSON, pod: pod)
    }

    /// Replaces every pod at once.
    public func replaceAll(podsJSON: [[UInt8]]) throws(PodStoreError) {
        var next: [String: Entry] = [:]
        for json in podsJSON {
            let pod = try Self.parse(json)
            next["\(pod.namespace)/\(pod.name)"] = Entry(json: json, pod: pod)
        }
        entries = next
    }

    /// Forgets a pod.
    public func remove(namespace: String, name: String) {
        entries["\(namespace)/\(name)"] = nil
    }

    public func pod(namespace: String, name: String) -> NodePod? {
        entries["\(namespace)/\(name)"]?.pod
    }

    public func podListJSON() -> [UInt8] {
        var out = Array(#"{"kind":"PodList","apiVersion":"v1","metadata":{},"items":["#.utf8)
        for (index, key) in entries.keys.sorted().enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out += entries[key]?.json ?? []
        }
        out += Array("]}".utf8)
        return out
    }

    static func parse(_ json: [UInt8]) throws(PodStoreError) -> NodePod {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(json))
        } catch {
            throw .notAPod("invalid JSON: \(error.localizedDescription)")
        }
        guard let pod = object as? [String: Any] else { throw .notAPod("not a JSON object") }
        let metadata = pod["metadata"] as? [String: Any] ?? [:]
        guard let name = metadata["name"] as? String, !name.isEmpty else { throw .notAPod("no metadata.name") }
        let namespace = (metadata["namespace"] as? String).flatMap { $0.isEmpty ? nil : $0 } ?? "default"
        let spec = pod["spec"] as? [String: Any] ?? [:]
        func names(_ key: String) -> [String] {
            (spec[key] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
        }
        var reasons: [String: String] = [:]
        let status = pod["status"] as? [String: Any] ?? [:]
        for key in ["initContainerStatuses", "containerStatuses"] {
            for entry in status[key] as? [[String: Any]] ?? [] {
                guard let container = entry["name"] as? String,
                      let state = entry["state"] as? [String: Any],
                      let waiting = state["waiting"] as? [String: Any],
                      let reason = waiting["reason"] as? String else { continue }
                reasons[container] = reason
            }
        }
        return NodePod(namespace: namespace, name: name, containers: names("containers"),
                       initContainers: names("initContainers"), waitingReasons: reasons)
    }
}
