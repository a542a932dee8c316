// KubeTestServer: a Kubernetes API server for tests, with real semantics for what systemk and kubectl use.
//
// Usage:
//
//     let server = try await KubeTestServer.start()               // TLS on 127.0.0.1:<ephemeral>, fresh test PKI
//     try server.kubeconfig(for: .admin, at: dir + "/kubeconfig")  // for kubectl or the client (.node("n1"), .token(t))
//     try await server.create(.nodes, ["metadata": ["name": "n1"]])  // direct access, no HTTP
//     let pod = try await server.waitFor(.pods, name: "p") { $0?.isBeingDeleted == true }
//     await server.faults.dropWatches()                            // faults while running
//     server.faults.failNext(2, status: 429, retryAfter: 1, matching: .init(verb: "list"))
//     await server.faults.restart(compact: true)                   // old resourceVersions now give 410
//     let sent = server.emittedEvents()                            // every watch event written on the wire
//     try await server.shutdown()
//
// Objects are stored as JSON (`JSONValue`), exactly as clients send them. There is one resourceVersion
// across the store (etcd's revision). Served: core/v1 nodes (+status), pods (+status, +log proxied to the
// node's kubelet), configmaps, secrets, serviceaccounts (+token), events, namespaces; coordination.k8s.io/v1
// leases; events.k8s.io/v1 events. Verbs get, list, watch, create, update, patch (merge, strategic merge,
// JSON patch), delete, deletecollection. Plus /version, legacy discovery, Table output and a minimal
// /openapi/v3 for kubectl.
//
// Authentication over TLS: a client certificate signed by the test CA (user = CN, groups = O), or a bearer
// token from `Options.tokens` or minted by TokenRequest. Anything else gets 401 Unauthorized with a Status
// body, as a real API server with anonymous auth disabled answers. Over plain HTTP nothing is checked.

import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdHTTP2
import HummingbirdTLS
import Logging
import NIOCore
import NIOSSL
import Synchronization

/// A running test API server. Start one per test with `start(_:)`; everything is torn down by `shutdown()`.
public final class KubeTestServer: Sendable {
    /// How the server is set up.
    public struct Options: Sendable {
        /// Serve HTTPS with client-certificate and token authentication (true) or plain HTTP (false).
        public var tls: Bool = true
        /// Over TLS, offer HTTP/2 by ALPN as kube-apiserver and k3s do (clients then multiplex their
        /// requests and watches over a few connections), besides HTTP/1.1. Off by default.
        public var http2: Bool = false
        /// Accepted bearer tokens: token → user name.
        public var tokens: [String: String] = [:]
        /// How many changes the watch history keeps; a watch from an older resourceVersion gets 410.
        public var historyLimit: Int = 1000
        /// Interval of BOOKMARK events on watches that allow them.
        public var bookmarkInterval: Duration = .seconds(1)
        /// The version `/version` reports (kubectl here picks its bundled client by the minor).
        public var kubernetesVersion: (major: Int, minor: Int, patch: Int) = (1, 32, 0)
        /// The PKI to use; nil mints a new one.
        public var pki: TestPKI?
        /// The client certificate the server presents to kubelets (log proxy); nil issues
        /// `CN=kube-apiserver-kubelet-client, O=system:masters` from the PKI.
        public var kubeletClientCredential: TestCredential?
        /// CA bundle (PEM) that kubelets' serving certificates must chain to; nil trusts the test CA
        /// (k3s verifies kubelets the same way). Set `verifyKubeletCertificates` false to skip checking.
        public var kubeletCAPEM: String?
        /// Verify kubelets' serving certificates (true, like k3s) or not (false, like a default kube-apiserver).
        public var verifyKubeletCertificates: Bool = true
        /// Enforce the Node authorizer and NodeRestriction for `system:nodes` identities (403 Forbidden
        /// otherwise); off by default. Other users are never restricted. See `NodeAuthorizer`.
        public var nodeAuthorization: Bool = false

        /// Default options: TLS, a fresh PKI, history of 1000 changes, bookmarks every second.
        public init() {}
    }

    /// The base URL: "https://127.0.0.1:PORT" or "http://127.0.0.1:PORT".
    public let url: String
    /// The bound port.
    public let port: Int
    /// The PKI (nil over plain HTTP).
    public let pki: TestPKI?
    /// Fault injection and request counters.
    public let faults: FaultInjector
    let store: ObjectStore
    let recorder: EventRecorder
    /// The open HTTP/2 connections (when `Options.http2`), closed before the server stops.
    private let http2Connections: HTTP2Connections
    private let serverTask: Mutex<Task<Void, any Error>?>

