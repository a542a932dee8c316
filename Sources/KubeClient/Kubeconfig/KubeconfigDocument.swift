import Foundation
import Yams

/// One kubeconfig file as written: clusters, users and contexts in file order, each remembering its index
/// so that errors can name `users[2].user.client-key`.
public struct KubeconfigDocument: Sendable, Equatable {
    /// The file this came from (absolute), or a label for documents parsed from memory.
    public var path: String
    public var clusters: [Named<ClusterEntry>]
    public var users: [Named<UserEntry>]
    public var contexts: [Named<ContextEntry>]
    /// `current-context`, nil when absent or empty.
    public var currentContext: String?

    /// A named entry of one of the three lists, with its position in the file.
    public struct Named<Entry: Sendable & Equatable>: Sendable, Equatable {
        public var name: String
        public var entry: Entry
        /// Index in the file's list, for error field paths.
        public var index: Int
        /// The file it came from.
        public var file: String
    }

    /// Parses a kubeconfig document; `path` names the file in errors and relative paths are resolved
    /// against its folder. Reads no files.
    public static func parse(_ text: String, path: String) throws(KubeconfigError) -> KubeconfigDocument {
        let wire: Wire
        do {
            if text.allSatisfy({ $0.isWhitespace }) {
                wire = Wire()
            } else {
                wire = try YAMLDecoder().decode(Wire.self, from: text)
            }
        } catch let error as DecodingError {
            throw .file(path, field: Self.fieldPath(of: error), .malformed(detail: Self.describe(error)))
        } catch {
            throw .file(path, .malformed(detail: "\(error)".split(separator: "\n").first.map(String.init) ?? "\(error)"))
        }
        let base = (path as NSString).deletingLastPathComponent
        var document = KubeconfigDocument(
            path: path, clusters: [], users: [], contexts: [],
            currentContext: wire.currentContext.flatMap { $0.isEmpty ? nil : $0 })

        var seen = Set<String>()
        for (i, item) in (wire.clusters ?? []).enumerated() {
            let field = "clusters[\(i)]"
            let name = try Self.name(item.name, field: field, path: path, seen: &seen)
            guard var cluster = item.cluster else { throw .file(path, field: field + ".cluster", .missingField) }
            cluster.certificateAuthority = resolve(cluster.certificateAuthority, base: base)
            document.clusters.append(Named(name: name, entry: cluster, index: i, file: path))
        }
        seen = []
        for (i, item) in (wire.users ?? []).enumerated() {
            let field = "users[\(i)]"
            let name = try Self.name(item.name, field: field, path: path, seen: &seen)
            var user = item.user ?? UserEntry()
            user.clientCertificate = resolve(user.clientCertificate, base: base)
            user.clientKey = resolve(user.clientKey, base: base)
            user.tokenFile = resolve(user.tokenFile, base: base)
            if var exec = user.exec, exec.command.contains("/") {
                exec.command = resolve(exec.command, base: base) ?? exec.command
                user.exec = exec
            }
            document.users.append(Named(name: name, entry: user, index: i, file: path))
        }
        seen = []
        for (i, item) in (wire.contexts ?? []).enumerated() {
            let field = "contexts[\(i)]"
            let name = try Self.name(item.name, field: field, path: path, seen: &seen)
            guard let context = item.context else { throw .file(path, field: field + ".context", .missingField) }
            document.contexts.append(Named(name: name, entry: context, index: i, file: path))
        }
        return document
    }

    private static func name(
        _ name: String?, field: String, path: String, seen: inout Set<String>
    ) throws(KubeconfigError) -> String {
        guard let name, !name.isEmpty else { throw .file(path, field: field + ".name", .missingField) }
        guard seen.insert(name).inserted else { throw .file(path, field: field + ".name", .duplicateName(name)) }
        return name
    }

    /// Relative paths are taken against the kubeconfig's own folder, as client-go does.
    private static func resolve(_ value: String?, base: String) -> String? {
        guard let value, !value.isEmpty else { return value }
        if value.hasPrefix("/") { return value }
        return URL(fileURLWithPath: base).appendingPathComponent(value).standardizedFileURL.path
    }

    static func fieldPath(of error: DecodingError) -> String? {
        let path: [any CodingKey]
        switch error {
        case .typeMismatch(_, let c), .valueNotFound(_, let c), .dataCorrupted(let c): path = c.codingPath
        case .keyNotFound(let key, let c): path = c.codingPath + [key]
        @unknown default: return nil
        }
        var text = ""
        for key in path {
            if let index = key.intValue {
                text += "[\(index)]"
            } else {
                text += text.isEmpty ? key.stringValue : "." + key.stringValue
            }
        }
        return text.isEmpty ? nil : text
    }

