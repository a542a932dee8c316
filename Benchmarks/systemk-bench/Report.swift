import Foundation

/// One measured stage of one pod.
struct StageResult {
    var pod: String
    var stage: Stage
    var iterations: Int
    var timings: Timings
}

/// The report, as Markdown on standard output.
enum Report {
    static func machine() -> String {
        var model = "unknown CPU"
        if let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
            let colon = line.firstIndex(of: ":")
        {
            model = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        #if DEBUG
            let build = "DEBUG build: these figures mean nothing, use -c release"
        #else
            let build = "release build"
        #endif
        var load = ""
        if let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) {
            load = "; load average \(text.split(separator: " ").prefix(3).joined(separator: " ")) at the end"
        }
        return "\(ProcessInfo.processInfo.activeProcessorCount) cores, \(model); \(build)\(load)"
    }

    static func inputs(_ workloads: [CheckedWorkload]) -> String {
        var out = "| Pod | Input | Manifest | Units out | Plan JSON |\n|---|---|---:|---:|---:|\n"
        for w in workloads {
            out += "| \(w.workload.name) | \(w.workload.summary) | \(bytes(w.workload.manifest.count)) | "
            out += "\(bytes(w.unitsOutput.utf8.count)) | \(bytes(w.jsonBytes)) |\n"
        }
        return out
    }

    static func timings(_ results: [StageResult]) -> String {
        var out = "| Pod | Stage | What is timed | Iterations | Median | p95 | Min | Per second |\n"
        out += "|---|---|---|---:|---:|---:|---:|---:|\n"
        for r in results {
            out += "| \(r.pod) | \(r.stage.rawValue) | \(r.stage.what) | \(r.iterations) | \(time(r.timings.median)) | "
            out += "\(time(r.timings.p95)) | \(time(r.timings.shortest)) | \(grouped(r.timings.perSecond)) |\n"
        }
        return out
    }

    /// Render against parse, and the issue's goals: render ≤ 2 × parse; a typical pod well under 1 ms.
    static func goals(_ results: [StageResult]) -> String {
        var out = "| Pod | Parse (median) | Compile (median) | Render (median) | Render / parse | Goal: render ≤ 2 × parse | Goal: < 1 ms per pod |\n"
        out += "|---|---:|---:|---:|---:|---|---|\n"
        for pod in ["typical", "large"] {
            func median(_ s: Stage) -> Double? {
                results.first { $0.pod == pod && $0.stage == s }?.timings.median
            }
            guard let parse = median(.parse), let render = median(.render) else { continue }
            let ratio = render / parse
            let ratioGoal = ratio <= 2 ? "met" : "missed by \(percent(ratio / 2 - 1)) (\(time(render - 2 * parse)) over)"
            let msGoal: String
            if pod == "typical" {
                msGoal = render < 1e6 ? "met (\(String(format: "%.2f", render / 1e6)) ms)" : "missed by \(percent(render / 1e6 - 1))"
            } else {
                msGoal = "n/a"
            }
            out += "| \(pod) | \(time(parse)) | \(median(.compile).map(time) ?? "–") | \(time(render)) | "
            out += "\(String(format: "%.2f", ratio)) × | \(ratioGoal) | \(msGoal) |\n"
        }
        return out
    }

    static func time(_ ns: Double) -> String {
        if ns < 1e3 { return String(format: "%.0f ns", ns) }
        if ns < 1e6 { return String(format: "%.1f µs", ns / 1e3) }
        return String(format: "%.2f ms", ns / 1e6)
    }

    static func bytes(_ n: Int) -> String {
        n < 10_000 ? "\(n) B" : String(format: "%.1f KiB", Double(n) / 1024)
    }

    static func percent(_ fraction: Double) -> String {
        String(format: "%.0f %%", fraction * 100)
    }

    /// `12 345`: thousands grouped with a thin space, as in BENCHMARKS.md.
    static func grouped(_ value: Double) -> String {
        let digits = String(Int(value.rounded()))
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0, (digits.count - i) % 3 == 0 { out += "\u{202F}" }
            out.append(c)
        }
        return out
    }
}