    private init(url: String, port: Int, pki: TestPKI?, store: ObjectStore, faults: FaultInjector,
                 recorder: EventRecorder, http2Connections: HTTP2Connections, task: Task<Void, any Error>) {
        self.url = url
        self.port = port
        self.pki = pki
        self.store = store
        self.faults = faults
        self.recorder = recorder
        self.http2Connections = http2Connections
        self.serverTask = Mutex(task)
    }

    /// Starts a server on 127.0.0.1 with an ephemeral port, with namespaces default, kube-system,
    /// kube-public and kube-node-lease, and returns once it accepts connections.
    public static func start(_ options: Options = .init()) async throws -> KubeTestServer {
        let store = ObjectStore(historyLimit: options.historyLimit)
        for namespace in ["default", "kube-system", "kube-public", "kube-node-lease"] {
            _ = try await store.create(.namespaces, namespace: nil, object: ["metadata": ["name": .string(namespace)]])
        }
        let pki = options.tls ? try (options.pki ?? TestPKI.generate()) : nil
        let faults = FaultInjector(store: store)
        let recorder = EventRecorder()
        let kubeletClient = try KubeletClient(options: options, pki: pki)
        let responder = APIResponder(store: store, faults: faults, recorder: recorder, options: options,
                                     authenticator: Authenticator(tls: options.tls, tokens: options.tokens),
                                     kubelets: kubeletClient)
        var logger = Logger(label: "KubeTestServer")
        logger.logLevel = .critical
        let http2Connections = HTTP2Connections()
        let server: HTTPServerBuilder
        if let pki {
            var tls = TLSConfiguration.makeServerConfiguration(
                certificateChain: try NIOSSLCertificate.fromPEMBytes(Array(pki.server.certificatePEM.utf8)).map { .certificate($0) },
                privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(pki.server.privateKeyPEM.utf8), format: .pem)))
            tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(pki.ca.certificatePEM.utf8)))
            tls.certificateVerification = .optionalVerification
            server = options.http2
                ? HTTPServerBuilder { [tls] responder in
                    try HTTP2ServerChannel(tlsConfiguration: tls, connections: http2Connections, responder: responder)
                }
                : try .tls(.http1(), tlsConfiguration: tls)
        } else {
            server = .http1()
        }
        let (ports, portContinuation) = AsyncStream<Int>.makeStream()
        let app = Application(
            responder: responder, server: server,
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in
                portContinuation.yield(channel.localAddress?.port ?? 0)
                portContinuation.finish()
            },
            logger: logger)
        let task = Task {
            defer { portContinuation.finish() }
            try await app.run()
        }
        var port = 0
        for await p in ports {
            port = p
            break
        }
        guard port > 0 else {
            task.cancel()
            _ = try await task.value
            throw APIError.internalError("the server did not start")
        }
        let url = "\(options.tls ? "https" : "http")://127.0.0.1:\(port)"
        responder.setAddress("127.0.0.1:\(port)")
        return KubeTestServer(url: url, port: port, pki: pki, store: store, faults: faults, recorder: recorder,
                              http2Connections: http2Connections, task: task)
    }

    /// Closes every watch and connection and stops the server.
    public func shutdown() async throws {
        await faults.dropWatches()
        // HTTP/2 connections close before the server's tasks are cancelled: a connection whose task has
        // gone would trap on its next stream (see `HTTP2ServerChannel`).
        await http2Connections.closeAll()
        guard let task = serverTask.withLock({ t -> Task<Void, any Error>? in defer { t = nil }; return t }) else { return }
        task.cancel()
        _ = try? await task.value
    }

    // MARK: Direct access (no HTTP, no faults, no authentication)

    /// Creates an object as a POST would (server-set uid, creationTimestamp, resourceVersion, defaults).
    @discardableResult
    public func create(_ resource: ResourceType, _ object: JSONValue, namespace: String? = nil) async throws -> JSONValue {
        try await store.create(resource, namespace: resource.namespaced ? (namespace ?? object.namespace ?? "default") : nil,
                               object: object)
    }

    /// Replaces an object as a PUT would (409 on a stale resourceVersion; status kept for kinds with a status).
    @discardableResult
    public func update(_ resource: ResourceType, _ object: JSONValue) async throws -> JSONValue {
        try await store.update(resource, namespace: resource.namespaced ? (object.namespace ?? "default") : nil,
                               name: object.name ?? "", object: object)
    }

    /// Replaces an object's status as a PUT to /status would.
    @discardableResult
    public func updateStatus(_ resource: ResourceType, _ object: JSONValue) async throws -> JSONValue {
        try await store.update(resource, namespace: resource.namespaced ? (object.namespace ?? "default") : nil,
                               name: object.name ?? "", object: object, subresource: "status")
    }

    /// Reads an object; throws `APIError` 404 when absent.
    public func get(_ resource: ResourceType, name: String, namespace: String? = nil) async throws -> JSONValue {
        try await store.get(resource, namespace: resource.namespaced ? (namespace ?? "default") : nil, name: name)
    }

    /// Lists objects (all namespaces when `namespace` is nil), sorted by namespace and name.
    public func list(_ resource: ResourceType, namespace: String? = nil) async -> [JSONValue] {
        await store.list(WatchFilter(resource: resource, namespace: namespace)).items
    }

    /// Deletes as a DELETE would: graceful for pods bound to a node, at once otherwise.
    @discardableResult
    public func delete(_ resource: ResourceType, name: String, namespace: String? = nil,
                       options: DeleteOptions = .init()) async throws -> DeleteOutcome {
        try await store.delete(resource, namespace: resource.namespaced ? (namespace ?? "default") : nil, name: name,
                               options: options)
    }

    /// The current store revision (the newest resourceVersion).
    public var currentResourceVersion: Int64 { get async { await store.revision } }

    /// Changes still in the watch history after `resourceVersion`, oldest first.
    public func changes(after resourceVersion: Int64 = 0) async -> [StoreChange] {
        await store.changes(after: resourceVersion)
    }

    /// Sets how many changes the watch history keeps from now on.
    public func setHistoryLimit(_ limit: Int) async { await store.setHistoryLimit(limit) }

    /// Every watch event written on the wire, in order (`sequence` from `since`), for comparing with what a
    /// client received.
    public func emittedEvents(since sequence: Int = 0, watchID: Int? = nil) -> [RecordedWatchEvent] {
        recorder.events(since: sequence).filter { watchID == nil || $0.watchID == watchID }
    }

    /// Waits until the object satisfies `condition` (checked now and on every change; a deleted object is
    /// passed as nil) and returns its last state. Throws `CancellationError` when the task is cancelled.
    @discardableResult
    public func waitFor(_ resource: ResourceType, name: String, namespace: String? = nil,
                        until condition: @Sendable (JSONValue?) -> Bool) async throws -> JSONValue? {
        let ns = resource.namespaced ? (namespace ?? "default") : nil
        let (id, changes) = await store.observe()
        defer { Task { await store.endObserving(id) } }
        let current = try? await store.get(resource, namespace: ns, name: name)
        if condition(current) { return current }
        for await change in changes where change.resource == resource && change.object.name == name
            && change.object.namespace == ns {
            let object: JSONValue? = change.type == .deleted ? nil : change.object
            if condition(object) { return object ?? change.object }
        }
        throw CancellationError()
    }

    /// Writes a kubeconfig for `identity` (server URL, CA data, client certificate/key data or token) at
    /// `path`, with one cluster, user and context named "test" set as current.
    public func kubeconfig(for identity: TestIdentity, at path: String) throws {
        try Data(kubeconfigYAML(for: identity).utf8).write(to: URL(fileURLWithPath: path))
    }

    /// The kubeconfig text `kubeconfig(for:at:)` writes.
    public func kubeconfigYAML(for identity: TestIdentity) throws -> String {
        var lines = ["apiVersion: v1", "kind: Config", "clusters:", "- name: test", "  cluster:", "    server: \(url)"]
        if let pki {
            lines.append("    certificate-authority-data: \(Data(pki.ca.certificatePEM.utf8).base64EncodedString())")
        }
        lines += ["users:", "- name: test"]
        switch identity {
        case .certificate(let cn, let orgs):
            guard let pki else {
                lines.append("  user: {}")
                break
            }
            let credential = try pki.issueClient(commonName: cn, organizations: orgs)
            lines += ["  user:",
                      "    client-certificate-data: \(Data(credential.certificatePEM.utf8).base64EncodedString())",
                      "    client-key-data: \(Data(credential.privateKeyPEM.utf8).base64EncodedString())"]
        case .token(let token):
            lines += ["  user:", "    token: \"\(token)\""]
        case .anonymous:
            lines.append("  user: {}")
        }
        lines += ["contexts:", "- name: test", "  context:", "    cluster: test", "    user: test", "current-context: test", ""]
        return lines.joined(separator: "\n")
    }
}

extension JSONValue {
    /// True when `metadata.deletionTimestamp` is set.
    public var isBeingDeleted: Bool { self[path: ["metadata", "deletionTimestamp"]].map { !$0.isNull } ?? false }
}
