import Foundation
import KubeTestServer
import Testing

@Suite("pods/log proxied to the node's kubelet")
struct LogProxyTests {
    @Test func logsAreFetchedFromTheKubeletWithTheServersClientCertificate() async throws {
        try await withServer(tls: true) { server in
            let pki = try #require(server.pki)
            let kubelet = try await FakeKubelet(pki: pki)
            defer { Task { await kubelet.stop() } }
            let client = try RawClient(server)
            _ = try await client.post("/api/v1/nodes", node("n1", kubeletPort: kubelet.port))
            _ = try await client.post("/api/v1/namespaces/default/pods", pod("web", node: "n1", containers: ["app", "sidecar"]))

            let response = try await client.http.send("GET", server.url + "/api/v1/namespaces/default/pods/web/log?container=sidecar&tailLines=5&timestamps=true")
            #expect(response.status == 200)
            #expect(try await response.text() == "hello from web/sidecar\nsecond line\n")
            #expect(kubelet.requests.last?.hasPrefix("/containerLogs/default/web/sidecar?") == true)
            #expect(kubelet.requests.last?.contains("tailLines=5") == true)
            #expect(kubelet.requests.last?.contains("timestamps=true") == true)

            // Two containers and none named: 400 naming them, as the real server answers.
            let ambiguous = try await client.get("/api/v1/namespaces/default/pods/web/log")
            #expect(ambiguous.status == 400)
            #expect(ambiguous.body["message"] == "a container name must be specified for pod web, choose one of: [app sidecar]")
            // A kubelet error comes back as a Status with the kubelet's code.
            _ = try await client.post("/api/v1/namespaces/default/pods", pod("odd", node: "n1", containers: ["missing"]))
            let failed = try await client.get("/api/v1/namespaces/default/pods/odd/log")
            #expect(failed.status == 404)
            #expect(failed.body["message"]?.stringValue?.contains("container not found") == true)
        }
    }

    @Test func followStreamsLinesAsTheKubeletWritesThem() async throws {
        try await withServer(tls: true) { server in
            let pki = try #require(server.pki)
            let kubelet = try await FakeKubelet(pki: pki)
            defer { Task { await kubelet.stop() } }
            let client = try RawClient(server)
            _ = try await client.post("/api/v1/nodes", node("n1", kubeletPort: kubelet.port))
            _ = try await client.post("/api/v1/namespaces/default/pods", pod("web", node: "n1"))
            let response = try await client.http.send("GET", server.url + "/api/v1/namespaces/default/pods/web/log?follow=true")
            var lines = response.lines.makeAsyncIterator()
            #expect(try await lines.next() == "hello from web/app")
            kubelet.followContinuation.yield("a later line")
            #expect(try await lines.next() == "a later line")
            kubelet.followContinuation.finish()
            #expect(try await lines.next() == nil)
        }
    }

    @Test func unscheduledPodsHaveNoLogs() async throws {
        try await withServer { server in
            let client = try RawClient(server)
            _ = try await client.post("/api/v1/namespaces/default/pods", pod("p"))
            let answer = try await client.get("/api/v1/namespaces/default/pods/p/log")
            #expect(answer.status == 400)
            #expect(answer.body["message"] == "pod p does not have a host assigned")
        }
    }
}
