import Foundation

/// The host's capacity, for `resourceFieldRef` of containers without limits (and, live, the Node's
/// capacity and allocatable).
public enum HostResources {
    /// Online CPUs × 1000.
    public static func milliCPU() -> Int64 {
        Int64(onlineCPUs()) * 1000
    }

    /// The number of online CPUs (at least 1).
    public static func onlineCPUs() -> Int {
        max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))
    }

    /// `MemTotal` from /proc/meminfo, in bytes.
    public static func memoryBytes() -> Int64? {
        guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) else { return nil }
        return parseMemTotal(text)
    }

    static func parseMemTotal(_ meminfo: String) -> Int64? {
        parseMeminfoBytes(meminfo, field: "MemTotal")
    }

    /// One field of /proc/meminfo (`MemAvailable:   23115320 kB`) in bytes; nil when the field is missing
    /// or not a number of kB.
    static func parseMeminfoBytes(_ meminfo: String, field: String) -> Int64? {
        for line in meminfo.split(separator: "\n") where line.hasPrefix(field + ":") {
            let fields = line.split(separator: " ")
            guard fields.count >= 3, let kib = Int64(fields[1]), kib >= 0, fields[2] == "kB" else { return nil }
            let (bytes, overflow) = kib.multipliedReportingOverflow(by: 1024)
            return overflow ? nil : bytes
        }
        return nil
    }
}
