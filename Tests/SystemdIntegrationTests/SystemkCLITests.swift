import Foundation
import Testing

/// `systemk`'s command line: help, usage errors (exit 2), and a dry run that touches nothing.
@Suite struct SystemkCLITests {
    static func run(_ arguments: [String], environment: [String: String]? = nil) throws -> (status: Int32, stdout: String, stderr: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: StandaloneAgentTests.binary)
        p.arguments = arguments
        if let environment { p.environment = environment }
        let out = Pipe()
        let err = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        try p.run()
        nonisolated(unsafe) var errData = Data()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            errData = err.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
    }

    @Test func helpDocumentsEveryFlag() throws {
        let r = try Self.run(["--help"])
        #expect(r.status == 0, "\(r.stderr)")
        for flag in [
            "--kubeconfig", "--manifests", "--user", "--dry-run", "--nodename", "--node-ip", "--node-external-ip", "--disable-taint",
            "--override-root-uid", "--certfile", "--keyfile", "--client-ca-file", "--port", "--max-pods", "--state-dir", "--log-level",
        ] {
            #expect(r.stdout.contains(flag), "--help lacks \(flag)")
        }
    }

    @Test func usageErrorsExitTwo() throws {
        for args in [
            ["--manifests", "/nonexistent-systemk-dir"], ["--manifests", "/", "--bogus"], ["--manifests", "/", "--log-level", "loud"],
            ["--kubeconfig", "/nonexistent-kubeconfig"], ["--certfile", "/etc/hostname"], ["--port", "70000"], ["--max-pods", "0"],
        ] {
            let r = try Self.run(args)
            #expect(r.status == 2, "\(args): \(r.stderr)")
            #expect(r.stderr.hasPrefix("systemk: "), "\(args): \(r.stderr)")
        }
    }

    @Test func withNeitherAClusterNorManifestsItSaysWhatIsMissing() throws {
        // No flags: live mode with kubectl's default kubeconfig, which this HOME lacks.
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("systemk-home-\(UUID().uuidString)").path
        let r = try Self.run(["--dry-run"], environment: ["HOME": home, "PATH": "/usr/bin:/bin"])
        #expect(r.status == 1, "\(r.stderr)")
        #expect(r.stderr.contains("systemk: ") && r.stderr.contains(home + "/.kube/config"), "\(r.stderr)")
    }

    @Test func anUnreachableClusterOrSystemdIsAnErrorNotACrash() throws {
        // Whichever fails first here (no systemd bus, or nothing listening at the server), systemk says
        // so and exits 1; it never traps (as it would if its HTTP client went away unclosed).
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("systemk-kc-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let kubeconfig = directory + "/config"
        try Data("""
            apiVersion: v1
            kind: Config
            clusters: [{name: c, cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}}]
            users: [{name: u, user: {token: abc}}]
            contexts: [{name: x, context: {cluster: c, user: u}}]
            current-context: x
            """.utf8).write(to: URL(fileURLWithPath: kubeconfig))
        let r = try Self.run(["--kubeconfig", kubeconfig, "--dry-run", "--node-ip", "10.0.0.10"])
        #expect(r.status == 1, "\(r.stderr)")
        #expect(r.stderr.hasPrefix("systemk: "), "\(r.stderr)")
    }
}
