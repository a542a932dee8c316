import SystemdTestSupport
import Foundation
import SystemkRuntime
import Testing

/// The bus itself against a real systemd: both kinds of connection, signals, errors, closing.
@Suite(.enabled(if: NamespacedSystemd.isAvailable, "needs root and a namespaced systemd"))
struct SystemdBusTests {
    @Test func throughTheMessageBusJobsAndUnitSignalsArrive() async throws {
        try await NamespacedSystemd.with { systemd in
            // Through dbus-daemon: messages need a destination, signals are matched by sender.
            let bus = try await SystemdBus.connect(
                to: .address("unix:path=" + systemd.systemBusSocket, isMessageBus: true))
            let name = "rt-bus.service"
            try systemd.writeUnit(name, serviceUnit(name, "exec sleep infinity").contents)
            _ = try await bus.call(.manager("Reload"))

            let removals = await StreamRecorder.recording(try await bus.jobRemovals())
            let lifecycle = await StreamRecorder.recording(try await bus.unitLifecycleEvents())
            let changes = await StreamRecorder.recording(try await bus.unitPropertiesChanges())
            let result = try await bus.runJob(.manager("StartUnit", [.string(name), .string("replace")]), unit: name)
            #expect(result == .done)
            try await removals.wait(for: "JobRemoved of \(name)") { seen in
                seen.contains { $0.unit == name && $0.result == .done && $0.job.hasPrefix("/org/freedesktop/systemd1/job/") }
            }
            let path = try UnitName.objectPath(for: name)
            try await lifecycle.wait(for: "UnitNew of \(name)") { $0.contains(.added(unit: name, path: path)) }
            try await changes.wait(for: "\(name) active") { seen in
                seen.contains { $0.unit == name && $0.changed["ActiveState"]?.stringValue == "active" }
            }

            let properties = try await bus.allProperties(path: path, interface: SystemdBus.unitInterface, unit: name)
            #expect(properties["ActiveState"]?.stringValue == "active")
            #expect(properties["Id"]?.stringValue == name)

            await bus.close()
            #expect(await bus.isConnected == false)
            try await removals.waitUntilFinished()
            try await lifecycle.waitUntilFinished()
            try await changes.waitUntilFinished()
            await #expect(throws: SystemdError.disconnected) { try await bus.call(.manager("ListUnits")) }
        }
    }

    @Test func errorsCarryTheirDBusNameAndUnit() async throws {
        try await NamespacedSystemd.with { systemd in
            let bus = try await systemd.connectBus()
            await #expect(throws: SystemdError.callFailed(
                method: "org.freedesktop.systemd1.Manager.NoSuchMethod", unit: nil,
                name: "org.freedesktop.DBus.Error.UnknownMethod",
                message: "Unknown method NoSuchMethod or interface org.freedesktop.systemd1.Manager.")
            ) { try await bus.call(.manager("NoSuchMethod")) }

            let error = await #expect(throws: SystemdError.self) {
                try await bus.call(.manager("GetUnit", [.string("rt-absent.service")]), unit: "rt-absent.service")
            }
            #expect(error?.busErrorName == "org.freedesktop.systemd1.NoSuchUnit")
            #expect(error?.description.contains("rt-absent.service") == true)
            // Wrong argument types are refused by systemd, not sent as garbage.
            let wrongType = await #expect(throws: SystemdError.self) {
                try await bus.call(.manager("GetUnit", [.uint32(1)]))
            }
            #expect(wrongType?.busErrorName == "org.freedesktop.DBus.Error.InvalidArgs")
            await bus.close()
        }
    }

    @Test func manyUnitsStartWithBoundedJobsInFlight() async throws {
        try await NamespacedSystemd.with { systemd in
            let bus = try await systemd.connectBus()
            let manager = BusSystemdManager(bus: bus, unitDirectory: systemd.unitDirectory, maxJobsInFlight: 16)
            let names = (0..<150).map { "rt-many-\($0).service" }
            try await manager.install(names.map { serviceUnit($0, "exec sleep infinity") })
            try await manager.daemonReload()
            let removals = await StreamRecorder.recording(try await bus.jobRemovals())
            // Some twice: systemd merges a second start into the queued job and returns its path again.
            try await manager.start(names + names.prefix(10))
            let listed = try await manager.listUnits(matching: "rt-many-*.service")
            #expect(listed.count == 150)
            #expect(listed.allSatisfy { $0.activeState == .active && $0.subState == "running" })
            try await removals.wait(for: "150 start jobs") { Set($0.map(\.unit)).isSuperset(of: names) }
            try await manager.stop(names)
            #expect(try await manager.listUnits(matching: "rt-many-*.service").allSatisfy { $0.activeState != .active })
            await bus.close()
        }
    }

    @Test func closingEndsCallsInFlightAndStreams() async throws {
        try await NamespacedSystemd.with { systemd in
            let bus = try await systemd.connectBus()
            let changes = await StreamRecorder.recording(try await bus.unitPropertiesChanges())
            // Queued before the close; each either got its reply in time or fails as disconnected: none hangs.
            let calls = (0..<20).map { _ in
                Task { () -> Result<[BusValue], SystemdError> in
                    do throws(SystemdError) {
                        return .success(try await bus.call(.manager("Reload")))
                    } catch {
                        return .failure(error)
                    }
                }
            }
            await bus.close()
            for call in calls {
                if case .failure(let error) = await call.value { #expect(error == .disconnected) }
            }
            try await changes.waitUntilFinished()
            await #expect(throws: SystemdError.disconnected) { try await bus.unitPropertiesChanges() }
            // A closed bus can be closed again.
            await bus.close()
        }
    }

    @Test func losingSystemdFailsWaitingJobsAndEndsStreams() async throws {
        try await NamespacedSystemd.with { systemd in
            let manager = try await systemd.connectManager()
            let name = "rt-hang.service"
            try await manager.install([serviceUnit(name, "exec sleep infinity", extra: "Type=oneshot")])
            try await manager.daemonReload()
            let changes = await StreamRecorder.recording(try await manager.stateChanges())
            // A oneshot that never finishes: its start job stays queued.
            let start = Task { () -> SystemdError? in
                do throws(SystemdError) {
                    try await manager.start([name])
                    return nil
                } catch {
                    return error
                }
            }
            try await changes.wait(for: "\(name) activating") { seen in
                seen.contains { $0.unit == name && $0.activeState == .activating }
            }
            systemd.shutdown()
            #expect(await start.value == .jobsFailed([JobFailure(unit: name, result: nil, error: .disconnected)]))
            try await changes.waitUntilFinished()
            #expect(await manager.bus.isConnected == false)
        }
    }
}
