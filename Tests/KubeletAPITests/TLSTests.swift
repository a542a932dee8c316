import Foundation
import KubeTestServer
import KubeletAPI
import Testing

/// Serving certificates (self-signed or given files) and client certificates checked against the client CA.
@Suite("kubelet API TLS and client certificates")
struct TLSTests {
    @Test func aSelfSignedCertificateIsTrustedThroughItsCA() async throws {
        let kubelet = try await Kubelet.start(pods: PodStore())
        try await kubelet.whileRunning {
            #expect(try await kubelet.get("/healthz").status == 200)
            // The host name is in the certificate too (the client checks it against the DNS SAN).
            let byName = try await kubelet.client.send("GET", "https://localhost:\(kubelet.server.port)/healthz")
            #expect(byName.status == 200)
            _ = try await byName.collect()
            // A client that trusts something else refuses the server.
            let other = TestHTTPClient(tls: try TestHTTPClient.tls(trusting: try TestPKI.generate().ca.certificatePEM))
            await #expect(throws: (any Error).self) { _ = try await other.send("GET", kubelet.url + "/healthz") }
        }
    }

    @Test func givenCertificateFilesAreServed() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let pki = try TestPKI.generate()
        try pki.issueServer(hosts: ["127.0.0.1"], commonName: "node-1")
            .write(certificateTo: directory + "/kubelet.crt", keyTo: directory + "/kubelet.key")
        let kubelet = try await Kubelet.start(
            pods: PodStore(), certificate: .files(certificate: directory + "/kubelet.crt", key: directory + "/kubelet.key"),
            trusting: pki.ca.certificatePEM)
        try await kubelet.whileRunning {
            let answer = try await kubelet.get("/healthz")
            #expect(answer.body == "ok")
            #expect(kubelet.server.selfSignedCAPEM == nil)
        }
    }

    @Test func unreadableFilesAreTypedErrors() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let pki = try TestPKI.generate()
        try pki.server.write(certificateTo: directory + "/ok.crt", keyTo: directory + "/ok.key")
        try Data("not a certificate".utf8).write(to: URL(fileURLWithPath: directory + "/bad.pem"))
        func start(_ certificate: ServingCertificate, clientCA: String? = nil) async throws(KubeletServerError) {
            let server = try await KubeletServer.start(
                .init(host: "127.0.0.1", port: 0, certificate: certificate, clientCAFile: clientCA),
                logs: FakeLogSource(.output([])), pods: PodStore(), logger: testLogger)
            await server.stop()
        }
        await #expect(throws: KubeletServerError.self) {
            try await start(.files(certificate: directory + "/missing.crt", key: directory + "/ok.key"))
        }
        do {
            try await start(.files(certificate: directory + "/ok.crt", key: directory + "/bad.pem"))
            Issue.record("a bad key was accepted")
        } catch {
            guard case .keyFile(let path, _) = error else { throw error }
            #expect(path == directory + "/bad.pem")
        }
        do {
            try await start(.selfSigned(hosts: ["127.0.0.1"]), clientCA: directory + "/bad.pem")
            Issue.record("a bad client CA was accepted")
        } catch {
            guard case .clientCAFile = error else { throw error }
        }
    }

    @Test func aPortInUseIsAListenError() async throws {
        let first = try await Kubelet.start(pods: PodStore())
        try await first.whileRunning {
            do throws(KubeletServerError) {
                let second = try await KubeletServer.start(
                    .init(host: "127.0.0.1", port: first.server.port, certificate: .selfSigned(hosts: ["127.0.0.1"])),
                    logs: FakeLogSource(.output([])), pods: PodStore(), logger: testLogger)
                await second.stop()
                Issue.record("two servers listened on one port")
            } catch {
                guard case .listen(let address, _) = error else { throw error }
                #expect(address == "127.0.0.1:\(first.server.port)")
            }
        }
    }

    @Test func withAClientCAOnlyItsCertificatesAreAccepted() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let clients = try TestPKI.generate()
        try Data(clients.ca.certificatePEM.utf8).write(to: URL(fileURLWithPath: directory + "/client-ca.crt"))
        let source = FakeLogSource(.output(["secret\n"]))
        let kubelet = try await Kubelet.start(
            logs: source, pods: try await podStore(podJSON("web")), clientCAFile: directory + "/client-ca.crt",
            clientCredential: try clients.issueClient(commonName: "kube-apiserver-kubelet-client"))
        try await kubelet.whileRunning {
            let caPEM = try #require(kubelet.server.selfSignedCAPEM)

            // Signed by the client CA: served.
            let answer = try await kubelet.get("/containerLogs/default/web/app")
            #expect(answer.status == 200)
            #expect(answer.body == "secret\n")

            // No certificate: 401 as the kubelet answers anonymous requests, on every path.
            let anonymous = TestHTTPClient(tls: try TestHTTPClient.tls(trusting: caPEM))
            for path in ["/containerLogs/default/web/app", "/healthz", "/pods", "/nothing"] {
                let refused = try await anonymous.send("GET", kubelet.url + path)
                #expect(refused.status == 401)
                #expect(try await refused.text() == "Unauthorized")
            }

            // A certificate from another CA, or the CA's but not for client authentication: 401 as well.
            let strangers = [
                try TestPKI.generate().issueClient(commonName: "kube-apiserver-kubelet-client"),
                try clients.issueServer(hosts: ["127.0.0.1"], commonName: "kube-apiserver-kubelet-client"),
            ]
            for credential in strangers {
                let stranger = TestHTTPClient(tls: try TestHTTPClient.tls(trusting: caPEM, client: credential))
                let refused = try await stranger.send("GET", kubelet.url + "/containerLogs/default/web/app")
                #expect(refused.status == 401)
                #expect(try await refused.text() == "Unauthorized")
            }
            #expect(source.calls.count == 1)
        }
    }
}
