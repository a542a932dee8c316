import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// A small HTTP/1.1 client over NIO and NIOSSL, one connection per request, with a streamed body.
/// The server uses it to reach kubelets (`kubectl logs`); tests use it to talk to the server with client
/// certificates or tokens and to read watch streams line by line.
public struct TestHTTPClient: Sendable {
    /// TLS settings for https URLs (trust roots, client certificate); nil means plain HTTP only.
    public var tlsConfiguration: TLSConfiguration?

    /// A client; `tls` is used for https URLs.
    public init(tls: TLSConfiguration? = nil) {
        self.tlsConfiguration = tls
    }

    /// TLS settings trusting `caPEM` and presenting `client` (if given).
    public static func tls(trusting caPEM: String?, client: TestCredential? = nil) throws -> TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        if let caPEM {
            configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(caPEM.utf8)))
        } else {
            configuration.certificateVerification = .none
        }
        if let client {
            configuration.certificateChain = try NIOSSLCertificate.fromPEMBytes(Array(client.certificatePEM.utf8))
                .map { .certificate($0) }
            configuration.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: Array(client.privateKeyPEM.utf8), format: .pem))
        }
        return configuration
    }

    /// Errors of the client itself (not HTTP error statuses, which are returned as responses).
    public enum ClientError: Error, Sendable, CustomStringConvertible {
        case badURL(String)
        case tlsNotConfigured(String)
        case connectionClosedBeforeResponse
        case connectionClosed

        public var description: String {
            switch self {
            case .badURL(let url): return "not an http(s) URL with a host: \(url)"
            case .tlsNotConfigured(let url): return "https URL but no TLS configuration: \(url)"
            case .connectionClosedBeforeResponse: return "the connection closed before a response head arrived"
            case .connectionClosed: return "the connection closed before the body ended"
            }
        }
    }

    /// Sends one request and returns once the response head arrived; the body streams in `response.body`.
    public func send(_ method: String, _ url: String, headers: [(String, String)] = [], body: Data? = nil) async throws -> TestHTTPResponse {
        guard let components = URLComponents(string: url), let scheme = components.scheme,
              let host = components.host, scheme == "http" || scheme == "https" else {
            throw ClientError.badURL(url)
        }
        let port = components.port ?? (scheme == "https" ? 443 : 80)
        let sslContext: NIOSSLContext?
        if scheme == "https" {
            guard let tlsConfiguration else { throw ClientError.tlsNotConfigured(url) }
            sslContext = try NIOSSLContext(configuration: tlsConfiguration)
        } else {
            sslContext = nil
        }
        let serverHostname = TestPKI.ipBytes(host) == nil ? host : nil
        let (bodyStream, bodyContinuation) = AsyncThrowingStream<ByteBuffer, any Error>.makeStream()
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let headPromise = loop.makePromise(of: HTTPResponseHead.self)
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: loop)
                .connectTimeout(.seconds(10))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if let sslContext {
                            let handler = try NIOSSLClientHandler(context: sslContext, serverHostname: serverHostname)
                            try channel.pipeline.syncOperations.addHandler(handler)
                        }
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        try channel.pipeline.syncOperations.addHandler(ResponseForwarder(head: headPromise, body: bodyContinuation))
                    }
                }
                .connect(host: host, port: port).get()
        } catch {
            headPromise.fail(error)
            bodyContinuation.finish(throwing: error)
            throw error
        }

        var path = components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath
        if let query = components.percentEncodedQuery { path += "?" + query }
        var head = HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: method), uri: path)
        head.headers.add(name: "Host", value: components.port.map { "\(host):\($0)" } ?? host)
        head.headers.add(name: "Connection", value: "close")
        for (name, value) in headers { head.headers.add(name: name, value: value) }
        if let body { head.headers.add(name: "Content-Length", value: String(body.count)) }
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        if let body { channel.write(HTTPClientRequestPart.body(.byteBuffer(ByteBuffer(bytes: body))), promise: nil) }
        try await channel.writeAndFlush(HTTPClientRequestPart.end(nil)).get()
        let responseHead = try await headPromise.futureResult.get()
        return TestHTTPResponse(status: Int(responseHead.status.code),
                                headers: responseHead.headers.map { ($0.name, $0.value) },
                                body: bodyStream, channel: channel)
    }
}

/// A response: status and headers, with the body as a stream of buffers (closing the connection at its end).
public struct TestHTTPResponse: Sendable {
    /// HTTP status code.
    public let status: Int
    /// Response headers in order.
    public let headers: [(String, String)]
    /// The body as it arrives.
    public let body: AsyncThrowingStream<ByteBuffer, any Error>
    let channel: any Channel

    /// The first header named `name` (case-insensitive).
    public func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    /// Reads the whole body.
    public func collect() async throws -> Data {
        var data = Data()
        for try await buffer in body { data.append(contentsOf: buffer.readableBytesView) }
        return data
    }

    /// Reads the whole body as UTF-8 text.
    public func text() async throws -> String { String(decoding: try await collect(), as: UTF8.self) }

    /// The whole body parsed as JSON.
    public func json() async throws -> JSONValue { try JSONValue(data: try await collect()) }

    /// The body split into lines as they arrive (for watch streams: one JSON event per line). The body
    /// can be consumed once: use either this, `body`, `collect()`, `text()` or `json()`.
    public var lines: AsyncThrowingStream<String, any Error> {
        let body = self.body
        return AsyncThrowingStream { continuation in
            let task = Task {
                var pending = Data()
                do {
                    for try await buffer in body {
                        pending.append(contentsOf: buffer.readableBytesView)
                        while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                            continuation.yield(String(decoding: pending[pending.startIndex..<newline], as: UTF8.self))
                            pending.removeSubrange(pending.startIndex...newline)
                        }
                    }
                    if !pending.isEmpty { continuation.yield(String(decoding: pending, as: UTF8.self)) }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// Closes the connection (ends a watch from the client side).
    public func close() {
        channel.close(promise: nil)
    }
}

/// Feeds response parts into the head promise and the body stream; runs on the channel's event loop.
private final class ResponseForwarder: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart

    private let head: EventLoopPromise<HTTPResponseHead>
    private let body: AsyncThrowingStream<ByteBuffer, any Error>.Continuation
    private var gotHead = false

    init(head: EventLoopPromise<HTTPResponseHead>, body: AsyncThrowingStream<ByteBuffer, any Error>.Continuation) {
        self.head = head
        self.body = body
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            // Interim 1xx answers are skipped.
            if h.status.code >= 200 {
                gotHead = true
                head.succeed(h)
            }
        case .body(let buffer):
            body.yield(buffer)
        case .end:
            body.finish()
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !gotHead {
            gotHead = true
            head.fail(TestHTTPClient.ClientError.connectionClosedBeforeResponse)
        }
        body.finish(throwing: TestHTTPClient.ClientError.connectionClosed)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if !gotHead {
            gotHead = true
            head.fail(error)
        }
        body.finish(throwing: error)
        context.close(promise: nil)
    }
}
