import Foundation
import Hummingbird
import HummingbirdCore
import NIOCore
import NIOSSL
import SystemkRuntime

/// A request's context: the connection, for its TLS peer certificate.
struct KubeletRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}

/// The node's and its pods' CPU and memory, for `/stats/summary` (JSON) and `/metrics/resource`
/// (Prometheus text, read by metrics-server for `kubectl top`).
public protocol NodeStatsSource: Sendable {
    func summaryJSON() async -> [UInt8]
    func resourceMetrics() async -> String
}

/// The agent's own metrics for `/metrics`, in Prometheus' text format.
public protocol AgentMetricsSource: Sendable {
    func metricsText() -> String
}

/// Answers the kubelet API's requests the way the kubelet does: authentication, then `/containerLogs`,
/// `/healthz`, `/pods`, `/stats/summary`, `/metrics/resource`, `/metrics`, and 404 for everything else.
struct KubeletResponder: HTTPResponder {
    typealias Context = KubeletRequestContext

    let logs: any ContainerLogSource
    let pods: any PodDirectory
    let stats: (any NodeStatsSource)?
    let metrics: (any AgentMetricsSource)?
    /// A client certificate signed by the client CA is required (verified by `ClientCertificateTLSChannel`).
    let requireClientCertificate: Bool

    func respond(to request: Request, context: Context) async throws -> Response {
        if requireClientCertificate {
            // Set only when the client presented a certificate that chains to the client CA.
            let verified = try? await context.channel.nioSSL_peerValidatedCertificateChain().get()
            guard verified != nil else { return Self.text(.unauthorized, "Unauthorized") }
        }
        let path = request.uri.path
        let segments = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map {
            String($0).removingPercentEncoding ?? String($0)
        }
        switch segments.first ?? "" {
        case "healthz" where segments.count == 1:
            guard request.method == .get || request.method == .head else { return Self.methodNotAllowed() }
            return Self.text(.ok, "ok")
        case "pods" where segments.count == 1 || (segments.count == 2 && segments[1].isEmpty):
            guard request.method == .get else { return Self.methodNotAllowed() }
            let body = await pods.podListJSON()
            return Response(status: .ok, headers: [.contentType: "application/json"],
                            body: .init(byteBuffer: ByteBuffer(bytes: body)))
        case "stats" where segments.count == 2 && segments[1] == "summary":
            guard request.method == .get else { return Self.methodNotAllowed() }
            guard let stats else { return Self.text(.notFound, "404 page not found\n") }
            return Response(status: .ok, headers: [.contentType: "application/json"],
                            body: .init(byteBuffer: ByteBuffer(bytes: await stats.summaryJSON())))
        case "metrics" where segments.count == 2 && segments[1] == "resource":
            guard request.method == .get else { return Self.methodNotAllowed() }
            guard let stats else { return Self.text(.notFound, "404 page not found\n") }
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string: await stats.resourceMetrics())))
        case "metrics" where segments.count == 1:
            guard request.method == .get else { return Self.methodNotAllowed() }
            guard let metrics else { return Self.text(.notFound, "404 page not found\n") }
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string: metrics.metricsText())))
        case "containerLogs" where segments.count == 4 && !segments[1...].contains(""):
            guard request.method == .get else { return Self.methodNotAllowed() }
            return await containerLogs(request, namespace: segments[1], pod: segments[2], container: segments[3])
        default:
            return Self.text(.notFound, "404 page not found\n")
        }
    }

    /// `GET /containerLogs/NS/POD/CONTAINER`, in the kubelet's order: decode and validate the query,
    /// find the pod and the container, then open the log.
    private func containerLogs(_ request: Request, namespace: String, pod name: String, container: String) async -> Response {
        let options: ContainerLogOptions
        switch LogQuery.options(request.uri.query) {
        case .success(let value): options = value
        case .failure(.undecodable): return Self.text(.badRequest, #"{"message": "Unable to decode query."}"#)
        case .failure(.invalid): return Self.text(.unprocessableContent, #"{"message": "Invalid request."}"#)
        case .failure(let error): return Self.text(.badRequest, error.description)
        }
        guard let pod = await pods.pod(namespace: namespace, name: name) else {
            return Self.text(.notFound, "pod \(quoted(name)) does not exist")
        }
        guard pod.has(container: container) else {
            return Self.text(.notFound, "container \(quoted(container)) not found in pod \(quoted(name))")
        }
        let stream: AsyncThrowingStream<[UInt8], any Error>
        do {
            stream = try await logs.logs(namespace: namespace, pod: name, container: container, options: options)
        } catch {
            return Self.text(.badRequest, Self.message(for: error, pod: pod, container: container))
        }
        let body = ResponseBody { writer in
            // Ends the stream (and so the journal reader) when the client goes away, even while no line arrives.
            try await request.body.consumeWithCancellationOnInboundClose { _ in
                for try await chunk in stream where !chunk.isEmpty {
                    try await writer.write(ByteBuffer(bytes: chunk))
                }
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"], body: body)
    }

    /// The kubelet's 400 texts for a container whose log cannot be read.
    static func message(for error: ContainerLogError, pod: NodePod, container: String) -> String {
        let c = quoted(container), p = quoted(pod.name)
        switch error {
        case .unitNotFound, .notStarted:
            return "container \(c) in pod \(p) is waiting to start: \(pod.waitingReason(of: container))"
        case .noPreviousRun:
            return "previous terminated container \(c) in pod \(p) not found"
        case .invalidOption(let text):
            return text
        case .systemd(let error):
            return "cannot read the log of container \(c) in pod \(p): \(error.description)"
        }
    }

    static func text(_ status: HTTPResponse.Status, _ body: String) -> Response {
        Response(status: status, headers: [.contentType: "text/plain; charset=utf-8"],
                 body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    static func methodNotAllowed() -> Response { text(.methodNotAllowed, "405: Method Not Allowed") }
}

/// Go's `%q` for the names the kubelet quotes (DNS labels and subdomains; other characters escaped).
func quoted(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\t": out += "\\t"
        default:
            if scalar.value < 0x20 || scalar.value == 0x7f {
                out += "\\x" + (scalar.value < 0x10 ? "0" : "") + String(scalar.value, radix: 16)
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
    }
    return out + "\""
}
