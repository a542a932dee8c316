import Foundation

/// A Node (core/v1): the object systemk registers for its machine.
public struct Node: KubeResource, Hashable {
    public static let resource = ResourceDescriptor(apiVersion: "v1", kind: "Node", plural: "nodes", namespaced: false)

    public var apiVersion: String? = "v1"
    public var kind: String? = "Node"
    public var metadata: ObjectMeta
    public var spec: NodeSpec?
    public var status: NodeStatus?
    /// The object's JSON exactly as received, when it came from the server (not encoded).
    public var raw: Data? = nil

    enum CodingKeys: String, CodingKey { case apiVersion, kind, metadata, spec, status }

    /// Creates a Node.
    public init(metadata: ObjectMeta, spec: NodeSpec? = nil, status: NodeStatus? = nil) {
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }

    /// Decodes and keeps the bytes, so that a status update leaves fields this model lacks untouched.
    public static func decodeObject(from json: Data) throws -> Node {
        var node = try JSONDecoder().decode(Node.self, from: json)
        node.raw = json
        return node
    }
}

/// `Node.spec`.
public struct NodeSpec: Codable, Sendable, Hashable {
    public var podCIDR: String?
    public var podCIDRs: [String]?
    public var providerID: String?
    public var unschedulable: Bool?
    public var taints: [Taint]?

    /// Creates a spec.
    public init(taints: [Taint]? = nil, unschedulable: Bool? = nil, providerID: String? = nil) {
        self.taints = taints
        self.unschedulable = unschedulable
        self.providerID = providerID
    }
}

/// A taint on a node: pods without a matching toleration are not scheduled (or are evicted) there.
public struct Taint: Codable, Sendable, Hashable {
    public var key: String
    public var value: String?
    /// `NoSchedule`, `PreferNoSchedule` or `NoExecute`.
    public var effect: String
    public var timeAdded: Timestamp?

    /// Creates a taint.
    public init(key: String, value: String? = nil, effect: String) {
        self.key = key
        self.value = value
        self.effect = effect
    }
}

/// `Node.status`.
public struct NodeStatus: Codable, Sendable, Hashable {
    /// Resources of the machine, as Kubernetes quantities (`cpu: "4"`, `memory: "8Gi"`, `pods: "110"`).
    public var capacity: [String: String]?
    /// What is available to pods.
    public var allocatable: [String: String]?
    public var conditions: [NodeCondition]?
    public var addresses: [NodeAddress]?
    public var daemonEndpoints: NodeDaemonEndpoints?
    public var nodeInfo: NodeSystemInfo?
    public var phase: String?

    /// Creates a status.
    public init(
        capacity: [String: String]? = nil, allocatable: [String: String]? = nil, conditions: [NodeCondition]? = nil,
        addresses: [NodeAddress]? = nil, daemonEndpoints: NodeDaemonEndpoints? = nil, nodeInfo: NodeSystemInfo? = nil
    ) {
        self.capacity = capacity
        self.allocatable = allocatable
        self.conditions = conditions
        self.addresses = addresses
        self.daemonEndpoints = daemonEndpoints
        self.nodeInfo = nodeInfo
    }
}

/// One of a node's conditions: `Ready`, `MemoryPressure`, `DiskPressure`, `PIDPressure`, ...
public struct NodeCondition: Codable, Sendable, Hashable {
    public var type: String
    /// `True`, `False` or `Unknown`.
    public var status: String
    public var lastHeartbeatTime: Timestamp?
    public var lastTransitionTime: Timestamp?
    public var reason: String?
    public var message: String?

    /// Creates a condition.
    public init(
        type: String, status: String, lastHeartbeatTime: Timestamp? = nil, lastTransitionTime: Timestamp? = nil,
        reason: String? = nil, message: String? = nil
    ) {
        self.type = type
        self.status = status
        self.lastHeartbeatTime = lastHeartbeatTime
        self.lastTransitionTime = lastTransitionTime
        self.reason = reason
        self.message = message
    }
}

/// An address of a node: `InternalIP`, `ExternalIP`, `Hostname`, ...
public struct NodeAddress: Codable, Sendable, Hashable {
    public var type: String
    public var address: String

    /// Creates an address.
    public init(type: String, address: String) {
        self.type = type
        self.address = address
    }
}

/// `Node.status.daemonEndpoints`: where the kubelet API listens.
public struct NodeDaemonEndpoints: Codable, Sendable, Hashable {
    public var kubeletEndpoint: DaemonEndpoint?

    /// Creates endpoints with the kubelet port.
    public init(kubeletPort: Int) { self.kubeletEndpoint = DaemonEndpoint(port: kubeletPort) }
}

/// A port (`{"Port": 10250}`; the capital P is the API's).
public struct DaemonEndpoint: Codable, Sendable, Hashable {
    public var port: Int

    enum CodingKeys: String, CodingKey { case port = "Port" }

    /// Creates an endpoint.
    public init(port: Int) { self.port = port }
}

/// `Node.status.nodeInfo`.
public struct NodeSystemInfo: Codable, Sendable, Hashable {
    public var machineID: String
    public var systemUUID: String
    public var bootID: String
    public var kernelVersion: String
    public var osImage: String
    public var containerRuntimeVersion: String
    public var kubeletVersion: String
    public var kubeProxyVersion: String
    public var operatingSystem: String
    public var architecture: String

    /// Creates node info; every field is required by the API (empty strings allowed).
    public init(
        machineID: String = "", systemUUID: String = "", bootID: String = "", kernelVersion: String,
        osImage: String, containerRuntimeVersion: String, kubeletVersion: String, kubeProxyVersion: String = "",
        operatingSystem: String = "linux", architecture: String
    ) {
        self.machineID = machineID
        self.systemUUID = systemUUID
        self.bootID = bootID
        self.kernelVersion = kernelVersion
        self.osImage = osImage
        self.containerRuntimeVersion = containerRuntimeVersion
        self.kubeletVersion = kubeletVersion
        self.kubeProxyVersion = kubeProxyVersion
        self.operatingSystem = operatingSystem
        self.architecture = architecture
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func s(_ key: CodingKeys) throws -> String { try c.decodeIfPresent(String.self, forKey: key) ?? "" }
        machineID = try s(.machineID)
        systemUUID = try s(.systemUUID)
        bootID = try s(.bootID)
        kernelVersion = try s(.kernelVersion)
        osImage = try s(.osImage)
        containerRuntimeVersion = try s(.containerRuntimeVersion)
        kubeletVersion = try s(.kubeletVersion)
        kubeProxyVersion = try s(.kubeProxyVersion)
        operatingSystem = try s(.operatingSystem)
        architecture = try s(.architecture)
    }
}
