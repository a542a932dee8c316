#if canImport(Glibc)
    import Glibc
#endif

/// What went wrong talking to systemd or reading its journal.
public enum SystemdError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The bus connection could not be opened (`endpoint` as `BusEndpoint.description` shows it).
    case connectionFailed(endpoint: String, errno: Int32)
    /// The connection is closed: by `close()`, or because the other side went away.
    case disconnected
    /// systemd (or the bus) answered a method call with a D-Bus error, such as
    /// `org.freedesktop.systemd1.NoSuchUnit`.
    case callFailed(method: String, unit: String?, name: String, message: String)
    /// A local sd-bus, sd-journal or sd-daemon operation failed with an errno.
    case operationFailed(operation: String, unit: String?, errno: Int32)
    /// A reply or signal did not have the shape the caller expected.
    case unexpectedReply(method: String, detail: String)
    /// Jobs that did not end with `done`, one entry per unit.
    case jobsFailed([JobFailure])
    /// A unit name that systemd would not accept, or that would leave the unit directory.
    case invalidUnitName(String)
    /// Writing, renaming or removing a unit file failed.
    case fileOperationFailed(operation: String, path: String, errno: Int32)

    /// The D-Bus error name of a failed call (`org.freedesktop.systemd1.NoSuchUnit` ...), if any.
    public var busErrorName: String? {
        if case .callFailed(_, _, let name, _) = self { return name }
        return nil
    }

    public var description: String {
        switch self {
        case .connectionFailed(let endpoint, let code):
            return "cannot connect to systemd at \(endpoint): \(Self.describe(errno: code))"
        case .disconnected:
            return "the connection to systemd is closed"
        case .callFailed(let method, let unit, let name, let message):
            let subject = unit.map { " for \($0)" } ?? ""
            return "\(method)\(subject) failed: \(message.isEmpty ? name : message) (\(name))"
        case .operationFailed(let operation, let unit, let code):
            let subject = unit.map { " for \($0)" } ?? ""
            return "\(operation)\(subject) failed: \(Self.describe(errno: code))"
        case .unexpectedReply(let method, let detail):
            return "unexpected reply to \(method): \(detail)"
        case .jobsFailed(let failures):
            return "\(failures.count) job(s) failed: "
                + failures.map(\.description).joined(separator: "; ")
        case .invalidUnitName(let name):
            return "invalid unit name \"\(name)\""
        case .fileOperationFailed(let operation, let path, let code):
            return "cannot \(operation) \(path): \(Self.describe(errno: code))"
        }
    }

    static func describe(errno code: Int32) -> String {
        String(cString: strerror(code)) + " (errno \(code))"
    }
}

/// One unit whose job did not end with `done`, or whose job could not be queued at all.
public struct JobFailure: Sendable, Equatable, CustomStringConvertible {
    /// The unit the job was for.
    public var unit: String
    /// The job's result as systemd reported it in `JobRemoved`; nil when the job was never queued.
    public var result: JobResult?
    /// Why the job could not be queued (for example `NoSuchUnit`, `UnitMasked`); nil when it ran.
    public var error: SystemdError?

    public init(unit: String, result: JobResult?, error: SystemdError?) {
        self.unit = unit
        self.result = result
        self.error = error
    }

    public var description: String {
        if let error { return "\(unit): \(error)" }
        return "\(unit): job \(result?.rawValue ?? "unknown")"
    }
}

/// How a systemd job ended, as the `result` of the `JobRemoved` signal.
public struct JobResult: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    /// The job ran to completion.
    public static let done = JobResult(rawValue: "done")
    /// The job was canceled, often because a later job replaced it.
    public static let canceled = JobResult(rawValue: "canceled")
    public static let timeout = JobResult(rawValue: "timeout")
    /// The unit failed (for example a oneshot service exited non-zero).
    public static let failed = JobResult(rawValue: "failed")
    /// A unit this one requires failed.
    public static let dependency = JobResult(rawValue: "dependency")
    /// Nothing had to be done (for example a condition was not met).
    public static let skipped = JobResult(rawValue: "skipped")

    public var description: String { rawValue }
}
