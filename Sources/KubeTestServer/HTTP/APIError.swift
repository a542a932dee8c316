/// An error as the API server reports it: an HTTP code plus a `Status` object (kind Status, apiVersion v1,
/// status Failure) with the same reason strings and messages the real server uses.
public struct APIError: Error, Sendable, Equatable, CustomStringConvertible {
    /// HTTP status code (404, 409, 410, ...).
    public var code: Int
    /// `Status.reason`: NotFound, AlreadyExists, Conflict, Expired, Gone, Invalid, BadRequest, ...
    public var reason: String
    /// `Status.message`, written for a person.
    public var message: String
    /// `Status.details` (name, group, kind, uid, causes), nil when the error names no object.
    public var details: JSONValue?
    /// `Retry-After` seconds for 429 answers, also put in `details.retryAfterSeconds`.
    public var retryAfterSeconds: Int?

    /// An error with the given fields.
    public init(code: Int, reason: String, message: String, details: JSONValue? = nil, retryAfterSeconds: Int? = nil) {
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.retryAfterSeconds = retryAfterSeconds
    }

    /// The `Status` object sent in the body (and in watch ERROR events).
    public var status: JSONValue {
        var status: JSONValue = [
            "kind": "Status", "apiVersion": "v1", "metadata": [:], "status": "Failure",
            "message": .string(message), "reason": .string(reason), "code": .int(Int64(code)),
        ]
        var details = self.details
        if let retryAfterSeconds {
            if details == nil { details = [:] }
            details?["retryAfterSeconds"] = .int(Int64(retryAfterSeconds))
        }
        if let details { status["details"] = details }
        return status
    }

    public var description: String { "\(code) \(reason): \(message)" }

    static func details(_ resource: ResourceType, name: String?) -> JSONValue {
        var d: JSONValue = ["kind": .string(resource.plural)]
        if !resource.group.isEmpty { d["group"] = .string(resource.group) }
        if let name { d["name"] = .string(name) }
        return d
    }

    static func notFound(_ resource: ResourceType, _ name: String) -> APIError {
        APIError(code: 404, reason: "NotFound", message: "\(resource.qualifiedPlural) \"\(name)\" not found",
                 details: details(resource, name: name))
    }

    static func alreadyExists(_ resource: ResourceType, _ name: String) -> APIError {
        APIError(code: 409, reason: "AlreadyExists", message: "\(resource.qualifiedPlural) \"\(name)\" already exists",
                 details: details(resource, name: name))
    }

    static func conflict(_ resource: ResourceType, _ name: String, _ why: String) -> APIError {
        APIError(code: 409, reason: "Conflict",
                 message: "Operation cannot be fulfilled on \(resource.qualifiedPlural) \"\(name)\": \(why)",
                 details: details(resource, name: name))
    }

    static let staleObject = "the object has been modified; please apply your changes to the latest version and try again"

    static func invalid(_ resource: ResourceType, _ name: String, field: String, _ why: String) -> APIError {
        var d = details(resource, name: name)
        d["kind"] = .string(resource.kind)
        d["causes"] = [["reason": "FieldValueInvalid", "message": .string(why), "field": .string(field)]]
        return APIError(code: 422, reason: "Invalid", message: "\(resource.kind) \"\(name)\" is invalid: \(field): \(why)",
                        details: d)
    }

    static func badRequest(_ message: String) -> APIError {
        APIError(code: 400, reason: "BadRequest", message: message)
    }

    static func expired(_ message: String) -> APIError {
        APIError(code: 410, reason: "Expired", message: message)
    }

    static func methodNotAllowed(_ message: String) -> APIError {
        APIError(code: 405, reason: "MethodNotAllowed", message: message)
    }

    static func pathNotFound() -> APIError {
        APIError(code: 404, reason: "NotFound", message: "the server could not find the requested resource",
                 details: ["causes": [["reason": "UnexpectedServerResponse", "message": "404 page not found"]]])
    }

    static func unauthorized() -> APIError {
        APIError(code: 401, reason: "Unauthorized", message: "Unauthorized")
    }

    static func internalError(_ message: String) -> APIError {
        APIError(code: 500, reason: "InternalError", message: "Internal error occurred: \(message)",
                 details: ["causes": [["message": .string(message)]]])
    }
}
