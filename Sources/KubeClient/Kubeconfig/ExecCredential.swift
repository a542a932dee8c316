import Foundation

/// Credentials an exec plugin returned (`ExecCredential.status`).
public struct ExecCredentialStatus: Sendable, Equatable {
    public var token: String?
    public var clientCertificatePEM: Data?
    public var clientKeyPEM: Data?
    /// When to run the plugin again; nil means the credentials never expire (until a 401).
    public var expirationTimestamp: Date?
}

/// Runs an exec credential plugin (client.authentication.k8s.io v1 / v1beta1) and parses its answer.
enum ExecCredentialRunner {
    /// Runs the plugin once: its environment is ours plus `env` plus `KUBERNETES_EXEC_INFO`.
    static func run(
        _ plugin: ExecPlugin, environment: [String: String] = ProcessInfo.processInfo.environment
    ) async throws(KubeconfigError) -> ExecCredentialStatus {
        let executable = try locate(plugin, environment: environment)
        var env = environment
        for variable in plugin.env { env[variable.name] = variable.value }
        env["KUBERNETES_EXEC_INFO"] = execInfo(plugin)
        let result: ProcessResult
        do {
            result = try await runProcess(executable, arguments: plugin.args, environment: env)
        } catch {
            throw failure(plugin, "cannot run \(executable): \(error)")
        }
        guard result.status == 0 else {
            let stderr = String(decoding: result.stderr, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            throw failure(
                plugin, "\(plugin.command) exited with status \(result.status)" + (stderr.isEmpty ? "" : ": \(stderr)"))
        }
        return try parse(result.stdout, plugin: plugin)
    }

    /// Parses the plugin's standard output.
    static func parse(_ output: Data, plugin: ExecPlugin) throws(KubeconfigError) -> ExecCredentialStatus {
        struct Output: Decodable {
            var apiVersion: String?
            var kind: String?
            var status: Status?
            struct Status: Decodable {
                var token: String?
                var clientCertificateData: String?
                var clientKeyData: String?
                var expirationTimestamp: Timestamp?
            }
        }
        let decoded: Output
        do {
            decoded = try JSONDecoder().decode(Output.self, from: output)
        } catch {
            throw failure(plugin, "output is not an ExecCredential: \(error)")
        }
        guard decoded.kind == "ExecCredential" else {
            throw failure(plugin, "output kind is \"\(decoded.kind ?? "")\", not ExecCredential")
        }
        guard decoded.apiVersion == plugin.apiVersion else {
            throw failure(
                plugin, "configured for \(plugin.apiVersion) but the plugin returned \(decoded.apiVersion ?? "no apiVersion")")
        }
        guard let status = decoded.status else { throw failure(plugin, "output has no status") }
        let token = status.token.flatMap { $0.isEmpty ? nil : $0 }
        let certificate = status.clientCertificateData.flatMap { $0.isEmpty ? nil : Data($0.utf8) }
        let key = status.clientKeyData.flatMap { $0.isEmpty ? nil : Data($0.utf8) }
        if (certificate == nil) != (key == nil) {
            throw failure(plugin, "returned only one of clientCertificateData and clientKeyData")
        }
        if token == nil, certificate == nil {
            throw failure(plugin, "returned neither a token nor a client certificate and key")
        }
        return ExecCredentialStatus(
            token: token, clientCertificatePEM: certificate, clientKeyPEM: key,
            expirationTimestamp: status.expirationTimestamp?.date)
    }

    /// The ExecCredential given to the plugin in `KUBERNETES_EXEC_INFO`.
    static func execInfo(_ plugin: ExecPlugin) -> String {
        var spec: [String: Any] = ["interactive": false]
        if plugin.provideClusterInfo {
            var cluster: [String: Any] = ["server": plugin.cluster.server]
            if let name = plugin.cluster.tlsServerName { cluster["tls-server-name"] = name }
            if plugin.cluster.insecureSkipTLSVerify { cluster["insecure-skip-tls-verify"] = true }
            if let ca = plugin.cluster.certificateAuthorityData {
                cluster["certificate-authority-data"] = ca.base64EncodedString()
            }
            spec["cluster"] = cluster
        }
        let object: [String: Any] = ["apiVersion": plugin.apiVersion, "kind": "ExecCredential", "spec": spec]
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }

    private static func locate(_ plugin: ExecPlugin, environment: [String: String]) throws(KubeconfigError) -> String {
        let fm = FileManager.default
        if plugin.command.contains("/") {
            guard fm.isExecutableFile(atPath: plugin.command) else {
                throw failure(plugin, "command \(plugin.command) not found or not executable" + hint(plugin))
            }
            return plugin.command
        }
        for directory in (environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":") {
            let candidate = "\(directory)/\(plugin.command)"
            if fm.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw failure(plugin, "command \"\(plugin.command)\" not found in PATH" + hint(plugin))
    }

    private static func hint(_ plugin: ExecPlugin) -> String {
        plugin.installHint.map { ": \($0)" } ?? ""
    }

    private static func failure(_ plugin: ExecPlugin, _ detail: String) -> KubeconfigError {
        KubeconfigError(origin: plugin.origin, field: plugin.field, reason: .execPlugin(detail: detail))
    }

    struct ProcessResult: Sendable {
        var status: Int32
        var stdout: Data
        var stderr: Data
    }

    /// Runs a process to completion off the cooperative pool, draining both pipes so a chatty plugin
    /// cannot block on a full pipe.
    static func runProcess(_ executable: String, arguments: [String], environment: [String: String]) async throws
        -> ProcessResult
    {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<ProcessResult, any Error>) in
            DispatchQueue.global().async {
                let process = Process()
                process.executableURL = URL(fileURLWithPath: executable)
                process.arguments = arguments
                process.environment = environment
                let out = Pipe()
                let err = Pipe()
                process.standardOutput = out
                process.standardError = err
                process.standardInput = FileHandle.nullDevice
                do {
                    try process.run()
                } catch {
                    continuation.resume(throwing: error)
                    return
                }
                let group = DispatchGroup()
                nonisolated(unsafe) var stderrData = Data()
                group.enter()
                DispatchQueue.global().async {
                    stderrData = err.fileHandleForReading.readDataToEndOfFile()
                    group.leave()
                }
                let stdoutData = out.fileHandleForReading.readDataToEndOfFile()
                group.wait()
                process.waitUntilExit()
                continuation.resume(
                    returning: ProcessResult(status: process.terminationStatus, stdout: stdoutData, stderr: stderrData))
            }
        }
    }
}
