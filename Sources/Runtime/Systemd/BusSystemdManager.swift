import Foundation

/// `SystemdManager` over one `SystemdBus` connection.
public struct BusSystemdManager: SystemdManager {
    /// Which systemd instance: the system manager or the calling user's.
    public enum Scope: Sendable, Hashable {
        case system
        case user
    }

    /// The connection all calls go through.
    public let bus: SystemdBus
    public let unitDirectory: String
    /// How many jobs (or calls) a batch keeps in flight at once. The message bus allows 128 calls in flight
    /// per connection, and systemd ran out of match slots with about 500 unfinished jobs; systemd's
    /// private socket has neither limit. A low bound also costs: a start job lasts as long as an init
    /// container runs, so slow init containers would hold back the start of every other pod.
    public let maxJobsInFlight: Int

    /// The bound for a connection: through a message bus, under its 128 calls; to systemd directly,
    /// high enough that a whole batch of pods is queued at once, as `systemctl start` does.
    public static func defaultMaxJobsInFlight(for endpoint: BusEndpoint) -> Int {
        endpoint.isMessageBus ? 100 : 4096
    }

    /// A manager over an open bus, installing unit files into `unitDirectory`.
    public init(bus: SystemdBus, unitDirectory: String, maxJobsInFlight: Int = 64) {
        self.bus = bus
        self.unitDirectory = unitDirectory
        self.maxJobsInFlight = max(1, maxJobsInFlight)
    }

    /// Connects to the system manager (by its private socket when root, else the system bus) or to the
    /// user's manager (by its private socket `$XDG_RUNTIME_DIR/systemd/private`, which needs no
    /// session bus, else the user bus), with the matching unit directory.
    public static func connect(scope: Scope = .system) async throws(SystemdError) -> BusSystemdManager {
        switch scope {
        case .system:
            let endpoint = BusEndpoint.preferredSystem
            let bus = try await SystemdBus.connect(to: endpoint)
            return BusSystemdManager(
                bus: bus, unitDirectory: "/run/systemd/system", maxJobsInFlight: defaultMaxJobsInFlight(for: endpoint))
        case .user:
            guard let runtime = ProcessInfo.processInfo.environment["XDG_RUNTIME_DIR"], runtime.hasPrefix("/") else {
                throw .connectionFailed(endpoint: BusEndpoint.user.description, errno: ENXIO)
            }
            let privateSocket = runtime + "/systemd/private"
            let endpoint: BusEndpoint =
                FileManager.default.fileExists(atPath: privateSocket) ? .systemdPrivateSocket(path: privateSocket) : .user
            let bus = try await SystemdBus.connect(to: endpoint)
            return BusSystemdManager(
                bus: bus, unitDirectory: runtime + "/systemd/user", maxJobsInFlight: defaultMaxJobsInFlight(for: endpoint))
        }
    }

    // MARK: Unit files

    public func install(_ units: [UnitFileContents]) async throws(SystemdError) {
        for unit in units { try UnitName.validate(unit.name) }
        try UnitFileStore.makeDirectory(unitDirectory)
        for unit in units {
            try UnitFileStore.writeAtomically(Array(unit.contents.utf8), name: unit.name, in: unitDirectory)
        }
    }

    public func remove(_ units: [String]) async throws(SystemdError) {
        for unit in units { try UnitName.validate(unit) }
        for unit in units { try UnitFileStore.remove(name: unit, in: unitDirectory) }
    }

    public func installedUnitFiles(prefix: String) async throws(SystemdError) -> [UnitFileContents] {
        try UnitFileStore.list(prefix: prefix, in: unitDirectory)
    }

    public func daemonReload() async throws(SystemdError) {
        // Reloading takes seconds with thousands of units: allow far more than sd-bus's default 25 s.
        _ = try await bus.call(.manager("Reload"), timeoutMicroseconds: 600_000_000)
    }

    public func mask(_ units: [String]) async throws(SystemdError) {
        guard !units.isEmpty else { return }
        for unit in units { try UnitName.validate(unit) }
        _ = try await bus.call(
            .manager("MaskUnitFiles", [.strings(units), .bool(true), .bool(false)]),
            unit: units.count == 1 ? units[0] : nil)
    }

    public func unmask(_ units: [String]) async throws(SystemdError) {
        guard !units.isEmpty else { return }
        for unit in units { try UnitName.validate(unit) }
        _ = try await bus.call(
            .manager("UnmaskUnitFiles", [.strings(units), .bool(true)]), unit: units.count == 1 ? units[0] : nil)
    }

