import Foundation
import SystemdTestSupport

/// What the trials ask of the namespaced systemd, on top of `NamespacedSystemd`.
extension NamespacedSystemd {
    /// A path inside the namespace as the host sees it (its own /run, /proc).
    func hostPath(_ path: String) -> String { "/proc/\(pid)/root" + path }

    /// Runs a command inside the namespace and fails unless it exits 0.
    @discardableResult
    func check(_ arguments: [String], timeout: TimeInterval = 120) throws -> String {
        let result = try run(arguments, timeout: timeout)
        guard result.status == 0 else {
            throw NamespacedSystemd.Failure(description: "\(arguments.joined(separator: " ")): \(result)")
        }
        return result.stdout
    }

    /// The main PID of a service, as seen inside the namespace (0 when it has none).
    func mainPID(_ unit: String) throws -> Int {
        Int(try check(["systemctl", "show", "-p", "MainPID", "--value", unit]).trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
    }

    /// `/proc/PID/FILE` of a process of the namespace, as the host sees it.
    func procFile(_ pid: Int, _ file: String) -> String { hostPath("/proc/\(pid)/\(file)") }

    /// The pod units (`systemk.<namespace>.*.service`) whose files are in /run/systemd/system, sorted.
    func installedPodUnits(namespace: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: hostPath("/run/systemd/system"))) ?? []
        return names.filter { $0.hasPrefix("systemk.\(namespace).") && $0.hasSuffix(".service") }.sorted()
    }

    /// How many of `units` are active.
    func activeCount(_ units: [String]) throws -> Int {
        let out = try run(["systemctl", "is-active"] + units).stdout
        return out.split(separator: "\n").filter { $0 == "active" }.count
    }

    /// systemd's own record of `units`: the earliest InactiveExitTimestamp (first unit leaves inactive)
    /// and the latest ActiveEnterTimestamp (last unit active), in µs since the epoch; the full output is
    /// written to `file`.
    func unitTimestamps(_ units: [String], writingTo file: String) throws -> (first: Int64, last: Int64) {
        let out = try check(
            ["systemctl", "show", "--timestamp=us+utc", "-p", "Id", "-p", "InactiveExitTimestamp", "-p", "ActiveEnterTimestamp"]
                + units)
        try Data(out.utf8).write(to: URL(fileURLWithPath: file))
        var exits: [Int64] = []
        var enters: [Int64] = []
        for line in out.split(separator: "\n") {
            if let value = line.value(of: "InactiveExitTimestamp"), let t = SystemdTime.micros(value) { exits.append(t) }
            if let value = line.value(of: "ActiveEnterTimestamp"), let t = SystemdTime.micros(value) { enters.append(t) }
        }
        guard enters.count == units.count, let first = exits.min(), let last = enters.max() else {
            throw NamespacedSystemd.Failure(description: "only \(enters.count) of \(units.count) units have an ActiveEnterTimestamp; see \(file)")
        }
        return (first, last)
    }

    /// Ticks of CPU time of the namespace's PID 1 and of journald so far.
    func systemdAndJournaldTicks() throws -> (systemd: Int, journald: Int) {
        let journald = try mainPID("systemd-journald.service")
        return (Machine.cpuTicks(statFile: procFile(1, "stat")), Machine.cpuTicks(statFile: procFile(journald, "stat")))
    }
}

extension Substring {
    /// The value of `KEY=value`, or nil for another key.
    func value(of key: String) -> String? {
        hasPrefix(key + "=") ? String(dropFirst(key.count + 1)) : nil
    }
}

/// systemd's `--timestamp=us+utc` format: `Thu 2026-11-26 05:59:37.123456 UTC`.
enum SystemdTime {
    static func micros(_ text: String) -> Int64? {
        let parts = text.split(separator: " ")
        guard parts.count == 4, parts[3] == "UTC" else { return nil }
        let date = parts[1].split(separator: "-").compactMap { Int32($0) }
        let clock = parts[2].split(separator: ":")
        guard date.count == 3, clock.count == 3, let hour = Int32(clock[0]), let minute = Int32(clock[1]) else { return nil }
        let seconds = clock[2].split(separator: ".")
        guard let second = Int32(seconds[0]), seconds.count == 2, seconds[1].count == 6, let fraction = Int64(seconds[1]) else {
            return nil
        }
        var fields = tm()
        fields.tm_year = date[0] - 1900
        fields.tm_mon = date[1] - 1
        fields.tm_mday = date[2]
        fields.tm_hour = hour
        fields.tm_min = minute
        fields.tm_sec = second
        return Int64(timegm(&fields)) * 1_000_000 + fraction
    }
}
