import SystemdTestSupport
import Testing

@testable import SystemkRuntime

/// The fields `states(of:)` promises, as one comparable value.
private func stateFields(_ p: UnitProperties?) -> [String] {
    guard let p else { return ["missing"] }
    return [
        "\(p.activeState)", p.subState, p.loadState, p.result, "\(p.restarts)", "\(p.mainPID)", "\(p.mainExitCode)",
        "\(p.mainExitStatus)", "\(p.mainStartTimestamp)", "\(p.mainExitTimestamp)", p.invocationID, p.fragmentPath,
    ]
}

/// The cache's rules, without systemd.
@Suite struct UnitStateCacheRuleTests {
    let unit = "a.service"

    @Test func signalsUpdateOnlyUnitsReadBefore() {
        let cache = UnitStateCache()
        cache.apply(UnitPropertiesChange(unit: unit, interface: SystemdBus.unitInterface, changed: ["ActiveState": .string("active")], invalidated: []))
        #expect(cache.entry(unit) == nil)

        cache.store(unit, all: ["ActiveState": .string("activating"), "SubState": .string("start"), "MemoryCurrent": .uint64(5)])
        // Only the kept keys: memory is not signalled, so it is not kept either.
        #expect(cache.entry(unit) == ["ActiveState": .string("activating"), "SubState": .string("start")])

        cache.apply(UnitPropertiesChange(
            unit: unit, interface: SystemdBus.unitInterface,
            changed: ["ActiveState": .string("active"), "SubState": .string("running"), "Description": .string("x")], invalidated: []))
        #expect(cache.entry(unit) == ["ActiveState": .string("active"), "SubState": .string("running")])
        #expect(cache.statistics == (hits: 2, reads: 1))
    }

    @Test func invalidationRemovalReloadAndDisconnectForgetUnits() {
        let cache = UnitStateCache()
        cache.store(unit, all: ["ActiveState": .string("active")])
        cache.apply(UnitPropertiesChange(unit: unit, interface: SystemdBus.unitInterface, changed: [:], invalidated: ["Description"]))
        #expect(cache.entry(unit) != nil, "a property not kept does not matter")
        cache.apply(UnitPropertiesChange(unit: unit, interface: SystemdBus.serviceInterface, changed: [:], invalidated: ["NRestarts"]))
        #expect(cache.entry(unit) == nil)

        cache.store(unit, all: ["ActiveState": .string("active")])
        cache.remove(unit)
        #expect(cache.entry(unit) == nil)

        cache.store(unit, all: ["ActiveState": .string("active")])
        cache.clear()
        #expect(cache.entry(unit) == nil)

        cache.stopTracking()
        cache.store(unit, all: ["ActiveState": .string("active")])
        #expect(cache.entry(unit) == nil, "with no signals coming, nothing may be answered from the cache")
    }
}

/// `states(of:)` against a real systemd: what systemd's signals left in the cache equals what a fresh
/// `GetAll` reads, through a run, a crash loop with restarts, a stop and a reload.
@Suite(.enabled(if: NamespacedSystemd.isAvailable, "needs root and a namespaced systemd"))
struct UnitStateCacheTests {
    @Test func statesFollowSignalsAndMatchFreshReads() async throws {
        try await NamespacedSystemd.with { systemd in
            let manager = try await systemd.connectManager()
            let running = "rt-cache-run.service"
            let crashing = "rt-cache-crash.service"
            let names: Set = [running, crashing]
            try await manager.install([
                serviceUnit(running, "exec sleep infinity"),
                serviceUnit(crashing, "sleep 0.2; exit 3", extra: "Restart=on-failure\nRestartSec=100ms\nStartLimitBurst=3\nStartLimitIntervalSec=60"),
            ])
            try await manager.daemonReload()

            func expectFresh(_ comment: Comment) async throws {
                let states = await manager.states(of: names)
                for name in names {
                    let cached = stateFields(states[name])
                    let fresh = stateFields(try await manager.properties(of: name))
                    #expect(cached == fresh, "\(comment): \(name)")
                }
            }

            let before = await manager.states(of: names)
            #expect(before[running]?.activeState == .inactive)
            #expect(manager.bus.unitStateStatistics.read == 2)

            let changes = await StreamRecorder.recording(try await manager.stateChanges())
            try await manager.start([running])
            try? await manager.start([crashing])
            try await changes.wait(for: "running") { seen in seen.contains { $0.unit == running && $0.subState == "running" } }
            // Followed from here on (inactive units may have been dropped from systemd's memory and read again).
            _ = await manager.states(of: names)
            let read = manager.bus.unitStateStatistics.read
            let cachedBefore = manager.bus.unitStateStatistics.fromSignals
            try await changes.wait(for: "the crash loop ended") { seen in
                // Three runs; after the third, the restart hits the start limit and the unit stays failed.
                let crash = seen.filter { $0.unit == crashing }
                guard Set(crash.compactMap(\.invocationID)).count == 3,
                    let restart = crash.lastIndex(where: { $0.subState == "auto-restart" })
                else { return false }
                let after = crash[restart...]
                return after.contains { $0.activeState == .failed } && !after.contains { $0.activeState == .active }
            }
            try await expectFresh("after a run and a crash loop")
            #expect(manager.bus.unitStateStatistics.read == read, "answered from the signals, not read again")
            #expect(manager.bus.unitStateStatistics.fromSignals == cachedBefore + 2)
            let crashed = try #require(await manager.states(of: [crashing])[crashing])
            #expect(crashed.restarts == 3, "systemd 252 counts the restart the start limit refused, too")
            #expect(crashed.mainExitStatus == 3)

            try await manager.stop([running])
            try await changes.wait(for: "stopped") { seen in
                seen.contains { $0.unit == running && $0.activeState == .inactive }
            }
            // systemd may drop the stopped unit from memory at any moment (its `UnitRemoved` then drops it
            // from the cache too), and a fresh read loads it anew, with no run recorded: only the state is
            // the same either way.
            let stopped = await manager.states(of: [running])[running]
            #expect(stopped?.activeState == .inactive)
            #expect(stopped?.subState == "dead")
            #expect(stopped?.loadState == "loaded")

            try await manager.daemonReload()
            _ = await manager.states(of: names)
            #expect(manager.bus.unitStateStatistics.read > read, "a reload makes every unit read again")
            try await expectFresh("after a reload")
            await manager.bus.close()
        }
    }
}
