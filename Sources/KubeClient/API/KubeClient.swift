import Foundation
import NIOHTTP1

/// A client of one Kubernetes API server: typed calls for what a node agent needs, and informers.
///
/// Errors are `KubeError`. Call `shutdown()` when done: it closes every connection and ends watches.
public final class KubeClient: Sendable {
    /// The configuration the client was made with.
    public let configuration: ClientConfiguration
    let transport: Transport
    var operations: ResourceOperations { ResourceOperations(transport: transport) }

    /// Creates a client; no connection is made until the first request.
    /// - Parameter files: where token files are re-read from (the disk unless testing).
    public init(
        configuration: ClientConfiguration, options: KubeClientOptions = KubeClientOptions(), files: FileSource = .disk
    ) throws(KubeError) {
        self.configuration = configuration
        self.transport = try Transport(configuration: configuration, options: options, files: files)
    }

    /// Closes all connections; watches end and later requests fail.
    public func shutdown() async {
        await transport.shutdown()
    }

    // MARK: Generic

    /// Gets one object.
    public func get<Object: KubeResource>(_ type: Object.Type, namespace: String? = nil, name: String)
        async throws(KubeError) -> Object
    {
        try await operations.get(type, namespace: namespace, name: name)
    }

    /// Lists objects (following pagination); the list's resourceVersion is where a watch continues.
    public func list<Object: KubeResource>(_ type: Object.Type, scope: WatchScope = WatchScope(), pageSize: Int = 0)
        async throws(KubeError) -> KubeList<Object>
    {
        try await operations.list(type, scope: scope, pageSize: pageSize)
    }

    /// Opens one watch connection from `resourceVersion`. It ends when the server closes it; use `informer`
    /// for a watch that resumes and never loses events.
    public func watch<Object: KubeResource>(
        _ type: Object.Type, scope: WatchScope = WatchScope(), resourceVersion: String?, allowBookmarks: Bool = true,
        timeoutSeconds: Int? = nil
    ) async throws(KubeError) -> WatchStream<Object> {
        var query = scope.query
        query.append(("watch", "true"))
        if let resourceVersion, !resourceVersion.isEmpty { query.append(("resourceVersion", resourceVersion)) }
        if allowBookmarks { query.append(("allowWatchBookmarks", "true")) }
        if let timeoutSeconds { query.append(("timeoutSeconds", String(timeoutSeconds))) }
        let path = Object.resource.collectionPath(namespace: scope.namespace)
        let stream = try await transport.openStream(APIRequest(method: .GET, path: path, query: query))
        return WatchStream(stream: stream, path: path)
    }

    /// An informer over the objects in `scope`: list, then watch, resuming and re-listing as needed.
    public func informer<Object: KubeResource>(
        _ type: Object.Type, scope: WatchScope = WatchScope(), options: InformerOptions = InformerOptions()
    ) -> Informer<Object> {
        Informer(transport: transport, scope: scope, options: options)
    }

    // MARK: Nodes

    /// Registers a Node.
    public func createNode(_ node: Node) async throws(KubeError) -> Node {
        try await operations.create(node, namespace: nil)
    }

    /// Reads a Node.
    public func getNode(_ name: String) async throws(KubeError) -> Node {
        try await operations.get(Node.self, namespace: nil, name: name)
    }

    /// Patches a Node (labels, annotations, spec) with a merge or strategic-merge patch document.
    public func patchNode(_ name: String, patch: Data, type: PatchType = .strategicMerge) async throws(KubeError) -> Node {
        try await operations.patch(
            Node.self, path: Node.resource.objectPath(namespace: nil, name: name), patch: patch, as: type)
    }

    /// Patches a Node's status subresource.
    public func patchNodeStatus(_ name: String, patch: Data, type: PatchType = .strategicMerge) async throws(KubeError)
        -> Node
    {
        try await operations.patch(
            Node.self, path: Node.resource.objectPath(namespace: nil, name: name) + "/status", patch: patch, as: type)
    }

    /// Updates a Node's status: reads the Node (or starts from `current`), applies `change`, and PUTs the
    /// status subresource; on 409 Conflict it reads again and re-applies `change`.
    public func updateNodeStatus(
        _ name: String, from current: Node? = nil, _ change: @Sendable (inout NodeStatus) -> Void
    ) async throws(KubeError) -> Node {
        try await updateStatus(
            Node.self, namespace: nil, name: name, from: current, status: { $0.status ?? NodeStatus() },
            modelledKeys: NodeStatus.modelledKeys, change: change)
    }

