import Foundation
import KubeClient
import PodCompiler

/// One service-account token of one pod: what is asked of TokenRequest, bound to the pod.
public struct ServiceAccountTokenKey: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var namespace: String
    public var podName: String
    public var podUID: String
    public var serviceAccount: String
    /// nil (or empty): the API server's own audiences.
    public var audience: String?
    public var expirationSeconds: Int64

    public init(
        namespace: String, podName: String, podUID: String, serviceAccount: String, audience: String?,
        expirationSeconds: Int64
    ) {
        self.namespace = namespace
        self.podName = podName
        self.podUID = podUID
        self.serviceAccount = serviceAccount
        self.audience = audience
        self.expirationSeconds = expirationSeconds
    }

    /// The token of `plan`'s pod that a planned file with `token.runtimeSource` holds.
    public init(plan: PodPlan, serviceAccount: String, token: PodReferences.Token) {
        self.init(
            namespace: plan.namespace, podName: plan.name, podUID: plan.uid, serviceAccount: serviceAccount,
            audience: token.audience, expirationSeconds: token.expirationSeconds)
    }

    /// The runtime source of the planned file that holds this token.
    public var runtimeSource: String {
        PodReferences.Token(audience: audience, expirationSeconds: expirationSeconds).runtimeSource
    }

    /// `token of service account default/default for pod default/web (uid), audience vault, 600 s`.
    public var description: String {
        "token of service account \(namespace)/\(serviceAccount) for pod \(namespace)/\(podName) (\(podUID))"
            + (audience.map { ", audience \($0)" } ?? "") + ", \(expirationSeconds) s"
    }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.podUID, lhs.serviceAccount, lhs.runtimeSource) < (rhs.podUID, rhs.serviceAccount, rhs.runtimeSource)
    }
}

/// Why the bytes of a plan's runtime file could not be given. The agent reports it and retries; no
/// empty file is ever written in place of a token.
public enum RuntimeContentError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The token could not be obtained (the request failed or the answer held no token).
    case tokenUnavailable(ServiceAccountTokenKey, reason: String)
    /// The plan wants the cluster CA, but the client trusts no CA of its own (system roots, or TLS
    /// verification off).
    case noClusterCA(path: String)
    /// A runtime source this runtime does not know.
    case unknownSource(String, path: String)

    public var description: String {
        switch self {
        case .tokenUnavailable(let key, let reason):
            return "cannot get the \(key): \(reason)"
        case .noClusterCA(let path):
            return "\(path): the cluster CA is not known (the kubeconfig names no certificate authority)"
        case .unknownSource(let source, let path):
            return "\(path): unknown runtime content \(quoted(source))"
        }
    }

    private func quoted(_ s: String) -> String { "\"\(s)\"" }
}

/// How `ServiceAccountTokens` tells time: the system's clock, or a faster one in tests.
public struct TokenClock: Sendable {
    /// The current time.
    public var now: @Sendable () -> Date
    /// Waits (throws when the task is cancelled).
    public var sleep: @Sendable (Duration) async throws -> Void

    public init(now: @escaping @Sendable () -> Date, sleep: @escaping @Sendable (Duration) async throws -> Void) {
        self.now = now
        self.sleep = sleep
    }

    /// The system clock.
    public static let system = TokenClock(now: { Date() }, sleep: { try await Task.sleep(for: $0) })
}

