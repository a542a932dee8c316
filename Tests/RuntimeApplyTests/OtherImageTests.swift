import Foundation
import Testing

@testable import PodCompiler
@testable import SystemkRuntime

/// Remote `.deb` files, pacman, and `/path` images.
@Suite(needsRoot) struct OtherImageTests {
    static let url = "https://deb.example.org/pool/main/h/hello/hello_2.10-3_amd64.deb"

    @Test func aDebIsDownloadedOverHTTPSCheckedInstalledAndRemoved() async throws {
        let scratch = try PackageScratch()
        let world = AptWorld(debs: [Self.url: ("hello", "2.10-3")])
        let runner = world.runner(policyRcD: scratch.policyRcD)
        let installed = try await scratch.manager(runner).install(.deb(url: Self.url, package: "hello"))
        #expect(installed.version == "2.10-3" && !installed.wasInstalledBefore && installed.package == "hello")
        let file = scratch.cache + "/hello.deb"
        let calls = runner.calls.withLock { $0 }
        let curl = try #require(calls.first { $0.command.executable == "/usr/bin/curl" })
        #expect(
            curl.command.arguments == [
                "--fail", "--silent", "--show-error", "--location", "--proto", "=https", "--proto-redir", "=https", "--max-time", "600",
                "--output", scratch.cache + "/hello.deb.part", Self.url,
            ])
        #expect(calls.contains { $0.command.description == "dpkg-deb --field \(file) Package" })
        let install = try #require(calls.first { $0.command.arguments.first == "install" })
        #expect(install.command.arguments.last == file && install.policyRcD == PackageScratch.ourPolicy)
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.cache) == [], "the download is removed")
    }

    @Test func anInstalledDebOfTheSameVersionIsNotDownloaded() async throws {
        let scratch = try PackageScratch()
        let runner = AptWorld(installed: ["hello": "2.10-3"]).runner()
        let installed = try await scratch.manager(runner).install(.deb(url: Self.url, package: "hello"))
        #expect(installed.wasInstalledBefore)
        #expect(!runner.lines.contains { $0.hasPrefix("curl") })
    }

    @Test func aDebHoldingAnotherPackageIsRefused() async throws {
        let scratch = try PackageScratch()
        let url = "https://deb.example.org/mismatch/hello_1_amd64.deb"
        let runner = AptWorld(debs: [url: ("evil", "1")]).runner()
        await #expect(throws: PackageError.packageMismatch(url: url, expected: "hello", found: "evil")) {
            try await scratch.manager(runner).install(.deb(url: url, package: "hello"))
        }
        #expect(!runner.lines.contains { $0.hasPrefix("apt-get") })
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.cache) == [])
    }

    @Test func aFailedDownloadIsReported() async throws {
        let scratch = try PackageScratch()
        let url = "https://deb.example.org/gone/hello_1_amd64.deb"
        await #expect(
            throws: PackageError.commandFailed(
                package: "hello", command: "downloading \(url)", status: "exited with status 22",
                detail: "curl: (22) The requested URL returned error: 404")
        ) {
            try await scratch.manager(AptWorld().runner()).install(.deb(url: url, package: "hello"))
        }
    }

    @Test func versionsAreReadFromDebFileNames() {
        #expect(AptInstaller.version(fromDebURL: Self.url) == "2.10-3")
        #expect(AptInstaller.version(fromDebURL: "https://x/p/tzdata_1%3a2024a-1_all.deb?sig=1") == "1:2024a-1")
        #expect(AptInstaller.version(fromDebURL: "https://x/p/odd.deb") == nil)
    }

    @Test func pacmanInstallsAndFindsTheService() async throws {
        let scratch = try PackageScratch()
        let installed = AptWorld()  // unused state holder
        _ = installed
        let state = FakeRunner { command throws(CommandError) in
            switch command.arguments {
            case ["-Q", "nginx"]: return FakeRunner.fail(1, ["error: package 'nginx' was not found"])
            case ["-S", "--noconfirm", "--needed", "nginx"]: return FakeRunner.ok(["installing nginx..."])
            case ["-Ql", "nginx"]:
                return FakeRunner.ok(["nginx /usr/bin/nginx", "nginx /usr/lib/systemd/system/nginx.service", "nginx /usr/lib/systemd/system/nginx@.service"])
            default: return FakeRunner.fail(1, [])
            }
        }
        // After the install, -Q reports it.
        let runner = FakeRunner { command throws(CommandError) in
            if command.arguments == ["-Q", "nginx"], state.lines.contains(where: { $0.hasPrefix("pacman -S") }) {
                return FakeRunner.ok(["nginx 1.26.1-1"])
            }
            return try await state.run(command) { _ in }
        }
        let masker = RecordingMasker()
        let result = try await scratch.manager(runner, backend: .pacman, masker: masker).install(.package(name: "nginx", version: nil))
        #expect(result.version == "1.26.1-1" && result.unitFile == "/usr/lib/systemd/system/nginx.service" && result.maskedUnit == "nginx.service")
        #expect(masker.masked.withLock { $0 } == ["nginx.service"])
        #expect(scratch.policyText == nil, "pacman does not start services: no policy-rc.d")
    }

    @Test func pacmanReportsAnUnknownPackage() async throws {
        let scratch = try PackageScratch()
        let runner = FakeRunner { command throws(CommandError) in
            if command.arguments.first == "-S" { return FakeRunner.fail(1, ["error: target not found: nosuch"]) }
            return FakeRunner.fail(1, [])
        }
        await #expect(throws: PackageError.notFound(package: "nosuch=2", detail: "target not found: nosuch")) {
            try await scratch.manager(runner, backend: .pacman).install(.package(name: "nosuch", version: "2"))
        }
        #expect(runner.lines.contains("pacman -S --noconfirm --needed nosuch=2"))
    }

    @Test func pacmanCannotInstallADeb() async throws {
        let scratch = try PackageScratch()
        let error = await #expect(throws: PackageError.self) {
            try await scratch.manager(FakeRunner { _ throws(CommandError) in FakeRunner.ok() }, backend: .pacman).install(.deb(url: Self.url, package: "hello"))
        }
        #expect(error?.waitingReason == "InvalidImageName")
    }

    @Test func aPathImageMustBeAnExecutableFile() async throws {
        let scratch = try PackageScratch()
        let manager = scratch.manager(FakeRunner { command throws(CommandError) in FakeRunner.fail(127, ["unexpected \(command)"]) })
        let ok = try await manager.install(.path("/bin/sh"))
        #expect(ok == InstalledPackage(reference: .path("/bin/sh"), package: nil, version: nil, wasInstalledBefore: true, unitFile: nil, maskedUnit: nil))
        writeText(scratch.root + "/script", "#!/bin/sh\n")
        chmod(scratch.root + "/script", 0o644)
        await #expect(throws: PackageError.notExecutable(path: scratch.root + "/script", reason: "is not executable (mode 0644)")) {
            try await manager.install(.path(scratch.root + "/script"))
        }
        await #expect(throws: PackageError.notExecutable(path: "/etc", reason: "is a directory, not an executable file")) {
            try await manager.install(.path("/etc"))
        }
        await #expect(throws: PackageError.notExecutable(path: "/no/such/binary", reason: "does not exist")) {
            try await manager.install(.path("/no/such/binary"))
        }
    }

    @Test(arguments: [
        (["/lib/systemd/system/nginx.service", "/lib/systemd/system/nginx-debug.service"], "/lib/systemd/system/nginx.service"),
        (["/usr/lib/systemd/system/redis-server.service", "/usr/lib/systemd/system/redis-server@.service"], "/usr/lib/systemd/system/redis-server.service"),
        (["/lib/systemd/system/a.service", "/lib/systemd/system/b.service"], nil),
        (["/lib/systemd/system/x.socket", "/etc/init.d/x", "/usr/share/doc/x/example.service"], nil),
        (["/lib/systemd/system/x.service.d/override.conf", "/lib/systemd/system/other.service"], "/lib/systemd/system/other.service"),
        (["/lib/systemd/system/only@.service"], nil),
    ] as [([String], String?)])
    func theServiceIsThePackagesOwnOrItsOnlyOne(_ files: [String], _ expected: String?) {
        #expect(PackageUnitFinder.serviceFile(package: files.first?.contains("redis") == true ? "redis" : "nginx", files: files) == expected)
    }

    @Test func errorLinesPreferAptsAndPacmansOwn() {
        #expect(PackageCommands.errorLine(["W: warn", "E: first", "other", "E: second", ""]) == "second")
        #expect(PackageCommands.errorLine(["error: target not found: x", "done"]) == "target not found: x")
        #expect(PackageCommands.errorLine(["plain", "  last  ", ""]) == "last")
        #expect(PackageCommands.errorLine([String(repeating: "x", count: 500)]).count == 300)
    }

    @Test func theBackendIsDetected() {
        #expect(NodePackageManager.detectBackend() == .apt, "this machine is Debian")
    }
}
