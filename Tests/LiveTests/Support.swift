import Foundation
import KubeClient
import KubeTestServer
import Testing

/// One PKI for the live tests (minting keys is the slow part).
let livePKI: TestPKI = {
    do {
        return try TestPKI.generate()
    } catch {
        fatalError("cannot mint the test PKI: \(error)")
    }
}()

/// Client options for tests: fast back-off without jitter, short timeouts.
func liveClientOptions() -> KubeClientOptions {
    var options = KubeClientOptions()
    options.backoff = Backoff(initial: .milliseconds(5), maximum: .milliseconds(200), factor: 2, jitter: 0.5)
    options.requestTimeout = .seconds(10)
    options.maxRetryAfter = .seconds(2)
    options.random = { 0.5 }
    return options
}

/// A client of `server` authenticated as `identity`.
func makeClient(_ server: KubeTestServer, identity: TestIdentity, options: KubeClientOptions = liveClientOptions()) throws
    -> KubeClient
{
    let yaml = try server.kubeconfigYAML(for: identity)
    let configuration = try Kubeconfig(merging: [KubeconfigDocument.parse(yaml, path: "/test/kubeconfig")])
        .clientConfiguration()
    return try KubeClient(configuration: configuration, options: options)
}

/// Starts a test API server (with node authorization unless told otherwise), an admin client and a
/// client with the node identity `system:node:NODE`, runs `body`, then shuts everything down.
func withCluster<T>(
    node: String = "node-a", serverOptions: KubeTestServer.Options = .init(),
    _ body: (_ server: KubeTestServer, _ admin: KubeClient, _ nodeClient: KubeClient) async throws -> T
) async throws -> T {
    var serverOptions = serverOptions
    if serverOptions.pki == nil, serverOptions.tls { serverOptions.pki = livePKI }
    let server = try await KubeTestServer.start(serverOptions)
    var clients: [KubeClient] = []
    do {
        let admin = try makeClient(server, identity: .admin)
        clients.append(admin)
        let nodeClient = try makeClient(server, identity: .node(node))
        clients.append(nodeClient)
        let result = try await body(server, admin, nodeClient)
        for client in clients { await client.shutdown() }
        try? await server.shutdown()
        return result
    } catch {
        for client in clients { await client.shutdown() }
        try? await server.shutdown()
        throw error
    }
}

/// Waits until `condition` holds, checking every 20 ms, for at most `timeout`.
func eventually(
    _ what: String, timeout: Duration = .seconds(30), _ condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(20))
    }
    Issue.record("timed out after \(timeout): \(what)")
    throw CancellationError()
}
