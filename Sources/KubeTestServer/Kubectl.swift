import Foundation

/// Runs the real kubectl (`/usr/bin/kubectl`, a dispatcher choosing a bundled client by the server's
/// version) with its own HOME (discovery cache) and a kubeconfig for the given identity, so that
/// tests hold the test server (and the kubelet API behind its log proxy) to a real client.
public struct Kubectl: Sendable {
    public static let path = "/usr/bin/kubectl"
    public static var available: Bool { FileManager.default.isExecutableFile(atPath: path) }

    /// The test's own folder: HOME, the kubeconfig, files given to kubectl.
    public let directory: String
    public let kubeconfig: String

    public init(server: KubeTestServer, identity: TestIdentity = .admin) throws {
        directory = NSTemporaryDirectory() + "kubectl-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        kubeconfig = directory + "/kubeconfig"
        try server.kubeconfig(for: identity, at: kubeconfig)
    }

    /// How kubectl ended and what it printed.
    public struct Result: Sendable, CustomStringConvertible {
        public var status: Int32
        public var stdout: String
        public var stderr: String
        public var description: String { "exit \(status)\nstdout:\n\(stdout)\nstderr:\n\(stderr)" }
        /// Output lines split into whitespace-separated fields.
        public var rows: [[String]] { stdout.split(separator: "\n").map { $0.split(separator: " ").map(String.init) } }
    }

    /// Writes `text` into the test's directory and returns the path.
    public func file(_ name: String, _ text: String) throws -> String {
        let path = directory + "/" + name
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    public func run(_ arguments: String...) async throws -> Result { try await run(arguments) }

    /// Runs kubectl with `arguments` (after `--kubeconfig` and a request timeout) and waits for it.
    public func run(_ arguments: [String]) async throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.path)
        process.arguments = ["--kubeconfig", kubeconfig, "--request-timeout=30s"] + arguments
        var environment = ProcessInfo.processInfo.environment
        environment["HOME"] = directory
        environment["KUBECONFIG"] = nil
        process.environment = environment
        let outPath = directory + "/stdout-\(UUID().uuidString)"
        let errPath = directory + "/stderr-\(UUID().uuidString)"
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        let out = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        let err = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        defer {
            try? out.close()
            try? err.close()
        }
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do { try process.run() } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: error)
            }
        }
        let stdout = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
        let stderr = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
        return Result(status: status, stdout: stdout, stderr: stderr)
    }

    /// Removes the test's folder.
    public func cleanUp() {
        try? FileManager.default.removeItem(atPath: directory)
    }
}
