import Foundation
import NIOSSL

/// One or more kubeconfig documents merged as client-go merges a KUBECONFIG list: the first file to define
/// a cluster, user or context name wins the whole entry, and `current-context` comes from the first file
/// that sets it.
public struct Kubeconfig: Sendable, Equatable {
    /// The files merged, in order.
    public var files: [String]
    public var clusters: [String: KubeconfigDocument.Named<ClusterEntry>]
    public var users: [String: KubeconfigDocument.Named<UserEntry>]
    public var contexts: [String: KubeconfigDocument.Named<ContextEntry>]
    /// The first `current-context` set in the files.
    public var currentContext: String?

    /// Merges documents in precedence order.
    public init(merging documents: [KubeconfigDocument]) {
        files = documents.map(\.path)
        clusters = [:]
        users = [:]
        contexts = [:]
        currentContext = nil
        for document in documents {
            for item in document.clusters where clusters[item.name] == nil { clusters[item.name] = item }
            for item in document.users where users[item.name] == nil { users[item.name] = item }
            for item in document.contexts where contexts[item.name] == nil { contexts[item.name] = item }
            if currentContext == nil { currentContext = document.currentContext }
        }
    }

    /// `kubeconfig /a` or `kubeconfig /a:/b`.
    var origin: String { "kubeconfig " + (files.isEmpty ? "(none)" : files.joined(separator: ":")) }

    /// Resolves a context (the given one, else `current-context`) into a client configuration, reading
    /// the certificate, key, CA and token files it names.
    public func clientConfiguration(
        context override: String? = nil, files source: FileSource = .disk
    ) throws(KubeconfigError) -> ClientConfiguration {
        guard let contextName = override.flatMap({ $0.isEmpty ? nil : $0 }) ?? currentContext else {
            throw KubeconfigError(origin: origin, reason: .noCurrentContext)
        }
        guard let context = contexts[contextName] else {
            throw KubeconfigError(
                origin: origin, field: override == nil ? "current-context" : nil,
                reason: .undefined(kind: "context", name: contextName))
        }
        let contextOrigin = "kubeconfig \(context.file)"
        let contextField = "contexts[\(context.index)].context"
        guard let clusterName = context.entry.cluster, !clusterName.isEmpty else {
            throw KubeconfigError(origin: contextOrigin, field: contextField + ".cluster", reason: .missingField)
        }
        guard let cluster = clusters[clusterName] else {
            throw KubeconfigError(
                origin: contextOrigin, field: contextField + ".cluster",
                reason: .undefined(kind: "cluster", name: clusterName))
        }
        var configuration = try Self.resolve(cluster: cluster, files: source)
        configuration.namespace = context.entry.namespace.flatMap { $0.isEmpty ? nil : $0 } ?? "default"
        if let userName = context.entry.user, !userName.isEmpty {
            guard let user = users[userName] else {
                throw KubeconfigError(
                    origin: contextOrigin, field: contextField + ".user", reason: .undefined(kind: "user", name: userName))
            }
            try Self.apply(user: user, to: &configuration, files: source)
        }
        return configuration
    }

