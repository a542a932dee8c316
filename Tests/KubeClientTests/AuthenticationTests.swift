import Foundation
import KubeTestServer
import Testing

@testable import KubeClient

@Suite("TLS and credentials against the test API server", .timeLimit(.minutes(1)))
struct AuthenticationTests {
    func start(_ tokens: [String: String] = [:]) async throws -> KubeTestServer {
        var options = KubeTestServer.Options()
        options.pki = sharedPKI
        options.tokens = tokens
        return try await KubeTestServer.start(options)
    }

    func expectWorks(_ configuration: ClientConfiguration, files: FileSource = .disk) async throws {
        let client = try KubeClient(configuration: configuration, options: fastOptions(), files: files)
        do {
            _ = try await client.list(Node.self)
        } catch {
            await client.shutdown()
            throw error
        }
        await client.shutdown()
    }

    /// The error a request with `configuration` ends in. `timeout`: AsyncHTTPClient retries a failing
    /// connection until the request's deadline, so TLS failures take that long; an answer from the
    /// server (401) comes at once, given time enough on a loaded machine.
    func failure(_ configuration: ClientConfiguration, timeout: Duration = .seconds(1)) async -> KubeError? {
        var options = fastOptions()
        options.maxAttempts = 1
        options.requestTimeout = timeout
        guard let client = try? KubeClient(configuration: configuration, options: options) else { return nil }
        var failure: KubeError?
        do throws(KubeError) {
            _ = try await client.list(Node.self)
        } catch {
            failure = error
        }
        await client.shutdown()
        return failure
    }

    @Test func tlsServerNameIsSentAndVerified() async throws {
        // A server certificate for "localhost" only: NIOSSL also accepts a certificate whose IP SAN matches
        // the connected address, whatever name is expected, so the certificate must not name 127.0.0.1.
        let pki = try TestPKI.generate(hosts: ["localhost"])
        var serverOptions = KubeTestServer.Options()
        serverOptions.pki = pki
        let server = try await KubeTestServer.start(serverOptions)
        let ca = Data(pki.ca.certificatePEM.utf8)
        let admin = try pki.issueClient(commonName: "admin", organizations: ["system:masters"])
        var config = ClientConfiguration(
            server: server.url, tlsServerName: "localhost", certificateAuthorityPEM: ca,
            clientCertificatePEM: Data(admin.certificatePEM.utf8), clientKeyPEM: Data(admin.privateKeyPEM.utf8))
        try await expectWorks(config)
        for name in ["wrong.example", nil] {
            config.tlsServerName = name
            let error = await failure(config)
            guard case .transport? = error else {
                Issue.record("\(name ?? "no name"): verification must fail, got \(String(describing: error))")
                continue
            }
        }
        try await server.shutdown()
    }

    @Test func insecureSkipVerifyAndUntrustedServer() async throws {
        let server = try await start()
        let admin = try sharedPKI.issueClient(commonName: "admin", organizations: ["system:masters"])
        var config = ClientConfiguration(
            server: server.url, insecureSkipTLSVerify: true, clientCertificatePEM: Data(admin.certificatePEM.utf8),
            clientKeyPEM: Data(admin.privateKeyPEM.utf8))
        try await expectWorks(config)
        config.insecureSkipTLSVerify = false
        let error = await failure(config)
        guard case .transport? = error else {
            Issue.record("the system roots do not trust the test CA, got \(String(describing: error))")
            try await server.shutdown()
            return
        }
        try await server.shutdown()
    }

