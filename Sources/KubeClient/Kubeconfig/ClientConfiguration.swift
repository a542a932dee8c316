import Foundation

/// Everything needed to talk to one API server: where, how to trust it, who we are.
///
/// Built from a kubeconfig (`Kubeconfig.clientConfiguration(context:files:)`), from the in-cluster
/// service-account files (`ClientConfiguration.inCluster`), or directly in code.
public struct ClientConfiguration: Sendable, Equatable {
    /// The server URL, `https://host:port` with an optional path prefix.
    public var server: String
    /// The name to send as SNI and to verify the server certificate against, instead of the URL's host.
    public var tlsServerName: String?
    /// PEM certificates to trust instead of the system's roots.
    public var certificateAuthorityPEM: Data?
    /// Do not verify the server's certificate at all.
    public var insecureSkipTLSVerify: Bool
    /// A PEM client certificate (chain) to present.
    public var clientCertificatePEM: Data?
    /// The PEM private key of `clientCertificatePEM`.
    public var clientKeyPEM: Data?
    /// How requests carry credentials besides the client certificate.
    public var authentication: Authentication
    /// The context's namespace (`default` when it names none).
    public var namespace: String
    /// Where this came from, for error messages: `kubeconfig /x/config`, `in-cluster config`.
    public var origin: String

    /// Bearer-token and plugin credentials.
    public enum Authentication: Sendable, Equatable {
        /// Only the client certificate, if any.
        case none
        /// A fixed bearer token.
        case token(String)
        /// A bearer token read from a file and re-read every minute (`fallback` is used while the file
        /// cannot be read, as client-go does with `token` next to `tokenFile`).
        case tokenFile(path: String, fallback: String?)
        /// An exec credential plugin.
        case exec(ExecPlugin)
    }

    /// Creates a configuration.
    public init(
        server: String, tlsServerName: String? = nil, certificateAuthorityPEM: Data? = nil,
        insecureSkipTLSVerify: Bool = false, clientCertificatePEM: Data? = nil, clientKeyPEM: Data? = nil,
        authentication: Authentication = .none, namespace: String = "default", origin: String = "configuration"
    ) {
        self.server = server
        self.tlsServerName = tlsServerName
        self.certificateAuthorityPEM = certificateAuthorityPEM
        self.insecureSkipTLSVerify = insecureSkipTLSVerify
        self.clientCertificatePEM = clientCertificatePEM
        self.clientKeyPEM = clientKeyPEM
        self.authentication = authentication
        self.namespace = namespace
        self.origin = origin
    }
}

/// An exec credential plugin as configured (`users[].user.exec`), with the cluster it serves.
public struct ExecPlugin: Sendable, Equatable {
    /// An absolute path, or a name looked up in PATH.
    public var command: String
    public var args: [String]
    /// Extra environment variables, in order.
    public var env: [EnvironmentVariable]
    /// `client.authentication.k8s.io/v1` or `/v1beta1`.
    public var apiVersion: String
    public var installHint: String?
    /// Whether to pass the cluster's details in `KUBERNETES_EXEC_INFO`.
    public var provideClusterInfo: Bool
    /// `Never`, `IfAvailable` or `Always` (systemk never has a terminal, so `Always` fails).
    public var interactiveMode: String
    /// The cluster, passed to the plugin when `provideClusterInfo` is set.
    public var cluster: ClusterInfo
    /// For error messages: the kubeconfig and the field path of this exec entry.
    public var origin: String
    public var field: String

    /// One environment variable.
    public struct EnvironmentVariable: Sendable, Equatable {
        public var name: String
        public var value: String
        /// Creates a variable.
        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    /// `spec.cluster` of the ExecCredential given to the plugin.
    public struct ClusterInfo: Sendable, Equatable {
        public var server: String
        public var tlsServerName: String?
        public var insecureSkipTLSVerify: Bool
        public var certificateAuthorityData: Data?
    }

    /// Creates a plugin configuration.
    public init(
        command: String, args: [String] = [], env: [EnvironmentVariable] = [],
        apiVersion: String = "client.authentication.k8s.io/v1", installHint: String? = nil,
        provideClusterInfo: Bool = false, interactiveMode: String = "Never", cluster: ClusterInfo,
        origin: String = "configuration", field: String = "exec"
    ) {
        self.command = command
        self.args = args
        self.env = env
        self.apiVersion = apiVersion
        self.installHint = installHint
        self.provideClusterInfo = provideClusterInfo
        self.interactiveMode = interactiveMode
        self.cluster = cluster
        self.origin = origin
        self.field = field
    }
}
