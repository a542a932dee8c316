/// Facts about the node a pod is compiled for. Everything the lowering needs from the machine is
/// here, so the compiler itself never looks at the machine.
public struct NodeFacts: Codable, Sendable, Equatable {
    public var nodeName: String
    public var internalIP: String?
    public var externalIP: String?
    /// systemd's version on the node: keys it does not know are never emitted (RestartSteps= needs 254).
    public var systemdVersion: Int
    /// Root of systemk's state; each pod gets `<stateDirectory>/pods/<uid>`.
    public var stateDirectory: String
    /// The cluster's API service, for KUBERNETES_SERVICE_HOST/PORT; nil when not known.
    public var kubernetesServiceHost: String?
    public var kubernetesServicePort: Int?
    /// Whether an API server hands out service-account tokens (false in standalone mode).
    public var serviceAccountTokens: Bool
    /// Run pods that would run as uid 0 as this uid instead (`--override-root-uid`).
    public var overrideRootUID: Int64?
    /// Node allocatable CPU (millicores) and memory (bytes), for `resourceFieldRef` without limits.
    public var allocatableMilliCPU: Int64?
    public var allocatableMemory: Int64?
    /// A user systemd (`--user`): no User=, no cgroup delegation of its own.
    public var userMode: Bool

    public init(
        nodeName: String = "localhost", internalIP: String? = nil, externalIP: String? = nil,
        systemdVersion: Int = 252, stateDirectory: String = "/var/lib/systemk",
        kubernetesServiceHost: String? = nil, kubernetesServicePort: Int? = nil, serviceAccountTokens: Bool = true,
        overrideRootUID: Int64? = nil, allocatableMilliCPU: Int64? = nil, allocatableMemory: Int64? = nil,
        userMode: Bool = false
    ) {
        self.nodeName = nodeName
        self.internalIP = internalIP
        self.externalIP = externalIP
        self.systemdVersion = systemdVersion
        self.stateDirectory = stateDirectory
        self.kubernetesServiceHost = kubernetesServiceHost
        self.kubernetesServicePort = kubernetesServicePort
        self.serviceAccountTokens = serviceAccountTokens
        self.overrideRootUID = overrideRootUID
        self.allocatableMilliCPU = allocatableMilliCPU
        self.allocatableMemory = allocatableMemory
        self.userMode = userMode
    }
}

/// A package's own unit file, as found on the node or given with `--unit-file IMAGE=PATH`.
public struct PackageUnit: Sendable, Equatable {
    /// Where it was read from (shown in `--explain` and `[X-Kubernetes]`).
    public var path: String
    public var unit: UnitFile
    public init(path: String, unit: UnitFile) {
        self.path = path
        self.unit = unit
    }
}

/// Where a pod came from, so errors can point at the file, line and field.
public struct PodSource: Sendable, Equatable {
    public var file: String?
    /// The document node the pod (or its template) was decoded from.
    public var node: ManifestNode?
    /// The path of the pod within that document, e.g. `spec.template` for a Deployment, with the
    /// object the error should name.
    public var pathPrefix: FieldPath
    public var object: String?

    public init(file: String? = nil, node: ManifestNode? = nil, pathPrefix: FieldPath = .root, object: String? = nil) {
        self.file = file
        self.node = node
        self.pathPrefix = pathPrefix
        self.object = object
    }
}

/// Everything one pod's compilation reads.
public struct CompileInput: Sendable {
    public var pod: Pod
    public var source: PodSource
    /// ConfigMaps and Secrets of the pod's namespace, by name.
    public var configMaps: [String: ConfigMap]
    public var secrets: [String: Secret]
    /// Package unit files by package name (or by image as written).
    public var packageUnits: [String: PackageUnit]
    public var node: NodeFacts

    public init(
        pod: Pod, source: PodSource = PodSource(), configMaps: [String: ConfigMap] = [:],
        secrets: [String: Secret] = [:], packageUnits: [String: PackageUnit] = [:], node: NodeFacts = NodeFacts()
    ) {
        self.pod = pod
        self.source = source
        self.configMaps = configMaps
        self.secrets = secrets
        self.packageUnits = packageUnits
        self.node = node
    }
}
