import Foundation

/// A pod volume. Only the sources a node without containers can honour are modelled; any other source
/// is an input error that names it (see `Volume.init(from:)`).
public struct Volume: Codable, Sendable, Equatable {
    public var name: String
    public var emptyDir: EmptyDirVolumeSource?
    public var hostPath: HostPathVolumeSource?
    public var configMap: ConfigMapVolumeSource?
    public var secret: SecretVolumeSource?
    public var projected: ProjectedVolumeSource?
    public var downwardAPI: DownwardAPIVolumeSource?

    /// Volume sources that exist in Kubernetes but need a container runtime, a CSI driver or a
    /// network file system client: refused with their name.
    static let unsupportedSources: Set<String> = [
        "persistentVolumeClaim", "nfs", "iscsi", "cephfs", "rbd", "glusterfs", "csi", "ephemeral", "image",
        "gitRepo", "awsElasticBlockStore", "gcePersistentDisk", "azureDisk", "azureFile", "cinder", "fc",
        "flexVolume", "flocker", "photonPersistentDisk", "portworxVolume", "quobyte", "scaleIO",
        "storageos", "vsphereVolume",
    ]

    private enum CodingKeys: String, CodingKey {
        case name, emptyDir, hostPath, configMap, secret, projected, downwardAPI
    }

    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public init(name: String) {
        self.name = name
    }

    public init(from decoder: any Decoder) throws {
        let all = try decoder.container(keyedBy: AnyKey.self)
        for key in all.allKeys where Self.unsupportedSources.contains(key.stringValue) {
            throw DecodingError.dataCorrupted(
                .init(
                    codingPath: decoder.codingPath + [key],
                    debugDescription:
                        "volume source \(key.stringValue) is not supported by systemk (supported: emptyDir, hostPath, configMap, secret, projected, downwardAPI)"
                ))
        }
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        emptyDir = try c.decodeIfPresent(EmptyDirVolumeSource.self, forKey: .emptyDir)
        hostPath = try c.decodeIfPresent(HostPathVolumeSource.self, forKey: .hostPath)
        configMap = try c.decodeIfPresent(ConfigMapVolumeSource.self, forKey: .configMap)
        secret = try c.decodeIfPresent(SecretVolumeSource.self, forKey: .secret)
        projected = try c.decodeIfPresent(ProjectedVolumeSource.self, forKey: .projected)
        downwardAPI = try c.decodeIfPresent(DownwardAPIVolumeSource.self, forKey: .downwardAPI)
        let count = [emptyDir != nil, hostPath != nil, configMap != nil, secret != nil, projected != nil,
            downwardAPI != nil].filter { $0 }.count
        if count > 1 {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "a volume must have exactly one source, found \(count)"))
        }
        if count == 0 && !all.contains(AnyKey(stringValue: "emptyDir")) {
            // Kubernetes defaults a volume with no source to emptyDir.
            emptyDir = EmptyDirVolumeSource()
        }
    }
}

public struct EmptyDirVolumeSource: Codable, Sendable, Equatable {
    public var medium: String?
    public var sizeLimit: Quantity?
    public init() {}
}

public struct HostPathVolumeSource: Codable, Sendable, Equatable {
    public var path: String
    public var type: String?
}

public struct KeyToPath: Codable, Sendable, Equatable {
    public var key: String
    public var path: String
    public var mode: Int32?
}

public struct ConfigMapVolumeSource: Codable, Sendable, Equatable {
    public var name: String?
    public var items: [KeyToPath]?
    public var defaultMode: Int32?
    public var optional: Bool?
}

public struct SecretVolumeSource: Codable, Sendable, Equatable {
    public var secretName: String?
    public var items: [KeyToPath]?
    public var defaultMode: Int32?
    public var optional: Bool?
}

public struct DownwardAPIVolumeFile: Codable, Sendable, Equatable {
    public var path: String
    public var fieldRef: ObjectFieldSelector?
    public var resourceFieldRef: ResourceFieldSelector?
    public var mode: Int32?
}

public struct DownwardAPIVolumeSource: Codable, Sendable, Equatable {
    public var items: [DownwardAPIVolumeFile]?
    public var defaultMode: Int32?
}

public struct ServiceAccountTokenProjection: Codable, Sendable, Equatable {
    public var audience: String?
    public var expirationSeconds: Int64?
    public var path: String
}

public struct ConfigMapProjection: Codable, Sendable, Equatable {
    public var name: String?
    public var items: [KeyToPath]?
    public var optional: Bool?
}

public struct SecretProjection: Codable, Sendable, Equatable {
    public var name: String?
    public var items: [KeyToPath]?
    public var optional: Bool?
}

public struct DownwardAPIProjection: Codable, Sendable, Equatable {
    public var items: [DownwardAPIVolumeFile]?
}

public struct VolumeProjection: Codable, Sendable, Equatable {
    public var configMap: ConfigMapProjection?
    public var secret: SecretProjection?
    public var downwardAPI: DownwardAPIProjection?
    public var serviceAccountToken: ServiceAccountTokenProjection?
    public var clusterTrustBundle: ClusterTrustBundleProjection?
}

/// Modelled only so that it can be refused by name.
public struct ClusterTrustBundleProjection: Codable, Sendable, Equatable {
    public var name: String?
    public var path: String
}

public struct ProjectedVolumeSource: Codable, Sendable, Equatable {
    public var sources: [VolumeProjection]?
    public var defaultMode: Int32?
}
