/// Jittered exponential back-off: `initial * factor^attempt`, capped at `maximum`, plus up to
/// `jitter * delay` chosen at random (and capped again).
public struct Backoff: Sendable, Equatable {
    /// The delay before the first retry.
    public var initial: Duration
    /// The largest delay.
    public var maximum: Duration
    /// The growth per attempt.
    public var factor: Double
    /// The fraction of the delay added at random (0 = none, 1 = up to double).
    public var jitter: Double

    /// Creates a back-off policy.
    public init(initial: Duration, maximum: Duration, factor: Double = 2, jitter: Double = 1) {
        self.initial = initial
        self.maximum = maximum
        self.factor = factor
        self.jitter = jitter
    }

    /// client-go's reflector: 800 ms doubling to 30 s, full jitter.
    public static let standard = Backoff(initial: .milliseconds(800), maximum: .seconds(30))

    /// The delay before retry number `attempt` (0-based); `random` yields values in 0..<1.
    public func delay(attempt: Int, random: Double) -> Duration {
        let initialSeconds = initial.seconds
        let maximumSeconds = maximum.seconds
        var seconds = initialSeconds
        for _ in 0..<max(0, min(attempt, 64)) {
            seconds *= factor
            if seconds >= maximumSeconds { break }
        }
        seconds = min(seconds, maximumSeconds)
        seconds += seconds * jitter * min(max(random, 0), 1)
        return .milliseconds(Int64((min(seconds, maximumSeconds) * 1000).rounded()))
    }
}

extension Duration {
    /// The duration in seconds as a Double.
    var seconds: Double {
        let (s, attoseconds) = components
        return Double(s) + Double(attoseconds) / 1e18
    }
}
