import Foundation
import Synchronization
import Testing

@testable import PodCompiler
@testable import SystemkRuntime

/// Installs Debian's `hello` for real, from the archive and as a downloaded `.deb`, and removes it
/// afterwards. Skipped (cancelled, with the reason) unless this is a Debian node run as root whose
/// mirror answers `apt-get update`.
@Suite(.serialized) struct RealAptTests {
    let runner = ProcessCommandRunner()

    func aptGet(_ arguments: [String]) async throws -> CommandResult {
        try await runner.run(
            Command("/usr/bin/apt-get", ["-o", "DPkg::Lock::Timeout=300"] + arguments, environment: AptInstaller.environment, timeout: .seconds(600))
        ) { _ in }
    }

    /// Removes hello, saying why when that fails.
    func purge(sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let result = try await aptGet(["purge", "-y", "hello"])
        #expect(result.succeeded, "apt-get purge hello \(PackageCommands.status(result)): \(result.tail.joined(separator: " | "))", sourceLocation: sourceLocation)
    }

    func installedVersion() async throws -> String? {
        let result = try await runner.run(Command("/usr/bin/dpkg-query", ["--show", "--showformat=${db:Status-Status} ${Version}", "hello"])) { _ in }
        guard result.succeeded, let line = result.standardOutput.first, line.hasPrefix("installed ") else { return nil }
        return String(line.dropFirst("installed ".count))
    }

    @Test func helloIsInstalledWithoutTouchingTheNodesPolicyAndRemovedAgain() async throws {
        guard NodePackageManager.detectBackend() == .apt, geteuid() == 0 else {
            try Test.cancel("needs root on a node with apt: skipping the real install of hello")
        }
        let update = try await aptGet(["update"])
        guard update.succeeded else {
            try Test.cancel("the Debian mirror is not reachable (apt-get update \(PackageCommands.status(update)): \(PackageCommands.errorLine(update.tail))): skipping the real install of hello")
        }
        let before = try await installedVersion()
        let policyBefore = contents("/usr/sbin/policy-rc.d")
        let cacheExisted = lstatus("/var/cache/systemk") != nil
        let logged = Mutex<[String]>([])
        let masker = RecordingMasker()
        let manager = NodePackageManager(backend: .apt, runner: runner, masker: masker) { line in logged.withLock { $0.append(line) } }

        let outcome: Result<Void, any Error>
        do {
            let installed = try await manager.install(.package(name: "hello", version: nil))
            #expect(installed.package == "hello" && installed.version != nil)
            #expect(installed.wasInstalledBefore == (before != nil))
            #expect(installed.unitFile == nil && installed.maskedUnit == nil, "hello has no service")
            let hello = try await runner.run(Command("/usr/bin/hello", [])) { _ in }
            #expect(hello.standardOutput == ["Hello, world!"])
            #expect(logged.withLock { $0 }.contains { $0.hasPrefix("apt-get: ") || $0.hasPrefix("dpkg-query: ") })
            #expect(contents("/usr/sbin/policy-rc.d") == policyBefore)
            #expect(lstatus("/usr/sbin/policy-rc.d.systemk-saved") == nil)

            let again = try await manager.install(.package(name: "hello", version: nil))
            #expect(again.wasInstalledBefore && again.version == installed.version)

            if before == nil, let version = installed.version {
                // The same package again, as a .deb downloaded over HTTPS.
                try await purge()
                let architecture = try await runner.run(Command("/usr/bin/dpkg", ["--print-architecture"])) { _ in }.standardOutput.first ?? "amd64"
                let url = "https://deb.debian.org/debian/pool/main/h/hello/hello_\(version)_\(architecture).deb"
                let fromDeb = try await manager.install(try ImageReference.parse(url).get())
                #expect(fromDeb.version == version && !fromDeb.wasInstalledBefore)
                #expect(try FileManager.default.contentsOfDirectory(atPath: "/var/cache/systemk").isEmpty)
            }
            outcome = .success(())
        } catch {
            outcome = .failure(error)
        }
        if before == nil {
            try await purge()
            #expect(try await installedVersion() == nil)
        }
        #expect(contents("/usr/sbin/policy-rc.d") == policyBefore)
        if !cacheExisted { rmdir("/var/cache/systemk") }
        try outcome.get()
    }
}
