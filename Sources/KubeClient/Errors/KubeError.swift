/// What the API server said about a failed request, or what went wrong before it could say anything.
public struct APIFailure: Sendable, Equatable, CustomStringConvertible {
    /// The HTTP method of the failed request.
    public var method: String
    /// The request path, without the query (`/api/v1/namespaces/default/pods/web`).
    public var path: String
    /// The HTTP status code.
    public var code: Int
    /// The Status reason (`NotFound`, `AlreadyExists`, `Conflict` ...) or the HTTP reason phrase.
    public var reason: String
    /// The server's message, or the start of the body when it was not a Status.
    public var message: String
    /// The decoded Status, when the body was one.
    public var status: Status?

    /// Creates a failure description.
    public init(method: String, path: String, code: Int, reason: String, message: String, status: Status? = nil) {
        self.method = method
        self.path = path
        self.code = code
        self.reason = reason
        self.message = message
        self.status = status
    }

    /// `GET /api/v1/...: 404 NotFound: pods "web" not found`.
    public var description: String {
        "\(method) \(path): \(code) \(reason)" + (message.isEmpty ? "" : ": \(message)")
    }
}

/// An error from the Kubernetes API client: the server's answer decoded into a case, or a transport,
/// decoding or credential problem.
public enum KubeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// 404: the object does not exist.
    case notFound(APIFailure)
    /// 409 with reason AlreadyExists: a create found the name taken.
    case alreadyExists(APIFailure)
    /// 409 otherwise: a stale resourceVersion or a failed precondition (such as a UID).
    case conflict(APIFailure)
    /// 410: the resourceVersion asked for is older than the server keeps.
    case gone(APIFailure)
    /// 422 (or 400 with reason Invalid/BadRequest): the object or request was rejected as invalid.
    case invalid(APIFailure)
    /// 403: authenticated but not allowed.
    case forbidden(APIFailure)
    /// 401: the credentials were not accepted.
    case unauthorized(APIFailure)
    /// 429: too many requests; `retryAfter` from the Retry-After header or the Status details.
    case tooManyRequests(APIFailure, retryAfter: Duration?)
    /// 5xx: the server failed.
    case server(code: Int, APIFailure)
    /// Any other non-success answer.
    case unexpected(code: Int, APIFailure)
    /// The request could not be sent or its answer not received (connection refused or dropped, timeout, TLS).
    case transport(method: String, path: String, detail: String)
    /// The answer was received but could not be decoded as the expected type.
    case decoding(what: String, detail: String)
    /// The configuration, or credentials it names, cannot be used (a bad server URL or certificate, an
    /// unreadable token file, a failing exec plugin).
    case configuration(KubeconfigError)

    /// The server's failure details, for the cases that have them.
    public var failure: APIFailure? {
        switch self {
        case .notFound(let f), .alreadyExists(let f), .conflict(let f), .gone(let f), .invalid(let f),
            .forbidden(let f), .unauthorized(let f), .tooManyRequests(let f, _), .server(_, let f),
            .unexpected(_, let f):
            return f
        case .transport, .decoding, .configuration:
            return nil
        }
    }

    /// A short, bounded label for metrics: the HTTP status code, or `transport`, `decoding`,
    /// `configuration`.
    public var metricLabel: String {
        switch self {
        case .transport: return "transport"
        case .decoding: return "decoding"
        case .configuration: return "configuration"
        default: return failure.map { String($0.code) } ?? "unknown"
        }
    }

    /// Whether trying the same request again later may succeed (5xx, 429, transport failures).
    public var isTransient: Bool {
        switch self {
        case .server, .tooManyRequests, .transport: return true
        default: return false
        }
    }

    /// The message for a person.
    public var description: String {
        switch self {
        case .notFound(let f), .alreadyExists(let f), .conflict(let f), .gone(let f), .invalid(let f),
            .forbidden(let f), .unauthorized(let f), .server(_, let f), .unexpected(_, let f):
            return f.description
        case .tooManyRequests(let f, let retryAfter):
            return f.description + (retryAfter.map { " (retry after \($0))" } ?? "")
        case .transport(let method, let path, let detail):
            return "\(method) \(path): \(detail)"
        case .decoding(let what, let detail):
            return "cannot decode \(what): \(detail)"
        case .configuration(let error):
            return error.description
        }
    }

    /// Maps an HTTP status code and optional decoded Status into the matching case.
    static func from(
        code: Int, reasonPhrase: String, method: String, path: String, status: Status?, body: String,
        retryAfterHeader: Duration?
    ) -> KubeError {
        let reason = status?.reason.flatMap { $0.isEmpty ? nil : $0 } ?? reasonPhrase
        let message = status?.message ?? String(body.prefix(512))
        let failure = APIFailure(
            method: method, path: path, code: code, reason: reason, message: message, status: status)
        switch code {
        case 400:
            return reason == "Invalid" ? .invalid(failure) : .unexpected(code: code, failure)
        case 401: return .unauthorized(failure)
        case 403: return .forbidden(failure)
        case 404: return .notFound(failure)
        case 409: return reason == "AlreadyExists" ? .alreadyExists(failure) : .conflict(failure)
        case 410: return .gone(failure)
        case 422: return .invalid(failure)
        case 429:
            let fromStatus = status?.details?.retryAfterSeconds.map { Duration.seconds($0) }
            return .tooManyRequests(failure, retryAfter: retryAfterHeader ?? fromStatus)
        case 500...599: return .server(code: code, failure)
        default: return .unexpected(code: code, failure)
        }
    }
}
