// Benchmark: what probing costs systemk. N pods' probes (one per pod, every PERIOD seconds), run by the
// prober systemk runs (`Prober` with `HostProbeExecutor`), against real targets: an HTTP server and its
// TCP port (a separate python3 process, not counted), or an exec in the context of a running process.
// The figure is this process' CPU time (with its children's: an exec probe's nsenter, setpriv and
// command) over the measured window, as a percentage of one core.
//
//   swift build -c release --product systemk-probe-bench
//   sudo .build/release/systemk-probe-bench [--pods 200] [--period 10] [--seconds 60] [--kind http|tcp|exec]
//
// exec needs root (nsenter). Results: one line per run on stdout.
import Foundation
import PodCompiler
import SystemkRuntime

struct Options {
    var pods = 200
    var period = 10
    var seconds = 60
    var kind = "http"

    static func parse(_ arguments: [String]) -> Options? {
        var o = Options()
        var i = 0
        while i < arguments.count {
            let key = arguments[i]
            guard i + 1 < arguments.count else { return nil }
            let value = arguments[i + 1]
            switch key {
            case "--pods": guard let v = Int(value), v > 0 else { return nil }; o.pods = v
            case "--period": guard let v = Int(value), v > 0 else { return nil }; o.period = v
            case "--seconds": guard let v = Int(value), v > 0 else { return nil }; o.seconds = v
            case "--kind": guard ["http", "tcp", "exec"].contains(value) else { return nil }; o.kind = value
            default: return nil
            }
            i += 2
        }
        return o
    }
}

/// CPU time of this process and of its waited-for children, in seconds.
func cpuSeconds() -> (own: Double, children: Double) {
    func seconds(_ who: __rusage_who) -> Double {
        let who = __rusage_who_t(who.rawValue)
        var usage = rusage()
        getrusage(who, &usage)
        return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec)
            + Double(usage.ru_stime.tv_usec) / 1e6
    }
    return (seconds(RUSAGE_SELF), seconds(RUSAGE_CHILDREN))
}

/// A free TCP port on 127.0.0.1.
func freePort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
    }
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}

func probeJSON(_ kind: String, port: Int, period: Int) -> String {
    let handler: String
    switch kind {
    case "http": handler = #""httpGet":{"path":"/","port":\#(port),"scheme":"HTTP"}"#
    case "tcp": handler = #""tcpSocket":{"port":\#(port)}"#
    default: handler = #""exec":{"command":["/bin/true"]}"#
    }
    return #"{\#(handler),"periodSeconds":\#(period),"timeoutSeconds":1,"successThreshold":1,"failureThreshold":3,"initialDelaySeconds":0}"#
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func add() { lock.withLock { value += 1 } }
    var count: Int { lock.withLock { value } }
}

@main
struct ProbeBench {
    static func main() async throws {
        guard let options = Options.parse(Array(CommandLine.arguments.dropFirst())) else {
            FileHandle.standardError.write(Data("usage: systemk-probe-bench [--pods N] [--period S] [--seconds S] [--kind http|tcp|exec]\n".utf8))
            exit(2)
        }
        let port = freePort()
        // The target: python3's HTTP server (its CPU is not counted), or a sleeping process for exec.
        let target = Process()
        target.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        target.arguments = ["-m", "http.server", String(port), "--bind", "127.0.0.1", "--directory", "/var/empty"]
        if options.kind == "exec" {
            target.executableURL = URL(fileURLWithPath: "/bin/sleep")
            target.arguments = ["infinity"]
        }
        target.standardOutput = FileHandle.nullDevice
        target.standardError = FileHandle.nullDevice
        try FileManager.default.createDirectory(atPath: "/var/empty", withIntermediateDirectories: true)
        try target.run()
        defer { target.terminate() }
        try await Task.sleep(for: .seconds(1))

        let probeData = Data(probeJSON(options.kind, port: port, period: options.period).utf8)
        var planned: [PlannedProbe] = []
        for i in 0..<options.pods {
            let json = #"{"container":"app","unit":"systemk.bench.p\#(i).app.service","kind":"readiness","probe":\#(String(decoding: probeData, as: UTF8.self))}"#
            planned.append(try JSONDecoder().decode(PlannedProbe.self, from: Data(json.utf8)))
        }
        let pid = UInt32(target.processIdentifier)
        let started = UInt64(Date().timeIntervalSince1970 * 1e6) - 3_600_000_000
        let changes = Counter()
        let executor = HostProbeExecutor()
        let prober = Prober(
            executor: executor, host: "127.0.0.1",
            state: { _ in ProbedContainer(id: "run-1", running: true, startedAtMicroseconds: started, mainPID: pid) },
            onEvent: { _ in changes.add() })
        await prober.set(planned)
        // One period to warm up (every probe has run once, the connections are open), then the window.
        try await Task.sleep(for: .seconds(options.period))
        let runs0 = await prober.runs
        let cpu0 = cpuSeconds()
        let wall0 = ContinuousClock.now
        try await Task.sleep(for: .seconds(options.seconds))
        let cpu1 = cpuSeconds()
        let (own, children) = (cpu1.own - cpu0.own, cpu1.children - cpu0.children)
        let cpu = own + children
        let wall = ContinuousClock.now - wall0
        let runs = await prober.runs - runs0
        let skipped = await prober.skipped
        let ready = await prober.results(Set(planned.map(\.unit))).values.filter { $0.ready == true }.count
        let wallSeconds = Double(wall.components.seconds) + Double(wall.components.attoseconds) / 1e18
        let percent = cpu / wallSeconds * 100
        print(String(
            format: "kind=%@ pods=%d period_s=%d window_s=%.1f probes_run=%d probes_per_s=%.1f skipped=%d ready=%d cpu_s=%.3f (own %.3f, children %.3f) cpu_percent_of_one_core=%.2f",
            options.kind, options.pods, options.period, wallSeconds, runs, Double(runs) / wallSeconds, skipped, ready, cpu, own, children,
            percent))
        await prober.shutdown()
        await executor.shutdown()
    }
}
