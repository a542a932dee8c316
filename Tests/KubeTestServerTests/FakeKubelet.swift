import Foundation
import Hummingbird
import HummingbirdTLS
import KubeTestServer
import Logging
import NIOCore
import NIOSSL
import Synchronization

/// A kubelet's log endpoint for tests: HTTPS with a serving certificate from the test PKI, requiring a
/// client certificate signed by the test CA, answering /containerLogs/NS/POD/CONTAINER.
final class FakeKubelet: Sendable {
    let port: Int
    private let task: Task<Void, any Error>
    private let seen: Recorder
    /// Lines sent after the first one on `follow=true`, fed by the test.
    let followLines: AsyncStream<String>
    let followContinuation: AsyncStream<String>.Continuation

    /// Requests received: path and query.
    var requests: [String] { seen.all }

    final class Recorder: Sendable {
        private let lines = Mutex<[String]>([])
        func append(_ line: String) { lines.withLock { $0.append(line) } }
        var all: [String] { lines.withLock { $0 } }
    }

    init(pki: TestPKI) async throws {
        let credential = try pki.issueServer(hosts: ["127.0.0.1"], commonName: "kubelet")
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMBytes(Array(credential.certificatePEM.utf8)).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(credential.privateKeyPEM.utf8), format: .pem)))
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(pki.ca.certificatePEM.utf8)))
        tls.certificateVerification = .noHostnameVerification
        (followLines, followContinuation) = AsyncStream<String>.makeStream()
        let router = Router()
        let seen = Recorder()
        self.seen = seen
        let followLines = self.followLines
        router.get("/containerLogs/:namespace/:pod/:container") { request, context -> Response in
            seen.append(request.uri.path + "?" + (request.uri.query ?? ""))
            let container = context.parameters.get("container") ?? ""
            if container == "missing" {
                return Response(status: .notFound, body: .init(byteBuffer: ByteBuffer(string: "container not found (\"missing\")")))
            }
            let pod = context.parameters.get("pod") ?? ""
            let first = "hello from \(pod)/\(container)\n"
            if request.uri.queryParameters.get("follow") == "true" {
                return Response(status: .ok, headers: [.contentType: "text/plain"], body: ResponseBody { writer in
                    try await writer.write(ByteBuffer(string: first))
                    for await line in followLines { try await writer.write(ByteBuffer(string: line + "\n")) }
                    try await writer.finish(nil)
                })
            }
            return Response(status: .ok, headers: [.contentType: "text/plain"],
                            body: .init(byteBuffer: ByteBuffer(string: first + "second line\n")))
        }
        let (ports, portContinuation) = AsyncStream<Int>.makeStream()
        let app = Application(router: router, server: try .tls(.http1(), tlsConfiguration: tls),
                              configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { channel in
                                  portContinuation.yield(channel.localAddress?.port ?? 0)
                                  portContinuation.finish()
                              },
                              logger: Logger(label: "FakeKubelet", factory: { _ in SwiftLogNoOpLogHandler() }))
        task = Task { try await app.run() }
        var port = 0
        for await p in ports {
            port = p
            break
        }
        self.port = port
    }

    func stop() async {
        followContinuation.finish()
        task.cancel()
        _ = try? await task.value
    }
}
