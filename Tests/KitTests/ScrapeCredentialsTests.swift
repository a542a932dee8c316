import Foundation
import KubeTestServer
import PodCompiler
import Testing

/// Runs k3s/scrape-credentials.sh with `arguments` in `directory`, with no SYSTEMK_K3S_* or KUBECTL from
/// outside and TMPDIR at `directory/tmp` (so a test sees every file it writes).
func scrapeCredentials(_ arguments: [String], in directory: String, environment extra: [String: String] = [:]) throws
    -> ProcessResult
{
    var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("SYSTEMK_K3S_") && $0.key != "KUBECTL" }
    try FileManager.default.createDirectory(atPath: directory + "/tmp", withIntermediateDirectories: true)
    environment["TMPDIR"] = directory + "/tmp"
    environment.merge(extra) { $1 }
    return try run(Tools.bash ?? "/bin/bash", [KitPaths.scrapeCredentials] + arguments, environment: environment,
                   directory: directory)
}

/// The Secret in a manifest the script printed, read as systemk reads manifests.
func scrapeSecret(in manifest: String, namespace: String = "monitoring", name: String = "prometheus-kubelet-client")
    throws -> Secret
{
    var set = ManifestSet()
    try set.add(Array(manifest.utf8), file: "secret.yaml")
    return try #require(set.secrets[namespace]?[name], "no Secret \(namespace)/\(name) in:\n\(manifest)")
}

