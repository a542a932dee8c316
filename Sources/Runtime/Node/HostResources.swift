import Foundation

/// The host's capacity, for `resourceFieldRef` of containers without limits (and, live, the Node's
/// capacity and allocatable).
public enum HostResources {
    /// Online CPUs × 1000.
    public static func milliCPU() -> Int64 {
        Int64(max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))) * 1000
    }

    /// `MemTotal` from /proc/meminfo, in bytes.
    public static func memoryBytes() -> Int64? {
        guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) else { return nil }
        return parseMemTotal(text)
    }

    static func parseMemTotal(_ meminfo: String) -> Int64? {
        for line in meminfo.split(separator: "\n") where line.hasPrefix("MemTotal:") {
            let fields = line.split(separator: " ")
            guard fields.count >= 3, let kib = Int64(fields[1]), fields[2] == "kB" else { return nil }
            return kib * 1024
        }
        return nil
    }
}
