import Foundation
import KubeTestServer
import SystemdTestSupport
import Testing

/// systemk live, end to end: the test API server (with node authorization, and its `pods/log` proxy
/// checking the kubelet's certificate), a real systemd in a private namespace, and the `systemk`
/// executable running there as a service with a node identity. kubectl drives it as a user would.
@Suite(
    .serialized,
    .enabled(if: NamespacedSystemd.isAvailable, "\(NamespacedSystemd.unavailableReason ?? "")"),
    .enabled(if: Kubectl.available, "kubectl is not installed"))
struct LiveEndToEndTests {
    /// The `systemk` executable SwiftPM built next to this test bundle.
    static var binary: String { NamespacedSystemd.builtExecutable("systemk") }

    /// A cluster of one systemk node, `node-1` at 127.0.0.1.
    struct Cluster {
        let api: KubeTestServer
        let kubectl: Kubectl
        let systemd: NamespacedSystemd
        let directory: String
        /// The CA of the kubelet API's serving certificate.
        let servingCAPEM: String
        /// A client certificate from the CA systemk's kubelet API requires (the API server's).
        let kubeletClient: TestCredential
        var runs = 0

        var state: String { directory + "/state" }

        static func start(_ systemd: NamespacedSystemd) async throws -> Cluster {
            let directory = systemd.dataDirectory + "/live"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            // The kubelet API's certificate from a "server CA" the API server checks it against (as k3s
            // does), and the API server's client certificate from the CA systemk is told to require.
            let servingCA = try TestPKI.generate()
            let clientCA = try TestPKI.generate()
            try servingCA.issueServer(hosts: ["127.0.0.1"], commonName: "node-1")
                .write(certificateTo: directory + "/kubelet.crt", keyTo: directory + "/kubelet.key")
            try Data(clientCA.ca.certificatePEM.utf8).write(to: URL(fileURLWithPath: directory + "/client-ca.crt"))
            var options = KubeTestServer.Options()
            options.pki = livePKI
            options.nodeAuthorization = true
            options.kubeletCAPEM = servingCA.ca.certificatePEM
            let kubeletClient = try clientCA.issueClient(
                commonName: "kube-apiserver-kubelet-client", organizations: ["system:masters"])
            options.kubeletClientCredential = kubeletClient
            let api = try await KubeTestServer.start(options)
            try api.kubeconfig(for: .node("node-1"), at: directory + "/node.kubeconfig")
            return Cluster(
                api: api, kubectl: try Kubectl(server: api), systemd: systemd, directory: directory,
                servingCAPEM: servingCA.ca.certificatePEM, kubeletClient: kubeletClient)
        }

        func stop() async {
            kubectl.cleanUp()
            try? await api.shutdown()
        }

        mutating func startNode() throws {
            runs += 1
            let r = try systemd.run([
                "systemd-run", "--unit=systemk-node-\(runs).service", "-p", "Restart=no", LiveEndToEndTests.binary,
                "--kubeconfig", directory + "/node.kubeconfig", "--nodename", "node-1", "--node-ip", "127.0.0.1",
                "--state-dir", state, "--port", "0", "--certfile", directory + "/kubelet.crt", "--keyfile",
                directory + "/kubelet.key", "--client-ca-file", directory + "/client-ca.crt",
            ])
            if r.status != 0 { throw NamespacedSystemd.Failure(description: "starting systemk: \(r)") }
        }

        func killNode() throws {
            _ = try systemd.systemctl("kill", "-s", "KILL", "systemk-node-\(runs).service")
        }

        func log() -> String { systemd.journal("systemk-node-\(runs).service") }

        func property(_ unit: String, _ name: String) throws -> String {
            try systemd.systemctl("show", "-p", name, "--value", unit).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }

        func kubectl(_ arguments: String...) async throws -> Kubectl.Result {
            try await kubectl.run(arguments)
        }

