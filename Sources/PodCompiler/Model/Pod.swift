import Foundation

/// `metadata` of a Kubernetes object: the parts a node honours.
public struct ObjectMeta: Codable, Sendable, Equatable {
    public var name: String?
    public var generateName: String?
    public var namespace: String?
    public var uid: String?
    public var resourceVersion: String?
    public var labels: [String: String]?
    public var annotations: [String: String]?

    public init(
        name: String? = nil, namespace: String? = nil, uid: String? = nil, labels: [String: String]? = nil,
        annotations: [String: String]? = nil
    ) {
        self.name = name
        self.namespace = namespace
        self.uid = uid
        self.labels = labels
        self.annotations = annotations
    }
}

/// A Pod: the unit of scheduling, lowered to one systemd service per container.
public struct Pod: Codable, Sendable, Equatable {
    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: PodSpec

    public init(metadata: ObjectMeta, spec: PodSpec) {
        self.apiVersion = "v1"
        self.kind = "Pod"
        self.metadata = metadata
        self.spec = spec
    }

    /// The namespace, `default` when not given.
    public var namespace: String { metadata.namespace ?? "default" }
    /// The name (empty when missing; validation rejects that).
    public var name: String { metadata.name ?? "" }
}

public struct PodSpec: Codable, Sendable, Equatable {
    public var containers: [Container]
    public var initContainers: [Container]?
    public var volumes: [Volume]?
    public var restartPolicy: String?
    public var terminationGracePeriodSeconds: Int64?
    public var activeDeadlineSeconds: Int64?
    public var securityContext: PodSecurityContext?
    public var hostname: String?
    public var subdomain: String?
    public var serviceAccountName: String?
    public var serviceAccount: String?
    public var automountServiceAccountToken: Bool?
    public var nodeName: String?
    public var enableServiceLinks: Bool?
    public var hostNetwork: Bool?
    public var hostPID: Bool?
    public var hostIPC: Bool?
    public var shareProcessNamespace: Bool?
    public var dnsPolicy: String?
    public var priorityClassName: String?
    public var runtimeClassName: String?

    public init(containers: [Container]) {
        self.containers = containers
    }
}

public struct PodSecurityContext: Codable, Sendable, Equatable {
    public var runAsUser: Int64?
    public var runAsGroup: Int64?
    public var runAsNonRoot: Bool?
    public var supplementalGroups: [Int64]?
    public var fsGroup: Int64?
    public var windowsOptions: WindowsSecurityContextOptions?
    public var sysctls: [Sysctl]?
    public init() {}
}

public struct Sysctl: Codable, Sendable, Equatable {
    public var name: String
    public var value: String
}

/// `windowsOptions`: the original systemk read `runAsUserName` as a Unix user name.
public struct WindowsSecurityContextOptions: Codable, Sendable, Equatable {
    public var runAsUserName: String?
}

public struct Container: Codable, Sendable, Equatable {
    public var name: String
    public var image: String?
    public var command: [String]?
    public var args: [String]?
    public var workingDir: String?
    public var env: [EnvVar]?
    public var envFrom: [EnvFromSource]?
    public var ports: [ContainerPort]?
    public var resources: ResourceRequirements?
    public var volumeMounts: [VolumeMount]?
    public var volumeDevices: [VolumeDevice]?
    public var securityContext: SecurityContext?
    public var livenessProbe: Probe?
    public var readinessProbe: Probe?
    public var startupProbe: Probe?
    public var lifecycle: Lifecycle?
    /// Only `Always`, on an init container: a sidecar.
    public var restartPolicy: String?
    public var imagePullPolicy: String?
    public var stdin: Bool?
    public var tty: Bool?

    public init(name: String, image: String? = nil) {
        self.name = name
        self.image = image
    }
}

public struct VolumeDevice: Codable, Sendable, Equatable {
    public var name: String
    public var devicePath: String
}

public struct EnvVar: Codable, Sendable, Equatable {
    public var name: String
    public var value: String?
    public var valueFrom: EnvVarSource?
    public init(name: String, value: String? = nil) {
        self.name = name
        self.value = value
    }
}

