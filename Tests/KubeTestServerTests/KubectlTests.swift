import Foundation
import KubeTestServer
import Testing

/// Real kubectl against the server over TLS with a client certificate, keeping the wire format honest.
@Suite("Real kubectl against the test server", .enabled(if: Kubectl.available, "/usr/bin/kubectl is not installed"))
struct KubectlTests {
    @Test func getNodesPrintsTheServersTableColumns() async throws {
        try await withServer(tls: true) { server in
            try await server.create(.nodes, node("n1"))
            try await server.create(.nodes, node("n2", ready: false))
            let kubectl = try Kubectl(server: server)
            defer { kubectl.cleanUp() }
            let result = try await kubectl.run("get", "nodes")
            #expect(result.status == 0, "\(result)")
            #expect(result.stderr.isEmpty, "\(result)")
            let rows = result.rows
            #expect(rows.first == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"], "\(result)")
            #expect(rows.count == 3)
            #expect(rows.dropFirst().map { [$0[0], $0[1], $0[2], $0[4]] } == [
                ["n1", "Ready", "agent", "v1.32.0-systemk"], ["n2", "NotReady", "agent", "v1.32.0-systemk"],
            ], "\(result)")
            let wide = try await kubectl.run("get", "node", "n1", "-o", "wide")
            #expect(wide.status == 0, "\(wide)")
            #expect(wide.stderr.isEmpty, "\(wide)")
            #expect(wide.rows.first?.contains("INTERNAL-IP") == true, "\(wide)")
            #expect(wide.rows.last?.contains("127.0.0.1") == true, "\(wide)")
        }
    }

    @Test func getPodsAsJSONAndAsATable() async throws {
        try await withServer(tls: true) { server in
            try await server.create(.pods, pod("a", node: "n1", labels: ["app": "web"]))
            try await server.create(.pods, pod("b"))
            let kubectl = try Kubectl(server: server)
            defer { kubectl.cleanUp() }
            let json = try await kubectl.run("get", "pods", "-o", "json")
            #expect(json.status == 0, "\(json)")
            #expect(json.stderr.isEmpty, "\(json)")
            let list = try JSONValue(json: json.stdout)
            #expect(list["kind"] == "List")
            #expect(list["items"]?.arrayValue?.map(\.name) == ["a", "b"])
            #expect(list["items"]?.arrayValue?.first?["kind"] == "Pod")
            #expect(list["items"]?.arrayValue?.first?[path: ["spec", "nodeName"]] == "n1")

            let table = try await kubectl.run("get", "pods", "-l", "app=web")
            #expect(table.status == 0, "\(table)")
            #expect(table.stderr.isEmpty, "\(table)")
            #expect(table.rows.first == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"], "\(table)")
            #expect(table.rows.dropFirst().map { Array($0.prefix(4)) } == [["a", "0/1", "Pending", "0"]], "\(table)")
        }
    }

    @Test func createThenApplyTwiceThenDescribe() async throws {
        try await withServer(tls: true) { server in
            let kubectl = try Kubectl(server: server)
            defer { kubectl.cleanUp() }
            let configMap = try kubectl.file("cm.yaml", """
                apiVersion: v1
                kind: ConfigMap
                metadata:
                  name: settings
                data:
                  mode: fast
                """)
            let created = try await kubectl.run("create", "-f", configMap)
            #expect(created.status == 0, "\(created)")
            #expect(created.stderr.isEmpty, "\(created)")
            #expect(created.stdout == "configmap/settings created\n", "\(created)")
            #expect(try await server.get(.configMaps, name: "settings")["data"] == ["mode": "fast"])
            let again = try await kubectl.run("create", "-f", configMap)
            #expect(again.status != 0)
            #expect(again.stderr.contains("already exists"), "\(again)")

            func manifest(image: String, tier: String) -> String {
                """
                apiVersion: v1
                kind: Pod
                metadata:
                  name: web
                  labels:
                    tier: \(tier)
                spec:
                  nodeName: n1
                  containers:
                  - name: app
                    image: \(image)
                    env:
                    - name: MODE
                      value: fast
                """
            }
            let first = try await kubectl.run("apply", "-f", try kubectl.file("pod1.yaml", manifest(image: "nginx:1.27", tier: "front")))
            #expect(first.status == 0, "\(first)")
            #expect(first.stderr.isEmpty, "\(first)")
            #expect(first.stdout == "pod/web created\n", "\(first)")
            let stored = try await server.get(.pods, name: "web")
            #expect(stored[path: ["metadata", "annotations", "kubectl.kubernetes.io/last-applied-configuration"]] != nil)

            let second = try await kubectl.run("apply", "-f", try kubectl.file("pod2.yaml", manifest(image: "nginx:1.28", tier: "back")))
            #expect(second.status == 0, "\(second)")
            #expect(second.stderr.isEmpty, "\(second)")
            #expect(second.stdout == "pod/web configured\n", "\(second)")
            let updated = try await server.get(.pods, name: "web")
            #expect(updated.labels["tier"] == "back")
            #expect(updated[path: ["spec", "containers"]]?.arrayValue?.first?["image"] == "nginx:1.28")
            #expect(updated[path: ["spec", "containers"]]?.arrayValue?.first?["env"] == [["name": "MODE", "value": "fast"]])
            #expect(updated.uid == stored.uid)

            let unchanged = try await kubectl.run("apply", "-f", kubectl.directory + "/pod2.yaml")
            #expect(unchanged.stdout == "pod/web unchanged\n", "\(unchanged)")

            let describe = try await kubectl.run("describe", "pod", "web")
            #expect(describe.status == 0, "\(describe)")
            #expect(describe.stderr.isEmpty, "\(describe)")
            let fields = Dictionary(describe.stdout.split(separator: "\n").compactMap { line -> (String, String)? in
                let parts = line.split(separator: ":", maxSplits: 1)
                guard parts.count == 2, !line.hasPrefix(" ") else { return nil }
                return (String(parts[0]), parts[1].trimmingCharacters(in: .whitespaces))
            }, uniquingKeysWith: { first, _ in first })
            #expect(fields["Name"] == "web", "\(describe)")
            #expect(fields["Namespace"] == "default", "\(describe)")
            #expect(fields["Node"] == "n1/", "\(describe)")  // NODE/HOST_IP, no host IP reported yet
            #expect(fields["Status"] == "Pending", "\(describe)")
            #expect(describe.stdout.contains("nginx:1.28"), "\(describe)")
        }
    }

    @Test func deleteAnUnboundPodAndABoundOneConfirmedByTheNode() async throws {
        try await withServer(tls: true) { server in
            try await server.create(.pods, pod("loose"))
            let bound = try await server.create(.pods, pod("placed", node: "n1"))
            let kubectl = try Kubectl(server: server)
            defer { kubectl.cleanUp() }
            let loose = try await kubectl.run("delete", "pod", "loose", "--timeout=30s")
            #expect(loose.status == 0, "\(loose)")
            #expect(loose.stderr.isEmpty, "\(loose)")
            #expect(loose.stdout == "pod \"loose\" deleted\n", "\(loose)")

            // The test plays the node: it sees the deletionTimestamp, waits until kubectl watches the pod,
            // then confirms with grace 0 and the UID.
            let node = Task {
                let marked = try await server.waitFor(.pods, name: "placed") { $0?.isBeingDeleted == true }
                await server.faults.waitForWatch(RequestMatch(pathContains: "/namespaces/default/pods"))
                try await server.delete(.pods, name: "placed",
                                        options: DeleteOptions(gracePeriodSeconds: 0, preconditionUID: marked?.uid))
            }
            let placed = try await kubectl.run("delete", "pod", "placed", "--timeout=30s")
            try await node.value
            #expect(placed.status == 0, "\(placed)")
            #expect(placed.stderr.isEmpty, "\(placed)")
            #expect(placed.stdout == "pod \"placed\" deleted\n", "\(placed)")
            #expect(await server.list(.pods).isEmpty)
            #expect(bound.uid != nil)
            // kubectl waited on a watch of that pod and saw it DELETED.
            #expect(server.emittedEvents().contains { $0.type == .deleted && $0.object.name == "placed" })
        }
    }

    @Test func logsComeFromTheKubelet() async throws {
        try await withServer(tls: true) { server in
            let pki = try #require(server.pki)
            let kubelet = try await FakeKubelet(pki: pki)
            defer { Task { await kubelet.stop() } }
            try await server.create(.nodes, node("n1", kubeletPort: kubelet.port))
            try await server.create(.pods, pod("web", node: "n1"))
            let kubectl = try Kubectl(server: server)
            defer { kubectl.cleanUp() }
            let logs = try await kubectl.run("logs", "web", "--tail=1")
            #expect(logs.status == 0, "\(logs)")
            #expect(logs.stderr.isEmpty, "\(logs)")
            #expect(logs.stdout == "hello from web/app\nsecond line\n", "\(logs)")
            #expect(kubelet.requests.last?.contains("tailLines=1") == true)
        }
    }
}
