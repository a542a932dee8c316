import Foundation

/// A Pod (core/v1).
///
/// `metadata`, and the parts of `spec` and `status` the agent reads or writes, are typed. `raw` keeps the
/// whole object's JSON exactly as the server sent it: the agent hands that manifest unchanged to the
/// compiler, and status updates rewrite only `status` inside it.
public struct Pod: KubeResource, Hashable {
    public static let resource = ResourceDescriptor(apiVersion: "v1", kind: "Pod", plural: "pods", namespaced: true)

    public var apiVersion: String? = "v1"
    public var kind: String? = "Pod"
    public var metadata: ObjectMeta
    public var spec: PodSpec?
    public var status: PodStatus?
    /// The object's JSON exactly as received (nil for a Pod built in code).
    public var raw: Data? = nil

    enum CodingKeys: String, CodingKey { case apiVersion, kind, metadata, spec, status }

    /// Creates a Pod.
    public init(metadata: ObjectMeta, spec: PodSpec? = nil, status: PodStatus? = nil) {
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }

    /// Decodes and keeps the exact bytes in `raw`.
    public static func decodeObject(from json: Data) throws -> Pod {
        var pod = try JSONDecoder().decode(Pod.self, from: json)
        pod.raw = json
        return pod
    }

    /// The bytes of `spec` in `raw`, as the server wrote them (nil without `raw`): what a node runs
    /// changes only when these (or the labels, annotations or deletion) do, not with each status write.
    public var rawSpec: Data? {
        guard let raw, let range = (try? RawJSON.objectMembers(raw))?["spec"] else { return nil }
        return raw[range]
    }

    /// The manifest to compile: `raw` with `apiVersion` and `kind` added at the front when the server left
    /// them out (it does for the items of a list), every other byte unchanged. Nil when there is no `raw`.
    public var manifest: Data? {
        guard let raw else { return nil }
        guard let members = try? RawJSON.objectMembers(raw),
            let brace = raw.firstIndex(of: UInt8(ascii: "{"))
        else { return raw }
        var prefix = ""
        if members["apiVersion"] == nil { prefix += #""apiVersion":"v1","# }
        if members["kind"] == nil { prefix += #""kind":"Pod","# }
        if prefix.isEmpty { return raw }
        let rest = raw[raw.index(after: brace)...]
        let isEmptyObject = rest.first(where: { ![0x20, 0x0A, 0x0D, 0x09].contains($0) }) == UInt8(ascii: "}")
        if isEmptyObject { prefix.removeLast() }
        var out = Data(raw[..<raw.index(after: brace)])
        out.append(contentsOf: Array(prefix.utf8))
        out.append(rest)
        return out
    }
}

/// The parts of `Pod.spec` the agent reads; the full spec is in `Pod.raw`.
public struct PodSpec: Codable, Sendable, Hashable {
    public var nodeName: String?
    public var containers: [ContainerSummary]?
    public var initContainers: [ContainerSummary]?
    /// `Always`, `OnFailure` or `Never`.
    public var restartPolicy: String?
    public var terminationGracePeriodSeconds: Int64?
    public var serviceAccountName: String?
    public var hostNetwork: Bool?
    public var volumes: [VolumeSummary]?

    /// Creates a spec.
    public init(nodeName: String? = nil, containers: [ContainerSummary]? = nil, initContainers: [ContainerSummary]? = nil) {
        self.nodeName = nodeName
        self.containers = containers
        self.initContainers = initContainers
    }
}

/// A container's name and image; the rest is in `Pod.raw`.
public struct ContainerSummary: Codable, Sendable, Hashable {
    public var name: String
    public var image: String?

    /// Creates a summary.
    public init(name: String, image: String? = nil) {
        self.name = name
        self.image = image
    }
}

/// A volume, typed for the sources that make the agent read other objects.
public struct VolumeSummary: Codable, Sendable, Hashable {
    public var name: String
    public var configMap: ConfigMapVolumeSource?
    public var secret: SecretVolumeSource?
    public var projected: ProjectedVolumeSource?

    /// `volumes[].configMap`.
    public struct ConfigMapVolumeSource: Codable, Sendable, Hashable {
        public var name: String?
        public var optional: Bool?
    }

    /// `volumes[].secret`.
    public struct SecretVolumeSource: Codable, Sendable, Hashable {
        public var secretName: String?
        public var optional: Bool?
    }

    /// `volumes[].projected`.
    public struct ProjectedVolumeSource: Codable, Sendable, Hashable {
        public var sources: [Projection]?
    }

    /// One source of a projected volume.
    public struct Projection: Codable, Sendable, Hashable {
        public var configMap: ConfigMapVolumeSource?
        public var secret: SecretProjection?
        public var serviceAccountToken: ServiceAccountTokenProjection?
    }

    /// `projected.sources[].secret` (named `name` here, unlike the secret volume).
    public struct SecretProjection: Codable, Sendable, Hashable {
        public var name: String?
        public var optional: Bool?
    }

    /// `projected.sources[].serviceAccountToken`.
    public struct ServiceAccountTokenProjection: Codable, Sendable, Hashable {
        public var audience: String?
        public var expirationSeconds: Int64?
        public var path: String
    }
}
