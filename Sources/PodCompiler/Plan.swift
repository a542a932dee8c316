/// The compiler's output for one pod: everything the runtime must make true on the host. Its JSON form
/// (`systemk-render --format json`) is documented in docs/plan-schema.md and kept stable.
public struct PodPlan: Codable, Sendable, Equatable {
    public var namespace: String
    public var name: String
    public var uid: String
    /// The pod's own directory on the host; everything under it belongs to the pod and goes with it.
    public var podDirectory: String
    /// Units in start order: init containers (and sidecars) first, then app containers.
    public var units: [PlannedUnit]
    /// Directories to create, parents before children.
    public var directories: [PlannedDirectory]
    /// Files to write (atomically), in path order.
    public var files: [PlannedFile]
    /// tmpfs mounts to make on pod directories.
    public var tmpfsMounts: [PlannedTmpfs]
    /// Host paths that must exist (with the given type) before the units start.
    public var hostPathChecks: [HostPathCheck]
    /// Packages to install before the units can start, in container order, without duplicates.
    public var packages: [PlannedPackage]
    public var probes: [PlannedProbe]
}

/// A whole render: every pod of the inputs, in input order.
public struct Plan: Codable, Sendable, Equatable {
    /// Version of this JSON schema; bumped on any incompatible change.
    public var schemaVersion: Int = 1
    public var pods: [PodPlan]
    public init(pods: [PodPlan]) {
        self.pods = pods
    }
}

public struct PlannedUnit: Codable, Sendable, Equatable {
    public enum Role: String, Codable, Sendable {
        case initContainer = "init"
        case sidecar
        case app
    }
    public var name: String
    public var container: String
    public var role: Role
    /// The image as written, and what it means.
    public var image: String
    public var imageReference: ImageReference
    /// The unit file, exactly as it is to be written.
    public var contents: String
    /// For every directive: where it came from (a pod-spec field path, the package's unit file, or a
    /// systemk rule). Same order as the directives in `contents`.
    public var explain: [DirectiveOrigin]
}

/// Where one directive of a unit came from (`systemk-render --explain`).
public struct DirectiveOrigin: Codable, Sendable, Equatable {
    public var section: String
    public var key: String
    public var value: String
    /// `spec.containers[0].resources.limits['cpu']`, `package unit /lib/systemd/system/x.service`, or
    /// `systemk: <rule>`.
    public var origin: String
}

public struct PlannedDirectory: Codable, Sendable, Equatable {
    public var path: String
    /// Octal, such as `0700`.
    public var mode: String
    /// A uid, or a user name the runtime resolves (a package's own user).
    public var owner: String
    public var group: String
    public var purpose: String
    /// A volume whose files change while the pod runs (configMap, secret, downwardAPI, projected, the
    /// service-account token): the runtime writes its files as the kubelet's AtomicWriter does, into a
    /// new `..<timestamp>` directory, then swaps a `..data` symlink, with each file a symlink through
    /// `..data`, so a reader never sees half an update. Directories and files below it are its content.
    public var atomicUpdates: Bool
}

/// A tmpfs the runtime mounts on a pod directory before the units start (emptyDir with medium Memory,
/// shared by the pod's containers).
public struct PlannedTmpfs: Codable, Sendable, Equatable {
    public var path: String
    /// nil: the kernel's default (half of RAM).
    public var sizeBytes: Int64?
    public var mode: String
    public var volume: String
}

public struct PlannedFile: Codable, Sendable, Equatable {
    public enum Content: Codable, Sendable, Equatable {
        /// The bytes, known at compile time.
        case bytes([UInt8])
        /// Filled in by the runtime: a service-account token, the cluster CA.
        case runtime(source: String)

        private enum CodingKeys: String, CodingKey { case base64, text, runtimeSource }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            if let s = try c.decodeIfPresent(String.self, forKey: .runtimeSource) {
                self = .runtime(source: s)
            } else if let t = try c.decodeIfPresent(String.self, forKey: .text) {
                self = .bytes(Array(t.utf8))
            } else {
                self = .bytes(try c.decode(Base64Bytes.self, forKey: .base64).bytes)
            }
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            switch self {
            case let .runtime(source): try c.encode(source, forKey: .runtimeSource)
            case let .bytes(b): try c.encode(Base64Bytes(b), forKey: .base64)
            }
        }
    }
    public var path: String
    public var mode: String
    public var owner: String
    public var group: String
    /// True for secrets and environment files holding secrets: never world-readable, never logged.
    public var sensitive: Bool
    public var content: Content
    /// Which volume or purpose this file serves.
    public var purpose: String
}

public struct HostPathCheck: Codable, Sendable, Equatable {
    public var path: String
    /// The hostPath `type`: Directory, File, Socket, CharDevice, BlockDevice; or
    /// DirectoryOrCreate / FileOrCreate (created when missing, never overwritten).
    public var type: String
    public var volume: String
}

public struct PlannedPackage: Codable, Sendable, Equatable {
    public var image: String
    public var reference: ImageReference
    public var containers: [String]
}

/// A probe, carried as data for the runtime's prober.
public struct PlannedProbe: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable { case liveness, readiness, startup }
    public var container: String
    public var unit: String
    public var kind: Kind
    public var probe: Probe
}