    // MARK: Jobs

    public func start(_ units: [String]) async throws(SystemdError) {
        try await runJobs("StartUnit", units)
    }

    public func stop(_ units: [String]) async throws(SystemdError) {
        try await runJobs("StopUnit", units, ignoring: ["org.freedesktop.systemd1.NoSuchUnit"])
    }

    public func restart(_ units: [String]) async throws(SystemdError) {
        try await runJobs("RestartUnit", units)
    }

    public func kill(_ unit: String, signal: Int32) async throws(SystemdError) {
        _ = try await bus.call(.manager("KillUnit", [.string(unit), .string("all"), .int32(signal)]), unit: unit)
    }

    public func resetFailed(_ units: [String]) async throws(SystemdError) {
        let bus = self.bus
        let failures = await Self.concurrently(units, limit: maxJobsInFlight) { unit -> JobFailure? in
            do throws(SystemdError) {
                _ = try await bus.call(.manager("ResetFailedUnit", [.string(unit)]), unit: unit)
                return nil
            } catch where error.busErrorName == "org.freedesktop.systemd1.NoSuchUnit" {
                return nil
            } catch {
                return JobFailure(unit: unit, result: nil, error: error)
            }
        }
        if !failures.isEmpty { throw .jobsFailed(failures) }
    }

    /// Queues one job per unit with `method` (mode `replace`), at most `maxJobsInFlight` at a time, and
    /// waits for all of them. Call errors named in `ignoring` count as success.
    private func runJobs(_ method: String, _ units: [String], ignoring: Set<String> = []) async throws(SystemdError) {
        let bus = self.bus
        let failures = await Self.concurrently(units, limit: maxJobsInFlight) { unit -> JobFailure? in
            do throws(SystemdError) {
                let result = try await bus.runJob(
                    .manager(method, [.string(unit), .string("replace")]), unit: unit)
                return result == .done || result == .skipped ? nil : JobFailure(unit: unit, result: result, error: nil)
            } catch where error.busErrorName.map(ignoring.contains) == true {
                return nil
            } catch {
                return JobFailure(unit: unit, result: nil, error: error)
            }
        }
        if !failures.isEmpty { throw .jobsFailed(failures) }
    }

    /// Runs `body` for every unit with at most `limit` in flight; returns the non-nil results in unit order.
    static func concurrently<T: Sendable>(
        _ units: [String], limit: Int, _ body: @escaping @Sendable (String) async -> T?
    ) async -> [T] {
        await withTaskGroup(of: (Int, T?).self) { group in
            var results = [T?](repeating: nil, count: units.count)
            var next = 0
            while next < units.count && next < limit {
                let index = next
                group.addTask { (index, await body(units[index])) }
                next += 1
            }
            while let (index, result) = await group.next() {
                results[index] = result
                if next < units.count {
                    let index = next
                    group.addTask { (index, await body(units[index])) }
                    next += 1
                }
            }
            return results.compactMap { $0 }
        }
    }

    // MARK: State

    public func listUnits(matching pattern: String) async throws(SystemdError) -> [UnitStatus] {
        let reply = try await bus.call(.manager("ListUnitsByPatterns", [.strings([]), .strings([pattern])]))
        guard let rows = reply.first?.arrayElements else {
            throw .unexpectedReply(method: "ListUnitsByPatterns", detail: "expected a(ssssssouso), got \(reply)")
        }
        return try rows.map { row throws(SystemdError) in
            guard let fields = row.structureFields, fields.count == 10,
                let name = fields[0].stringValue, let description = fields[1].stringValue,
                let load = fields[2].stringValue, let active = fields[3].stringValue,
                let sub = fields[4].stringValue, let path = fields[6].stringValue
            else {
                throw .unexpectedReply(method: "ListUnitsByPatterns", detail: "unexpected row \(row)")
            }
            return UnitStatus(
                name: name, description: description, loadState: load, activeState: ActiveState(active),
                subState: sub, objectPath: path)
        }
    }