    private static func resolve(
        cluster: KubeconfigDocument.Named<ClusterEntry>, files source: FileSource
    ) throws(KubeconfigError) -> ClientConfiguration {
        let origin = "kubeconfig \(cluster.file)"
        let field = "clusters[\(cluster.index)].cluster"
        let entry = cluster.entry
        guard let server = entry.server, !server.isEmpty else {
            throw KubeconfigError(origin: origin, field: field + ".server", reason: .missingField)
        }
        guard let url = URL(string: server), let scheme = url.scheme?.lowercased(), scheme == "https" || scheme == "http",
            let host = url.host, !host.isEmpty
        else {
            throw KubeconfigError(
                origin: origin, field: field + ".server",
                reason: .invalidValue(detail: "\"\(server)\" is not an http or https URL with a host"))
        }
        var ca: Data?
        if let data = entry.certificateAuthorityData, !data.isEmpty {
            if let file = entry.certificateAuthority, !file.isEmpty {
                throw KubeconfigError(
                    origin: origin, field: field,
                    reason: .invalidValue(
                        detail: "certificate-authority-data and certificate-authority are both specified"))
            }
            ca = try decodeBase64(data, origin: origin, field: field + ".certificate-authority-data")
            try checkCertificates(ca, origin: origin, field: field + ".certificate-authority-data", what: "data")
        } else if let file = entry.certificateAuthority, !file.isEmpty {
            ca = try source.read(file, origin: origin, field: field + ".certificate-authority")
            try checkCertificates(ca, origin: origin, field: field + ".certificate-authority", what: "file \(file)")
        }
        let insecure = entry.insecureSkipTLSVerify ?? false
        if insecure, ca != nil {
            throw KubeconfigError(
                origin: origin, field: field + ".insecure-skip-tls-verify",
                reason: .invalidValue(detail: "a certificate authority and insecure-skip-tls-verify cannot both be set"))
        }
        if let proxy = entry.proxyURL, !proxy.isEmpty {
            throw KubeconfigError(origin: origin, field: field + ".proxy-url", reason: .unsupported(detail: "proxies"))
        }
        return ClientConfiguration(
            server: server, tlsServerName: entry.tlsServerName.flatMap { $0.isEmpty ? nil : $0 },
            certificateAuthorityPEM: ca, insecureSkipTLSVerify: insecure, origin: "kubeconfig \(cluster.file)")
    }

    private static func apply(
        user: KubeconfigDocument.Named<UserEntry>, to configuration: inout ClientConfiguration, files source: FileSource
    ) throws(KubeconfigError) {
        let origin = "kubeconfig \(user.file)"
        let field = "users[\(user.index)].user"
        let entry = user.entry
        if !(entry.username ?? "").isEmpty || !(entry.password ?? "").isEmpty {
            throw KubeconfigError(
                origin: origin, field: field + ((entry.username ?? "").isEmpty ? ".password" : ".username"),
                reason: .basicAuthUnsupported)
        }
        if let provider = entry.authProvider {
            throw KubeconfigError(
                origin: origin, field: field + ".auth-provider",
                reason: .unsupported(detail: "auth-provider \(provider.name ?? "") (use an exec credential plugin)"))
        }
        if let impersonate = entry.impersonate, !impersonate.isEmpty {
            throw KubeconfigError(origin: origin, field: field + ".as", reason: .unsupported(detail: "impersonation"))
        }

        let certificate = try material(
            data: entry.clientCertificateData, file: entry.clientCertificate, dataKey: "client-certificate-data",
            fileKey: "client-certificate", origin: origin, field: field, files: source)
        let key = try material(
            data: entry.clientKeyData, file: entry.clientKey, dataKey: "client-key-data", fileKey: "client-key",
            origin: origin, field: field, files: source)
        switch (certificate, key) {
        case (nil, nil):
            break
        case (let c?, let k?):
            try checkCertificates(c.bytes, origin: origin, field: field + "." + c.key, what: c.what)
            do {
                _ = try NIOSSLPrivateKey(bytes: Array(k.bytes), format: .pem)
            } catch {
                throw KubeconfigError(
                    origin: origin, field: field + "." + k.key,
                    reason: .invalidValue(detail: "\(k.what) holds no PEM private key"))
            }
            configuration.clientCertificatePEM = c.bytes
            configuration.clientKeyPEM = k.bytes
        case (_?, nil):
            throw KubeconfigError(
                origin: origin, field: field + ".client-key",
                reason: .invalidValue(detail: "a client certificate is given without its key"))
        case (nil, _?):
            throw KubeconfigError(
                origin: origin, field: field + ".client-certificate",
                reason: .invalidValue(detail: "a client key is given without its certificate"))
        }

        let token = entry.token.flatMap { $0.isEmpty ? nil : $0 }
        let tokenFile = entry.tokenFile.flatMap { $0.isEmpty ? nil : $0 }
        if let exec = entry.exec {
            if token != nil || tokenFile != nil {
                throw KubeconfigError(
                    origin: origin, field: field,
                    reason: .invalidValue(detail: "token or tokenFile and exec cannot both be set"))
            }
            configuration.authentication = .exec(
                try execPlugin(exec, configuration: configuration, origin: origin, field: field + ".exec"))
        } else if let tokenFile {
            // Read it once now, so that a missing file is reported at start with its field.
            if token == nil { _ = try source.read(tokenFile, origin: origin, field: field + ".tokenFile") }
            configuration.authentication = .tokenFile(path: tokenFile, fallback: token)
        } else if let token {
            configuration.authentication = .token(token)
        }
    }

