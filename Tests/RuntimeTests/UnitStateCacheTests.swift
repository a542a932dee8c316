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

/// A whole read of `unit` delivering `values` (a `Get` reply per key).
@discardableResult
private func read(_ cache: UnitStateCache, _ unit: String, _ values: [String: BusValue]) -> [String: BusValue]? {
    let id = cache.beginRead(unit, count: values.count)
    var done: Result<[String: BusValue], SystemdError>?
    for (key, value) in values.sorted(by: { $0.key < $1.key }) { done = cache.deliver(id, property: key, .success(value)) }
    return try? done?.get()
}

private func change(_ unit: String, _ changed: [String: BusValue], invalidated: [String] = [], interface: String = SystemdBus.unitInterface)
    -> UnitPropertiesChange
{
    UnitPropertiesChange(unit: unit, interface: interface, changed: changed, invalidated: invalidated)
}

/// The cache's rules, without systemd.
@Suite struct UnitStateCacheRuleTests {
    let unit = "a.service"

    @Test func readsGetEachKeptPropertyOnItsInterface() {
        let service = UnitStateCache.reads(for: "a.service")
        #expect(Set(service.map(\.property)) == UnitStateCache.keys)
        #expect(service.count == UnitStateCache.keys.count)
        #expect(service.first { $0.property == "ActiveState" }?.interface == SystemdBus.unitInterface)
        #expect(service.first { $0.property == "NRestarts" }?.interface == SystemdBus.serviceInterface)
        let target = UnitStateCache.reads(for: "a.target")
        #expect(target.allSatisfy { $0.interface == SystemdBus.unitInterface }, "no Service interface to ask")
        #expect(Set(target.map(\.property)) == Set(UnitStateCache.unitKeys))
    }

    @Test func signalsUpdateOnlyUnitsReadBefore() {
        let cache = UnitStateCache()
        cache.apply(change(unit, ["ActiveState": .string("active")]))
        #expect(cache.entry(unit) == nil)

        #expect(read(cache, unit, ["ActiveState": .string("activating"), "SubState": .string("start")]) != nil)
        #expect(cache.entry(unit) == ["ActiveState": .string("activating"), "SubState": .string("start")])

        cache.apply(change(unit, ["ActiveState": .string("active"), "SubState": .string("running"), "Description": .string("x")]))
        // Only the kept keys: the description is not kept.
        #expect(cache.entry(unit) == ["ActiveState": .string("active"), "SubState": .string("running")])
        #expect(cache.statistics == (hits: 2, reads: 1))
    }

    @Test func repliesAndSignalsMergeInTheOrderTheyArrive() throws {
        let cache = UnitStateCache()
        let id = cache.beginRead(unit, count: 3)
        #expect(cache.deliver(id, property: "ActiveState", .success(.string("inactive"))) == nil)
        #expect(cache.entry(unit) == nil, "nothing is answered from a read in progress")
        // The unit started between two replies: the signal is newer than the first reply, older than the rest.
        cache.apply(change(unit, ["ActiveState": .string("active"), "SubState": .string("running")]))
        cache.apply(change(unit, ["NRestarts": .uint32(0)], interface: SystemdBus.serviceInterface))
        #expect(cache.deliver(id, property: "SubState", .success(.string("running"))) == nil)
        let done = cache.deliver(id, property: "NRestarts", .success(.uint32(1)))
        let expected: [String: BusValue] = ["ActiveState": .string("active"), "SubState": .string("running"), "NRestarts": .uint32(1)]
        #expect(try done?.get() == expected)
        #expect(cache.entry(unit) == expected)
        #expect(cache.deliver(id, property: "NRestarts", .success(.uint32(2))) == nil, "a finished read takes no more replies")
        #expect(cache.entry(unit) == expected)
    }

    @Test func twoReadsOfOneUnitBothFollowItsSignals() throws {
        let cache = UnitStateCache()
        let first = cache.beginRead(unit, count: 1)
        let second = cache.beginRead(unit, count: 1)
        #expect(try cache.deliver(first, property: "ActiveState", .success(.string("activating")))?.get() == ["ActiveState": .string("activating")])
        cache.apply(change(unit, ["ActiveState": .string("active")]))
        // The second reply was sent after the signal: it wins.
        #expect(try cache.deliver(second, property: "ActiveState", .success(.string("deactivating")))?.get() == ["ActiveState": .string("deactivating")])
        #expect(cache.entry(unit) == ["ActiveState": .string("deactivating")])
    }

    @Test func whatHappensDuringAReadKeepsItsValuesOutOfTheCache() throws {
        let cache = UnitStateCache()
        let events: [(String, (UnitStateCache) -> Void)] = [
            ("a reload", { $0.clear() }),
            ("the unit dropped from memory", { [unit] in $0.remove(unit) }),
            ("a kept property invalidated", { [unit] in $0.apply(change(unit, [:], invalidated: ["SubState"])) }),
        ]
        for (what, event) in events {
            let id = cache.beginRead(unit, count: 2)
            _ = cache.deliver(id, property: "ActiveState", .success(.string("active")))
            event(cache)
            let done = cache.deliver(id, property: "SubState", .success(.string("running")))
            #expect(try done?.get() == ["ActiveState": .string("active"), "SubState": .string("running")], "the caller gets them: \(what)")
            #expect(cache.entry(unit) == nil, "not kept after \(what)")
        }
        // A property that is not kept does not matter.
        let id = cache.beginRead(unit, count: 1)
        cache.apply(change(unit, [:], invalidated: ["Description"]))
        _ = cache.deliver(id, property: "ActiveState", .success(.string("active")))
        #expect(cache.entry(unit) == ["ActiveState": .string("active")])
    }

    @Test func aFailedGetFailsTheReadAndKeepsNothing() {
        let cache = UnitStateCache()
        let id = cache.beginRead(unit, count: 3)
        _ = cache.deliver(id, property: "ActiveState", .success(.string("active")))
        #expect(cache.deliver(id, property: "SubState", .failure(.disconnected)) == nil, "waits for every reply")
        let done = cache.deliver(id, property: "LoadState", .failure(.unexpectedReply(method: "Get", detail: "x")))
        #expect(done == .failure(.disconnected), "the first error")
        #expect(cache.entry(unit) == nil)
        #expect(cache.statistics.reads == 0)
    }

    @Test func invalidationRemovalReloadAndDisconnectForgetUnits() {
        let cache = UnitStateCache()
        read(cache, unit, ["ActiveState": .string("active")])
        cache.apply(change(unit, [:], invalidated: ["Description"]))
        #expect(cache.entry(unit) != nil, "a property not kept does not matter")
        cache.apply(change(unit, [:], invalidated: ["NRestarts"], interface: SystemdBus.serviceInterface))
        #expect(cache.entry(unit) == nil)

        read(cache, unit, ["ActiveState": .string("active")])
        cache.remove(unit)
        #expect(cache.entry(unit) == nil)

        read(cache, unit, ["ActiveState": .string("active")])
        cache.clear()
        #expect(cache.entry(unit) == nil)

        cache.stopTracking()
        #expect(read(cache, unit, ["ActiveState": .string("active")]) == ["ActiveState": .string("active")])
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