/// The service-account tokens of the node's pods, obtained through TokenRequest bound to each pod (the
/// only way a node identity gets them) and renewed as the kubelet does: once 80 % of a token's
/// lifetime has passed, and at least every 24 hours.
///
/// The agent, per pod: after compiling, `try await runtimeContent(for: plan, serviceAccount:)` gives
/// the bytes of every `.runtime(source:)` file of the plan (requesting what is not held yet) for
/// `PlanMaterializer.apply(_:runtimeContent:)`; each key `renewals` yields means that pod's token
/// files must be rewritten (apply the plan again); `forget(podUID:)` once the pod is gone.
public actor ServiceAccountTokens {
    private struct Held {
        var token: [UInt8]
        var expiresAt: Date
        var renewAt: Date
    }

    private let client: KubeClient
    private let clusterCAPEM: [UInt8]?
    private let clock: TokenClock
    private let log: @Sendable (String) -> Void
    private var held: [ServiceAccountTokenKey: Held] = [:]
    private var renewers: [ServiceAccountTokenKey: Task<Void, Never>] = [:]
    private var inflight: [ServiceAccountTokenKey: (id: Int, task: Task<Result<Held, RuntimeContentError>, Never>)] = [:]
    private var nextID = 0
    private let continuation: AsyncStream<ServiceAccountTokenKey>.Continuation

    /// Tokens renewed in the background: the files that hold them must be written again. One consumer;
    /// ends with `shutdown()`.
    public nonisolated let renewals: AsyncStream<ServiceAccountTokenKey>

    /// The longest a token is kept, whatever its lifetime (the kubelet's 24 hours).
    public static let maximumAge: TimeInterval = 24 * 3600

    /// - Parameters:
    ///   - client: a client with the node's identity.
    ///   - clusterCAPEM: the content of `clusterCA` files: the PEM of the CA the client trusts
    ///     (`client.configuration.certificateAuthorityPEM`); nil when it trusts none of its own.
    ///   - clock: the system clock, or a faster one in tests.
    ///   - log: where failed renewals are reported, as whole lines.
    public init(
        client: KubeClient, clusterCAPEM: Data?, clock: TokenClock = .system, log: @escaping @Sendable (String) -> Void
    ) {
        self.client = client
        self.clusterCAPEM = clusterCAPEM.map { Array($0) }
        self.clock = clock
        self.log = log
        (renewals, continuation) = AsyncStream.makeStream(of: ServiceAccountTokenKey.self)
    }

    deinit {
        for task in renewers.values { task.cancel() }
        for request in inflight.values { request.task.cancel() }
        continuation.finish()
    }

    /// The bytes of every `.runtime(source:)` file of `plan`, by source exactly as the compiler writes
    /// it: `clusterCA`, and `serviceAccountToken expirationSeconds=N[ audience=A]` (a token of
    /// `serviceAccount` bound to the plan's pod, requested when not held or expired).
    public func runtimeContent(for plan: PodPlan, serviceAccount: String) async throws(RuntimeContentError)
        -> [String: [UInt8]]
    {
        var out: [String: [UInt8]] = [:]
        for file in plan.files {
            guard case .runtime(let source) = file.content, out[source] == nil else { continue }
            if source == "clusterCA" {
                guard let ca = clusterCAPEM, !ca.isEmpty else { throw .noClusterCA(path: file.path) }
                out[source] = ca
            } else if let token = PodReferences.Token(runtimeSource: source) {
                out[source] = try await self.token(ServiceAccountTokenKey(plan: plan, serviceAccount: serviceAccount, token: token))
            } else {
                throw .unknownSource(source, path: file.path)
            }
        }
        return out
    }

    /// The token for `key`: the one held while it has not expired, else a new one (renewed from then on).
    public func token(_ key: ServiceAccountTokenKey) async throws(RuntimeContentError) -> [UInt8] {
        if let current = held[key], clock.now() < current.expiresAt { return current.token }
        return try await fetch(key).get().token
    }

    /// Stops renewing the tokens of pod `podUID` and forgets them.
    public func forget(podUID: String) {
        for key in Array(held.keys) where key.podUID == podUID { held[key] = nil }
        for key in Array(renewers.keys) where key.podUID == podUID { renewers.removeValue(forKey: key)?.cancel() }
        for key in Array(inflight.keys) where key.podUID == podUID { inflight.removeValue(forKey: key)?.task.cancel() }
    }

    /// The tokens held, sorted.
    public var heldTokens: [ServiceAccountTokenKey] { held.keys.sorted() }

    /// When the token held for `key` expires and when it is due for renewal, by the clock given at init.
    public func schedule(of key: ServiceAccountTokenKey) -> (expires: Date, renew: Date)? {
        held[key].map { ($0.expiresAt, $0.renewAt) }
    }

    /// Stops every renewal and ends `renewals`.
    public func shutdown() {
        for task in renewers.values { task.cancel() }
        for request in inflight.values { request.task.cancel() }
        renewers = [:]
        inflight = [:]
        held = [:]
        continuation.finish()
    }

    // MARK: Requests

    /// Requests a token for `key` (joining a request already under way), holds it and schedules its
    /// renewal, unless the pod was forgotten meanwhile.
    private func fetch(_ key: ServiceAccountTokenKey) async -> Result<Held, RuntimeContentError> {
        if let request = inflight[key] { return await request.task.value }
        nextID += 1
        let id = nextID
        let (client, clock) = (self.client, self.clock)
        let task = Task { await Self.request(key, client: client, clock: clock) }
        inflight[key] = (id, task)
        let result = await task.value
        guard inflight[key]?.id == id else { return result }
        inflight[key] = nil
        if case .success(let token) = result {
            held[key] = token
            if renewers[key] == nil { renewers[key] = renewer(key) }
        }
        return result
    }

    private static func request(_ key: ServiceAccountTokenKey, client: KubeClient, clock: TokenClock) async
        -> Result<Held, RuntimeContentError>
    {
        let asked = clock.now()
        let answer: TokenRequest
        do {
            answer = try await client.requestToken(
                namespace: key.namespace, serviceAccount: key.serviceAccount,
                audiences: key.audience.flatMap { $0.isEmpty ? nil : [$0] } ?? [],
                expirationSeconds: key.expirationSeconds, boundTo: (name: key.podName, uid: key.podUID))
        } catch {
            return .failure(.tokenUnavailable(key, reason: "\(error)"))
        }
        guard let status = answer.status, !status.token.isEmpty else {
            return .failure(.tokenUnavailable(key, reason: "the TokenRequest answer holds no token"))
        }
        // The lifetime the server granted, measured from when it was asked for by the given clock (so
        // that a node clock off from the server's, or a fast test clock, does not shorten it to nothing).
        var lifetime = TimeInterval(answer.spec.expirationSeconds ?? key.expirationSeconds)
        let untilExpiry = status.expirationTimestamp.date.timeIntervalSince(Date())
        if untilExpiry > 0 { lifetime = min(lifetime, untilExpiry) }
        lifetime = max(lifetime, 1)
        return .success(
            Held(
                token: Array(status.token.utf8), expiresAt: asked.addingTimeInterval(lifetime),
                renewAt: asked.addingTimeInterval(min(lifetime * 0.8, maximumAge))))
    }

    // MARK: Renewal

    /// A task that renews `key`'s token when due, retrying failures with back-off (1 s doubling to
    /// 2 min, never past the token's expiry by much), until cancelled.
    private func renewer(_ key: ServiceAccountTokenKey) -> Task<Void, Never> {
        let clock = self.clock
        return Task { [weak self] in
            var retryAt: Date? = nil
            var failures = 0
            while !Task.isCancelled {
                // No strong reference to the actor across the sleep: dropping it ends the task.
                guard let due = await self?.renewalTime(key) else { return }
                let target = retryAt ?? due
                while clock.now() < target {
                    let wait = min(target.timeIntervalSince(clock.now()), 60)
                    do {
                        try await clock.sleep(.milliseconds(Int64(max(wait, 0.001) * 1000)))
                    } catch {
                        return
                    }
                }
                guard !Task.isCancelled, let renewed = await self?.renew(key) else { return }
                if renewed {
                    retryAt = nil
                    failures = 0
                } else {
                    let delay = min(pow(2, Double(failures)), 120)
                    failures += 1
                    retryAt = clock.now().addingTimeInterval(delay)
                }
            }
        }
    }

    private func renewalTime(_ key: ServiceAccountTokenKey) -> Date? {
        held[key]?.renewAt
    }

    /// Requests a new token for `key`; true when it was renewed (or the pod was forgotten meanwhile).
    private func renew(_ key: ServiceAccountTokenKey) async -> Bool {
        guard held[key] != nil else { return true }
        switch await fetch(key) {
        case .success:
            if held[key] != nil { continuation.yield(key) }
            return true
        case .failure(let error):
            let expired = held[key].map { clock.now() >= $0.expiresAt } ?? false
            log("error: renewal failed: \(error)" + (expired ? " (the token held has expired)" : ""))
            return false
        }
    }
}
