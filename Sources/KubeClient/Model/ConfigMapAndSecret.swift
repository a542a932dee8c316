import Foundation

/// A ConfigMap (core/v1).
public struct ConfigMap: KubeResource, Hashable {
    public static let resource = ResourceDescriptor(
        apiVersion: "v1", kind: "ConfigMap", plural: "configmaps", namespaced: true)

    public var apiVersion: String? = "v1"
    public var kind: String? = "ConfigMap"
    public var metadata: ObjectMeta
    /// UTF-8 entries.
    public var data: [String: String]?
    /// Binary entries (base64 on the wire).
    public var binaryData: [String: Data]?
    public var immutable: Bool?

    /// Creates a ConfigMap.
    public init(metadata: ObjectMeta, data: [String: String]? = nil, binaryData: [String: Data]? = nil) {
        self.metadata = metadata
        self.data = data
        self.binaryData = binaryData
    }
}

/// A Secret (core/v1).
public struct Secret: KubeResource, Hashable {
    public static let resource = ResourceDescriptor(apiVersion: "v1", kind: "Secret", plural: "secrets", namespaced: true)

    public var apiVersion: String? = "v1"
    public var kind: String? = "Secret"
    public var metadata: ObjectMeta
    /// The entries (base64 on the wire).
    public var data: [String: Data]?
    /// Write-only plain-text entries, merged into `data` by the server on create/update.
    public var stringData: [String: String]?
    /// `Opaque`, `kubernetes.io/tls`, ...
    public var type: String?
    public var immutable: Bool?

    /// Creates a Secret.
    public init(metadata: ObjectMeta, data: [String: Data]? = nil, stringData: [String: String]? = nil, type: String? = nil) {
        self.metadata = metadata
        self.data = data
        self.stringData = stringData
        self.type = type
    }
}

/// A ServiceAccount (core/v1); listed here for its URL, tokens come from `TokenRequest`.
public struct ServiceAccount: KubeResource, Hashable {
    public static let resource = ResourceDescriptor(
        apiVersion: "v1", kind: "ServiceAccount", plural: "serviceaccounts", namespaced: true)

    public var apiVersion: String? = "v1"
    public var kind: String? = "ServiceAccount"
    public var metadata: ObjectMeta

    /// Creates a ServiceAccount.
    public init(metadata: ObjectMeta) { self.metadata = metadata }
}

/// A TokenRequest (authentication.k8s.io/v1), posted to a service account's `token` subresource.
public struct TokenRequest: Codable, Sendable, Hashable {
    public var apiVersion: String? = "authentication.k8s.io/v1"
    public var kind: String? = "TokenRequest"
    public var metadata: ObjectMeta?
    public var spec: Spec
    public var status: TokenStatus?

    /// What is asked for.
    public struct Spec: Codable, Sendable, Hashable {
        /// Who the token is for; empty means the API server's own audiences.
        public var audiences: [String]
        public var expirationSeconds: Int64?
        /// The object the token's validity is bound to (the pod).
        public var boundObjectRef: BoundObjectReference?

        /// Creates a spec.
        public init(audiences: [String] = [], expirationSeconds: Int64? = nil, boundObjectRef: BoundObjectReference? = nil) {
            self.audiences = audiences
            self.expirationSeconds = expirationSeconds
            self.boundObjectRef = boundObjectRef
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            audiences = try c.decodeIfPresent([String].self, forKey: .audiences) ?? []
            expirationSeconds = try c.decodeIfPresent(Int64.self, forKey: .expirationSeconds)
            boundObjectRef = try c.decodeIfPresent(BoundObjectReference.self, forKey: .boundObjectRef)
        }
    }

    /// The object a token is bound to.
    public struct BoundObjectReference: Codable, Sendable, Hashable {
        public var kind: String
        public var apiVersion: String
        public var name: String
        public var uid: String?

        /// A reference to a pod.
        public init(kind: String = "Pod", apiVersion: String = "v1", name: String, uid: String?) {
            self.kind = kind
            self.apiVersion = apiVersion
            self.name = name
            self.uid = uid
        }
    }

    /// What the server issued.
    public struct TokenStatus: Codable, Sendable, Hashable {
        public var token: String
        public var expirationTimestamp: Timestamp
    }

    /// Creates a request.
    public init(spec: Spec) { self.spec = spec }
}

/// Options for a DELETE: grace period and preconditions.
struct DeleteOptions: Codable, Sendable {
    var kind = "DeleteOptions"
    var apiVersion = "v1"
    var gracePeriodSeconds: Int64?
    var preconditions: Preconditions?
    var propagationPolicy: String?

    struct Preconditions: Codable, Sendable {
        var uid: String?
        var resourceVersion: String?
    }
}
