import Foundation

// systemk-bench: how fast PodCompiler renders pods. A program run on purpose, in release mode
// (`swift run -c release systemk-bench`); BENCHMARKS.md holds its figures and how to read them.

func fail(_ message: String, status: Int32) -> Never {
    FileHandle.standardError.write(Data("systemk-bench: \(message)\n".utf8))
    exit(status)
}

func progress(_ message: String) {
    FileHandle.standardError.write(Data("\(message)\n".utf8))
}

let options: Options
do {
    options = try Options(arguments: Array(CommandLine.arguments.dropFirst()))
} catch let error as Options.UsageError where error.description.isEmpty {
    print(Options.usage)
    exit(0)
} catch {
    fail("\(error)\n\n\(Options.usage)", status: 2)
}

if let name = options.show {
    do {
        guard let w = try [typicalPod(), largePod()].first(where: { $0.name == name }) else { fail("no pod \(name)", status: 2) }
        print("# manifest \(w.fileName)\n" + String(decoding: w.manifest, as: UTF8.self))
        print(unitsText(try renderedPlan(w)))
        exit(0)
    } catch {
        fail("\(error)", status: 1)
    }
}

var checked: [CheckedWorkload] = []
var results: [StageResult] = []
do {
    let workloads = try [typicalPod(), largePod()].filter { options.workloads.contains($0.name) }
    for w in workloads {
        progress("checking \(w.name) ...")
        checked.append(try CheckedWorkload(w))
    }
    for w in checked {
        let name = w.workload.name
        let stages = Stage.allCases.filter { options.stages.contains($0) }
        let iterations = options.iterations(for: name)
        progress("timing \(name): \(options.warmup(for: name)) warm-up + \(iterations) iterations of \(stages.map(\.rawValue).joined(separator: ", ")) ...")
        let timings = try measure(stages, iterations: iterations, warmup: options.warmup(for: name)) { try w.run($0) }
        for stage in stages {
            guard let t = timings[stage] else { continue }
            results.append(StageResult(pod: name, stage: stage, iterations: iterations, timings: t))
        }
    }
} catch {
    fail("a result did not check out, so nothing was measured: \(error)", status: 1)
}

print("""
    # systemk-bench

    \(Report.machine())

    \(Report.inputs(checked))
    \(Report.timings(results))
    \(Report.goals(results))
    Every timed result was checked: the plan has the expected units, probes, mounts, environment and
    files (in full once, then its unit count or output size on every iteration).
    """)
