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

/// k3s/prometheus.yaml: Debian's prometheus has no Kubernetes discovery, so its sidecar discover-targets.py
/// lists pods and systemk nodes through the API server with the pod's service-account token and writes
/// two file_sd files, pods.json and nodes.json. Here it runs against the test API server, as the pod runs it.
@Suite struct PrometheusDiscoveryTests {
    static func configMap() throws -> [String: String] {
        let set = try ManifestTests.load(KitPaths.kit + "/prometheus.yaml")
        return try #require(set.configMaps["monitoring"]?["prometheus-config"]?.data)
    }

    /// What the sidecar writes into pods.json for the pods of `pods(in:)`.
    static func expectedPods() -> [[String: Any]] {
        [
            ["targets": ["10.0.0.21:9153"],
             "labels": ["__metrics_path__": "/metrics", "namespace": "kube-system", "pod": "coredns-1", "node": "n1"]],
            ["targets": ["10.0.0.22:9090"],
             "labels": ["__metrics_path__": "/custom", "namespace": "monitoring", "pod": "prometheus-1", "node": "n2"]],
        ]
    }

    /// What the sidecar writes into nodes.json for the nodes of `nodes(in:)`: the systemk nodes with an
    /// InternalIP, at their kubelet port (10250 when the node does not say).
    static func expectedNodes() -> [[String: Any]] {
        [
            ["targets": ["10.0.0.21:10250"], "labels": ["node": "n1"]],
            ["targets": ["[fd00::22]:11250"], "labels": ["node": "n2"]],
        ]
    }

    /// The sidecar as the pod runs it: the program from the ConfigMap, the service-account token and CA
    /// where systemk puts them, the test API server as KUBERNETES_SERVICE_HOST/PORT.
    struct Sidecar {
        let server: KubeTestServer
        let scratch: Scratch
        let program: String
        let environment: [String: String]
        var targets: String { scratch.path + "/targets" }

        /// One pass (`--once`) writing into `targets`.
        func run() async throws -> ProcessResult {
            try await runDetached(Tools.python3 ?? "python3", [program, targets, "--once"], environment: environment)
        }

        func text(_ name: String) throws -> String {
            try String(contentsOfFile: targets + "/" + name, encoding: .utf8)
        }