/// k3s/scrape-credentials.sh against CAs laid out like k3s's: the client certificate Prometheus presents
/// to the nodes' kubelet API, the Secret it goes in, and what the script refuses.
@Suite(.enabled(if: Tools.canMint, "bash and openssl are needed: apt-get install bash openssl"))
struct ScrapeCredentialsTests {
    @Test func mintsAClientCertificateSignedByTheClientCAIntoASecretOnStdout() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let tls = try K3sTLSDirectory.minted(in: scratch)
        let r = try scrapeCredentials(["--tls-dir", tls.path], in: scratch.path)
        #expect(r.status == 0, "\(r)")
        #expect(r.stderr.contains("pipe it to kubectl apply -f -"), "\(r)")
        let secret = try scrapeSecret(in: r.stdout)
        #expect(secret.type == "kubernetes.io/tls")
        #expect(Set(secret.contents.keys) == ["tls.crt", "tls.key", "ca.crt"])
        #expect(secret.contents["ca.crt"] == FileManager.default.contents(atPath: tls.serverCA).map { [UInt8]($0) },
                "ca.crt is k3s's server CA, which signed the nodes' serving certificates")

        let check = try Scratch("check")
        defer { check.remove() }
        let certificate = try check.write("tls.crt", String(decoding: secret.contents["tls.crt"] ?? [], as: UTF8.self))
        let key = try check.write("tls.key", String(decoding: secret.contents["tls.key"] ?? [], as: UTF8.self))
        // No group: the certificate names one user, and no system:nodes.
        #expect(try CertificateInfo.subject(certificate) == ["CN=systemk-prometheus"])
        #expect(try CertificateInfo.extendedKeyUsages(certificate) == ["TLS Web Client Authentication"])
        #expect(try CertificateInfo.verifies(certificate, ca: tls.clientCA, purpose: "sslclient"))
        #expect(try !CertificateInfo.verifies(certificate, ca: tls.serverCA, purpose: "sslclient"),
                "the client certificate must come from the client CA, which systemk --client-ca-file trusts")
        let openssl = Tools.openssl ?? "openssl"
        let fromCertificate = try run(openssl, ["x509", "-in", certificate, "-noout", "-pubkey"])
        let fromKey = try run(openssl, ["pkey", "-in", key, "-pubout"])
        #expect(fromCertificate.status == 0 && fromCertificate.stdout == fromKey.stdout, "tls.key is the key of tls.crt")

        // The key exists only in the output: nothing beside it, nothing left in TMPDIR.
        #expect(scratch.entries() == ["tls", "tmp"])
        #expect(scratch.entries("tmp").isEmpty)
        #expect(scratch.entries("tls") == ["client-ca.crt", "client-ca.key", "server-ca.crt", "server-ca.key"])
    }

    @Test func namesTheUserAndTheSecretAsAsked() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let tls = try K3sTLSDirectory.minted(in: scratch)
        let r = try scrapeCredentials(["--name=prometheus-b", "--namespace", "metrics", "--secret", "kubelet-b",
                                       "--days", "30"], in: scratch.path, environment: ["SYSTEMK_K3S_TLS_DIR": tls.path])
        #expect(r.status == 0, "\(r)")
        let secret = try scrapeSecret(in: r.stdout, namespace: "metrics", name: "kubelet-b")
        let certificate = try scratch.write("tls.crt", String(decoding: secret.contents["tls.crt"] ?? [], as: UTF8.self))
        #expect(try CertificateInfo.subject(certificate) == ["CN=prometheus-b"])
        // Valid for 30 days: still in 29, no longer in 31.
        let openssl = Tools.openssl ?? "openssl"
        #expect(try run(openssl, ["x509", "-in", certificate, "-noout", "-checkend", String(29 * 86400)]).status == 0)
        #expect(try run(openssl, ["x509", "-in", certificate, "-noout", "-checkend", String(31 * 86400)]).status == 1)
    }

    /// The Secret, compiled with k3s/prometheus.yaml as a node compiles it, puts the three files in the
    /// folder the prometheus container sees at the path its jobs read, readable by its user alone.
    /// Without the Secret the folder is there, empty (the volume is optional).
    @Test func theSecretGivesPrometheusTheFilesItsJobsRead() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let tls = try K3sTLSDirectory.minted(in: scratch)
        let r = try scrapeCredentials(["--tls-dir", tls.path], in: scratch.path)
        #expect(r.status == 0, "\(r)")
        let secret = try scrapeSecret(in: r.stdout)

        var set = try ManifestTests.load(KitPaths.kit + "/prometheus.yaml")
        let withoutSecret = set
        try set.add(Array(r.stdout.utf8), file: "secret.yaml")
        let spec = try #require(set.pods.first { $0.pod.name == "prometheus" }).pod.spec
        let mountPath = try #require(spec.containers.first { $0.name == "prometheus" }?.volumeMounts?
            .first { $0.name == "kubelet-client" }?.mountPath)
        var units: [String: PackageUnit] = [:]
        for package in ManifestTests.packages(set) { units[package] = try ManifestTests.packageUnit(package) }

        /// The host folder bound at `mountPath` in the prometheus container, and the pod's plan.
        func compiled(_ set: ManifestSet) throws -> (source: String, plan: PodPlan) {
            let plan = try #require(try set.compile(packageUnits: units, node: ManifestTests.node).get().pods
                .first { $0.name.hasPrefix("prometheus") })
            let unit = try #require(plan.units.first { $0.container == "prometheus" })
            let prefix = "BindReadOnlyPaths=", suffix = ":" + mountPath
            let line = try #require(unit.contents.split(separator: "\n").first { $0.hasPrefix(prefix) && $0.hasSuffix(suffix) },
                                    "no read-only bind mount at \(mountPath) in\n\(unit.contents)")
            return (String(line.dropFirst(prefix.count).dropLast(suffix.count)), plan)
        }

        let (source, plan) = try compiled(set)
        let files = plan.files.filter { ($0.path as NSString).deletingLastPathComponent == source }
        #expect(files.map { ($0.path as NSString).lastPathComponent }.sorted() == ["ca.crt", "tls.crt", "tls.key"])
        for file in files {
            let name = (file.path as NSString).lastPathComponent
            #expect(file.content == .bytes(secret.contents[name] ?? []), "\(name)")
            #expect(file.mode.hasSuffix("00"), "\(name) is mode \(file.mode): readable by others than its owner")
        }

        let (emptySource, emptyPlan) = try compiled(withoutSecret)
        #expect(emptyPlan.directories.contains { $0.path == emptySource })
        #expect(!emptyPlan.files.contains { $0.path.hasPrefix(emptySource + "/") })
    }

    /// --apply with the real kubectl against the test API server: the Secret is created, and a second run
    /// (renewal) replaces its certificate.
    @Test(.enabled(if: Kubectl.available, "kubectl is not installed"))
    func appliesTheSecretWithKubectl() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let pki = try TestPKI.generate()
        let tls = try K3sTLSDirectory.from(pki, in: scratch)
        var options = KubeTestServer.Options()
        options.pki = pki
        let server = try await KubeTestServer.start(options)
        do {
            try await server.create(.namespaces, ["metadata": ["name": "monitoring"]])
            try server.kubeconfig(for: .admin, at: scratch.path + "/kubeconfig")
            let environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("SYSTEMK_K3S_") }
                .merging(["KUBECONFIG": scratch.path + "/kubeconfig", "HOME": scratch.path, "KUBECTL": Kubectl.path,
                          "TMPDIR": scratch.path]) { $1 }
            func apply() async throws -> [UInt8] {
                let r = try await runDetached(Tools.bash ?? "/bin/bash", [KitPaths.scrapeCredentials, "--tls-dir", tls.path, "--apply"],
                                              environment: environment)
                #expect(r.status == 0, "\(r)")
                #expect(r.stdout.contains("secret/prometheus-kubelet-client"), "\(r)")
                let stored = try await server.get(.secrets, name: "prometheus-kubelet-client", namespace: "monitoring")
                #expect(stored["type"]?.stringValue == "kubernetes.io/tls")
                let encoded = try #require(stored["data"]?["tls.crt"]?.stringValue)
                return try #require(Data(base64Encoded: encoded).map { [UInt8]($0) })
            }
            let first = try await apply()
            let certificate = try scratch.write("tls.crt", String(decoding: first, as: UTF8.self))
            #expect(try CertificateInfo.subject(certificate) == ["CN=systemk-prometheus"])
            #expect(try CertificateInfo.verifies(certificate, ca: tls.clientCA, purpose: "sslclient"))
            #expect(try await apply() != first, "a second run replaces the certificate")
        } catch {
            try? await server.shutdown()
            throw error
        }
        try? await server.shutdown()
    }

    @Test func saysWhatKubectlSaidWhenApplyFails() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let tls = try K3sTLSDirectory.minted(in: scratch)
        let kubectl = try scratch.write("kubectl", "#!/bin/sh\ncat >/dev/null\necho 'Error from server (NotFound): namespaces \"monitoring\" not found' >&2\nexit 1\n",
                                        mode: 0o755)
        let r = try scrapeCredentials(["--tls-dir", tls.path, "--apply"], in: scratch.path, environment: ["KUBECTL": kubectl])
        #expect(r.status == 1, "\(r)")
        #expect(r.stderr.contains("scrape-credentials.sh: \(kubectl) apply of Secret monitoring/prometheus-kubelet-client failed:"), "\(r)")
        #expect(r.stderr.contains("namespaces \"monitoring\" not found"), "\(r)")
        #expect(r.stdout.isEmpty, "\(r)")
        #expect(scratch.entries("tmp").isEmpty, "no key left behind")
    }

    // MARK: Bad input: exit 1, a message saying what and why, and nothing written

    /// Runs the script with `arguments` (the TLS directory given unless `tlsDirectory` says otherwise)
    /// and checks it exits 1 with `message` on stderr and writes nothing anywhere.
    func refuses(_ arguments: [String], tlsDirectory: String? = nil, environment: [String: String] = [:],
                 saying message: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let tls = try K3sTLSDirectory.minted(in: scratch)
        let r = try scrapeCredentials(["--tls-dir", tlsDirectory ?? tls.path] + arguments, in: scratch.path,
                                      environment: environment)
        #expect(r.status == 1, "\(r)", sourceLocation: sourceLocation)
        #expect(r.stderr.contains(message), "\(r)", sourceLocation: sourceLocation)
        #expect(r.stderr.hasPrefix("scrape-credentials.sh: "), "\(r)", sourceLocation: sourceLocation)
        #expect(r.stdout.isEmpty, "\(r)", sourceLocation: sourceLocation)
        #expect(scratch.entries() == ["tls", "tmp"] && scratch.entries("tmp").isEmpty, sourceLocation: sourceLocation)
        #expect(scratch.entries("tls") == ["client-ca.crt", "client-ca.key", "server-ca.crt", "server-ca.key"],
                "nothing written into the CA directory", sourceLocation: sourceLocation)
    }

    @Test func refusesANameKubernetesKeepsForItself() throws {
        try refuses(["--name", "system:node:n1"], saying: "--name 'system:node:n1' starts with 'system:'")
    }

    @Test func refusesANameThatIsNoCommonName() throws {
        try refuses(["--name", "a/b"], saying: "--name 'a/b' is not a usable common name")
        try refuses(["--name", ""], saying: "--name '' is not a usable common name")
    }

    @Test func refusesNamespaceAndSecretNamesKubernetesRejects() throws {
        try refuses(["--namespace", "Monitoring"], saying: "--namespace 'Monitoring' is not a valid namespace")
        try refuses(["--secret", "kubelet_client"], saying: "--secret 'kubelet_client' is not a valid Secret name")
    }

    @Test func refusesDaysThatAreNoNumber() throws {
        try refuses(["--days", "0"], saying: "--days '0' is not a number of days")
        try refuses(["--days", "a year"], saying: "--days 'a year' is not a number of days")
    }

    @Test func refusesUnknownOptionsAndArguments() throws {
        try refuses(["--frobnicate"], saying: "unknown option --frobnicate")
        try refuses(["n1"], saying: "unexpected argument 'n1': this script takes options only")
        try refuses(["--days"], saying: "--days needs a value")
    }

    @Test func refusesAMissingCADirectory() throws {
        try refuses([], tlsDirectory: "/nonexistent/k3s/server/tls",
                    saying: "k3s's TLS directory /nonexistent/k3s/server/tls does not exist")
    }

    @Test func refusesACADirectoryWithoutTheClientCAKey() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let tls = try K3sTLSDirectory.minted(in: scratch)
        try FileManager.default.removeItem(atPath: tls.path + "/client-ca.key")
        let r = try scrapeCredentials(["--tls-dir", tls.path], in: scratch.path)
        #expect(r.status == 1, "\(r)")
        #expect(r.stderr.contains("cannot read \(tls.path)/client-ca.key"), "\(r)")
        #expect(r.stdout.isEmpty)
    }

    @Test func refusesAClientCAKeyThatIsNotTheCertificates() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let tls = try K3sTLSDirectory.minted(in: scratch)
        try FileManager.default.removeItem(atPath: tls.path + "/client-ca.key")
        try FileManager.default.copyItem(atPath: tls.path + "/server-ca.key", toPath: tls.path + "/client-ca.key")
        let r = try scrapeCredentials(["--tls-dir", tls.path], in: scratch.path)
        #expect(r.status == 1, "\(r)")
        #expect(r.stderr.contains("do not belong together"), "\(r)")
        #expect(r.stdout.isEmpty)
        #expect(scratch.entries("tmp").isEmpty)
    }

    @Test func refusesAKubectlThatIsNotThere() throws {
        try refuses(["--apply"], environment: ["KUBECTL": "/nonexistent/kubectl"],
                    saying: "KUBECTL '/nonexistent/kubectl' is not a command")
    }

    @Test func helpExitsZeroAndShowsTheWayToApply() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let r = try scrapeCredentials(["--help"], in: scratch.path)
        #expect(r.status == 0)
        #expect(r.stdout.contains("Usage: scrape-credentials.sh [options]"))
        #expect(r.stdout.contains("sudo k3s/scrape-credentials.sh --apply"))
        #expect(scratch.entries() == ["tmp"])
    }
}
