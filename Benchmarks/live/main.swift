// systemk-live-bench: how long systemk's live mode takes from pods created in the API server to their
// Running status reported back there, beside systemd's own floor for the same units, and systemk's
// resident memory. One invocation is one trial in a freshly booted namespaced systemd; run.sh loops
// over sizes and runs, waits for a quiet machine and summarizes. See BENCHMARKS.md, "Live mode".

import Foundation

do {
    switch try Command.parse(Array(CommandLine.arguments.dropFirst())) {
    case .trial(let options):
        // Each trial prints its line itself, as soon as it is measured.
        switch options.mode {
        case .agent, .capture: _ = try await AgentTrial(options: options).run()
        case .floor: _ = try await FloorTrial(options: options).run()
        }
    case .summarize(results: let path):
        print(try Summary.markdown(results: String(contentsOfFile: path, encoding: .utf8)), terminator: "")
    case .help:
        print(Command.usage)
    }
} catch {
    FileHandle.standardError.write(Data("systemk-live-bench: \(error)\n".utf8))
    exit(1)
}