        func apply(_ name: String, _ yaml: String) async throws {
            let file = try kubectl.file(name, yaml)
            let result = try await kubectl.run("apply", "-f", file)
            if result.status != 0 { throw NamespacedSystemd.Failure(description: "kubectl apply \(name): \(result)") }
        }

        /// `kubectl get` with a JSONPath, trimmed; "" when the object is missing.
        func get(_ what: String, _ jsonPath: String) async throws -> String {
            try await kubectl.run(["get"] + what.split(separator: " ").map(String.init) + ["-o", "jsonpath=\(jsonPath)"])
                .stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }

        /// Polls (test side only) until `condition` holds, failing with systemk's log after `seconds`.
        func wait(_ what: String, seconds: Double = 30, _ condition: () async throws -> Bool) async throws {
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline {
                if try await condition() { return }
                try await Task.sleep(for: .milliseconds(200))
            }
            throw NamespacedSystemd.Failure(description: "timed out waiting for \(what)\nsystemk log:\n\(log())")
        }
    }

    static func web(config: String = "v1") -> String {
        """
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: web-config, namespace: default}
        data: {setting: "\(config)"}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: web, namespace: default}
        spec:
          nodeName: node-1
          automountServiceAccountToken: false
          initContainers:
          - name: setup
            image: /bin/sh
            command: ["/bin/sh", "-c", "echo init > /var/lib/data/init"]
            volumeMounts: [{name: data, mountPath: /var/lib/data}]
          containers:
          - name: app
            image: /bin/sh
            command: ["/bin/sh", "-c", "echo hello from app; cat /run/app/setting; echo; exec sleep infinity"]
            volumeMounts: [{name: config, mountPath: /run/app}, {name: data, mountPath: /var/lib/data}]
          volumes:
          - {name: data, emptyDir: {}}
          - {name: config, configMap: {name: web-config}}
        """
    }

    static func podDirectory(_ cluster: Cluster, unit: String) throws -> String {
        let text = try String(contentsOfFile: cluster.systemd.unitDirectory + "/" + unit, encoding: .utf8)
        let line = text.split(separator: "\n").first { $0.hasPrefix("PodDirectory=") }
        return String(line?.dropFirst("PodDirectory=".count) ?? "")
    }