    // MARK: Leases

    /// The namespace of node heartbeats.
    public static let nodeLeaseNamespace = "kube-node-lease"

    /// Reads a Lease (in `kube-node-lease` unless told otherwise).
    public func getLease(_ name: String, namespace: String = nodeLeaseNamespace) async throws(KubeError) -> Lease {
        try await operations.get(Lease.self, namespace: namespace, name: name)
    }

    /// Creates a Lease in its metadata's namespace (`kube-node-lease` when unset).
    public func createLease(_ lease: Lease) async throws(KubeError) -> Lease {
        try await operations.create(lease, namespace: lease.metadata.namespace ?? Self.nodeLeaseNamespace)
    }

    /// Replaces a Lease; its `metadata.resourceVersion` must be current (409 Conflict otherwise).
    public func updateLease(_ lease: Lease) async throws(KubeError) -> Lease {
        let namespace = lease.metadata.namespace ?? Self.nodeLeaseNamespace
        let path = Lease.resource.objectPath(namespace: namespace, name: lease.metadata.name ?? "")
        return try await operations.put(
            Lease.self, path: path, body: try operations.encode(lease, what: "Lease for \(path)"))
    }

    /// Renews the node's heartbeat as the kubelet does: the Lease named after the node in
    /// `kube-node-lease`, held by the node, owned by the Node object (so it goes with it), `renewTime` now.
    /// Creates the Lease when it is missing; on 409 Conflict it reads it again and retries.
    public func renewNodeLease(
        nodeName: String, nodeUID: String?, durationSeconds: Int = 40, now: Date = Date()
    ) async throws(KubeError) -> Lease {
        var conflicts = 0
        while true {
            var lease: Lease
            var exists = true
            do throws(KubeError) {
                lease = try await getLease(nodeName)
            } catch .notFound {
                exists = false
                lease = Lease(metadata: ObjectMeta(name: nodeName, namespace: Self.nodeLeaseNamespace))
            }
            if let nodeUID, lease.metadata.ownerReferences?.isEmpty ?? true {
                lease.metadata.ownerReferences = [
                    OwnerReference(apiVersion: "v1", kind: "Node", name: nodeName, uid: nodeUID)
                ]
            }
            var spec = lease.spec ?? LeaseSpec()
            spec.holderIdentity = nodeName
            spec.leaseDurationSeconds = durationSeconds
            spec.renewTime = MicroTimestamp(now)
            lease.spec = spec
            do throws(KubeError) {
                return exists ? try await updateLease(lease) : try await createLease(lease)
            } catch {
                switch error {
                case .conflict, .alreadyExists:
                    conflicts += 1
                    if conflicts > transport.options.maxConflictRetries { throw error }
                default:
                    throw error
                }
            }
        }
    }

    // MARK: Shared

    func updateStatus<Object: KubeResource, StatusType: Encodable & Sendable>(
        _ type: Object.Type, namespace: String?, name: String, from current: Object?,
        status: (Object) -> StatusType, modelledKeys: Set<String>, change: (inout StatusType) -> Void
    ) async throws(KubeError) -> Object {
        let path = Object.resource.objectPath(namespace: namespace, name: name) + "/status"
        var object = current
        var conflicts = 0
        while true {
            let base: Object
            if let object, object.raw != nil {
                base = object
            } else {
                base = try await operations.get(type, namespace: namespace, name: name)
            }
            guard let bytes = base.raw else {
                throw .decoding(what: "\(Object.resource.kind) \(path)", detail: "no raw JSON to update")
            }
            var newStatus = status(base)
            change(&newStatus)
            let body = try StatusOverlay.apply(newStatus, modelledKeys: modelledKeys, onto: bytes, what: path)
            do {
                return try await operations.put(type, path: path, body: body)
            } catch .conflict(let failure) {
                conflicts += 1
                guard conflicts <= transport.options.maxConflictRetries else { throw .conflict(failure) }
                object = nil
            }
        }
    }
}

extension NodeStatus {
    static let modelledKeys: Set<String> = [
        "capacity", "allocatable", "conditions", "addresses", "daemonEndpoints", "nodeInfo", "phase",
    ]
}