    static func describe(_ error: DecodingError) -> String {
        switch error {
        case .typeMismatch(let type, _): return "expected \(Self.typeName(type))"
        case .valueNotFound(let type, _): return "expected \(Self.typeName(type)), found null"
        case .keyNotFound: return "required field missing"
        case .dataCorrupted(let c): return c.debugDescription
        @unknown default: return "\(error)"
        }
    }

    private static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Bool.Type: return "true or false"
        case is Int.Type: return "an integer"
        default:
            let name = "\(type)"
            if name.hasPrefix("Array") || name.contains("Sequence") { return "a list" }
            if name.contains("Scalar") { return "a single value" }
            return "a mapping"
        }
    }

    // The file's shape.
    struct Wire: Decodable {
        var clusters: [NamedCluster]?
        var users: [NamedUser]?
        var contexts: [NamedContext]?
        var currentContext: String?

        enum CodingKeys: String, CodingKey {
            case clusters, users, contexts
            case currentContext = "current-context"
        }
    }

    struct NamedCluster: Decodable {
        var name: String?
        var cluster: ClusterEntry?
    }

    struct NamedUser: Decodable {
        var name: String?
        var user: UserEntry?
    }

    struct NamedContext: Decodable {
        var name: String?
        var context: ContextEntry?
    }
}

/// `clusters[].cluster`.
public struct ClusterEntry: Decodable, Sendable, Equatable {
    public var server: String?
    public var certificateAuthority: String?
    /// Base64 text as written.
    public var certificateAuthorityData: String?
    public var insecureSkipTLSVerify: Bool?
    public var tlsServerName: String?
    public var proxyURL: String?

    enum CodingKeys: String, CodingKey {
        case server
        case certificateAuthority = "certificate-authority"
        case certificateAuthorityData = "certificate-authority-data"
        case insecureSkipTLSVerify = "insecure-skip-tls-verify"
        case tlsServerName = "tls-server-name"
        case proxyURL = "proxy-url"
    }

    /// Creates an entry.
    public init(
        server: String? = nil, certificateAuthority: String? = nil, certificateAuthorityData: String? = nil,
        insecureSkipTLSVerify: Bool? = nil, tlsServerName: String? = nil
    ) {
        self.server = server
        self.certificateAuthority = certificateAuthority
        self.certificateAuthorityData = certificateAuthorityData
        self.insecureSkipTLSVerify = insecureSkipTLSVerify
        self.tlsServerName = tlsServerName
    }
}

/// `users[].user`.
public struct UserEntry: Decodable, Sendable, Equatable {
    public var clientCertificate: String?
    public var clientCertificateData: String?
    public var clientKey: String?
    public var clientKeyData: String?
    public var token: String?
    public var tokenFile: String?
    public var username: String?
    public var password: String?
    public var impersonate: String?
    public var authProvider: AuthProviderEntry?
    public var exec: ExecEntry?

    enum CodingKeys: String, CodingKey {
        case clientCertificate = "client-certificate"
        case clientCertificateData = "client-certificate-data"
        case clientKey = "client-key"
        case clientKeyData = "client-key-data"
        case token, tokenFile, username, password
        case impersonate = "as"
        case authProvider = "auth-provider"
        case exec
    }

    /// Creates an empty entry.
    public init() {}
}

/// `users[].user.auth-provider` (recognised only to be refused with a clear message).
public struct AuthProviderEntry: Decodable, Sendable, Equatable {
    public var name: String?
}

/// `users[].user.exec`: an exec credential plugin.
public struct ExecEntry: Decodable, Sendable, Equatable {
    public var command: String
    public var args: [String]?
    public var env: [EnvVar]?
    public var apiVersion: String?
    public var installHint: String?
    public var provideClusterInfo: Bool?
    /// `Never`, `IfAvailable` or `Always`.
    public var interactiveMode: String?

    /// One `env` entry.
    public struct EnvVar: Decodable, Sendable, Equatable {
        public var name: String
        public var value: String
    }
}

/// `contexts[].context`.
public struct ContextEntry: Decodable, Sendable, Equatable {
    public var cluster: String?
    public var user: String?
    public var namespace: String?
}
