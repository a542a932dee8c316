import Foundation

/// Finds and reads kubeconfig files the way kubectl does.
public enum KubeconfigLoader {
    /// Loads the kubeconfig to use:
    /// - `explicitPath` (a `--kubeconfig` flag): that file alone; it must exist.
    /// - else `KUBECONFIG`: its `:`-separated files merged in order; missing and empty entries are skipped,
    ///   duplicates read once; at least one must exist.
    /// - else `$HOME/.kube/config`.
    public static func load(
        explicitPath: String? = nil, environment: [String: String] = ProcessInfo.processInfo.environment,
        files source: FileSource = .disk
    ) throws(KubeconfigError) -> Kubeconfig {
        if let explicitPath, !explicitPath.isEmpty {
            let path = absolute(explicitPath, environment: environment)
            return Kubeconfig(merging: [try readDocument(path, files: source, required: true)].compactMap { $0 })
        }
        if let list = environment["KUBECONFIG"], !list.isEmpty {
            var seen = Set<String>()
            var documents: [KubeconfigDocument] = []
            for entry in list.split(separator: ":", omittingEmptySubsequences: true).map(String.init) {
                let path = absolute(entry, environment: environment)
                guard seen.insert(path).inserted else { continue }
                if let document = try readDocument(path, files: source, required: false) {
                    documents.append(document)
                }
            }
            guard !documents.isEmpty else {
                throw KubeconfigError(
                    origin: "KUBECONFIG", reason: .nothingConfigured(detail: "none of the files \(list) exists"))
            }
            return Kubeconfig(merging: documents)
        }
        guard let home = environment["HOME"], !home.isEmpty else {
            throw KubeconfigError(
                origin: "kubeconfig", reason: .nothingConfigured(detail: "no --kubeconfig, KUBECONFIG or HOME"))
        }
        let path = home + "/.kube/config"
        return Kubeconfig(merging: [try readDocument(path, files: source, required: true)].compactMap { $0 })
    }

    /// Whether `$HOME/.kube/config` or a KUBECONFIG file exists, i.e. whether `load` has anything to read.
    static func hasDefaultConfig(environment: [String: String], files source: FileSource) -> Bool {
        var candidates: [String] = []
        if let list = environment["KUBECONFIG"], !list.isEmpty {
            candidates = list.split(separator: ":").map { absolute(String($0), environment: environment) }
        } else if let home = environment["HOME"], !home.isEmpty {
            candidates = [home + "/.kube/config"]
        }
        return candidates.contains { path in
            do {
                _ = try source.read(path)
                return true
            } catch {
                return false
            }
        }
    }

    /// Reads and parses one file; nil when it is missing and not required.
    static func readDocument(_ path: String, files source: FileSource, required: Bool) throws(KubeconfigError)
        -> KubeconfigDocument?
    {
        let data: Data
        do throws(FileSource.ReadError) {
            data = try source.read(path)
        } catch {
            switch error {
            case .notFound:
                if required { throw .file(path, .configNotFound) }
                return nil
            case .unreadable(let detail):
                throw .file(path, .fileUnreadable(path: path, detail: detail))
            }
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw .file(path, .malformed(detail: "not UTF-8 text"))
        }
        return try KubeconfigDocument.parse(text, path: path)
    }

    private static func absolute(_ path: String, environment: [String: String]) -> String {
        if path.hasPrefix("/") { return URL(fileURLWithPath: path).standardizedFileURL.path }
        if path.hasPrefix("~/"), let home = environment["HOME"] { return home + path.dropFirst(1) }
        return URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(path)
            .standardizedFileURL.path
    }
}

extension ClientConfiguration {
    /// The standard service-account folder inside a pod.
    public static let serviceAccountRoot = "/var/run/secrets/kubernetes.io/serviceaccount"

    /// The configuration of a process running in a pod: `KUBERNETES_SERVICE_HOST`/`_PORT`, and `token`,
    /// `ca.crt` and `namespace` under `root` (the token is re-read every minute, as it is rotated).
    public static func inCluster(
        environment: [String: String] = ProcessInfo.processInfo.environment, root: String = serviceAccountRoot,
        files source: FileSource = .disk
    ) throws(KubeconfigError) -> ClientConfiguration {
        let origin = "in-cluster config"
        guard let host = environment["KUBERNETES_SERVICE_HOST"], !host.isEmpty else {
            throw KubeconfigError(origin: origin, field: "KUBERNETES_SERVICE_HOST", reason: .missingField)
        }
        guard let port = environment["KUBERNETES_SERVICE_PORT"], !port.isEmpty else {
            throw KubeconfigError(origin: origin, field: "KUBERNETES_SERVICE_PORT", reason: .missingField)
        }
        guard let portNumber = Int(port), (1...65535).contains(portNumber) else {
            throw KubeconfigError(
                origin: origin, field: "KUBERNETES_SERVICE_PORT", reason: .invalidValue(detail: "\"\(port)\" is not a port"))
        }
        let hostPart = host.contains(":") ? "[\(host)]" : host
        let tokenPath = root + "/token"
        _ = try source.read(tokenPath, origin: origin, field: "token")
        let ca = try source.read(root + "/ca.crt", origin: origin, field: "ca.crt")
        try Kubeconfig.checkCertificates(ca, origin: origin, field: "ca.crt", what: "file \(root)/ca.crt")
        var namespace = "default"
        if let data = try? source.read(root + "/namespace"),
            let text = String(data: data, encoding: .utf8)?.trimmingCharacters(in: .whitespacesAndNewlines),
            !text.isEmpty
        {
            namespace = text
        }
        return ClientConfiguration(
            server: "https://\(hostPart):\(portNumber)", certificateAuthorityPEM: ca,
            authentication: .tokenFile(path: tokenPath, fallback: nil), namespace: namespace, origin: origin)
    }

    /// The configuration systemk uses: the `--kubeconfig` file when given; else KUBECONFIG or
    /// `$HOME/.kube/config` when one exists; else the in-cluster configuration when
    /// `KUBERNETES_SERVICE_HOST` is set; `context` overrides the kubeconfig's current-context.
    public static func load(
        kubeconfig explicitPath: String? = nil, context: String? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment, files source: FileSource = .disk
    ) throws(KubeconfigError) -> ClientConfiguration {
        if explicitPath == nil || explicitPath?.isEmpty == true,
            !KubeconfigLoader.hasDefaultConfig(environment: environment, files: source),
            environment["KUBERNETES_SERVICE_HOST"].map({ !$0.isEmpty }) == true
        {
            return try inCluster(environment: environment, files: source)
        }
        return try KubeconfigLoader.load(explicitPath: explicitPath, environment: environment, files: source)
            .clientConfiguration(context: context, files: source)
    }
}
