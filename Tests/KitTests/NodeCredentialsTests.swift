import Foundation
import KubeClient
import KubeTestServer
import Testing

/// Runs k3s/node-credentials.sh with `arguments` in `directory`, with no SYSTEMK_K3S_* from outside.
func nodeCredentials(_ arguments: [String], in directory: String, environment extra: [String: String] = [:]) throws
    -> ProcessResult
{
    var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("SYSTEMK_K3S_") }
    environment.merge(extra) { $1 }
    return try run(Tools.bash ?? "/bin/bash", [KitPaths.nodeCredentials] + arguments, environment: environment,
                   directory: directory)
}

/// k3s/node-credentials.sh against CAs laid out like k3s's: what it mints, and what it refuses.
@Suite(.enabled(if: Tools.canMint, "bash and openssl are needed: apt-get install bash openssl"))
struct NodeCredentialsTests {
    @Test func mintsTheNodeIdentitySignedByTheClientCA() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let tls = try K3sTLSDirectory.minted(in: scratch)
        let r = try nodeCredentials(["--tls-dir", tls.path, "--server", "https://10.0.0.1:6443", "n1", "10.0.0.5"],
                                    in: scratch.path)
        #expect(r.status == 0, "\(r)")
        let certificate = scratch.path + "/n1/client-kubelet.crt"
        // Exactly these two attributes: the Node authorizer reads the user from CN and the group from O.
        #expect(try CertificateInfo.subject(certificate).sorted() == ["CN=system:node:n1", "O=system:nodes"])
        #expect(try CertificateInfo.extendedKeyUsages(certificate) == ["TLS Web Client Authentication"])
        #expect(try CertificateInfo.verifies(certificate, ca: tls.clientCA, purpose: "sslclient"))
        #expect(try !CertificateInfo.verifies(certificate, ca: tls.serverCA, purpose: "sslclient"),
                "the client certificate must come from the client CA, not the server CA")
    }

    @Test func mintsTheServingCertificateForTheAddressesAskedSignedByTheServerCA() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let tls = try K3sTLSDirectory.minted(in: scratch)
        let r = try nodeCredentials(
            ["--tls-dir", tls.path, "--server", "https://10.0.0.1:6443", "n1", "10.0.0.5", "192.168.7.5", "n1.lan",
             "fd00::5"], in: scratch.path)
        #expect(r.status == 0, "\(r)")
        let certificate = scratch.path + "/n1/serving-kubelet.crt"
        #expect(try CertificateInfo.subjectAlternativeNames(certificate)
                == ["DNS:n1", "DNS:n1.lan", "IP:10.0.0.5", "IP:192.168.7.5", "IP:FD00:0:0:0:0:0:0:5"])
        #expect(try CertificateInfo.extendedKeyUsages(certificate) == ["TLS Web Server Authentication"])
        #expect(try CertificateInfo.subject(certificate) == ["CN=n1"])
        // What the API server checks when it connects to the kubelet API at the node's address.
        #expect(try CertificateInfo.verifies(certificate, ca: tls.serverCA, purpose: "sslserver", ["-verify_ip", "10.0.0.5"]))
        #expect(try CertificateInfo.verifies(certificate, ca: tls.serverCA, purpose: "sslserver", ["-verify_hostname", "n1.lan"]))
        #expect(try !CertificateInfo.verifies(certificate, ca: tls.serverCA, purpose: "sslserver", ["-verify_ip", "10.0.0.6"]))
        #expect(try !CertificateInfo.verifies(certificate, ca: tls.clientCA, purpose: "sslserver"))
    }

    @Test func writesKeysForRootOnlyAndTheCAsAsK3sHasThem() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let tls = try K3sTLSDirectory.minted(in: scratch)
        let r = try nodeCredentials(["--tls-dir", tls.path, "--server", "https://10.0.0.1:6443", "n1", "10.0.0.5"],
                                    in: scratch.path)
        #expect(r.status == 0, "\(r)")
        let out = scratch.path + "/n1"
        #expect(scratch.entries("n1") == [
            "client-ca.crt", "client-kubelet.crt", "client-kubelet.key", "install-node.sh", "kubeconfig", "node.env",
            "server-ca.crt", "serving-kubelet.crt", "serving-kubelet.key", "systemk.service",
        ])
        for key in ["client-kubelet.key", "serving-kubelet.key", "kubeconfig"] {
            #expect(mode(out + "/" + key) == 0o600, "\(key)")
        }
        #expect(mode(out) == 0o700)
        #expect(try scratch.read("n1/client-ca.crt") == String(contentsOfFile: tls.clientCA, encoding: .utf8))
        #expect(try scratch.read("n1/server-ca.crt") == String(contentsOfFile: tls.serverCA, encoding: .utf8))
        #expect(try scratch.read("n1/node.env").contains("\nNODE_NAME=n1\nNODE_IP=10.0.0.5\n"))
        #expect(try scratch.read("n1/systemk.service") == String(contentsOfFile: KitPaths.liveUnit, encoding: .utf8))
        // Nothing else left beside the output (the temporary directory was renamed).
        #expect(scratch.entries() == ["n1", "tls"])
    }

    @Test func writesAKubeconfigTheClientLoads() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let tls = try K3sTLSDirectory.minted(in: scratch)
        let r = try nodeCredentials(["--tls-dir", tls.path, "--server", "https://k3s.example:6443", "n1", "10.0.0.5",
                                     "--output", "node-one"], in: scratch.path)
        #expect(r.status == 0, "\(r)")
        let configuration = try ClientConfiguration.load(kubeconfig: scratch.path + "/node-one/kubeconfig",
                                                         environment: [:])
        #expect(configuration.server == "https://k3s.example:6443")
        #expect(configuration.certificateAuthorityPEM == FileManager.default.contents(atPath: tls.serverCA))
        #expect(configuration.clientCertificatePEM == FileManager.default.contents(atPath: scratch.path + "/node-one/client-kubelet.crt"))
        #expect(configuration.clientKeyPEM == FileManager.default.contents(atPath: scratch.path + "/node-one/client-kubelet.key"))
    }

    @Test func theServerURLComesFromTheEnvironmentToo() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let tls = try K3sTLSDirectory.minted(in: scratch)
        let r = try nodeCredentials(["n1", "10.0.0.5"], in: scratch.path, environment: [
            "SYSTEMK_K3S_TLS_DIR": tls.path, "SYSTEMK_K3S_SERVER": "https://[fd00::1]:6443",
        ])
        #expect(r.status == 0, "\(r)")
        #expect(try scratch.read("n1/kubeconfig").contains("server: \"https://[fd00::1]:6443\""))
    }

    /// The real proof: the test API server's CA stands in for k3s's two CAs, and the minted kubeconfig
    /// authenticates as node n1, which the Node authorizer lets create its own Node and no other.
    @Test func theMintedKubeconfigAuthenticatesAsTheNode() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let pki = try TestPKI.generate()
        let tls = try K3sTLSDirectory.from(pki, in: scratch)
        var options = KubeTestServer.Options()
        options.pki = pki
        options.nodeAuthorization = true
        let server = try await KubeTestServer.start(options)
        do {
            try await authenticate(against: server, scratch: scratch, tls: tls)
        } catch {
            try? await server.shutdown()
            throw error
        }
        try? await server.shutdown()
    }

    private func authenticate(against server: KubeTestServer, scratch: Scratch, tls: K3sTLSDirectory) async throws {
        let r = try nodeCredentials(["--tls-dir", tls.path, "--server", server.url, "n1", "127.0.0.1"], in: scratch.path)
        #expect(r.status == 0, "\(r)")

        var clientOptions = KubeClientOptions()
        clientOptions.maxAttempts = 1
        clientOptions.requestTimeout = .seconds(10)
        let client = try KubeClient(
            configuration: ClientConfiguration.load(kubeconfig: scratch.path + "/n1/kubeconfig", environment: [:]),
            options: clientOptions)
        do {
            let node = try await client.createNode(Node(metadata: ObjectMeta(name: "n1", labels: ["type": "virtual-kubelet"])))
            #expect(node.metadata.name == "n1")
            do throws(KubeError) {
                _ = try await client.createNode(Node(metadata: ObjectMeta(name: "n2")))
                Issue.record("node n1 could create node n2: the kubeconfig is not a node identity")
            } catch .forbidden(let failure) {
                #expect("\(failure)".contains("system:node:n1"), "\(failure)")
            }
        } catch {
            await client.shutdown()
            throw error
        }
        await client.shutdown()
        // And the serving certificate is one this server's kubelet client would accept at 127.0.0.1.
        #expect(try CertificateInfo.verifies(scratch.path + "/n1/serving-kubelet.crt", ca: tls.serverCA,
                                             purpose: "sslserver", ["-verify_ip", "127.0.0.1"]))
    }

    @Test func replacesAnExistingOutputOnlyWithForce() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let tls = try K3sTLSDirectory.minted(in: scratch)
        let arguments = ["--tls-dir", tls.path, "--server", "https://10.0.0.1:6443", "n1", "10.0.0.5"]
        #expect(try nodeCredentials(arguments, in: scratch.path).status == 0)
        let first = try scratch.read("n1/client-kubelet.crt")

        let refused = try nodeCredentials(arguments, in: scratch.path)
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("./n1 already exists"), "\(refused)")
        #expect(try scratch.read("n1/client-kubelet.crt") == first)

        let forced = try nodeCredentials(arguments + ["--force"], in: scratch.path)
        #expect(forced.status == 0, "\(forced)")
        #expect(try scratch.read("n1/client-kubelet.crt") != first)
        #expect(scratch.entries() == ["n1", "tls"], "no old or temporary directory left")
    }

    // MARK: Bad input: exit 1, a message saying what and why, and no output at all

    /// Runs the script with `arguments` (the TLS directory given unless `tlsDirectory` is false) and
    /// checks it exits 1 with `message` on stderr and leaves the folder as it was.
    func refuses(_ arguments: [String], tlsDirectory: String? = nil, saying message: String,
                 sourceLocation: SourceLocation = #_sourceLocation) throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let tls = try K3sTLSDirectory.minted(in: scratch)
        let before = scratch.entries()
        let r = try nodeCredentials(["--tls-dir", tlsDirectory ?? tls.path] + arguments, in: scratch.path)
        #expect(r.status == 1, "\(r)", sourceLocation: sourceLocation)
        #expect(r.stderr.contains(message), "\(r)", sourceLocation: sourceLocation)
        #expect(r.stderr.hasPrefix("node-credentials.sh: "), "\(r)", sourceLocation: sourceLocation)
        #expect(r.stdout.isEmpty, "\(r)", sourceLocation: sourceLocation)
        #expect(scratch.entries() == before, "no output directory, no temporary left", sourceLocation: sourceLocation)
        #expect(scratch.entries("tls") == ["client-ca.crt", "client-ca.key", "server-ca.crt", "server-ca.key"],
                "nothing written into the CA directory", sourceLocation: sourceLocation)
    }

    @Test func refusesAMissingNodeName() throws {
        try refuses([], saying: "missing NODE_NAME")
    }

    @Test func refusesAMissingNodeIP() throws {
        try refuses(["n1"], saying: "missing NODE_IP")
    }

    @Test func refusesAnInvalidNodeName() throws {
        try refuses(["Node_1", "10.0.0.5"], saying: "'Node_1' is not a valid node name")
    }

    @Test func refusesANodeIPThatIsNoAddress() throws {
        try refuses(["n1", "10.0.0.300"], saying: "NODE_IP '10.0.0.300' is not an IP address")
        try refuses(["n1", "n1.lan"], saying: "NODE_IP 'n1.lan' is not an IP address")
    }

    @Test func refusesAnExtraNameThatIsNeitherAddressNorName() throws {
        try refuses(["n1", "10.0.0.5", "bad name"], saying: "'bad name' is neither an IP address nor a DNS name")
    }

    @Test func refusesAMissingCADirectory() throws {
        try refuses(["n1", "10.0.0.5"], tlsDirectory: "/nonexistent/k3s/server/tls",
                    saying: "k3s's TLS directory /nonexistent/k3s/server/tls does not exist")
    }

    @Test func refusesACADirectoryWithoutTheKeys() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let tls = try K3sTLSDirectory.minted(in: scratch)
        try FileManager.default.removeItem(atPath: tls.path + "/client-ca.key")
        let r = try nodeCredentials(["--tls-dir", tls.path, "--server", "https://10.0.0.1:6443", "n1", "10.0.0.5"],
                                    in: scratch.path)
        #expect(r.status == 1, "\(r)")
        #expect(r.stderr.contains("cannot read \(tls.path)/client-ca.key"), "\(r)")
        #expect(scratch.entries() == ["tls"])
    }

    @Test func refusesACAKeyThatIsNotTheCertificates() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let tls = try K3sTLSDirectory.minted(in: scratch)
        // The server CA's key beside the client CA's certificate: whatever it signs does not verify.
        try FileManager.default.removeItem(atPath: tls.path + "/client-ca.key")
        try FileManager.default.copyItem(atPath: tls.path + "/server-ca.key", toPath: tls.path + "/client-ca.key")
        let r = try nodeCredentials(["--tls-dir", tls.path, "--server", "https://10.0.0.1:6443", "n1", "10.0.0.5"],
                                    in: scratch.path)
        #expect(r.status == 1, "\(r)")
        #expect(r.stderr.contains("do not belong together"), "\(r)")
        #expect(scratch.entries() == ["tls"], "no output directory, no temporary left")
    }

    @Test func refusesAServerURLThatIsNotHTTPS() throws {
        try refuses(["--server", "http://10.0.0.1:6443", "n1", "10.0.0.5"], saying: "is not an https:// URL")
    }

    @Test func refusesUnknownOptions() throws {
        try refuses(["--frobnicate", "n1", "10.0.0.5"], saying: "unknown option --frobnicate")
    }

    @Test func helpExitsZeroAndNamesTheArguments() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let r = try nodeCredentials(["--help"], in: scratch.path)
        #expect(r.status == 0)
        #expect(r.stdout.contains("Usage: node-credentials.sh [options] NODE_NAME NODE_IP [IP_OR_NAME...]"))
        #expect(scratch.entries().isEmpty)
    }
}