    @Test func aPodRunsIsReportedLogsFollowsItsConfigMapSurvivesARestartAndIsDeleted() async throws {
        try await NamespacedSystemd.with { systemd in
            var cluster = try await Cluster.start(systemd)
            do {
                // A dry run reads the pods bound to the node, says what it would do, and changes nothing.
                try await cluster.apply("web.yaml", Self.web())
                let dry = try systemd.run([
                    LiveEndToEndTests.binary, "--kubeconfig", cluster.directory + "/node.kubeconfig", "--nodename", "node-1",
                    "--node-ip", "127.0.0.1", "--state-dir", cluster.state, "--dry-run",
                ])
                #expect(dry.status == 0, "\(dry)")
                #expect(dry.stderr.contains("dry run: would create pod default/web"), "\(dry)")
                #expect(try cluster.property("systemk.default.web.app.service", "LoadState") == "not-found")
                #expect(try await cluster.get("pod web", "{.status.containerStatuses}") == "", "no status written")
                #expect(try await cluster.get("nodes", "{.items[*].metadata.name}") == "", "no node registered")

                try cluster.startNode()
                // The node registers with the labels users select on, and is Ready.
                try await cluster.wait("node-1 Ready") {
                    try await cluster.get("node node-1", #"{.status.conditions[?(@.type=="Ready")].status}"#) == "True"
                }
                #expect(try await cluster.get("node node-1", "{.metadata.labels.type}") == "virtual-kubelet")
                #expect(try await cluster.get("node node-1", "{.spec.taints[0].key}") == "virtual-kubelet.io/provider")
                #expect(try await cluster.get("lease node-1 -n kube-node-lease", "{.spec.holderIdentity}") == "node-1")

                let app = "systemk.default.web.app.service"
                try await cluster.wait("pod web Running and ready") {
                    try await cluster.get("pod web", "{.status.phase} {.status.containerStatuses[0].ready}") == "Running true"
                }
                #expect(try await cluster.get("pod web", "{.status.initContainerStatuses[0].state.terminated.reason}") == "Completed")
                #expect(try await cluster.get("pod web", "{.status.podIP} {.status.hostIP}") == "127.0.0.1 127.0.0.1")
                let containerID = try await cluster.get("pod web", "{.status.containerStatuses[0].containerID}")
                #expect(containerID == "systemd://" + (try cluster.property(app, "InvocationID")))
                let table = try await cluster.kubectl("get", "pod", "web")
                #expect(table.rows.dropFirst().first?.prefix(3) == ["web", "1/1", "Running"], "\(table)")

                // kubectl logs, through the API server's proxy to systemk's kubelet API.
                try await cluster.wait("the app's output in kubectl logs") {
                    try await cluster.kubectl("logs", "web", "-c", "app").stdout == "hello from app\nv1\n"
                }

                // A ConfigMap change reaches the mounted file, without restarting the container.
                let directory = try Self.podDirectory(cluster, unit: app)
                let invocation = try cluster.property(app, "InvocationID")
                try await cluster.apply("web.yaml", Self.web(config: "v2"))
                try await cluster.wait("the ConfigMap's new value on disk") {
                    (try? String(contentsOfFile: directory + "/volumes/config/setting", encoding: .utf8)) == "v2"
                }
                #expect(try cluster.property(app, "InvocationID") == invocation)

                // A restarted systemk adopts the running pod without restarting it.
                try cluster.killNode()
                try cluster.startNode()
                try await cluster.wait("the new systemk ready") { cluster.log().contains("ready: 1 pod bound to this node") }
                #expect(try cluster.property(app, "InvocationID") == invocation)
                #expect(try await cluster.get("pod web", "{.status.phase}") == "Running")

                // kubectl delete waits until systemk stopped the pod and deleted it for good.
                let deleted = try await cluster.kubectl("delete", "pod", "web", "--timeout=60s")
                #expect(deleted.status == 0, "\(deleted)\n\(cluster.log())")
                #expect(try cluster.property(app, "LoadState") == "not-found")
                #expect(!FileManager.default.fileExists(atPath: directory))
            } catch {
                print(cluster.log())
                await cluster.stop()
                throw error
            }
            await cluster.stop()
        }
    }

    static func crasher() -> String {
        """
        apiVersion: v1
        kind: Pod
        metadata: {name: crasher, namespace: default}
        spec:
          nodeName: node-1
          automountServiceAccountToken: false
          containers:
          - name: app
            image: /bin/sh
            command: ["/bin/sh", "-c", "echo crashing; exit 3"]
        """
    }

    /// The reasons of the events recorded about `pod`.
    static func eventReasons(_ cluster: Cluster, pod: String) async -> Set<String> {
        let events = await cluster.api.list(.events, namespace: "default")
        return Set(events.filter { $0[path: ["involvedObject", "name"]] == .string(pod) }.compactMap { $0["reason"]?.stringValue })
    }

    /// An init container that fails until its ConfigMap says "open".
    static func gated() -> String {
        """
        apiVersion: v1
        kind: Pod
        metadata: {name: gated, namespace: default}
        spec:
          nodeName: node-1
          automountServiceAccountToken: false
          initContainers:
          - name: gate
            image: /bin/sh
            command: ["/bin/sh", "-c", "read state < /run/gate/state; echo gate $state; test $state = open"]
            volumeMounts: [{name: gate, mountPath: /run/gate}]
          containers:
          - name: app
            image: /bin/sleep
            args: ["infinity"]
          volumes: [{name: gate, configMap: {name: gate}}]
        """
    }

    /// A pod as a Deployment's ReplicaSet controller makes it: generateName, owner, template labels, and
    /// the default service-account token mounted.
    static func replica(_ index: Int) -> String {
        """
        apiVersion: v1
        kind: Pod
        metadata:
          name: hello-7d9f8-\(index)
          namespace: default
          labels: {app: hello, pod-template-hash: 7d9f8}
          ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: hello-7d9f8, uid: 3f6c3b7e-0000-4000-8000-000000000001, controller: true}]
        spec:
          nodeName: node-1
          containers:
          - name: app
            image: /bin/sh
            command: ["/bin/sh", "-c", "echo replica \(index); cat /var/run/secrets/kubernetes.io/serviceaccount/namespace; echo; exec sleep infinity"]
        """
    }

    @Test func crashLoopsReplicasTokensAnUnreliableAPIServerAndTheKubeletAPIsAuthentication() async throws {
        try await NamespacedSystemd.with { systemd in
            var cluster = try await Cluster.start(systemd)
            do {
                try await cluster.apply("sa.yaml", "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: default, namespace: default}\n")
                try cluster.startNode()
                try await cluster.wait("node-1 Ready") {
                    try await cluster.get("node node-1", #"{.status.conditions[?(@.type=="Ready")].status}"#) == "True"
                }

                // A crashing container restarts with back-off; each restart is counted and the last exit kept.
                try await cluster.apply("crasher.yaml", Self.crasher())
                try await cluster.wait("crasher restarted twice", seconds: 60) {
                    (Int(try await cluster.get("pod crasher", "{.status.containerStatuses[0].restartCount}")) ?? 0) >= 2
                }
                #expect(try await cluster.get("pod crasher", "{.status.phase}") == "Running")
                #expect(try await cluster.get("pod crasher", "{.status.containerStatuses[0].lastState.terminated.exitCode}") == "3")
                #expect(try await cluster.get("pod crasher", "{.status.containerStatuses[0].ready}") == "false")

                // An init container that fails is retried by systemk (systemd would not start the app after
                // a later success on its own); once it succeeds, the app starts.
                try await cluster.apply("gate.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: gate, namespace: default}\ndata: {state: closed}\n")
                try await cluster.apply("gated.yaml", Self.gated())
                try await cluster.wait("the gate failed, was retried, failed again and backs off", seconds: 60) {
                    let restarts = Int(try await cluster.get("pod gated", "{.status.initContainerStatuses[0].restartCount}")) ?? 0
                    let waiting = try await cluster.get("pod gated", "{.status.initContainerStatuses[0].state.waiting.reason}")
                    return restarts >= 1 && waiting == "CrashLoopBackOff"
                }
                #expect(try await cluster.get("pod gated", "{.status.phase}") == "Pending")
                #expect(try await cluster.get("pod gated", "{.status.initContainerStatuses[0].lastState.terminated.exitCode}") == "1")
                #expect(try await cluster.get("pod gated", "{.status.containerStatuses[0].state.waiting.reason}") == "PodInitializing")
                try await cluster.apply("gate.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: gate, namespace: default}\ndata: {state: open}\n")
                try await cluster.wait("the gated pod running after its next retry", seconds: 90) {
                    try await cluster.get("pod gated", "{.status.phase}") == "Running"
                }
                #expect(try await cluster.get("pod gated", "{.status.initContainerStatuses[0].state.terminated.reason}") == "Completed")
                #expect(try await cluster.kubectl("logs", "gated", "-c", "gate").stdout.hasSuffix("gate open\n"))

                // Probes: a readiness probe that fails keeps the pod NotReady (so a rollout waits for it); a
                // liveness probe that fails restarts the container, counted in restartCount.
                try await cluster.api.create(.pods, [
                    "apiVersion": "v1", "kind": "Pod", "metadata": ["name": "probed", "namespace": "default"],
                    "spec": [
                        "nodeName": "node-1", "automountServiceAccountToken": false,
                        "containers": [
                            ["name": "unready", "image": "/bin/sleep", "args": ["infinity"],
                             "readinessProbe": ["exec": ["command": ["/bin/false"]], "periodSeconds": 1, "failureThreshold": 1]],
                            ["name": "unlively", "image": "/bin/sleep", "args": ["infinity"],
                             "livenessProbe": ["exec": ["command": ["/bin/false"]], "periodSeconds": 1, "failureThreshold": 1]],
                        ],
                    ],
                ])
                try await cluster.wait("the unlively container restarted by its liveness probe", seconds: 60) {
                    (Int(try await cluster.get("pod probed", #"{.status.containerStatuses[?(@.name=="unlively")].restartCount}"#)) ?? 0) >= 1
                }
                #expect(try await cluster.get("pod probed", "{.status.phase}") == "Running")
                #expect(try await cluster.get("pod probed", #"{.status.conditions[?(@.type=="Ready")].status}"#) == "False")
                #expect(try await cluster.get("pod probed", #"{.status.containerStatuses[?(@.name=="unready")].ready}"#) == "false")
                #expect(try await cluster.get("pod probed", #"{.status.containerStatuses[?(@.name=="unready")].state.running.startedAt}"#) != "")

                // Events, as `kubectl describe` shows them: the crash loop's Pulled (its binary was there),
                // Created, Started and BackOff;
                // the probes' Unhealthy and the liveness restart's Killing.
                try await cluster.wait("the probes' events") {
                    let reasons = await Self.eventReasons(cluster, pod: "probed")
                    return reasons.contains("Unhealthy") && reasons.contains("Killing")
                }
                let crasherEvents = await Self.eventReasons(cluster, pod: "crasher")
                #expect(crasherEvents.isSuperset(of: ["Pulled", "Created", "Started", "BackOff"]), "\(crasherEvents)")
                let describe = try await cluster.kubectl("describe", "pod", "probed").stdout
                #expect(describe.contains("Liveness probe failed"), "\(describe)")
                #expect(describe.contains("Container unlively failed liveness probe, will be restarted"))

                // A pod the compiler cannot read (args must be a list) gets a status that says why.
                try await cluster.api.create(.pods, [
                    "apiVersion": "v1", "kind": "Pod", "metadata": ["name": "garbled", "namespace": "default"],
                    "spec": [
                        "nodeName": "node-1", "automountServiceAccountToken": false,
                        "containers": [["name": "app", "image": "/bin/sleep", "args": "infinity"]],
                    ],
                ])
                try await cluster.wait("the garbled pod's reason") {
                    try await cluster.get("pod garbled", "{.status.containerStatuses[0].state.waiting.reason}") == "CreateContainerConfigError"
                }
                #expect(try await cluster.get("pod garbled", "{.status.containerStatuses[0].state.waiting.message}").contains("spec.containers[0].args"))
                #expect(try await cluster.get("pod garbled", "{.status.phase}") == "Pending")

                // A pod mounting a volume where the host has no directory is held back alone (systemd would
                // create the mount point in the host's /etc), with the reason; nothing is created.
                try await cluster.api.create(.pods, [
                    "apiVersion": "v1", "kind": "Pod", "metadata": ["name": "unmountable", "namespace": "default"],
                    "spec": [
                        "nodeName": "node-1", "automountServiceAccountToken": false,
                        "containers": [["name": "app", "image": "/bin/sleep", "args": ["infinity"],
                                        "volumeMounts": [["name": "scratch", "mountPath": "/etc/systemk-e2e-missing"]]]],
                        "volumes": [["name": "scratch", "emptyDir": [:]]],
                    ],
                ])
                try await cluster.wait("the unmountable pod's reason") {
                    try await cluster.get("pod unmountable", "{.status.containerStatuses[0].state.waiting.reason}") == "CreateContainerConfigError"
                }
                #expect(try await cluster.get("pod unmountable", "{.status.containerStatuses[0].state.waiting.message}").contains("does not exist on the host"))
                #expect(!FileManager.default.fileExists(atPath: "/etc/systemk-e2e-missing"))
                #expect(try await cluster.get("pod crasher", "{.status.phase}") == "Running")

                // The replicas of a Deployment, each with its service-account token (TokenRequest, bound to the pod).
                for i in 1...3 { try await cluster.apply("replica-\(i).yaml", Self.replica(i)) }
                try await cluster.wait("three replicas running") {
                    try await cluster.get("pods -l app=hello", "{.items[*].status.phase}") == "Running Running Running"
                }
                try await cluster.wait("replica 2's output") {
                    try await cluster.kubectl("logs", "hello-7d9f8-2").stdout == "replica 2\ndefault\n"
                }
                let unit = "systemk.default.hello-7d9f8-1.app.service"
                let directory = try Self.podDirectory(cluster, unit: unit)
                let token = try String(contentsOfFile: directory + "/containers/app/serviceaccount/token", encoding: .utf8)
                #expect(!token.isEmpty)
                let ca = try String(contentsOfFile: directory + "/containers/app/serviceaccount/ca.crt", encoding: .utf8)
                #expect(ca == livePKI.ca.certificatePEM)

                // The API server drops every watch and answers 500 for a while: pods keep running, and
                // what happened meanwhile is caught up with.
                let invocation = try cluster.property(unit, "InvocationID")
                cluster.api.faults.failNext(40, status: 500)
                _ = await cluster.api.faults.dropWatches()
                try await cluster.api.create(.pods, [
                    "apiVersion": "v1", "kind": "Pod", "metadata": ["name": "late", "namespace": "default"],
                    "spec": [
                        "nodeName": "node-1", "automountServiceAccountToken": false,
                        "containers": [["name": "app", "image": "/bin/sleep", "args": ["infinity"]]],
                    ],
                ])
                _ = await cluster.api.faults.dropWatches()
                try await cluster.wait("the pod created during the outage running", seconds: 60) {
                    try await cluster.get("pod late", "{.status.phase}") == "Running"
                }
                #expect(try cluster.property(unit, "InvocationID") == invocation)
                #expect(try await cluster.get("pod hello-7d9f8-1", "{.status.phase}") == "Running")

                // The kubelet API wants a client certificate from --client-ca-file: anonymous requests and
                // certificates from another CA get 401, as from the kubelet.
                let port = try await cluster.get("node node-1", "{.status.daemonEndpoints.kubeletEndpoint.Port}")
                let url = "https://127.0.0.1:\(port)/containerLogs/default/hello-7d9f8-1/app"
                let anonymous = try await TestHTTPClient(tls: try TestHTTPClient.tls(trusting: cluster.servingCAPEM)).send("GET", url)
                #expect(anonymous.status == 401)
                let stranger = try TestPKI.generate().issueClient(commonName: "kube-apiserver-kubelet-client", organizations: ["system:masters"])
                let wrong = try await TestHTTPClient(tls: try TestHTTPClient.tls(trusting: cluster.servingCAPEM, client: stranger)).send("GET", url)
                #expect(wrong.status == 401)

                // systemk's own metrics, as Prometheus scrapes them: the pods by phase, the passes, and the
                // 500s of the outage above.
                let trusted = TestHTTPClient(tls: try TestHTTPClient.tls(trusting: cluster.servingCAPEM, client: cluster.kubeletClient))
                let scrape = try await trusted.send("GET", "https://127.0.0.1:\(port)/metrics")
                #expect(scrape.status == 200)
                let metrics = try await scrape.text().split(separator: "\n").map(String.init)
                let running = metrics.first { $0.hasPrefix(#"systemk_pods{phase="Running"} "#) }
                #expect(running.flatMap { Double($0.split(separator: " ").last ?? "") }.map { $0 >= 3 } == true, "\(metrics)")
                #expect(metrics.contains { $0.hasPrefix("systemk_api_errors_total{") && $0.contains(#"code="500""#) }, "\(metrics)")
                #expect(metrics.contains { $0.hasPrefix("systemk_reconcile_duration_seconds_count ") && !$0.hasSuffix(" 0") })
                #expect(metrics.contains { $0.hasPrefix("systemk_daemon_reloads_total ") && !$0.hasSuffix(" 0") })
            } catch {
                print(cluster.log())
                await cluster.stop()
                throw error
            }
            await cluster.stop()
        }
    }
}
