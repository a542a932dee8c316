import Foundation
import NIOSSL

/// What one request carries: a bearer token and, from an exec plugin, a client certificate.
struct RequestCredentials: Sendable {
    var bearerToken: String?
    /// A TLS configuration with the plugin's client certificate, when the plugin returned one.
    var tls: TLSConfiguration?
    /// Identifies the credentials so that a 401 invalidates exactly these.
    var generation: Int
}

/// Produces credentials for requests: fixed tokens, a token file re-read periodically, or an exec plugin's
/// output cached until it expires (or until the server answers 401).
actor CredentialSource {
    private let configuration: ClientConfiguration
    private let files: FileSource
    private let refreshInterval: Duration
    private let now: @Sendable () -> Date
    private let baseTLS: TLSConfiguration?
    private let runPlugin: @Sendable (ExecPlugin) async throws(KubeconfigError) -> ExecCredentialStatus

    private var fileToken: (value: String, readAt: Date)?
    private var exec: (status: ExecCredentialStatus, tls: TLSConfiguration?)?
    private var execRun: Task<Result<ExecCredentialStatus, KubeconfigError>, Never>?
    private var generation = 0

    init(
        configuration: ClientConfiguration, files: FileSource, refreshInterval: Duration, baseTLS: TLSConfiguration?,
        now: @escaping @Sendable () -> Date = { Date() },
        runPlugin: @escaping @Sendable (ExecPlugin) async throws(KubeconfigError) -> ExecCredentialStatus = {
            (plugin: ExecPlugin) async throws(KubeconfigError) -> ExecCredentialStatus in
            try await ExecCredentialRunner.run(plugin)
        }
    ) {
        self.configuration = configuration
        self.files = files
        self.refreshInterval = refreshInterval
        self.baseTLS = baseTLS
        self.now = now
        self.runPlugin = runPlugin
    }

    /// The credentials for the next request.
    func current() async throws(KubeError) -> RequestCredentials {
        switch configuration.authentication {
        case .none:
            return RequestCredentials(bearerToken: nil, tls: nil, generation: generation)
        case .token(let token):
            return RequestCredentials(bearerToken: token, tls: nil, generation: generation)
        case .tokenFile(let path, let fallback):
            return RequestCredentials(
                bearerToken: try tokenFromFile(path, fallback: fallback), tls: nil, generation: generation)
        case .exec(let plugin):
            let (status, tls) = try await execCredentials(plugin)
            return RequestCredentials(bearerToken: status.token, tls: tls, generation: generation)
        }
    }

    /// The server rejected `credentials` with 401: forget them so the next request fetches new ones.
    /// Returns whether there is anything new to try (only exec plugins and token files can change).
    func rejected(_ credentials: RequestCredentials) -> Bool {
        guard credentials.generation == generation else { return true }
        switch configuration.authentication {
        case .exec:
            exec = nil
            generation += 1
            return true
        case .tokenFile:
            fileToken = nil
            generation += 1
            return true
        case .none, .token:
            return false
        }
    }

    private func tokenFromFile(_ path: String, fallback: String?) throws(KubeError) -> String {
        let current = now()
        if let cached = fileToken, current.timeIntervalSince(cached.readAt) < refreshInterval.seconds {
            return cached.value
        }
        do throws(KubeconfigError) {
            let data = try files.read(path, origin: configuration.origin, field: "tokenFile")
            let token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard !token.isEmpty else {
                throw KubeconfigError(
                    origin: configuration.origin, field: "tokenFile", reason: .invalidValue(detail: "file \(path) is empty"))
            }
            fileToken = (token, current)
            return token
        } catch {
            // Like client-go: keep using the last token (or the kubeconfig's token) while the file is unreadable.
            if let cached = fileToken { return cached.value }
            if let fallback { return fallback }
            throw .configuration(error)
        }
    }

    private func execCredentials(_ plugin: ExecPlugin) async throws(KubeError) -> (
        ExecCredentialStatus, TLSConfiguration?
    ) {
        if let cached = exec, cached.status.expirationTimestamp.map({ now() < $0 }) ?? true {
            return (cached.status, cached.tls)
        }
        // One run at a time: concurrent requests wait for the same plugin run.
        let run: Task<Result<ExecCredentialStatus, KubeconfigError>, Never>
        if let running = execRun {
            run = running
        } else {
            let runPlugin = self.runPlugin
            run = Task {
                do throws(KubeconfigError) {
                    return .success(try await runPlugin(plugin))
                } catch {
                    return .failure(error)
                }
            }
            execRun = run
        }
        let result = await run.value
        if execRun == run { execRun = nil }
        switch result {
        case .failure(let error):
            throw .configuration(error)
        case .success(let status):
            var tls: TLSConfiguration?
            if let certificate = status.clientCertificatePEM, let key = status.clientKeyPEM {
                do {
                    tls = try TLSFactory.configuration(
                        base: baseTLS ?? TLSConfiguration.makeClientConfiguration(), certificatePEM: certificate,
                        keyPEM: key)
                } catch {
                    throw .configuration(
                        KubeconfigError(
                            origin: plugin.origin, field: plugin.field,
                            reason: .execPlugin(detail: "returned an unusable client certificate or key: \(error)")))
                }
            }
            if exec?.status != status { generation += 1 }
            exec = (status, tls)
            return (status, tls)
        }
    }
}
