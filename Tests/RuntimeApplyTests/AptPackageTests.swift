import Foundation
import Testing

@testable import PodCompiler
@testable import SystemkRuntime

/// Debian packages: installed without starting their services, found again when already there,
/// their own service masked only when systemk installed them.
@Suite(needsRoot) struct AptPackageTests {
    static let nginxFiles = [
        "/.", "/usr/sbin/nginx", "/lib/systemd/system", "/lib/systemd/system/nginx.service", "/etc/init.d/nginx",
    ]

    @Test func aNewPackageIsInstalledWithItsServicesBlockedAndItsServiceMasked() async throws {
        let scratch = try PackageScratch(existingPolicy: "#!/bin/sh\nexit 0\n")
        let world = AptWorld(available: ["nginx": "1.22.1-9"], files: ["nginx": Self.nginxFiles])
        let runner = world.runner(policyRcD: scratch.policyRcD)
        let masker = RecordingMasker()
        let installed = try await scratch.manager(runner, masker: masker).install(.package(name: "nginx", version: nil))
        #expect(
            installed
                == InstalledPackage(
                    reference: .package(name: "nginx", version: nil), package: "nginx", version: "1.22.1-9", wasInstalledBefore: false,
                    unitFile: "/lib/systemd/system/nginx.service", maskedUnit: "nginx.service"))
        #expect(masker.masked.withLock { $0 } == ["nginx.service"])
        let install = try #require(runner.calls.withLock { $0 }.first { $0.command.arguments.first == "install" })
        #expect(
            install.command.arguments == [
                "install", "-y", "--no-install-recommends", "-o", "DPkg::Lock::Timeout=300", "-o", "Dpkg::Options::=--force-confdef",
                "-o", "Dpkg::Options::=--force-confold", "nginx",
            ])
        #expect(install.command.environment["DEBIAN_FRONTEND"] == "noninteractive")
        #expect(install.policyRcD == PackageScratch.ourPolicy, "policy-rc.d forbids service starts during the install")
        #expect(scratch.policyText == "#!/bin/sh\nexit 0\n", "the node's own policy-rc.d is back")
        #expect(lstatus(scratch.policyRcD + ".systemk-saved") == nil)
        #expect(
            runner.lines == [
                "dpkg-query --show --showformat=${db:Status-Status}\t${Version}\n nginx",
                "apt-get install -y --no-install-recommends -o DPkg::Lock::Timeout=300 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold nginx",
                "dpkg-query --show --showformat=${db:Status-Status}\t${Version}\n nginx", "dpkg-query --listfiles nginx",
            ])
    }

    @Test func anInstalledPackageIsLeftAloneAndItsServiceNotMasked() async throws {
        let scratch = try PackageScratch()
        let world = AptWorld(installed: ["nginx": "1.22.1-9"], files: ["nginx": Self.nginxFiles])
        let runner = world.runner()
        let masker = RecordingMasker()
        let installed = try await scratch.manager(runner, masker: masker).install(.package(name: "nginx", version: nil))
        #expect(installed.wasInstalledBefore && installed.maskedUnit == nil && installed.unitFile == "/lib/systemd/system/nginx.service")
        #expect(masker.masked.withLock { $0 } == [])
        #expect(!runner.lines.contains { $0.hasPrefix("apt-get") })
        #expect(scratch.policyText == nil, "policy-rc.d is only touched for an install")
    }

    @Test func aPinnedVersionIsInstalledUnlessItIsTheInstalledOne() async throws {
        let scratch = try PackageScratch()
        let same = AptWorld(installed: ["nginx": "1.22.1-9"], available: ["nginx": "1.22.1-9"])
        let sameRunner = same.runner()
        let kept = try await scratch.manager(sameRunner).install(.package(name: "nginx", version: "1.22.1-9"))
        #expect(kept.wasInstalledBefore && !sameRunner.lines.contains { $0.hasPrefix("apt-get") })

        let other = AptWorld(installed: ["nginx": "1.22.1-8"], available: ["nginx": "1.22.1-9"], files: ["nginx": Self.nginxFiles])
        let runner = other.runner()
        let masker = RecordingMasker()
        let upgraded = try await scratch.manager(runner, masker: masker).install(.package(name: "nginx", version: "1.22.1-9"))
        #expect(runner.lines.contains { $0.hasSuffix(" nginx=1.22.1-9") })
        #expect(upgraded.version == "1.22.1-9" && upgraded.wasInstalledBefore && upgraded.maskedUnit == nil)
        #expect(masker.masked.withLock { $0 } == [], "a service that was on the node before is not systemk's")
    }

    @Test func staleListsAreUpdatedOnceAndTheInstallRetried() async throws {
        let scratch = try PackageScratch()
        let world = AptWorld(available: ["hello": "2.10-3"], listsAreFresh: false)
        let runner = world.runner()
        let installed = try await scratch.manager(runner).install(.package(name: "hello", version: nil))
        #expect(installed.version == "2.10-3" && installed.unitFile == nil && installed.maskedUnit == nil)
        #expect(runner.lines.filter { $0.hasPrefix("apt-get") }.map { $0.split(separator: " ")[1] } == ["install", "update", "install"])
    }

    @Test func anUnknownPackageIsNotFoundAndPolicyRcDIsPutBack() async throws {
        let scratch = try PackageScratch(existingPolicy: "#!/bin/sh\nexit 101\n")
        let runner = AptWorld().runner()
        await #expect(throws: PackageError.notFound(package: "nosuchpkg", detail: "Unable to locate package nosuchpkg")) {
            try await scratch.manager(runner).install(.package(name: "nosuchpkg", version: nil))
        }
        #expect(scratch.policyText == "#!/bin/sh\nexit 101\n")
        #expect(
            PackageError.notFound(package: "nosuchpkg", detail: "Unable to locate package nosuchpkg").description
                == "package nosuchpkg was not found: Unable to locate package nosuchpkg")
        #expect(PackageError.notFound(package: "x", detail: "").waitingReason == "ErrImagePull")
    }

    @Test func anUnknownVersionIsNotFound() async throws {
        let scratch = try PackageScratch()
        let runner = AptWorld(available: ["nginx": "1.22.1-9"]).runner()
        await #expect(throws: PackageError.notFound(package: "nginx=9.9", detail: "Version '9.9' for 'nginx' was not found")) {
            try await scratch.manager(runner).install(.package(name: "nginx", version: "9.9"))
        }
    }

    @Test func aFailingUpdateIsReported() async throws {
        let scratch = try PackageScratch()
        let runner = AptWorld(listsAreFresh: false, updateFails: true).runner()
        await #expect(
            throws: PackageError.commandFailed(
                package: "hello", command: "apt-get update", status: "exited with status 100", detail: "Some index files failed to download.")
        ) {
            try await scratch.manager(runner).install(.package(name: "hello", version: nil))
        }
    }

    @Test func aFailingInstallNamesApt_sError() async throws {
        let scratch = try PackageScratch()
        let runner = FakeRunner(policyRcD: scratch.policyRcD) { command throws(CommandError) in
            if command.arguments.first == "install" {
                return FakeRunner.fail(100, [
                    "Setting up broken (1.0) ...", "dpkg: error processing package broken (--configure):",
                    "E: Sub-process /usr/bin/dpkg returned an error code (1)",
                ])
            }
            return FakeRunner.fail(1, [])
        }
        let error = await #expect(throws: PackageError.self) { try await scratch.manager(runner).install(.package(name: "broken", version: nil)) }
        #expect(error?.description == "installing broken failed: apt-get install exited with status 100: Sub-process /usr/bin/dpkg returned an error code (1)")
        #expect(scratch.policyText == nil, "our policy-rc.d is removed when there was none")
    }

    @Test func aTimeoutIsReported() async throws {
        let scratch = try PackageScratch()
        let runner = FakeRunner { command throws(CommandError) in
            if command.arguments.first == "install" { throw .timedOut(command: command.description, after: .seconds(900), tail: []) }
            return FakeRunner.fail(1, [])
        }
        await #expect(
            throws: PackageError.command(
                package: "hello", .timedOut(command: Command("/usr/bin/apt-get", ["install", "-y", "--no-install-recommends", "-o", "DPkg::Lock::Timeout=300", "-o", "Dpkg::Options::=--force-confdef", "-o", "Dpkg::Options::=--force-confold", "hello"]).description, after: .seconds(900), tail: []))
        ) {
            try await scratch.manager(runner).install(.package(name: "hello", version: nil))
        }
    }

    @Test func aPolicyRcDLeftByAnInterruptedRunIsPutBack() async throws {
        let scratch = try PackageScratch(existingPolicy: PackageScratch.ourPolicy)
        writeText(scratch.policyRcD + ".systemk-saved", "#!/bin/sh\nexit 0\n")
        let runner = AptWorld(available: ["hello": "2.10-3"]).runner(policyRcD: scratch.policyRcD)
        _ = try await scratch.manager(runner).install(.package(name: "hello", version: nil))
        #expect(scratch.policyText == "#!/bin/sh\nexit 0\n")
        #expect(lstatus(scratch.policyRcD + ".systemk-saved") == nil)
        #expect(runner.calls.withLock { $0 }.first { $0.command.arguments.first == "install" }?.policyRcD == PackageScratch.ourPolicy)
    }

    @Test func aMaskingFailureIsReported() async throws {
        let scratch = try PackageScratch()
        let runner = AptWorld(available: ["nginx": "1.22.1-9"], files: ["nginx": Self.nginxFiles]).runner()
        await #expect(throws: PackageError.maskFailed(unit: "nginx.service", detail: "refused")) {
            try await scratch.manager(runner, masker: RecordingMasker(failure: "refused")).install(.package(name: "nginx", version: nil))
        }
    }

    @Test func installsRunOneAtATimeInOrder() async throws {
        let scratch = try PackageScratch()
        let world = AptWorld(available: ["a1": "1", "a2": "1", "a3": "1", "a4": "1"])
        let runner = FakeRunner { command throws(CommandError) in
            try? await Task.sleep(for: .milliseconds(5))
            return world.handle(command)
        }
        let manager = scratch.manager(runner)
        try await withThrowingTaskGroup(of: InstalledPackage.self) { group in
            for name in ["a1", "a2", "a3", "a4"] {
                group.addTask { try await manager.install(.package(name: name, version: nil)) }
            }
            for try await installed in group { #expect(installed.version == "1") }
        }
        #expect(runner.running.withLock { $0.most } == 1)
        #expect(runner.lines.filter { $0.hasPrefix("apt-get install") }.count == 4)
    }
}
