import Foundation
import SystemdTestSupport

/// systemd's floor for the same pods: the very unit files systemk installed in the capture trial (the
/// pods' directories already at --state), copied into /run/systemd/system, then one `systemctl
/// daemon-reload` and one blocking `systemctl start` of all of them, timed inside the namespace as
/// Benchmarks/agent/trial.sh times its floor.
struct FloorTrial {
    let options: TrialOptions

    /// Runs inside the namespace: `$1` the unit directory, then the units. Prints four µs stamps.
    static let script = """
        now() { local t=$EPOCHREALTIME; echo "${t/./}"; }
        dir=$1; shift
        t0=$(now)
        cp "$dir"/systemk.*.service /run/systemd/system/
        t1=$(now)
        systemctl daemon-reload
        t2=$(now)
        systemctl start "$@"
        t3=$(now)
        echo "$t0 $t1 $t2 $t3"
        """

    func run() async throws -> ResultLine {
        let n = options.pods
        let unitDirectory = options.capture + "/units"
        let units = try FileManager.default.contentsOfDirectory(atPath: unitDirectory).filter { $0.hasSuffix(".service") }.sorted()
        guard units == (0..<n).map(Workload.unitName).sorted() else {
            throw NamespacedSystemd.Failure(description: "\(unitDirectory) holds \(units.count) pod units, expected \(n)")
        }
        // The pods' directories as systemk made them, at the same path (run.sh copies them there).
        let podsDirectory = options.state + "/pods"
        let pods = (try? FileManager.default.contentsOfDirectory(atPath: podsDirectory)) ?? []
        guard pods.count == n else {
            throw NamespacedSystemd.Failure(description: "\(podsDirectory) holds \(pods.count) pod directories, expected \(n)")
        }
        try FileManager.default.createDirectory(atPath: options.out, withIntermediateDirectories: true)
        return try await NamespacedSystemd.with { systemd in
            let busy = try await Machine.waitQuiet(below: options.quiet, timeout: options.quietTimeout)
            let load = Machine.load1()
            let ticks0 = try systemd.systemdAndJournaldTicks()
            let out = try systemd.check(["/bin/bash", "-c", Self.script, "floor", unitDirectory] + units, timeout: 600)
            let ticks1 = try systemd.systemdAndJournaldTicks()
            let stamps = out.split(whereSeparator: \.isWhitespace).compactMap { Int64($0) }
            guard stamps.count == 4 else { throw NamespacedSystemd.Failure(description: "floor script printed \(out)") }
            let active = try systemd.activeCount(units)
            guard active == n else { throw NamespacedSystemd.Failure(description: "after start: \(active) of \(n) active") }
            // The floor started exactly the capture's unit files (the agent's, checked in every agent trial).
            for unit in units {
                let installed = try Data(contentsOf: URL(fileURLWithPath: systemd.hostPath("/run/systemd/system/" + unit)))
                guard installed == (try Data(contentsOf: URL(fileURLWithPath: unitDirectory + "/" + unit))) else {
                    throw NamespacedSystemd.Failure(description: "\(unit) differs from \(unitDirectory)")
                }
            }
            let t0 = stamps[0]
            let (firstStart, lastActive) = try systemd.unitTimestamps(units, writingTo: options.out + "/unit-timestamps.txt")
            var line = ResultLine()
            line.add("mode", "floor")
            line.add("n", n)
            line.add("blocking_us", stamps[3] - t0)
            line.add("exact_us", lastActive - t0)
            line.add("first_start_us", firstStart - t0)
            line.add("copy_us", stamps[1] - t0)
            line.add("reload_us", stamps[2] - stamps[1])
            line.add("start_us", stamps[3] - stamps[2])
            line.add("cpu_systemd_ticks", ticks1.systemd - ticks0.systemd)
            line.add("cpu_journald_ticks", ticks1.journald - ticks0.journald)
            line.add("busy", busy)
            line.add("load1", load)
            line.add("t0_us", t0)
            line.emit()
            return line
        }
    }
}