public struct EnvVarSource: Codable, Sendable, Equatable {
    public var fieldRef: ObjectFieldSelector?
    public var resourceFieldRef: ResourceFieldSelector?
    public var configMapKeyRef: KeySelector?
    public var secretKeyRef: KeySelector?
}

public struct ObjectFieldSelector: Codable, Sendable, Equatable {
    public var apiVersion: String?
    public var fieldPath: String
}

public struct ResourceFieldSelector: Codable, Sendable, Equatable {
    public var containerName: String?
    public var resource: String
    public var divisor: Quantity?
}

/// `configMapKeyRef` / `secretKeyRef`.
public struct KeySelector: Codable, Sendable, Equatable {
    public var name: String?
    public var key: String
    public var optional: Bool?
}

public struct EnvFromSource: Codable, Sendable, Equatable {
    public var prefix: String?
    public var configMapRef: NamedReference?
    public var secretRef: NamedReference?
}

public struct NamedReference: Codable, Sendable, Equatable {
    public var name: String?
    public var optional: Bool?
}

public struct ContainerPort: Codable, Sendable, Equatable {
    public var name: String?
    public var containerPort: Int
    public var hostPort: Int?
    public var hostIP: String?
    public var `protocol`: String?
}

public struct ResourceRequirements: Codable, Sendable, Equatable {
    public var limits: [String: Quantity]?
    public var requests: [String: Quantity]?
    public init(limits: [String: Quantity]? = nil, requests: [String: Quantity]? = nil) {
        self.limits = limits
        self.requests = requests
    }
}

public struct VolumeMount: Codable, Sendable, Equatable {
    public var name: String
    public var mountPath: String
    public var readOnly: Bool?
    public var subPath: String?
    public var subPathExpr: String?
    public var mountPropagation: String?
    public var recursiveReadOnly: String?
}

public struct SecurityContext: Codable, Sendable, Equatable {
    public var runAsUser: Int64?
    public var runAsGroup: Int64?
    public var runAsNonRoot: Bool?
    public var allowPrivilegeEscalation: Bool?
    public var readOnlyRootFilesystem: Bool?
    public var privileged: Bool?
    public var capabilities: Capabilities?
    public var windowsOptions: WindowsSecurityContextOptions?
    public var procMount: String?
}

public struct Capabilities: Codable, Sendable, Equatable {
    public var add: [String]?
    public var drop: [String]?
}

public struct Probe: Codable, Sendable, Equatable {
    public var exec: ExecAction?
    public var httpGet: HTTPGetAction?
    public var tcpSocket: TCPSocketAction?
    public var grpc: GRPCAction?
    public var initialDelaySeconds: Int?
    public var timeoutSeconds: Int?
    public var periodSeconds: Int?
    public var successThreshold: Int?
    public var failureThreshold: Int?
    public var terminationGracePeriodSeconds: Int64?
}

public struct ExecAction: Codable, Sendable, Equatable {
    public var command: [String]?
}

public struct HTTPGetAction: Codable, Sendable, Equatable {
    public var path: String?
    public var port: IntOrString
    public var host: String?
    public var scheme: String?
    public var httpHeaders: [HTTPHeader]?
}

public struct HTTPHeader: Codable, Sendable, Equatable {
    public var name: String
    public var value: String
}

public struct TCPSocketAction: Codable, Sendable, Equatable {
    public var port: IntOrString
    public var host: String?
}

public struct GRPCAction: Codable, Sendable, Equatable {
    public var port: Int
    public var service: String?
}

public struct SleepAction: Codable, Sendable, Equatable {
    public var seconds: Int64
}

public struct LifecycleHandler: Codable, Sendable, Equatable {
    public var exec: ExecAction?
    public var httpGet: HTTPGetAction?
    public var tcpSocket: TCPSocketAction?
    public var sleep: SleepAction?
}

public struct Lifecycle: Codable, Sendable, Equatable {
    public var postStart: LifecycleHandler?
    public var preStop: LifecycleHandler?
}
