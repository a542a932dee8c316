import Foundation
import PodCompiler

/// What is timed. Each stage is one function, kept out of line so that a profiler
/// (`valgrind --tool=callgrind --toggle-collect=...`) can count exactly it.
enum Stage: String, CaseIterable {
    /// `ManifestReader.read` of the manifest bytes: libyaml through Yams, then the copy into
    /// `ManifestNode`s with positions.
    case parse
    /// From the parsed documents: decoding into the model (`ManifestSet.add`) and compiling
    /// (`ManifestSet.compile`), which includes writing each unit file's text.
    case compile
    /// The whole of `systemk-render FILE`: parse + decode + compile + serialize (every unit after a
    /// `# <unit name>` line, the default `--format units`).
    case render
    /// As `render`, but serializing the whole plan as `--format json` does (pretty, sorted keys).
    case renderJSON = "render-json"

    var what: String {
        switch self {
        case .parse: return "YAML parse (ManifestReader.read)"
        case .compile: return "decode + compile, from parsed nodes"
        case .render: return "parse + decode + compile + serialize units"
        case .renderJSON: return "parse + decode + compile + plan JSON"
        }
    }
}

/// A stage failed or produced something other than the expected output.
struct BenchmarkFailure: Error, CustomStringConvertible {
    var description: String
}

func require(_ condition: Bool, _ message: @autoclosure () -> String) throws {
    if !condition { throw BenchmarkFailure(description: message()) }
}

@inline(never)
func parseStage(_ w: Workload) throws -> [ManifestNode] {
    try ManifestReader().read(w.manifest, file: w.fileName)
}

@inline(never)
func compileStage(_ w: Workload, documents: [ManifestNode]) throws -> Plan {
    var set = ManifestSet()
    for (i, doc) in documents.enumerated() {
        try set.add(doc, file: w.fileName, documentIndex: documents.count > 1 ? i : nil, prefix: .root)
    }
    return try set.compile(packageUnits: w.packageUnits, node: w.node).get()
}

@inline(never)
func renderStage(_ w: Workload) throws -> String {
    unitsText(try renderedPlan(w))
}

@inline(never)
func renderJSONStage(_ w: Workload) throws -> [UInt8] {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    return Array(try encoder.encode(try renderedPlan(w)))
}

/// Manifest bytes to plan, the way `systemk-render` does it.
func renderedPlan(_ w: Workload) throws -> Plan {
    var set = ManifestSet()
    try set.add(w.manifest, file: w.fileName)
    return try set.compile(packageUnits: w.packageUnits, node: w.node).get()
}

/// `systemk-render --format units`: each unit after a line naming it.
func unitsText(_ plan: Plan) -> String {
    var out = ""
    for pod in plan.pods {
        for unit in pod.units {
            out += "# \(unit.name)\n"
            out += unit.contents
            out += "\n"
        }
    }
    return out
}

/// A workload after one checked run of every stage: what the timed iterations compare against.
struct CheckedWorkload {
    var workload: Workload
    var documents: [ManifestNode]
    var unitsOutput: String
    var jsonBytes: Int

    /// Runs every stage once and checks the result in full against the workload's expectation.
    init(_ w: Workload) throws {
        workload = w
        let e = w.expected
        documents = try parseStage(w)
        try require(documents.count == e.documents, "\(w.name): parsed \(documents.count) documents, expected \(e.documents)")

        let plan = try compileStage(w, documents: documents)
        try require(plan.pods.count == 1, "\(w.name): \(plan.pods.count) pods in the plan, expected 1")
        let pod = plan.pods[0]
        try require(pod.units.map(\.name) == e.unitNames, "\(w.name): units \(pod.units.map(\.name)), expected \(e.unitNames)")
        try require(pod.probes.count == e.probes, "\(w.name): \(pod.probes.count) probes, expected \(e.probes)")
        try require(pod.tmpfsMounts.count == e.tmpfsMounts, "\(w.name): \(pod.tmpfsMounts.count) tmpfs mounts, expected \(e.tmpfsMounts)")
        let volumeFiles = pod.files.filter { f in
            if case .bytes = f.content { return f.purpose.contains("volume ") }
            return false
        }.count
        try require(volumeFiles == e.volumeFiles, "\(w.name): \(volumeFiles) volume files, expected \(e.volumeFiles)")
        func lines(_ key: String) -> Int {
            pod.units.reduce(0) { n, u in n + directiveCount(key, in: u) }
        }
        // Mounts are `SOURCE:DESTINATION`; the sandbox's own binds (journal, notify socket) have no `:`.
        let binds = pod.units.reduce(0) { n, u in
            n + u.contents.split(separator: "\n").filter {
                ($0.hasPrefix("BindPaths=") || $0.hasPrefix("BindReadOnlyPaths=")) && $0.contains(":")
            }.count
        }
        try require(binds == e.bindLines, "\(w.name): \(binds) BindPaths=/BindReadOnlyPaths= lines, expected \(e.bindLines)")
        try require(lines("Environment") == e.environmentLines, "\(w.name): \(lines("Environment")) Environment= lines, expected \(e.environmentLines)")
        try require(lines("EnvironmentFile") == e.environmentFiles, "\(w.name): \(lines("EnvironmentFile")) EnvironmentFile= lines, expected \(e.environmentFiles)")
        for unit in pod.units {
            try require(directiveCount("ExecStart", in: unit) == 1, "\(w.name): \(unit.name) has no single ExecStart=")
            try require(directiveCount("Slice", in: unit) == 1, "\(w.name): \(unit.name) has no Slice=")
            try require(unit.contents.contains("\nPodUID=\(pod.uid)\n"), "\(w.name): \(unit.name) lacks its [X-Kubernetes] identity")
        }

        unitsOutput = try renderStage(w)
        try require(unitsOutput == unitsText(plan), "\(w.name): rendering from bytes and from parsed nodes differ")
        let json = try renderJSONStage(w)
        let decoded = try JSONDecoder().decode(Plan.self, from: Data(json))
        try require(decoded == plan, "\(w.name): the plan's JSON does not read back as the same plan")
        jsonBytes = json.count
    }
}

/// How many `KEY=` lines a unit file holds.
private func directiveCount(_ key: String, in unit: PlannedUnit) -> Int {
    unit.contents.split(separator: "\n").filter { $0.hasPrefix(key + "=") }.count
}

extension CheckedWorkload {
    /// One timed run of `stage`, with the checks cheap enough to make on every iteration: a failure
    /// or a different result stops the benchmark instead of being timed.
    func run(_ stage: Stage) throws {
        let w = workload
        switch stage {
        case .parse:
            let docs = try parseStage(w)
            try require(docs.count == documents.count, "\(w.name): parse gave \(docs.count) documents")
        case .compile:
            let plan = try compileStage(w, documents: documents)
            try require(plan.pods.first?.units.count == w.expected.unitNames.count, "\(w.name): compile gave another plan")
        case .render:
            let out = try renderStage(w)
            try require(out.utf8.count == unitsOutput.utf8.count, "\(w.name): render gave \(out.utf8.count) bytes, expected \(unitsOutput.utf8.count)")
        case .renderJSON:
            let out = try renderJSONStage(w)
            try require(out.count == jsonBytes, "\(w.name): render-json gave \(out.count) bytes, expected \(jsonBytes)")
        }
    }
}