    /// One call: `GetAll` with an empty interface name on the unit's object path answers the properties of
    /// every interface (Unit and Service), as for `systemctl show`, and systemd loads the unit for it when
    /// needed (a status pass for 200 pods asks this for each unit, so 1 call instead of LoadUnit and two
    /// GetAll saves systemd two thirds of the work).
    public func properties(of unit: String) async throws(SystemdError) -> UnitProperties {
        let path = try UnitName.objectPath(for: unit)
        let all = try await bus.allProperties(path: path, interface: "", unit: unit)
        return UnitProperties(name: unit, all: all)
    }

    /// From systemd's signals (`SystemdBus.unitState(_:)`): only units not followed yet cost a call.
    public func states(of units: Set<String>) async -> [String: UnitProperties] {
        var out: [String: UnitProperties] = [:]
        var unknown: Set<String> = []
        for unit in units {
            if let state = bus.unitStates.entry(unit) { out[unit] = UnitProperties(name: unit, all: state) } else { unknown.insert(unit) }
        }
        guard !unknown.isEmpty else { return out }
        let bus = self.bus
        let read = await Self.concurrently(unknown) { unit in
            guard let state = try? await bus.unitState(unit) else { return nil }
            return UnitProperties(name: unit, all: state)
        }
        return out.merging(read) { a, _ in a }
    }

    public func stateChanges() async throws(SystemdError) -> AsyncStream<UnitStateChange> {
        let changes = try await bus.unitPropertiesChanges()
        let (stream, continuation) = AsyncStream.makeStream(of: UnitStateChange.self)
        let forward = Task {
            for await change in changes {
                if let state = UnitStateChange(change) { continuation.yield(state) }
            }
            continuation.finish()
        }
        continuation.onTermination = { _ in forward.cancel() }
        return stream
    }
}

extension UnitProperties {
    /// Reads the answer of `GetAll` with an empty interface name: the Unit's and (for services) the
    /// Service interface's properties in one dictionary.
    init(name: String, all: [String: BusValue]) {
        func string(_ key: String) -> String { all[key]?.stringValue ?? "" }
        func number(_ key: String) -> UInt64 { all[key]?.unsignedValue ?? 0 }
        /// systemd reports "unknown" as UINT64_MAX.
        func known(_ key: String) -> UInt64? {
            all[key]?.unsignedValue.flatMap { $0 == UInt64.max ? nil : $0 }
        }
        self.init(
            name: name,
            activeState: ActiveState(string("ActiveState")),
            subState: string("SubState"),
            loadState: string("LoadState"),
            result: string("Result"),
            restarts: UInt32(truncatingIfNeeded: number("NRestarts")),
            mainPID: UInt32(truncatingIfNeeded: number("ExecMainPID")),
            mainExitCode: Int32(truncatingIfNeeded: all["ExecMainCode"]?.signedValue ?? 0),
            mainExitStatus: Int32(truncatingIfNeeded: all["ExecMainStatus"]?.signedValue ?? 0),
            mainStartTimestamp: number("ExecMainStartTimestamp"),
            mainExitTimestamp: number("ExecMainExitTimestamp"),
            invocationID: hexString(all["InvocationID"]?.byteArray ?? []),
            memoryCurrent: known("MemoryCurrent"),
            cpuUsageNanoseconds: known("CPUUsageNSec"),
            fragmentPath: string("FragmentPath"), controlGroup: string("ControlGroup"))
    }
}

extension UnitStateChange {
    /// The state-related part of a `PropertiesChanged`, or nil when it carried none.
    init?(_ change: UnitPropertiesChange) {
        let values = change.changed
        switch change.interface {
        case SystemdBus.unitInterface:
            let invocation = values["InvocationID"]?.byteArray.map(hexString)
            self.init(
                unit: change.unit, activeState: values["ActiveState"]?.stringValue.map(ActiveState.init),
                subState: values["SubState"]?.stringValue, loadState: values["LoadState"]?.stringValue,
                invocationID: invocation?.isEmpty == true ? nil : invocation)
        case SystemdBus.serviceInterface:
            self.init(unit: change.unit, result: values["Result"]?.stringValue)
        default:
            return nil
        }
        if activeState == nil && subState == nil && loadState == nil && result == nil && invocationID == nil {
            return nil
        }
    }
}

/// Lower-case hex of bytes (an `InvocationID`), as systemd prints it.
func hexString(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var text = [UInt8]()
    text.reserveCapacity(bytes.count * 2)
    for byte in bytes {
        text.append(digits[Int(byte >> 4)])
        text.append(digits[Int(byte & 0x0f)])
    }
    return String(decoding: text, as: UTF8.self)
}
