/// A ConfigMap or Secret, by kind, namespace and name: what a node may read (by name only) because a
/// pod bound to it references it.
public struct ObjectRef: Sendable, Hashable, Comparable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable, Comparable {
        case configMap = "ConfigMap"
        case secret = "Secret"

        public static func < (lhs: Kind, rhs: Kind) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    public var kind: Kind
    public var namespace: String
    public var name: String

    public init(_ kind: Kind, namespace: String, name: String) {
        self.kind = kind
        self.namespace = namespace
        self.name = name
    }

    /// `ConfigMap default/app-config`.
    public var description: String { "\(kind.rawValue) \(namespace)/\(name)" }

    public static func < (lhs: ObjectRef, rhs: ObjectRef) -> Bool {
        (lhs.kind, lhs.namespace, lhs.name) < (rhs.kind, rhs.namespace, rhs.name)
    }
}

/// What a pod needs from the API server besides itself: the ConfigMaps and Secrets it references and
/// the service-account tokens its plan will hold. Pure, and consistent with `PodCompiler.compile`:
///
/// - volumes count only when some container (init or app) mounts them, since the compiler materializes
///   no other volume: `configMap`, `secret`, and the `configMap`/`secret`/`serviceAccountToken` sources
///   of `projected` volumes;
/// - `env[].valueFrom.configMapKeyRef`/`secretKeyRef` and `envFrom[].configMapRef`/`secretRef` (the
///   compiler reads `configMapRef` when an entry has both) of every init and app container;
/// - the default token (`serviceAccountToken expirationSeconds=3607`) when tokens are served,
///   `automountServiceAccountToken` is not false, and some container does not mount anything of its
///   own at `/var/run/secrets/kubernetes.io/serviceaccount`.
///
/// References without a name are left out (the compiler rejects them). Objects are sorted by kind and
/// name, tokens by their runtime source.
public struct PodReferences: Sendable, Equatable {
    /// One referenced object, optional when every reference to it says `optional: true`.
    public struct Object: Sendable, Hashable {
        public var ref: ObjectRef
        public var optional: Bool

        public init(_ ref: ObjectRef, optional: Bool) {
            self.ref = ref
            self.optional = optional
        }
    }

    /// One service-account token the plan will hold: a `PlannedFile` with content
    /// `.runtime(source: runtimeSource)`.
    public struct Token: Sendable, Hashable, Comparable {
        /// nil: the API server's own audiences.
        public var audience: String?
        public var expirationSeconds: Int64

        public init(audience: String?, expirationSeconds: Int64) {
            self.audience = audience
            self.expirationSeconds = expirationSeconds
        }

        /// The token of the default mount, with the kubelet's lifetime (3607 s: a token the API server
        /// may treat as a legacy, extended one).
        public static let defaultMount = Token(audience: nil, expirationSeconds: 3607)

        /// Reads a runtime source as the compiler writes it: `serviceAccountToken expirationSeconds=N`,
        /// optionally followed by ` audience=A` (the rest of the text). nil for any other source.
        public init?(runtimeSource: String) {
            let prefix = "serviceAccountToken expirationSeconds="
            guard runtimeSource.hasPrefix(prefix) else { return nil }
            let rest = runtimeSource.dropFirst(prefix.count)
            let digits = rest.prefix { $0.isASCII && $0.isNumber }
            guard !digits.isEmpty, digits.count <= 18, let seconds = Int64(digits) else { return nil }
            let tail = rest.dropFirst(digits.count)
            if tail.isEmpty {
                audience = nil
            } else if tail.hasPrefix(" audience=") {
                audience = String(tail.dropFirst(" audience=".count))
            } else {
                return nil
            }
            expirationSeconds = seconds
        }

        /// The runtime source of the planned file: `serviceAccountToken expirationSeconds=N[ audience=A]`.
        public var runtimeSource: String {
            var source = "serviceAccountToken expirationSeconds=\(expirationSeconds)"
            if let audience { source += " audience=\(audience)" }
            return source
        }

        public static func < (lhs: Token, rhs: Token) -> Bool { lhs.runtimeSource < rhs.runtimeSource }
    }

    /// The pod's namespace (`default` when not given).
    public var namespace: String
    /// `spec.serviceAccountName` (or the deprecated `spec.serviceAccount`), `default` when not given.
    public var serviceAccountName: String
    public var objects: [Object]
    public var tokens: [Token]

    /// Every object, without the optional flags.
    public var objectRefs: [ObjectRef] { objects.map(\.ref) }

    /// - Parameter serviceAccountTokens: whether the node hands out tokens (`NodeFacts.serviceAccountTokens`);
    ///   without them the compiler mounts no default token (and refuses projected ones).
    public init(_ pod: Pod, serviceAccountTokens: Bool = true) {
        let namespace = pod.namespace
        self.namespace = namespace
        let account = pod.spec.serviceAccountName ?? pod.spec.serviceAccount ?? ""
        serviceAccountName = account.isEmpty ? "default" : account

        var optional: [ObjectRef: Bool] = [:]
        func note(_ kind: ObjectRef.Kind, _ name: String?, _ isOptional: Bool?) {
            guard let name, !name.isEmpty else { return }
            let ref = ObjectRef(kind, namespace: namespace, name: name)
            optional[ref] = (optional[ref] ?? true) && isOptional == true
        }
        var tokens: Set<Token> = []

        let containers = (pod.spec.initContainers ?? []) + pod.spec.containers
        let mounted = Set(containers.flatMap { ($0.volumeMounts ?? []).map(\.name) })
        for volume in pod.spec.volumes ?? [] where mounted.contains(volume.name) {
            if let c = volume.configMap { note(.configMap, c.name, c.optional) }
            if let s = volume.secret { note(.secret, s.secretName, s.optional) }
            for source in volume.projected?.sources ?? [] {
                if let c = source.configMap { note(.configMap, c.name, c.optional) }
                if let s = source.secret { note(.secret, s.name, s.optional) }
                if serviceAccountTokens, let t = source.serviceAccountToken {
                    tokens.insert(Token(audience: t.audience, expirationSeconds: t.expirationSeconds ?? 3600))
                }
            }
        }
        for container in containers {
            for from in container.envFrom ?? [] {
                if let ref = from.configMapRef {
                    note(.configMap, ref.name, ref.optional)
                } else if let ref = from.secretRef {
                    note(.secret, ref.name, ref.optional)
                }
            }
            for env in container.env ?? [] {
                guard let from = env.valueFrom else { continue }
                if let ref = from.configMapKeyRef { note(.configMap, ref.name, ref.optional) }
                if let ref = from.secretKeyRef { note(.secret, ref.name, ref.optional) }
            }
            if serviceAccountTokens, pod.spec.automountServiceAccountToken != false,
                !Self.mountsOwnServiceAccountDirectory(container)
            {
                tokens.insert(.defaultMount)
            }
        }
        objects = optional.keys.sorted().map { Object($0, optional: optional[$0] ?? false) }
        self.tokens = tokens.sorted()
    }

    /// Whether the container mounts something of its own where the default token would go (then the
    /// compiler leaves the default token out of that container).
    static func mountsOwnServiceAccountDirectory(_ container: Container) -> Bool {
        (container.volumeMounts ?? []).contains {
            Paths.isCleanAbsolute($0.mountPath)
                && Paths.normalizeAbsolute($0.mountPath) == VolumeLowering.serviceAccountMountPath
        }
    }
}
