import Foundation
import KubeTestServer
import PodCompiler
import Testing

/// Runs a process on a thread of its own, so that waiting for it blocks no thread of the test API server.
func runDetached(_ executable: String, _ arguments: [String], environment: [String: String]) async throws -> ProcessResult {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread {
            continuation.resume(with: Result { try run(executable, arguments, environment: environment) })
        }
    }
}

/// k3s/prometheus.yaml: Debian's prometheus has no Kubernetes discovery, so its sidecar discover-pods.py
/// lists pods through the API server with the pod's service-account token and writes a file_sd file.
/// Here it runs against the test API server, as the pod runs it.
@Suite struct PrometheusDiscoveryTests {
    static func configMap() throws -> [String: String] {
        let set = try ManifestTests.load(KitPaths.kit + "/prometheus.yaml")
        return try #require(set.configMaps["monitoring"]?["prometheus-config"]?.data)
    }

    @Test(.enabled(if: Tools.python3 != nil, "python3 is needed to run discover-pods.py"))
    func discoversTheAnnotatedRunningPodsThroughTheAPIServer() async throws {
        let script = try #require(try Self.configMap()["discover-pods.py"])
        let scratch = try Scratch()
        defer { scratch.remove() }
        let pki = try TestPKI.generate()
        var options = KubeTestServer.Options()
        options.pki = pki
        options.tokens = ["sa-token": "system:serviceaccount:monitoring:prometheus"]
        let server = try await KubeTestServer.start(options)
        do {
            try await Self.pods(in: server)
            try scratch.write("sa/token", "sa-token\n")
            try scratch.write("sa/ca.crt", pki.ca.certificatePEM)
            let program = try scratch.write("discover-pods.py", script)
            var environment = ProcessInfo.processInfo.environment
            environment["KUBERNETES_SERVICE_HOST"] = "127.0.0.1"
            environment["KUBERNETES_SERVICE_PORT"] = String(server.port)
            environment["SERVICE_ACCOUNT_DIR"] = scratch.path + "/sa"
            let r = try await runDetached(Tools.python3 ?? "python3", [program, scratch.path + "/pods.json", "--once"],
                                          environment: environment)
            #expect(r.status == 0, "\(r)")
            #expect(r.stdout.contains("2 pods to scrape: kube-system/coredns-1, monitoring/prometheus-1"), "\(r)")
            let groups = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: scratch.path + "/pods.json")))
            let expected: [[String: Any]] = [
                ["targets": ["10.0.0.21:9153"],
                 "labels": ["__metrics_path__": "/metrics", "namespace": "kube-system", "pod": "coredns-1", "node": "n1"]],
                ["targets": ["10.0.0.22:9090"],
                 "labels": ["__metrics_path__": "/custom", "namespace": "monitoring", "pod": "prometheus-1", "node": "n2"]],
            ]
            #expect((groups as? NSArray) == (expected as NSArray), "\(groups)")

            // A wrong token: the API server says 401, the program says so and exits 1 (with --once).
            try scratch.write("sa/token", "wrong\n")
            let refused = try await runDetached(Tools.python3 ?? "python3", [program, scratch.path + "/pods.json", "--once"],
                                                environment: environment)
            #expect(refused.status == 1)
            #expect(refused.stderr.contains("cannot list pods"), "\(refused)")
            #expect(FileManager.default.fileExists(atPath: scratch.path + "/pods.json"), "the last file is kept")
        } catch {
            try? await server.shutdown()
            throw error
        }
        try? await server.shutdown()
    }

    /// Two annotated running pods (one naming its port, one not), one not annotated, one not running.
    static func pods(in server: KubeTestServer) async throws {
        func pod(_ namespace: String, _ name: String, node: String, annotations: [String: JSONValue],
                 ports: [JSONValue], ip: String?, phase: String) async throws {
            let created = try await server.create(.pods, [
                "apiVersion": "v1", "kind": "Pod",
                "metadata": ["name": .string(name), "namespace": .string(namespace), "annotations": .object(annotations)],
                "spec": ["nodeName": .string(node), "containers": [["name": "main", "image": "x", "ports": .array(ports)]]],
            ], namespace: namespace)
            guard case .object(var object) = created else { return }
            var status: [String: JSONValue] = ["phase": .string(phase)]
            if let ip { status["podIP"] = .string(ip) }
            object["status"] = .object(status)
            try await server.updateStatus(.pods, .object(object))
        }
        try await server.create(.namespaces, ["metadata": ["name": "monitoring"]])
        try await pod("kube-system", "coredns-1", node: "n1",
                      annotations: ["prometheus.io/scrape": "true", "prometheus.io/port": "9153"],
                      ports: [["containerPort": 53, "protocol": "UDP"]], ip: "10.0.0.21", phase: "Running")
        try await pod("monitoring", "prometheus-1", node: "n2",
                      annotations: ["prometheus.io/scrape": "true", "prometheus.io/path": "/custom"],
                      ports: [["containerPort": 9090], ["containerPort": 53, "protocol": "UDP"]], ip: "10.0.0.22",
                      phase: "Running")
        try await pod("default", "quiet", node: "n1", annotations: [:], ports: [["containerPort": 80]],
                      ip: "10.0.0.21", phase: "Running")
        try await pod("default", "starting", node: "n1", annotations: ["prometheus.io/scrape": "true"],
                      ports: [["containerPort": 80]], ip: nil, phase: "Pending")
    }

    /// promtool (Debian's prometheus package) agrees that the configuration is valid, when installed.
    @Test(.enabled(if: Tools.promtool != nil, "promtool (Debian package prometheus) is not installed"))
    func promtoolAcceptsTheConfiguration() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let file = try scratch.write("prometheus.yml", try #require(try Self.configMap()["prometheus.yml"]))
        let r = try run(Tools.promtool ?? "promtool", ["check", "config", file])
        #expect(r.status == 0, "\(r)")
    }
}