    @Test func bearerTokensTokenFilesAndUnauthorized() async throws {
        let server = try await start(["good": "alice", "rotated": "alice"])
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let ca = Data(sharedPKI.ca.certificatePEM.utf8)
        try await expectWorks(
            ClientConfiguration(server: server.url, certificateAuthorityPEM: ca, authentication: .token("good")))

        let error = await failure(
            ClientConfiguration(server: server.url, certificateAuthorityPEM: ca, authentication: .token("bad")),
            timeout: .seconds(10))
        guard case .unauthorized(let f)? = error else {
            Issue.record("expected 401, got \(String(describing: error))")
            try await server.shutdown()
            return
        }
        #expect(f.code == 401)

        // A token file is re-read: after it changes and the refresh interval passes, the new token is used.
        let tokenPath = try folder.write("token", "good\n")
        var options = fastOptions()
        options.tokenFileRefreshInterval = .zero
        let client = try KubeClient(
            configuration: ClientConfiguration(
                server: server.url, certificateAuthorityPEM: ca, authentication: .tokenFile(path: tokenPath, fallback: nil)),
            options: options)
        _ = try await client.list(Node.self)
        try folder.write("token", "rotated")
        _ = try await client.list(Node.self)
        try folder.write("token", "revoked")
        await #expect(throws: KubeError.self) { _ = try await client.list(Node.self) }
        await client.shutdown()
        let authorizations = server.faults.requests.count
        #expect(authorizations >= 3)
        try await server.shutdown()
    }

    @Test func execPluginClientCertificate() async throws {
        let server = try await start()
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let node = try sharedPKI.issueClient(commonName: "system:node:n1", organizations: ["system:nodes"])
        func jsonString(_ s: String) -> String {
            String(decoding: try! JSONEncoder().encode(s), as: UTF8.self)
        }
        try folder.write(
            "cert-plugin.sh",
            """
            #!/bin/sh
            echo run >> "\(folder.path)/runs"
            cat <<'EOF'
            {"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","status":{"clientCertificateData":\(jsonString(node.certificatePEM)),"clientKeyData":\(jsonString(node.privateKeyPEM))}}
            EOF
            """, mode: 0o755)
        let kubeconfig = """
            clusters: [{name: c, cluster: {server: "\(server.url)", certificate-authority-data: \(base64(sharedPKI.ca.certificatePEM))}}]
            users: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: ./cert-plugin.sh}}}]
            contexts: [{name: x, context: {cluster: c, user: u}}]
            current-context: x
            """
        let path = try folder.write("config", kubeconfig)
        let configuration = try KubeconfigLoader.load(explicitPath: path).clientConfiguration()
        let client = try KubeClient(configuration: configuration, options: fastOptions())
        let created = try await client.createNode(Node(metadata: ObjectMeta(name: "n1")))
        #expect(created.metadata.name == "n1")
        _ = try await client.getNode("n1")
        await client.shutdown()
        let runs = try String(contentsOfFile: folder.path + "/runs", encoding: .utf8)
        #expect(runs == "run\n", "a credential without expiry is run once and cached")
        try await server.shutdown()
    }

    @Test func execTokenRejectedWith401IsFetchedAgainOnce() async throws {
        let server = try await start(["fresh": "alice"])
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        // The first run hands out a token the server does not know; the second a good one.
        let script = try folder.write(
            "token-plugin.sh",
            """
            #!/bin/sh
            echo run >> "\(folder.path)/runs"
            if [ "$(wc -l < "\(folder.path)/runs")" -eq 1 ]; then token=stale; else token=fresh; fi
            echo "{\\"apiVersion\\":\\"client.authentication.k8s.io/v1\\",\\"kind\\":\\"ExecCredential\\",\\"status\\":{\\"token\\":\\"$token\\"}}"
            """, mode: 0o755)
        let plugin = ExecPlugin(
            command: script, cluster: .init(server: server.url, insecureSkipTLSVerify: false),
            origin: "test", field: "exec")
        let client = try KubeClient(
            configuration: ClientConfiguration(
                server: server.url, certificateAuthorityPEM: Data(sharedPKI.ca.certificatePEM.utf8),
                authentication: .exec(plugin)),
            options: fastOptions())
        _ = try await client.list(Node.self)
        _ = try await client.list(Node.self)
        await client.shutdown()
        let runs = try String(contentsOfFile: folder.path + "/runs", encoding: .utf8)
        #expect(runs == "run\nrun\n", "one run, a 401, one more run, then the cached token")
        #expect(server.faults.requests.count == 2, "the server records authenticated requests only")
        try await server.shutdown()
    }
}
