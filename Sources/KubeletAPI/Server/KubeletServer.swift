import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import NIOSSL
import Synchronization

/// The kubelet's HTTPS API on this node, which the API server calls for `kubectl logs`:
///
/// - `GET /containerLogs/{namespace}/{pod}/{container}` with `follow`, `tailLines`, `sinceSeconds`,
///   `sinceTime`, `timestamps`, `limitBytes`, `previous` (and the legacy `tail`), decoded, validated and
///   answered with the kubelet's status codes and texts; the body is streamed (chunked), written as lines
///   arrive, and the log is closed when the client goes away;
/// - `GET /healthz` → `ok`;
/// - `GET /pods` → a v1 PodList of the pods on this node;
/// - anything else → 404.
///
/// Authentication: with a client CA (`--client-ca-file`) a client must present a certificate signed by
/// that CA, as a kubelet with x509 client authentication and anonymous access disabled: a request on a
/// connection without a client certificate, or with one the CA did not sign (or not meant for client
/// authentication), gets 401 `Unauthorized`, as from the kubelet: the TLS layer asks for a certificate
/// but never fails the handshake over it (`ClientCertificateTLSChannel`). Any verified client may use
/// every endpoint: there is no authorization step (the kubelet's `AlwaysAllow`).
///
/// **Without a client CA anyone who can reach the port can read every container's logs** (the original
/// systemk's known gap); `start` logs a warning then. Give `--client-ca-file` in any shared network.
public final class KubeletServer: Sendable {
    /// Where and how to serve.
    public struct Configuration: Sendable {
        /// Address to listen on (`0.0.0.0` for all IPv4 addresses, `::` for all).
        public var host: String
        /// Port; the kubelet's is 10250. 0 picks a free port (read it from `port`).
        public var port: Int
        /// The serving certificate: given files or a self-signed one made at start.
        public var certificate: ServingCertificate
        /// PEM file of the CA that signs accepted client certificates (`--client-ca-file`); nil lets anyone in.
        public var clientCAFile: String?

        public init(host: String = "0.0.0.0", port: Int = 10250, certificate: ServingCertificate,
                    clientCAFile: String? = nil) {
            self.host = host
            self.port = port
            self.certificate = certificate
            self.clientCAFile = clientCAFile
        }
    }

    /// The bound port.
    public let port: Int
    /// For a self-signed certificate: the PEM of the CA that signed it, which a client can trust (nil
    /// with given certificate files).
    public let selfSignedCAPEM: String?
    private let task: Mutex<Task<Void, any Error>?>

    private init(port: Int, selfSignedCAPEM: String?, task: Task<Void, any Error>) {
        self.port = port
        self.selfSignedCAPEM = selfSignedCAPEM
        self.task = Mutex(task)
    }

    /// Starts serving and returns once the port is bound.
    /// - Parameters:
    ///   - logs: where container output is read (`JournalContainerLogSource` in the agent).
    ///   - pods: the pods on this node (`PodStore` in the agent).
    ///   - stats: the node's and pods' CPU and memory (`/stats/summary`, `/metrics/resource`); nil: 404.
    ///   - metrics: systemk's own metrics (`/metrics`); nil: 404.
    public static func start(_ configuration: Configuration, logs: any ContainerLogSource, pods: any PodDirectory,
                             stats: (any NodeStatsSource)? = nil, metrics: (any AgentMetricsSource)? = nil,
                             logger: Logger = Logger(label: "systemk.kubelet-api")) async throws(KubeletServerError)
        -> KubeletServer
    {
        let certificate = try LoadedCertificate.load(configuration.certificate)
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: certificate.chain.map { .certificate($0) }, privateKey: .privateKey(certificate.key))
        let server: HTTPServerBuilder
        if let path = configuration.clientCAFile {
            let roots: [NIOSSLCertificate]
            let verifier: ClientCertificateVerifier
            do {
                roots = try NIOSSLCertificate.fromPEMFile(path)
                verifier = try ClientCertificateVerifier(caCertificates: roots)
            } catch {
                throw .clientCAFile(path: path, reason: String(describing: error))
            }
            guard !roots.isEmpty else { throw .clientCAFile(path: path, reason: "no certificate in the file") }
            // Ask for a certificate (naming the CA) without requiring one; the verifier decides, and the
            // responder answers 401 when nothing was verified.
            tls.trustRoots = .certificates(roots)
            tls.certificateVerification = .optionalVerification
            let context: NIOSSLContext
            do {
                context = try NIOSSLContext(configuration: tls)
            } catch {
                throw .tls(reason: String(describing: error))
            }
            server = HTTPServerBuilder { responder in
                ClientCertificateTLSChannel(base: HTTP1Channel(responder: responder), context: context, verifier: verifier)
            }
        } else {
            do {
                _ = try NIOSSLContext(configuration: tls)
                server = try .tls(.http1(), tlsConfiguration: tls)
            } catch {
                throw .tls(reason: String(describing: error))
            }
        }
        let address = Self.address(configuration.host, configuration.port)
        var quiet = logger
        quiet.logLevel = max(logger.logLevel, .notice)
        let responder = KubeletResponder(logs: logs, pods: pods, stats: stats, metrics: metrics,
                                         requireClientCertificate: configuration.clientCAFile != nil)
        let (ports, portContinuation) = AsyncStream<Int>.makeStream()
        let app = Application(
            responder: responder, server: server,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port)),
            onServerRunning: { channel in
                portContinuation.yield(channel.localAddress?.port ?? 0)
                portContinuation.finish()
            },
            logger: quiet)
        let task = Task {
            defer { portContinuation.finish() }
            try await app.run()
        }
        var port = 0
        for await bound in ports {
            port = bound
            break
        }
        guard port > 0 else {
            task.cancel()
            let reason: String
            do {
                try await task.value
                reason = "the server stopped before it listened"
            } catch {
                reason = String(describing: error)
            }
            throw .listen(address: address, reason: reason)
        }
        let listening = Self.address(configuration.host, port)
        if configuration.clientCAFile == nil {
            logger.warning(
                "kubelet API without --client-ca-file: anyone who can reach \(listening) can read every container's logs")
        }
        logger.info("kubelet API listening on \(listening)",
                    metadata: ["clientCA": .string(configuration.clientCAFile ?? "none")])
        return KubeletServer(port: port, selfSignedCAPEM: certificate.selfSignedCAPEM, task: task)
    }

    /// `host:port`, or `[host]:port` for an IPv6 address.
    static func address(_ host: String, _ port: Int) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// Stops listening, ends open log streams and returns when the server is down.
    public func stop() async {
        guard let task = task.withLock({ t -> Task<Void, any Error>? in defer { t = nil }; return t }) else { return }
        task.cancel()
        _ = try? await task.value
    }
}
