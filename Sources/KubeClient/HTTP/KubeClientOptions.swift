import Logging

/// Tunables of a `KubeClient`. The defaults suit production; tests shorten the back-off and inject
/// randomness and sleeping.
public struct KubeClientOptions: Sendable {
    /// Sent as User-Agent.
    public var userAgent: String = "systemk"
    /// The deadline for a non-watch request, and the idle-read limit while its body arrives.
    public var requestTimeout: Duration = .seconds(30)
    /// The limit for establishing a connection.
    public var connectTimeout: Duration = .seconds(10)
    /// A watch connection silent for this long is closed and re-opened. Must exceed the watch
    /// `timeoutSeconds` the server is asked for, since a server sends nothing on an idle watch
    /// without bookmarks.
    public var watchIdleTimeout: Duration = .seconds(330)
    /// How many times a failed non-watch request is tried in all (429, 5xx with Retry-After, and for GETs
    /// 5xx and transport errors).
    public var maxAttempts: Int = 5
    /// Back-off between attempts of one request and between watch reconnects.
    public var backoff: Backoff = .standard
    /// The longest Retry-After honoured; longer values are cut to this.
    public var maxRetryAfter: Duration = .seconds(60)
    /// How often a tokenFile is re-read.
    public var tokenFileRefreshInterval: Duration = .seconds(60)
    /// How many times a status update is retried after a 409 Conflict (re-reading the object each time).
    public var maxConflictRetries: Int = 8
    /// The source of jitter: values in 0..<1.
    public var random: @Sendable () -> Double = { Double.random(in: 0..<1) }
    /// How the client waits (between retries and reconnects); throws when the task is cancelled.
    public var sleep: @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }
    /// Where the client logs reconnects and retries.
    public var logger: Logger = Logger(label: "systemk.kube-client")
    /// Called with each failed attempt of a request, and each watch that could not be opened, before
    /// any retry (systemk counts them in its metrics). Must not block.
    public var onError: @Sendable (_ method: String, _ error: KubeError) -> Void = { _, _ in }

    /// The defaults.
    public init() {}
}
