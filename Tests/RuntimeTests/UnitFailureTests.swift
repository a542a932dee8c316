import SystemdTestSupport
import Foundation
import SystemkRuntime
import Testing

/// How failing units look through the manager: exit codes, restarts, failed jobs, typed errors.
@Suite(.enabled(if: NamespacedSystemd.isAvailable, "needs root and a namespaced systemd"))
struct UnitFailureTests {
    @Test func unitExitingWithThreeShowsExitCodeResultAndStatus() async throws {
        try await NamespacedSystemd.with { systemd in
            let manager = try await systemd.connectManager()
            let name = "rt-exit3.service"
            try await manager.install([serviceUnit(name, "sleep 0.2; exit 3")])
            try await manager.daemonReload()
            let changes = await StreamRecorder.recording(try await manager.stateChanges())
            try await manager.start([name])
            try await changes.wait(for: "\(name) failed") { seen in
                seen.contains { $0.unit == name && $0.activeState == .failed }
            }
            let properties = try await manager.properties(of: name)
            #expect(properties.activeState == .failed)
            #expect(properties.result == "exit-code")
            #expect(properties.mainExitCode == 1)  // CLD_EXITED
            #expect(properties.mainExitStatus == 3)
            #expect(properties.mainExitTimestamp >= properties.mainStartTimestamp)
            #expect(properties.mainStartTimestamp > 0)
            #expect(properties.mainPID > 0)  // ExecMainPID keeps the last run's PID
            // The Service interface announces the result too.
            let seen = await changes.elements
            #expect(seen.contains { $0.unit == name && $0.result == "exit-code" })

            try await manager.resetFailed([name])
            #expect(try await manager.properties(of: name).activeState == .inactive)
            await manager.bus.close()
        }
    }

    @Test func restartAlwaysUnitCountsItsRestarts() async throws {
        try await NamespacedSystemd.with { systemd in
            let manager = try await systemd.connectManager()
            let name = "rt-crashloop.service"
            try await manager.install([
                serviceUnit(
                    name, "sleep 0.1; exit 1",
                    extra: "Restart=always\nRestartSec=100ms\n[Unit]\nStartLimitIntervalSec=0")
            ])
            try await manager.daemonReload()
            let changes = await StreamRecorder.recording(try await manager.stateChanges())
            try await manager.start([name])
            // Each crash passes through "auto-restart" (systemd may repeat a state in several signals, so
            // count entries into it); after the third, at least two restarts happened.
            try await changes.wait(for: "three crashes") { seen in
                let states = seen.filter { $0.unit == name }.compactMap(\.subState)
                return zip(states, states.dropFirst()).filter { $0 != "auto-restart" && $1 == "auto-restart" }.count >= 3
            }
            #expect(try await manager.properties(of: name).restarts >= 2)
            try await manager.stop([name])
            #expect(try await manager.properties(of: name).activeState != .active)
            await manager.bus.close()
        }
    }

    @Test func failedJobsAndUnknownUnitsAreReportedPerUnit() async throws {
        try await NamespacedSystemd.with { systemd in
            let manager = try await systemd.connectManager()
            try await manager.install([
                serviceUnit("rt-oneshot-fails.service", "exit 7", extra: "Type=oneshot"),
                serviceUnit("rt-oneshot-ok.service", "true", extra: "Type=oneshot"),
            ])
            try await manager.daemonReload()
            let error = await #expect(throws: SystemdError.self) {
                try await manager.start(["rt-oneshot-ok.service", "rt-oneshot-fails.service", "rt-missing.service"])
            }
            guard case .jobsFailed(let failures)? = error else {
                Issue.record("expected jobsFailed, got \(String(describing: error))")
                return
            }
            #expect(failures.map(\.unit) == ["rt-oneshot-fails.service", "rt-missing.service"])
            #expect(failures[0].result == .failed)
            #expect(failures[1].error?.busErrorName == "org.freedesktop.systemd1.NoSuchUnit")
            #expect(String(describing: error!).contains("rt-missing.service"))
            #expect(try await manager.properties(of: "rt-oneshot-ok.service").result == "success")
            // Stopping what is not loaded is not an error.
            try await manager.stop(["rt-missing.service"])
            await manager.bus.close()
        }
    }
}
