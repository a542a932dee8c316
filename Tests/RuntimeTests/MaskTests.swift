import SystemdTestSupport
import Foundation
import SystemkRuntime
import Testing

/// Runtime masks keep a unit from starting until unmasked (or the next boot).
@Suite(.enabled(if: NamespacedSystemd.isAvailable, "needs root and a namespaced systemd"))
struct MaskTests {
    @Test func maskedUnitCannotStartUntilUnmasked() async throws {
        try await NamespacedSystemd.with { systemd in
            let manager = try await systemd.connectManager()
            // A vendor unit (in /lib/systemd/system), as systemk masks a package's own unit.
            let name = "systemd-hostnamed.service"
            try await manager.mask([name])
            try await manager.daemonReload()
            #expect(try await manager.properties(of: name).loadState == "masked")
            let link = try FileManager.default.destinationOfSymbolicLink(atPath: manager.unitDirectory + "/" + name)
            #expect(link == "/dev/null")
            let error = await #expect(throws: SystemdError.self) { try await manager.start([name]) }
            guard case .jobsFailed(let failures)? = error else {
                Issue.record("expected jobsFailed, got \(String(describing: error))")
                return
            }
            #expect(failures.first?.error?.busErrorName == "org.freedesktop.systemd1.UnitMasked")

            try await manager.unmask([name])
            try await manager.daemonReload()
            let properties = try await manager.properties(of: name)
            #expect(properties.loadState == "loaded")
            #expect(properties.fragmentPath == "/lib/systemd/system/" + name)
            #expect(!FileManager.default.fileExists(atPath: manager.unitDirectory + "/" + name))
            await manager.bus.close()
        }
    }

    @Test func invalidNamesNeverReachTheDisk() async throws {
        try await NamespacedSystemd.with { systemd in
            let manager = try await systemd.connectManager()
            for name in ["../escape.service", "a/b.service", "nosuffix", ".service", "x.service\u{0}"] {
                await #expect(throws: SystemdError.invalidUnitName(name)) {
                    try await manager.install([UnitFileContents(name: name, contents: "")])
                }
                await #expect(throws: SystemdError.invalidUnitName(name)) { try await manager.mask([name]) }
                await #expect(throws: SystemdError.invalidUnitName(name)) { try await manager.remove([name]) }
            }
            await manager.bus.close()
        }
    }
}
