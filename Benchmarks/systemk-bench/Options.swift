/// Command-line options. Parsed by hand: the benchmark depends on nothing the compiler does not.
struct Options {
    /// Timed iterations per stage of the typical pod; the large pod gets a tenth (at least 10).
    var iterations = 2000
    /// Untimed rounds of every stage before the timed ones; nil: a tenth of the timed ones, at least 5.
    var warmup: Int?
    var workloads: Set<String> = ["typical", "large"]
    var stages: Set<Stage> = Set(Stage.allCases)
    /// Print this pod's manifest and rendered units instead of measuring.
    var show: String?

    static let usage = """
        USAGE: systemk-bench [--iterations N] [--warmup N] [--quick] [--pod NAME] [--stage NAME] [--show NAME]

        Measures how fast PodCompiler renders pods, and checks every result it times.
        Build and run it in release mode: swift run -c release systemk-bench

        OPTIONS:
          --iterations N   Timed runs of each stage for the typical pod (default 2000);
                           the large pod gets N/10, at least 10. Stages take turns.
          --warmup N       Untimed rounds of every stage first (default: a tenth of the timed ones, at least 5).
          --quick          A smoke run for CI: --iterations 100 --warmup 5.
          --pod NAME       Only this pod (typical or large); repeatable.
          --stage NAME     Only this stage (parse, compile, render, render-json); repeatable.
          --show NAME      Print the pod's generated manifest and its rendered units, measure nothing.
          -h, --help       Show this help.

        Exit status: 0 when every result checked out, 1 when one did not, 2 on a usage error.
        """

    struct UsageError: Error, CustomStringConvertible {
        var description: String
    }

    init(arguments: [String]) throws {
        var pods: Set<String> = []
        var stages: Set<Stage> = []
        var i = 0
        func value(_ option: String) throws -> String {
            i += 1
            guard i < arguments.count else { throw UsageError(description: "\(option) needs a value") }
            return arguments[i]
        }
        func count(_ option: String, atLeast minimum: Int) throws -> Int {
            let text = try value(option)
            guard let n = Int(text), n >= minimum else {
                throw UsageError(description: "\(option) must be a whole number of at least \(minimum), not \(text)")
            }
            return n
        }
        while i < arguments.count {
            let argument = arguments[i]
            switch argument {
            case "--iterations": iterations = try count(argument, atLeast: 1)
            case "--warmup": warmup = try count(argument, atLeast: 0)
            case "--quick":
                iterations = 100
                warmup = 5
            case "--pod":
                let name = try value(argument)
                guard ["typical", "large"].contains(name) else {
                    throw UsageError(description: "--pod must be typical or large, not \(name)")
                }
                pods.insert(name)
            case "--stage":
                let name = try value(argument)
                guard let stage = Stage(rawValue: name) else {
                    throw UsageError(
                        description: "--stage must be one of \(Stage.allCases.map(\.rawValue).joined(separator: ", ")), not \(name)")
                }
                stages.insert(stage)
            case "--show":
                let name = try value(argument)
                guard ["typical", "large"].contains(name) else {
                    throw UsageError(description: "--show must be typical or large, not \(name)")
                }
                show = name
            case "-h", "--help": throw UsageError(description: "")
            default: throw UsageError(description: "unknown argument \(argument)")
            }
            i += 1
        }
        if !pods.isEmpty { workloads = pods }
        if !stages.isEmpty { self.stages = stages }
    }

    func iterations(for workload: String) -> Int {
        workload == "large" ? max(10, iterations / 10) : iterations
    }

    func warmup(for workload: String) -> Int {
        warmup ?? max(5, iterations(for: workload) / 10)
    }
}