        func groups(_ name: String) throws -> NSArray? {
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: targets + "/" + name))) as? NSArray
        }
    }

    /// Starts a test API server holding the pods and nodes below, runs `body` with the sidecar, stops it.
    static func withSidecar(_ body: (Sidecar) async throws -> Void) async throws {
        let script = try #require(try Self.configMap()["discover-targets.py"])
        let scratch = try Scratch()
        defer { scratch.remove() }
        let pki = try TestPKI.generate()
        var options = KubeTestServer.Options()
        options.pki = pki
        options.tokens = ["sa-token": "system:serviceaccount:monitoring:prometheus"]
        let server = try await KubeTestServer.start(options)
        do {
            try await Self.pods(in: server)
            try await Self.nodes(in: server)
            try scratch.write("sa/token", "sa-token\n")
            try scratch.write("sa/ca.crt", pki.ca.certificatePEM)
            try FileManager.default.createDirectory(atPath: scratch.path + "/targets", withIntermediateDirectories: true)
            let program = try scratch.write("discover-targets.py", script)
            var environment = ProcessInfo.processInfo.environment
            environment["KUBERNETES_SERVICE_HOST"] = "127.0.0.1"
            environment["KUBERNETES_SERVICE_PORT"] = String(server.port)
            environment["SERVICE_ACCOUNT_DIR"] = scratch.path + "/sa"
            environment["API_SERVER"] = nil
            try await body(Sidecar(server: server, scratch: scratch, program: program, environment: environment))
        } catch {
            try? await server.shutdown()
            throw error
        }
        try? await server.shutdown()
    }

    @Test(.enabled(if: Tools.python3 != nil, "python3 is needed to run discover-targets.py"))
    func writesTheAnnotatedRunningPodsAndTheSystemkNodes() async throws {
        try await Self.withSidecar { sidecar in
            let r = try await sidecar.run()
            #expect(r.status == 0, "\(r)")
            #expect(r.stdout.contains("2 pods to scrape: kube-system/coredns-1, monitoring/prometheus-1"), "\(r)")
            #expect(r.stdout.contains("2 nodes to scrape: n1, n2"), "\(r)")
            let pods = try sidecar.text("pods.json"), nodes = try sidecar.text("nodes.json")
            #expect(try sidecar.groups("pods.json") == (Self.expectedPods() as NSArray), "\(pods)")
            #expect(try sidecar.groups("nodes.json") == (Self.expectedNodes() as NSArray), "\(nodes)")
            #expect(sidecar.scratch.entries("targets") == ["nodes.json", "pods.json"], "no temporary file left")
            // The API server picks the nodes by label: a cluster's other nodes never reach the program.
            let nodeLists = sidecar.server.faults.requests.filter { $0.path == "/api/v1/nodes" }
            #expect(nodeLists.count == 1 && nodeLists.allSatisfy {
                $0.query.contains("labelSelector=node.kubernetes.io%2Finstance-type%3Dsystemk")
            }, "\(nodeLists)")
        }
    }

    /// A wrong token: the API server says 401 to both lists; the program says so, exits 1 (with --once),
    /// and both files stay as they were, so Prometheus keeps scraping what it knew.
    @Test(.enabled(if: Tools.python3 != nil, "python3 is needed to run discover-targets.py"))
    func keepsTheLastFilesWhenTheAPIServerRefuses() async throws {
        try await Self.withSidecar { sidecar in
            #expect(try await sidecar.run().status == 0)
            let pods = try sidecar.text("pods.json")
            let nodes = try sidecar.text("nodes.json")

            try sidecar.scratch.write("sa/token", "wrong\n")
            let refused = try await sidecar.run()
            #expect(refused.status == 1)
            #expect(refused.stderr.contains("cannot list pods: HTTP Error 401"), "\(refused)")
            #expect(refused.stderr.contains("cannot list nodes: HTTP Error 401"), "\(refused)")
            #expect(try sidecar.text("pods.json") == pods)
            #expect(try sidecar.text("nodes.json") == nodes)
        }
    }

    /// Each file stands alone: when only the node list fails, the pods file still follows the cluster.
    @Test(.enabled(if: Tools.python3 != nil, "python3 is needed to run discover-targets.py"))
    func aFailedNodeListLeavesThePodsFileCurrent() async throws {
        try await Self.withSidecar { sidecar in
            #expect(try await sidecar.run().status == 0)
            let nodes = try sidecar.text("nodes.json")
            try await Self.pod(in: sidecar.server, "default", "web-1", node: "n1",
                               annotations: ["prometheus.io/scrape": "true"], ports: [["containerPort": 8080]],
                               ip: "10.0.0.21", phase: "Running")
            sidecar.server.faults.failNext(1, status: 403, matching: RequestMatch(verb: "list", pathContains: "/api/v1/nodes"))

            let r = try await sidecar.run()
            #expect(r.status == 1, "\(r)")
            #expect(r.stderr.contains("cannot list nodes: HTTP Error 403"), "\(r)")
            #expect(!r.stderr.contains("cannot list pods"), "\(r)")
            #expect(r.stdout.contains("3 pods to scrape: default/web-1, kube-system/coredns-1, monitoring/prometheus-1"), "\(r)")
            #expect(try sidecar.text("nodes.json") == nodes)
        }
    }

    @Test(.enabled(if: Tools.python3 != nil, "python3 is needed to run discover-targets.py"))
    func refusesToRunWithoutADirectory() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let program = try scratch.write("discover-targets.py", try #require(try Self.configMap()["discover-targets.py"]))
        let r = try run(Tools.python3 ?? "python3", [program])
        #expect(r.status == 2)
        #expect(r.stderr.contains("usage: discover-targets.py DIRECTORY [--once]"), "\(r)")
    }

    static func pod(in server: KubeTestServer, _ namespace: String, _ name: String, node: String,
                    annotations: [String: JSONValue], ports: [JSONValue], ip: String?, phase: String) async throws {
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

    /// Two annotated running pods (one naming its port, one not), one not annotated, one not running.
    static func pods(in server: KubeTestServer) async throws {
        try await server.create(.namespaces, ["metadata": ["name": "monitoring"]])
        try await pod(in: server, "kube-system", "coredns-1", node: "n1",
                      annotations: ["prometheus.io/scrape": "true", "prometheus.io/port": "9153"],
                      ports: [["containerPort": 53, "protocol": "UDP"]], ip: "10.0.0.21", phase: "Running")
        try await pod(in: server, "monitoring", "prometheus-1", node: "n2",
                      annotations: ["prometheus.io/scrape": "true", "prometheus.io/path": "/custom"],
                      ports: [["containerPort": 9090], ["containerPort": 53, "protocol": "UDP"]], ip: "10.0.0.22",
                      phase: "Running")
        try await pod(in: server, "default", "quiet", node: "n1", annotations: [:], ports: [["containerPort": 80]],
                      ip: "10.0.0.21", phase: "Running")
        try await pod(in: server, "default", "starting", node: "n1", annotations: ["prometheus.io/scrape": "true"],
                      ports: [["containerPort": 80]], ip: nil, phase: "Pending")
    }

    /// Two systemk nodes (one with the default kubelet port, one IPv6 with its own port and a Hostname
    /// address first), a systemk node with no addresses yet, and a node that is not systemk's.
    static func nodes(in server: KubeTestServer) async throws {
        func node(_ name: String, systemk: Bool, addresses: [(String, String)], port: Int?) async throws {
            let labels: [String: JSONValue] = systemk ? ["node.kubernetes.io/instance-type": "systemk"] : ["kubernetes.io/os": "linux"]
            let created = try await server.create(.nodes, [
                "apiVersion": "v1", "kind": "Node", "metadata": ["name": .string(name), "labels": .object(labels)],
            ])
            guard case .object(var object) = created else { return }
            var status: [String: JSONValue] = [
                "addresses": .array(addresses.map { ["type": .string($0.0), "address": .string($0.1)] }),
            ]
            if let port { status["daemonEndpoints"] = ["kubeletEndpoint": ["Port": .int(Int64(port))]] }
            object["status"] = .object(status)
            try await server.updateStatus(.nodes, .object(object))
        }
        try await node("n1", systemk: true, addresses: [("InternalIP", "10.0.0.21"), ("Hostname", "n1")], port: nil)
        try await node("n2", systemk: true, addresses: [("Hostname", "n2"), ("InternalIP", "fd00::22")], port: 11250)
        try await node("n3", systemk: true, addresses: [], port: nil)
        try await node("k3s-agent", systemk: false, addresses: [("InternalIP", "10.0.0.9")], port: 10250)
    }

    /// The scrape jobs read the files the pod mounts: the target files the sidecar writes into the volume
    /// both containers share, and the kubelet client certificate from the Secret scrape-credentials.sh makes.
    @Test func theJobsReadWhatThePodMounts() throws {
        let set = try ManifestTests.load(KitPaths.kit + "/prometheus.yaml")
        let spec = try #require(set.pods.first { $0.pod.name == "prometheus" }).pod.spec
        let prometheus = try #require(spec.containers.first { $0.name == "prometheus" })
        let sidecar = try #require(spec.containers.first { $0.name == "discover-targets" })
        func mount(_ container: Container, _ volume: String) -> String? {
            container.volumeMounts?.first { $0.name == volume }?.mountPath
        }
        let targets = try #require(mount(prometheus, "targets"))
        let kubeletClient = try #require(mount(prometheus, "kubelet-client"))
        #expect(sidecar.command?.last == mount(sidecar, "targets"), "the sidecar writes into the shared volume")
        let secret = try #require(spec.volumes?.first { $0.name == "kubelet-client" }?.secret)
        #expect(secret.secretName == "prometheus-kubelet-client")
        #expect(secret.optional == true, "Prometheus must start before the Secret exists")

        let text = try #require(try Self.configMap()["prometheus.yml"])
        let document = try #require(try ManifestReader().read(text, file: "prometheus.yml").first)
        guard case .sequence(let jobs)? = document["scrape_configs"]?.kind else {
            Issue.record("prometheus.yml has no scrape_configs")
            return
        }
        func job(_ name: String) throws -> ManifestNode {
            try #require(jobs.first { $0["job_name"]?.scalarText == name }, "no job \(name)")
        }
        func files(_ job: ManifestNode) -> [String] {
            guard case .sequence(let configs)? = job["file_sd_configs"]?.kind else { return [] }
            return configs.flatMap { config -> [String] in
                guard case .sequence(let files)? = config["files"]?.kind else { return [] }
                return files.compactMap(\.scalarText)
            }
        }
        #expect(files(try job("kubernetes-pods")) == [targets + "/pods.json"])
        for (name, path) in [("systemk-nodes", "/metrics"), ("systemk-node-resources", "/metrics/resource")] {
            let node = try job(name)
            #expect(files(node) == [targets + "/nodes.json"], "\(name)")
            #expect(node["scheme"]?.scalarText == "https", "\(name)")
            #expect(node["metrics_path"]?.scalarText == path, "\(name)")
            let tls = node["tls_config"]
            #expect(tls?["ca_file"]?.scalarText == kubeletClient + "/ca.crt", "\(name)")
            #expect(tls?["cert_file"]?.scalarText == kubeletClient + "/tls.crt", "\(name)")
            #expect(tls?["key_file"]?.scalarText == kubeletClient + "/tls.key", "\(name)")
            #expect(tls?["insecure_skip_verify"] == nil, "\(name): the nodes' certificates are checked")
        }
    }

    /// promtool (Debian's prometheus package) agrees that the configuration is valid and that the target
    /// files the sidecar writes fit its jobs, when installed. The kubelet client files and the target
    /// files are put in a scratch folder (promtool checks that they exist).
    @Test(.enabled(if: Tools.promtool != nil, "promtool (Debian package prometheus) is not installed"))
    func promtoolAcceptsTheConfigurationAndTheTargetFiles() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let pki = try TestPKI.generate()
        try scratch.write("kubelet-client/ca.crt", pki.ca.certificatePEM)
        try scratch.write("kubelet-client/tls.crt", pki.ca.certificatePEM)
        try scratch.write("kubelet-client/tls.key", pki.ca.privateKeyPEM, mode: 0o600)
        for (name, groups) in [("pods.json", Self.expectedPods()), ("nodes.json", Self.expectedNodes())] {
            let data = try JSONSerialization.data(withJSONObject: groups)
            try scratch.write("targets/" + name, String(decoding: data, as: UTF8.self))
        }
        let configuration = try #require(try Self.configMap()["prometheus.yml"])
            .replacingOccurrences(of: "/var/lib/prometheus/kubelet-client/", with: scratch.path + "/kubelet-client/")
            .replacingOccurrences(of: "/var/lib/prometheus/targets/", with: scratch.path + "/targets/")
        let file = try scratch.write("prometheus.yml", configuration)
        let r = try run(Tools.promtool ?? "promtool", ["check", "config", file])
        #expect(r.status == 0, "\(r)")
        #expect(!r.stdout.contains("WARNING") && !r.stderr.contains("WARNING"), "\(r)")
    }
}
