import Foundation
import SystemdTestSupport

/// Readings of the machine: the wall clock (comparable with systemd's timestamps), how busy the CPUs
/// are, and a process's memory and CPU time from /proc.
enum Machine {
    /// Microseconds since the epoch (CLOCK_REALTIME, as systemd's `*Timestamp` properties).
    static func now() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1000
    }

    /// (busy, idle) jiffies of all CPUs, counted as Benchmarks/agent/run.sh does: user+nice+system+irq+softirq
    /// against idle+iowait.
    static func cpuJiffies() -> (busy: Int64, idle: Int64) {
        guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix("cpu ") })
        else { return (0, 0) }
        let f = line.split(separator: " ").dropFirst().compactMap { Int64($0) }
        guard f.count >= 7 else { return (0, 0) }
        return (f[0] + f[1] + f[2] + f[5] + f[6], f[3] + f[4])
    }

    /// Percent of CPU time the whole machine was busy over `seconds`.
    static func busyPercent(over seconds: Double = 2) async -> Int {
        let a = cpuJiffies()
        try? await Task.sleep(for: .seconds(seconds))
        let b = cpuJiffies()
        let busy = b.busy - a.busy
        let total = busy + (b.idle - a.idle)
        return total > 0 ? Int(100 * busy / total) : 0
    }

    /// Waits until the machine was less than `quiet` percent busy over 2 s (at most `timeout` seconds),
    /// running `between` before each check; returns the last reading.
    static func waitQuiet(below quiet: Int, timeout: Int, between: () async throws -> Void = {}) async throws -> Int {
        let deadline = ContinuousClock.now + .seconds(timeout)
        while true {
            try await between()
            let busy = await busyPercent()
            if busy < quiet || ContinuousClock.now >= deadline { return busy }
        }
    }

    /// The 1-minute load average.
    static func load1() -> String {
        ((try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? "?").split(separator: " ").first.map(String.init) ?? "?"
    }

    /// A `Vm*:` value of `/proc/PID/status` (given as the status file's path), in KiB.
    static func memoryKiB(_ key: String, statusFile: String) -> Int {
        guard let text = try? String(contentsOfFile: statusFile, encoding: .utf8),
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix(key + ":") })
        else { return 0 }
        return line.split(separator: " ").compactMap { Int($0) }.first ?? 0
    }

    /// Evicts a file's clean pages from the page cache (none may be mapped: no process runs it).
    static func dropPageCache(of path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw NamespacedSystemd.Failure(description: "\(path): cannot open (errno \(errno))") }
        defer { close(fd) }
        let status = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED)
        guard status == 0 else { throw NamespacedSystemd.Failure(description: "\(path): posix_fadvise failed (\(status))") }
    }

    /// A copy of a /proc file (smaps: where the resident pages are, mapping by mapping), for the trial's record.
    static func keep(_ procFile: String, as path: String) {
        // Read to the end: a /proc file has no size, and one read() returns only part of smaps.
        let fd = open(procFile, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        defer { close(fd) }
        var data = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            data += buffer[0..<n]
        }
        FileManager.default.createFile(atPath: path, contents: Data(data))
    }

    /// User + system CPU time, in clock ticks (10 ms), of `/proc/PID/stat` given as its path.
    static func cpuTicks(statFile: String) -> Int {
        guard let text = try? String(contentsOfFile: statFile, encoding: .utf8),
            let close = text.lastIndex(of: ")")
        else { return 0 }
        // Fields after "(comm)" start with field 3 (state); utime and stime are fields 14 and 15.
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Int(fields[11]), let system = Int(fields[12]) else { return 0 }
        return user + system
    }
}

extension Array where Element == Int64 {
    /// The median (the mean of the middle two for an even count); 0 when empty.
    var median: Int64 {
        guard !isEmpty else { return 0 }
        let s = sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }
}
