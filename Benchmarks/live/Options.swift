import Foundation

/// What one invocation does.
enum Command {
    case trial(TrialOptions)
    case summarize(results: String)
    case help

    static let usage = """
        usage: systemk-live-bench trial agent|capture|floor --pods N --out DIR --state DIR --capture DIR
                                  [--systemk PATH] [--quiet PERCENT] [--quiet-timeout SECONDS]
                                  [--agent-env KEY=VALUE[,KEY=VALUE...]] [--http 1|2] [--exe-cache warm|cold]
               systemk-live-bench summarize RESULTS

          agent    systemk (--systemk) in a fresh namespaced systemd, registered and idle; N pods created
                   through the API at once; the clock stops when a watch has seen each pod Running with its
                   container ready. Its unit files must equal those of the capture trial (UIDs aside).
          capture  an agent trial that also keeps the unit files systemk installed in CAPTURE/units (the
                   floor starts those; run.sh keeps the pods' directories, --state, in CAPTURE/state).
          floor    CAPTURE/units copied to /run/systemd/system, one daemon-reload, one blocking start;
                   the pods' directories must already be at --state (run.sh copies CAPTURE/state there).

        Prints one line of key=value results; details go to OUT. Needs root. Paths must not be under /tmp.
        """

    struct UsageError: Error, CustomStringConvertible {
        var description: String
    }

    static func parse(_ arguments: [String]) throws -> Command {
        guard let verb = arguments.first else { return .help }
        switch verb {
        case "-h", "--help", "help":
            return .help
        case "summarize":
            guard arguments.count == 2 else { throw UsageError(description: "summarize takes one file\n\(usage)") }
            return .summarize(results: arguments[1])
        case "trial":
            return .trial(try TrialOptions.parse(Array(arguments.dropFirst())))
        default:
            throw UsageError(description: "unknown command \(verb)\n\(usage)")
        }
    }
}

/// The options of one trial.
struct TrialOptions {
    enum Mode: String {
        case agent, capture, floor
    }

    var mode: Mode
    var pods: Int
    /// Where the trial's details go (agent log, unit timestamps, per-pod times).
    var out: String
    /// systemk's `--state-dir` (the pods' directories); the same path in every trial.
    var state: String
    /// The capture trial's directory: `units/` (unit files as systemk installed them) and `state/`.
    var capture: String
    var systemk: String?
    /// Wait until the machine was less busy than this (percent of all CPUs over 2 s).
    var quiet = 25
    /// Give up waiting for quiet after this long (and record how busy it was).
    var quietTimeout = 300
    /// The test API server speaks HTTP/2 (as kube-apiserver and k3s), or HTTP/1.1 only (`--http 1`).
    var http2 = true
    /// `KEY=VALUE` for systemk's environment (`--agent-env`, for experiments such as MALLOC_ARENA_MAX).
    var agentEnvironment: [String] = []
    /// Drop the systemk executable's pages from the page cache before systemk starts (`--exe-cache cold`),
    /// as on a node that has just booted; otherwise they are as the build or the previous trial left them.
    var coldExecutable = false

    static func parse(_ arguments: [String]) throws -> TrialOptions {
        guard let first = arguments.first, let mode = Mode(rawValue: first) else {
            throw Command.UsageError(description: "trial needs agent, capture or floor\n\(Command.usage)")
        }
        var values: [String: String] = [:]
        var rest = arguments.dropFirst()
        while let flag = rest.popFirst() {
            guard flag.hasPrefix("--"), let value = rest.popFirst() else {
                throw Command.UsageError(description: "\(flag): expected --flag VALUE\n\(Command.usage)")
            }
            values[String(flag.dropFirst(2))] = value
        }
        func required(_ key: String) throws -> String {
            guard let value = values.removeValue(forKey: key) else {
                throw Command.UsageError(description: "--\(key) is required\n\(Command.usage)")
            }
            return value
        }
        func number(_ key: String, _ text: String) throws -> Int {
            guard let n = Int(text), n > 0 else { throw Command.UsageError(description: "--\(key) \(text): not a positive number") }
            return n
        }
        var options = TrialOptions(
            mode: mode, pods: try number("pods", try required("pods")), out: try required("out"),
            state: try required("state"), capture: try required("capture"))
        options.systemk = values.removeValue(forKey: "systemk")
        if let env = values.removeValue(forKey: "agent-env") {
            options.agentEnvironment = env.split(separator: ",").map(String.init)
            guard options.agentEnvironment.allSatisfy({ $0.contains("=") }) else {
                throw Command.UsageError(description: "--agent-env \(env): expected KEY=VALUE[,KEY=VALUE...]")
            }
        }
        if let quiet = values.removeValue(forKey: "quiet") { options.quiet = try number("quiet", quiet) }
        if let timeout = values.removeValue(forKey: "quiet-timeout") { options.quietTimeout = try number("quiet-timeout", timeout) }
        if let http = values.removeValue(forKey: "http") {
            guard http == "1" || http == "2" else { throw Command.UsageError(description: "--http \(http): 1 or 2") }
            options.http2 = http == "2"
        }
        if let cache = values.removeValue(forKey: "exe-cache") {
            guard cache == "warm" || cache == "cold" else { throw Command.UsageError(description: "--exe-cache \(cache): warm or cold") }
            options.coldExecutable = cache == "cold"
        }
        if let unknown = values.keys.sorted().first { throw Command.UsageError(description: "unknown flag --\(unknown)\n\(Command.usage)") }
        if mode != .floor, options.systemk == nil { throw Command.UsageError(description: "\(mode) needs --systemk") }
        for path in [options.out, options.state, options.capture] where path == "/tmp" || path.hasPrefix("/tmp/") || !path.hasPrefix("/") {
            throw Command.UsageError(description: "\(path): must be absolute and not under /tmp (the namespace has its own /tmp)")
        }
        return options
    }
}

/// One line of `key=value` results, in the order the keys were added.
struct ResultLine {
    private(set) var fields: [(String, String)] = []

    mutating func add(_ key: String, _ value: some CustomStringConvertible) {
        fields.append((key, value.description))
    }

    var text: String { fields.map { "\($0.0)=\($0.1)" }.joined(separator: " ") }

    /// Writes the line to stdout at once (run.sh reads it).
    func emit() {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }
}