    private static func execPlugin(
        _ exec: ExecEntry, configuration: ClientConfiguration, origin: String, field: String
    ) throws(KubeconfigError) -> ExecPlugin {
        guard !exec.command.isEmpty else {
            throw KubeconfigError(origin: origin, field: field + ".command", reason: .missingField)
        }
        let apiVersion = exec.apiVersion ?? ""
        let supported = ["client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1"]
        guard supported.contains(apiVersion) else {
            throw KubeconfigError(
                origin: origin, field: field + ".apiVersion",
                reason: .invalidValue(
                    detail: "\"\(apiVersion)\" is not supported (use client.authentication.k8s.io/v1 or v1beta1)"))
        }
        var mode = exec.interactiveMode ?? ""
        if mode.isEmpty {
            // client-go defaults only the beta version; v1 requires the field.
            guard apiVersion.hasSuffix("v1beta1") else {
                throw KubeconfigError(origin: origin, field: field + ".interactiveMode", reason: .missingField)
            }
            mode = "IfAvailable"
        }
        guard ["Never", "IfAvailable", "Always"].contains(mode) else {
            throw KubeconfigError(
                origin: origin, field: field + ".interactiveMode",
                reason: .invalidValue(detail: "\"\(mode)\" is not Never, IfAvailable or Always"))
        }
        if mode == "Always" {
            throw KubeconfigError(
                origin: origin, field: field + ".interactiveMode",
                reason: .invalidValue(detail: "Always needs a terminal, which systemk never has"))
        }
        return ExecPlugin(
            command: exec.command, args: exec.args ?? [],
            env: (exec.env ?? []).map { ExecPlugin.EnvironmentVariable(name: $0.name, value: $0.value) },
            apiVersion: apiVersion, installHint: exec.installHint, provideClusterInfo: exec.provideClusterInfo ?? false,
            interactiveMode: mode,
            cluster: ExecPlugin.ClusterInfo(
                server: configuration.server, tlsServerName: configuration.tlsServerName,
                insecureSkipTLSVerify: configuration.insecureSkipTLSVerify,
                certificateAuthorityData: configuration.certificateAuthorityPEM),
            origin: origin, field: field)
    }

    private struct Material {
        var bytes: Data
        var key: String
        var what: String
    }

    private static func material(
        data: String?, file: String?, dataKey: String, fileKey: String, origin: String, field: String,
        files source: FileSource
    ) throws(KubeconfigError) -> Material? {
        let data = data.flatMap { $0.isEmpty ? nil : $0 }
        let file = file.flatMap { $0.isEmpty ? nil : $0 }
        if data != nil, file != nil {
            throw KubeconfigError(
                origin: origin, field: field,
                reason: .invalidValue(detail: "\(dataKey) and \(fileKey) are both specified"))
        }
        if let data {
            return Material(
                bytes: try decodeBase64(data, origin: origin, field: field + "." + dataKey), key: dataKey, what: "data")
        }
        if let file {
            return Material(
                bytes: try source.read(file, origin: origin, field: field + "." + fileKey), key: fileKey,
                what: "file \(file)")
        }
        return nil
    }

    static func decodeBase64(_ text: String, origin: String, field: String) throws(KubeconfigError) -> Data {
        let compact = text.filter { !$0.isWhitespace }
        guard let data = Data(base64Encoded: compact) else {
            throw KubeconfigError(origin: origin, field: field, reason: .invalidValue(detail: "not valid base64"))
        }
        return data
    }

    static func checkCertificates(_ pem: Data?, origin: String, field: String, what: String) throws(KubeconfigError) {
        guard let pem else { return }
        let certificates = try? NIOSSLCertificate.fromPEMBytes(Array(pem))
        if certificates?.isEmpty ?? true {
            throw KubeconfigError(
                origin: origin, field: field, reason: .invalidValue(detail: "\(what) holds no PEM certificate"))
        }
    }
}
