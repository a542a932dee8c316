/// One journal entry, with the fields the runtime uses.
public struct JournalEntry: Sendable, Hashable {
    /// Where the entry is: pass it to `JournalPosition.after(cursor:)` to continue behind it.
    public var cursor: String
    /// When journald received it, µs since the epoch (`__REALTIME_TIMESTAMP`).
    public var realtimeMicroseconds: UInt64
    /// `MESSAGE`, byte for byte: programs may log any bytes, not only UTF-8.
    public var message: [UInt8]
    /// `_SYSTEMD_UNIT`, if the entry came from a unit.
    public var unit: String?
    /// `_SYSTEMD_INVOCATION_ID` (32 hex digits): which run of the unit wrote it.
    public var invocationID: String?
    /// `PRIORITY` (0 emerg ... 7 debug), if set.
    public var priority: Int?
    /// `_PID`, if set.
    public var pid: Int32?

    public init(
        cursor: String, realtimeMicroseconds: UInt64, message: [UInt8], unit: String? = nil,
        invocationID: String? = nil, priority: Int? = nil, pid: Int32? = nil
    ) {
        self.cursor = cursor
        self.realtimeMicroseconds = realtimeMicroseconds
        self.message = message
        self.unit = unit
        self.invocationID = invocationID
        self.priority = priority
        self.pid = pid
    }

    /// `message` as text, with invalid UTF-8 replaced.
    public var text: String { String(decoding: message, as: UTF8.self) }
}

/// Which entries to read: all fields given must match (`_SYSTEMD_UNIT=` and `_SYSTEMD_INVOCATION_ID=`).
public struct JournalFilter: Sendable, Hashable {
    /// Entries written by this unit's processes.
    public var unit: String?
    /// Entries written by the processes of this unit of a user manager (`_SYSTEMD_USER_UNIT`).
    public var userUnit: String?
    /// Entries of one run of the unit (its `InvocationID`, as hex).
    public var invocationID: String?

    public init(unit: String? = nil, userUnit: String? = nil, invocationID: String? = nil) {
        self.unit = unit
        self.userUnit = userUnit
        self.invocationID = invocationID
    }

    /// The `FIELD=value` matches to add.
    var matches: [String] {
        var result: [String] = []
        if let unit { result.append("_SYSTEMD_UNIT=" + unit) }
        if let userUnit { result.append("_SYSTEMD_USER_UNIT=" + userUnit) }
        if let invocationID { result.append("_SYSTEMD_INVOCATION_ID=" + invocationID) }
        return result
    }
}

/// Where reading starts.
public enum JournalPosition: Sendable, Hashable {
    /// The oldest matching entry.
    case head
    /// The last `lines` matching entries (0: none, only what comes later when following).
    case tail(lines: Int)
    /// Entries received at or after this time, µs since the epoch.
    case since(realtimeMicroseconds: UInt64)
    /// Entries after the one with this cursor.
    case after(cursor: String)
}
