import Foundation
import KubeTestServer
import Testing

@testable import KubeClient

/// A fresh temporary folder, removed by `remove()`.
struct TemporaryFolder {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("kubeclient-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    /// Writes `text` at `name` (relative to the folder) and returns the absolute path.
    @discardableResult
    func write(_ name: String, _ text: String, mode: Int? = nil) throws -> String {
        let file = path + "/" + name
        try FileManager.default.createDirectory(
            atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(text.utf8).write(to: URL(fileURLWithPath: file))
        if let mode { try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: file) }
        return file
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// One PKI for the kubeconfig tests (minting keys is the slow part).
let sharedPKI: TestPKI = {
    do {
        return try TestPKI.generate()
    } catch {
        fatalError("cannot mint the test PKI: \(error)")
    }
}()

func base64(_ text: String) -> String { Data(text.utf8).base64EncodedString() }

/// Options for tests: fast back-off without jitter, short timeouts.
func fastOptions() -> KubeClientOptions {
    var options = KubeClientOptions()
    options.backoff = Backoff(initial: .milliseconds(5), maximum: .milliseconds(40), factor: 2, jitter: 0.5)
    options.requestTimeout = .seconds(10)
    options.maxRetryAfter = .seconds(2)
    options.random = { 0.5 }
    return options
}

/// Starts a test server, makes a client authenticated as `identity`, runs `body`, then shuts both down.
func withServer<T>(
    identity: TestIdentity = .admin, serverOptions: KubeTestServer.Options = .init(),
    options: KubeClientOptions = fastOptions(),
    _ body: (KubeTestServer, KubeClient) async throws -> T
) async throws -> T {
    var serverOptions = serverOptions
    if serverOptions.pki == nil, serverOptions.tls { serverOptions.pki = sharedPKI }
    let server = try await KubeTestServer.start(serverOptions)
    let client: KubeClient
    do {
        let yaml = try server.kubeconfigYAML(for: identity)
        let configuration = try Kubeconfig(merging: [KubeconfigDocument.parse(yaml, path: "/test/kubeconfig")])
            .clientConfiguration()
        client = try KubeClient(configuration: configuration, options: options)
    } catch {
        try? await server.shutdown()
        throw error
    }
    do {
        let result = try await body(server, client)
        await client.shutdown()
        try? await server.shutdown()
        return result
    } catch {
        await client.shutdown()
        try? await server.shutdown()
        throw error
    }
}

/// A pod manifest bound to `node`.
func podManifest(_ name: String, node: String, namespace: String = "default", labels: [String: String] = ["app": "web"])
    -> JSONValue
{
    [
        "apiVersion": "v1", "kind": "Pod",
        "metadata": [
            "name": .string(name), "namespace": .string(namespace),
            "labels": .object(labels.mapValues { JSONValue.string($0) }),
        ],
        "spec": [
            "nodeName": .string(node), "restartPolicy": "Always",
            "containers": [["name": "main", "image": "nginx", "command": ["/usr/sbin/nginx"]]],
        ],
    ]
}

/// `object` with `metadata.labels[key] = value`.
func relabel(_ object: JSONValue, _ key: String, _ value: String) -> JSONValue {
    guard case .object(var root) = object, case .object(var metadata)? = root["metadata"] else { return object }
    var labels = metadata["labels"]?.objectValue ?? [:]
    labels[key] = .string(value)
    metadata["labels"] = .object(labels)
    root["metadata"] = .object(metadata)
    return .object(root)
}

/// How many watch connections the server still has open, once that reached 0 or 10 s passed: the server
/// notices a closed connection asynchronously.
func openWatchesOnceClosed(_ server: KubeTestServer) async throws -> Int {
    var open = server.faults.openWatchConnections
    for _ in 0..<1000 where open > 0 {
        try await Task.sleep(for: .milliseconds(10))
        open = server.faults.openWatchConnections
    }
    return open
}
