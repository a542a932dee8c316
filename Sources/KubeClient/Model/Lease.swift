/// A Lease (coordination.k8s.io/v1): the node heartbeat in `kube-node-lease`.
public struct Lease: KubeResource, Hashable {
    public static let resource = ResourceDescriptor(
        apiVersion: "coordination.k8s.io/v1", kind: "Lease", plural: "leases", namespaced: true)

    public var apiVersion: String? = "coordination.k8s.io/v1"
    public var kind: String? = "Lease"
    public var metadata: ObjectMeta
    public var spec: LeaseSpec?

    /// Creates a Lease.
    public init(metadata: ObjectMeta, spec: LeaseSpec? = nil) {
        self.metadata = metadata
        self.spec = spec
    }
}

/// `Lease.spec`.
public struct LeaseSpec: Codable, Sendable, Hashable {
    public var holderIdentity: String?
    public var leaseDurationSeconds: Int?
    public var acquireTime: MicroTimestamp?
    public var renewTime: MicroTimestamp?
    public var leaseTransitions: Int?

    /// Creates a spec.
    public init(
        holderIdentity: String? = nil, leaseDurationSeconds: Int? = nil, acquireTime: MicroTimestamp? = nil,
        renewTime: MicroTimestamp? = nil, leaseTransitions: Int? = nil
    ) {
        self.holderIdentity = holderIdentity
        self.leaseDurationSeconds = leaseDurationSeconds
        self.acquireTime = acquireTime
        self.renewTime = renewTime
        self.leaseTransitions = leaseTransitions
    }
}
