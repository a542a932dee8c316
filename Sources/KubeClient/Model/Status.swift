/// The API server's `Status` object: the body of a failed request and of a watch ERROR event.
public struct Status: Codable, Sendable, Hashable {
    public var kind: String?
    public var apiVersion: String?
    public var metadata: ListMeta?
    /// `Success` or `Failure`.
    public var status: String?
    /// A message for a person.
    public var message: String?
    /// A machine-readable reason: `NotFound`, `AlreadyExists`, `Conflict`, `Expired`, `Gone`, `Invalid` ...
    public var reason: String?
    /// Extra data about the failure.
    public var details: StatusDetails?
    /// The HTTP status code this Status stands for.
    public var code: Int?

    /// Creates a Status.
    public init(status: String? = "Failure", message: String? = nil, reason: String? = nil, code: Int? = nil) {
        self.kind = "Status"
        self.apiVersion = "v1"
        self.status = status
        self.message = message
        self.reason = reason
        self.code = code
    }
}

/// `Status.details`.
public struct StatusDetails: Codable, Sendable, Hashable {
    public var name: String?
    public var group: String?
    public var kind: String?
    public var uid: String?
    /// Which fields were wrong, for Invalid.
    public var causes: [StatusCause]?
    /// How long to wait before retrying, for 429 and some 5xx.
    public var retryAfterSeconds: Int?
}

/// One cause in `Status.details.causes`.
public struct StatusCause: Codable, Sendable, Hashable {
    public var reason: String?
    public var message: String?
    public var field: String?
}
