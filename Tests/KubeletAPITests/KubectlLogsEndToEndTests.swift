import Foundation
import KubeTestServer
import KubeletAPI
import SystemkRuntime
import Testing

/// Real `kubectl logs` through the test API server's `pods/log` proxy to this kubelet API, with the
/// API server's kubelet client certificate checked against the client CA and the kubelet's serving
/// certificate checked against its CA (as k3s checks it).
@Suite("kubectl logs end to end", .enabled(if: Kubectl.available))
struct KubectlLogsEndToEndTests {
    /// A node `n1` at 127.0.0.1 whose kubelet API is `kubelet`, and a pod `web` (containers app, sidecar) on it.
    struct Cluster {
        let api: KubeTestServer
        let kubelet: KubeletServer
        let source: FakeLogSource
        let kubectl: Kubectl

        func stop() async {
            kubectl.cleanUp()
            await kubelet.stop()
            try? await api.shutdown()
        }
    }

    static func cluster(output: [String], apiContainers: [String] = ["app", "sidecar"],
                        apiKubeletClient: (TestPKI) throws -> TestCredential?) async throws -> Cluster {
        let directory = try temporaryDirectory()
        let servingCA = try TestPKI.generate()
        let clientCA = try TestPKI.generate()
        try servingCA.issueServer(hosts: ["127.0.0.1"], commonName: "n1")
            .write(certificateTo: directory + "/kubelet.crt", keyTo: directory + "/kubelet.key")
        try Data(clientCA.ca.certificatePEM.utf8).write(to: URL(fileURLWithPath: directory + "/client-ca.crt"))

        let source = FakeLogSource(.output(output))
        let pod = podJSON("web", containers: ["app", "sidecar"])
        let kubelet = try await KubeletServer.start(
            .init(host: "127.0.0.1", port: 0,
                  certificate: .files(certificate: directory + "/kubelet.crt", key: directory + "/kubelet.key"),
                  clientCAFile: directory + "/client-ca.crt"),
            logs: source, pods: try await podStore(pod), logger: testLogger)

        var options = KubeTestServer.Options()
        options.kubeletClientCredential = try apiKubeletClient(clientCA)
        options.kubeletCAPEM = servingCA.ca.certificatePEM
        let api = try await KubeTestServer.start(options)
        let node: JSONValue = [
            "apiVersion": "v1", "kind": "Node", "metadata": ["name": "n1"],
            "status": [
                "addresses": [["type": "InternalIP", "address": "127.0.0.1"]],
                "daemonEndpoints": ["kubeletEndpoint": ["Port": .int(Int64(kubelet.port))]],
            ],
        ]
        var created = try await api.create(.nodes, node)
        created["status"] = node["status"]
        try await api.updateStatus(.nodes, created)
        try await api.create(.pods, podJSON("web", containers: apiContainers))
        try? FileManager.default.removeItem(atPath: directory)
        return Cluster(api: api, kubelet: kubelet, source: source, kubectl: try Kubectl(server: api))
    }

    @Test func kubectlLogsShowsWhatTheKubeletServes() async throws {
        let cluster = try await Self.cluster(output: ["started\n", "serving on :8080\n"]) { clientCA in
            try clientCA.issueClient(commonName: "kube-apiserver-kubelet-client", organizations: ["system:masters"])
        }
        do {
            let plain = try await cluster.kubectl.run("logs", "web", "-c", "app")
            #expect(plain.status == 0, "\(plain)")
            #expect(plain.stdout == "started\nserving on :8080\n")

            let tail = try await cluster.kubectl.run("logs", "web", "-c", "sidecar", "--tail=1", "--timestamps")
            #expect(tail.status == 0, "\(tail)")
            #expect(tail.stdout == "started\nserving on :8080\n")

            let previous = try await cluster.kubectl.run("logs", "web", "-c", "app", "--previous")
            #expect(previous.status == 0, "\(previous)")

            let calls = cluster.source.calls
            #expect(calls.map(\.container) == ["app", "sidecar", "app"])
            #expect(calls.map(\.options) == [
                ContainerLogOptions(),
                ContainerLogOptions(tailLines: 1, timestamps: true),
                ContainerLogOptions(previous: true),
            ])
        } catch {
            await cluster.stop()
            throw error
        }
        await cluster.stop()
    }

    @Test func kubectlShowsTheKubeletsErrors() async throws {
        // The pod in the API has a container the node does not know of.
        let cluster = try await Self.cluster(output: [], apiContainers: ["app", "extra"]) { clientCA in
            try clientCA.issueClient(commonName: "kube-apiserver-kubelet-client", organizations: ["system:masters"])
        }
        do {
            let missing = try await cluster.kubectl.run("logs", "web", "-c", "extra")
            #expect(missing.status != 0)
            #expect(missing.stderr.contains(#"container "extra" not found in pod "web""#), "\(missing)")
            #expect(cluster.source.calls.isEmpty)
        } catch {
            await cluster.stop()
            throw error
        }
        await cluster.stop()
    }

    @Test func anAPIServerWithAWronglySignedClientCertificateIsRefused() async throws {
        // The API server presents a kubelet client certificate from its own CA, not the kubelet's client CA.
        let cluster = try await Self.cluster(output: ["secret\n"]) { _ in nil }
        do {
            let refused = try await cluster.kubectl.run("logs", "web", "-c", "app")
            #expect(refused.status != 0)
            #expect(refused.stderr.contains("Unauthorized"), "\(refused)")
            #expect(!refused.stdout.contains("secret"))
            #expect(cluster.source.calls.isEmpty)
        } catch {
            await cluster.stop()
            throw error
        }
        await cluster.stop()
    }
}
