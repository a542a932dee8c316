import CSystemd

/// One signal as received: who sent it and its arguments.
public struct BusSignal: Sendable, Hashable {
    public var path: String
    public var interface: String
    public var member: String
    public var arguments: [BusValue]

    public init(path: String, interface: String, member: String, arguments: [BusValue]) {
        self.path = path
        self.interface = interface
        self.member = member
        self.arguments = arguments
    }

    /// Reads a received signal message (on the bus thread).
    init?(message: OpaquePointer) {
        guard let path = sd_bus_message_get_path(message), let interface = sd_bus_message_get_interface(message),
            let member = sd_bus_message_get_member(message)
        else { return nil }
        self.path = String(cString: path)
        self.interface = String(cString: interface)
        self.member = String(cString: member)
        guard let arguments = try? BusMessageCoding.readAll(from: message, context: "signal \(self.member)") else {
            return nil
        }
        self.arguments = arguments
    }
}

/// `PropertiesChanged` of one unit object.
public struct UnitPropertiesChange: Sendable, Hashable {
    /// The unit's name, decoded from its object path.
    public var unit: String
    /// The interface whose properties changed (`org.freedesktop.systemd1.Unit`, `...Service` ...).
    public var interface: String
    /// The properties that changed, with their new values.
    public var changed: [String: BusValue]
    /// Properties that changed without their new value being sent.
    public var invalidated: [String]

    public init(unit: String, interface: String, changed: [String: BusValue], invalidated: [String]) {
        self.unit = unit
        self.interface = interface
        self.changed = changed
        self.invalidated = invalidated
    }

    /// Reads `PropertiesChanged(s interface, a{sv} changed, as invalidated)` of a unit object.
    public init?(signal: BusSignal) {
        guard signal.member == "PropertiesChanged", signal.arguments.count == 3,
            let unit = UnitName.name(fromObjectPath: signal.path),
            let interface = signal.arguments[0].stringValue,
            let changed = signal.arguments[1].stringKeyedEntries,
            let invalidated = signal.arguments[2].arrayElements
        else { return nil }
        self.init(
            unit: unit, interface: interface, changed: changed, invalidated: invalidated.compactMap(\.stringValue))
    }
}

/// `JobRemoved(u id, o job, s unit, s result)`: a job finished.
public struct JobRemoval: Sendable, Hashable {
    public var id: UInt32
    /// The job's object path, as the call that queued it returned.
    public var job: String
    public var unit: String
    public var result: JobResult

    public init(id: UInt32, job: String, unit: String, result: JobResult) {
        self.id = id
        self.job = job
        self.unit = unit
        self.result = result
    }

    public init?(signal: BusSignal) {
        guard signal.member == "JobRemoved", signal.arguments.count == 4,
            case .uint32(let id) = signal.arguments[0], let job = signal.arguments[1].stringValue,
            let unit = signal.arguments[2].stringValue, let result = signal.arguments[3].stringValue
        else { return nil }
        self.init(id: id, job: job, unit: unit, result: JobResult(rawValue: result))
    }
}

/// `UnitNew` / `UnitRemoved(s unit, o path)`: a unit was loaded into or dropped from systemd's memory.
public enum UnitLifecycleEvent: Sendable, Hashable {
    case added(unit: String, path: String)
    case removed(unit: String, path: String)

    public init?(signal: BusSignal) {
        guard signal.arguments.count == 2, let unit = signal.arguments[0].stringValue,
            let path = signal.arguments[1].stringValue
        else { return nil }
        switch signal.member {
        case "UnitNew": self = .added(unit: unit, path: path)
        case "UnitRemoved": self = .removed(unit: unit, path: path)
        default: return nil
        }
    }
}
