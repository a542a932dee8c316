import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import NIOSSL

/// One API request before credentials and the server's address are added.
struct APIRequest: Sendable {
    var method: HTTPMethod
    var path: String
    var query: [(String, String)] = []
    var body: Data? = nil
    var contentType: String = "application/json"

    var isIdempotent: Bool { method == .GET || method == .HEAD }
}

/// A complete answer.
struct APIResponse: Sendable {
    var code: Int
    var headers: HTTPHeaders
    var body: Data

    init(code: Int, headers: HTTPHeaders, body: Data) {
        self.code = code
        self.headers = headers
        self.body = body
    }

    init(code: Int, headerPairs: [(String, String)], body: Data) {
        self.init(code: code, headers: HTTPHeaders(headerPairs), body: body)
    }
}

/// Sends API requests over AsyncHTTPClient: adds the server address (honouring tls-server-name), TLS and
/// credentials, retries what may be retried, and turns failures into `KubeError`.
final class Transport: Sendable {
    private let urlPrefix: String
    private let unary: HTTPClient
    private let watching: HTTPClient
    private let credentials: CredentialSource
    let options: KubeClientOptions

    init(configuration: ClientConfiguration, options: KubeClientOptions, files: FileSource) throws(KubeError) {
        guard let url = URL(string: configuration.server), let scheme = url.scheme?.lowercased(),
            scheme == "http" || scheme == "https", let host = url.host, !host.isEmpty
        else {
            throw .configuration(
                KubeconfigError(
                    origin: configuration.origin, field: "server",
                    reason: .invalidValue(detail: "\"\(configuration.server)\" is not an http or https URL")))
        }
        let bareHost = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
        let port = url.port ?? (scheme == "https" ? 443 : 80)
        var path = url.path
        while path.hasSuffix("/") { path.removeLast() }

        var requestHost = bareHost
        var dnsOverride: [String: String] = [:]
        if scheme == "https", let name = configuration.tlsServerName, name != bareHost {
            // Connect to the server's address but send and verify `name`, like curl's --connect-to.
            requestHost = name
            dnsOverride[name] = bareHost
        }
        let hostPart = requestHost.contains(":") ? "[\(requestHost)]" : requestHost
        urlPrefix = "\(scheme)://\(hostPart):\(port)\(path)"

        let tls: TLSConfiguration? = scheme == "https" ? try TLSFactory.configuration(for: configuration) : nil
        func client(read: Duration) -> HTTPClient {
            var config = HTTPClient.Configuration(
                tlsConfiguration: tls,
                redirectConfiguration: .disallow,
                timeout: .init(connect: .nanoseconds(options.connectTimeout.nanoseconds), read: .nanoseconds(read.nanoseconds)),
                connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 1024),
                decompression: .enabled(limit: .none))
            config.dnsOverride = dnsOverride
            return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: config)
        }
        unary = client(read: options.requestTimeout)
        watching = client(read: options.watchIdleTimeout)
        credentials = CredentialSource(
            configuration: configuration, files: files, refreshInterval: options.tokenFileRefreshInterval, baseTLS: tls)
        self.options = options
    }

    /// Closes every connection. Watches in progress end.
    func shutdown() async {
        try? await unary.shutdown()
        try? await watching.shutdown()
    }

    deinit {
        // A client dropped without `shutdown()` (an error path that skipped it) closes its connections
        // in the background, instead of tripping AsyncHTTPClient's assertion and ending the process.
        // After `shutdown()` this is a no-op (a second shutdown only throws, and is ignored).
        let unary = self.unary
        let watching = self.watching
        Task.detached {
            try? await unary.shutdown()
            try? await watching.shutdown()
        }
    }

    // MARK: Requests with a complete body

    /// Sends a request, retrying 429s (after Retry-After), 5xx with Retry-After, and for GETs other 5xx
    /// and transport failures, with jittered back-off; a 401 makes exec plugins and token files refresh once.
    func send(_ request: APIRequest) async throws(KubeError) -> APIResponse {
        var attempt = 0
        var refreshedCredentials = false
        while true {
            attempt += 1
            let creds = try await credentials.current()
            let failure: KubeError
            var retryAfter: Duration?
            do {
                let response = try await executeCollecting(request, credentials: creds)
                if (200..<300).contains(response.code) { return response }
                retryAfter = Self.retryAfter(response.headers)
                failure = Self.error(for: response, request: request)
            } catch {
                failure = error
            }
            options.onError("\(request.method)", failure)
            if case .unauthorized = failure, !refreshedCredentials, await credentials.rejected(creds) {
                refreshedCredentials = true
                continue
            }
            guard attempt < options.maxAttempts, !Task.isCancelled,
                let delay = retryDelay(for: failure, retryAfter: retryAfter, request: request, attempt: attempt)
            else { throw failure }
            options.logger.debug(
                "retrying Kubernetes API request",
                metadata: ["request": "\(request.method) \(request.path)", "error": "\(failure)", "delay": "\(delay)"])
            do {
                try await options.sleep(delay)
            } catch {
                throw .transport(method: "\(request.method)", path: request.path, detail: "cancelled")
            }
        }
    }

    private func retryDelay(for error: KubeError, retryAfter: Duration?, request: APIRequest, attempt: Int) -> Duration? {
        let backoff = options.backoff.delay(attempt: attempt - 1, random: options.random())
        switch error {
        case .tooManyRequests(_, let after):
            return min(after ?? retryAfter ?? backoff, options.maxRetryAfter)
        case .server:
            if let retryAfter { return min(retryAfter, options.maxRetryAfter) }
            return request.isIdempotent ? backoff : nil
        case .transport:
            return request.isIdempotent ? backoff : nil
        default:
            return nil
        }
    }

    /// One request, its body read whole (at most 64 MiB). Through the same delegate interface as watches
    /// (`ResponseStream`), so that AsyncHTTPClient's async interface, whose code would otherwise be mapped
    /// in beside it, is never run.
    private func executeCollecting(_ request: APIRequest, credentials: RequestCredentials) async throws(KubeError)
        -> APIResponse
    {
        let method = "\(request.method)"
        do {
            switch try await open(request, on: unary, credentials: credentials) {
            case .complete(let head, let body):
                return APIResponse(code: Int(head.status.code), headers: head.headers, body: Data(buffer: body))
            case .stream(let stream):
                var body = ByteBuffer()
                var reader = stream.makeReader()
                while let chunk = try await reader.next() {
                    guard body.readableBytes + chunk.readableBytes <= Self.maxBody else {
                        throw KubeError.transport(method: method, path: request.path, detail: "the answer is larger than \(Self.maxBody) bytes")
                    }
                    body.writeImmutableBuffer(chunk)
                }
                // A cancelled reader's stream ends early, as if the body were whole.
                try Task.checkCancellation()
                return APIResponse(code: Int(stream.head.status.code), headers: stream.head.headers, body: Data(buffer: body))
            }
        } catch let error as KubeError {
            throw error
        } catch {
            throw .transport(method: method, path: request.path, detail: Self.describe(error))
        }
    }

    static let maxBody = 64 << 20

    private func open(_ request: APIRequest, on client: HTTPClient, credentials: RequestCredentials) async throws -> ResponseStream.Answer {
        let (url, headers) = target(request, credentials: credentials)
        let http = try HTTPClient.Request(
            url: url, method: request.method, headers: headers, body: request.body.map { .byteBuffer(ByteBuffer(data: $0)) },
            tlsConfiguration: credentials.tls)
        return try await ResponseStream.open(http, on: client, headTimeout: options.requestTimeout)
    }

    // MARK: Streams

    /// Opens a streaming request (a watch): its body as it arrives (see `ResponseStream`). Non-2xx
    /// answers are read (they are short) and thrown.
    func openStream(_ request: APIRequest) async throws(KubeError) -> ResponseStream {
        let creds = try await credentials.current()
        let answer: ResponseStream.Answer
        do {
            answer = try await open(request, on: watching, credentials: creds)
        } catch {
            let failure = KubeError.transport(method: "\(request.method)", path: request.path, detail: Self.describe(error))
            options.onError("\(request.method)", failure)
            throw failure
        }
        switch answer {
        case .stream(let stream):
            return stream
        case .complete(let head, let body):
            let error = Self.error(
                for: APIResponse(code: Int(head.status.code), headers: head.headers, body: Data(buffer: body)), request: request)
            options.onError("\(request.method)", error)
            if case .unauthorized = error { _ = await credentials.rejected(creds) }
            throw error
        }
    }

    // MARK: Helpers

    /// The URL and headers of a request (with its credentials).
    private func target(_ request: APIRequest, credentials: RequestCredentials) -> (url: String, headers: HTTPHeaders) {
        var url = urlPrefix + request.path
        if !request.query.isEmpty {
            url += "?" + request.query.map { PathSegment.escapeQuery($0.0) + "=" + PathSegment.escapeQuery($0.1) }
                .joined(separator: "&")
        }
        var headers = HTTPHeaders()
        headers.add(name: "Accept", value: "application/json")
        headers.add(name: "User-Agent", value: options.userAgent)
        if let token = credentials.bearerToken { headers.add(name: "Authorization", value: "Bearer \(token)") }
        if request.body != nil { headers.add(name: "Content-Type", value: request.contentType) }
        return (url, headers)
    }

    static func error(for response: APIResponse, request: APIRequest) -> KubeError {
        var status: Status?
        if let decoded = try? JSONDecoder().decode(Status.self, from: response.body), decoded.kind == "Status" {
            status = decoded
        }
        let phrase = HTTPResponseStatus(statusCode: response.code).reasonPhrase
        return KubeError.from(
            code: response.code, reasonPhrase: phrase.replacingOccurrences(of: " ", with: ""),
            method: "\(request.method)", path: request.path, status: status,
            body: String(decoding: response.body.prefix(512), as: UTF8.self),
            retryAfterHeader: retryAfter(response.headers))
    }

    /// Retry-After in seconds (the HTTP-date form is not used by the API server).
    static func retryAfter(_ headers: HTTPHeaders) -> Duration? {
        guard let value = headers.first(name: "Retry-After"),
            let seconds = Int(value.trimmingCharacters(in: .whitespaces)), seconds >= 0
        else { return nil }
        return .seconds(seconds)
    }

    static func describe(_ error: any Error) -> String {
        if error is CancellationError { return "cancelled" }
        if let http = error as? HTTPClientError { return "\(http)" }
        if let ssl = error as? NIOSSLError { return "TLS: \(ssl)" }
        return "\(error)"
    }
}

extension Duration {
    var nanoseconds: Int64 {
        let (s, atto) = components
        return s * 1_000_000_000 + atto / 1_000_000_000
    }
}
