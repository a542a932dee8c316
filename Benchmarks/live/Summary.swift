import Foundation

/// Turns run.sh's results.txt (one `key=value ...` line per trial) into the Markdown tables of
/// BENCHMARKS.md: per size, medians with the range over the runs, and the goals.
enum Summary {
    typealias Trial = [String: String]

    static func markdown(results: String) throws -> String {
        let trials: [Trial] = results.split(separator: "\n").map { line in
            Dictionary(line.split(separator: " ").compactMap { (field: Substring) -> (String, String)? in
                guard let eq = field.firstIndex(of: "=") else { return nil }
                return (String(field[..<eq]), String(field[field.index(after: eq)...]))
            }, uniquingKeysWith: { _, b in b })
        }
        let sizes = Set(trials.compactMap { $0["n"].flatMap(Int.init) }).sorted()
        func of(_ mode: String, _ n: Int) -> [Trial] { trials.filter { $0["mode"] == mode && $0["n"] == String(n) } }
        func values(_ ts: [Trial], _ key: String) -> [Int64] { ts.compactMap { $0[key].flatMap { Int64($0) } } }
        func ms(_ us: Int64) -> String { String(format: "%.0f", Double(us) / 1000) }
        func spread(_ ts: [Trial], _ key: String) -> String {
            let v = values(ts, key)
            guard let lo = v.min(), let hi = v.max() else { return "–" }
            return "\(ms(v.median)) ms (\(ms(lo))–\(ms(hi)))"
        }
        func mib(_ kib: Int64) -> String { String(format: "%.1f", Double(kib) / 1024) }

        var out: [String] = []
        out.append("| pods | runs | floor: cp + reload + start, blocking | floor: to last unit active (systemd) | systemk: create → all Running in the API | systemk: create → last unit active (systemd) | ratio API / floor blocking (medians) | first pod Running in the API | reloads | systemk VmRSS idle → loaded (peak) | of which anonymous (RssAnon) idle → loaded |")
        out.append("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for n in sizes {
            let a = of("agent", n), f = of("floor", n)
            let ratio = values(f, "blocking_us").median > 0
                ? String(format: "%.2f×", Double(values(a, "api_us").median) / Double(values(f, "blocking_us").median)) : "–"
            out.append("| \(n) | \(a.count) / \(f.count) | \(spread(f, "blocking_us")) | \(spread(f, "exact_us")) | \(spread(a, "api_us")) | \(spread(a, "exact_us")) | \(ratio) | \(spread(a, "first_running_us")) | \(values(a, "reloads").median) | \(mib(values(a, "rss_idle_kib").median)) → \(mib(values(a, "rss_loaded_kib").median)) MiB (\(mib(values(a, "hwm_kib").median))) | \(mib(values(a, "anon_idle_kib").median)) → \(mib(values(a, "anon_loaded_kib").median)) MiB |")
        }
        out.append("")
        out.append("Where systemk's time goes, medians in ms after the first create began (floor: copy / reload / start):")
        out.append("")
        out.append("| pods | all POSTs answered | first node status seen | systemk's first daemon-reload logged | first unit leaves inactive | last unit active | all Running seen | floor: copy / reload / start | CPU ticks (10 ms) systemk / systemd / journald / API server + client (floor: systemd / journald) | busy % seen, load1 |")
        out.append("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for n in sizes {
            let a = of("agent", n), f = of("floor", n)
            func m(_ ts: [Trial], _ key: String) -> String { ms(values(ts, key).median) }
            func t(_ ts: [Trial], _ key: String) -> String { String(values(ts, key).median) }
            let busy = values(a + f, "busy")
            let loads = (a + f).compactMap { $0["load1"].flatMap(Double.init) }
            let seen = "\(busy.min() ?? 0)–\(busy.max() ?? 0) %, \(String(format: "%.1f–%.1f", loads.min() ?? 0, loads.max() ?? 0))"
            out.append("| \(n) | \(m(a, "creates_us")) | \(m(a, "first_status_us")) | \(m(a, "reload_log_us")) | \(m(a, "first_start_us")) | \(m(a, "exact_us")) | \(m(a, "api_us")) | \(m(f, "copy_us")) / \(m(f, "reload_us")) / \(m(f, "start_us")) | \(t(a, "cpu_agent_ticks")) / \(t(a, "cpu_systemd_ticks")) / \(t(a, "cpu_journald_ticks")) / \(t(a, "cpu_bench_ticks")) (\(t(f, "cpu_systemd_ticks")) / \(t(f, "cpu_journald_ticks"))) | \(seen) |")
        }
        out.append("")
        out.append(contentsOf: goals(sizes: sizes, of: of, values: values))
        return out.joined(separator: "\n") + "\n"
    }

    /// The goals of issue 5: 1 pod Running within 0.5 s; 200 pods within 2× the floor; at most 40 MB
    /// resident with 200 pods.
    static func goals(
        sizes: [Int], of: (String, Int) -> [Trial], values: ([Trial], String) -> [Int64]
    ) -> [String] {
        var lines = ["| goal | measured (median of the runs) | met |", "| --- | --- | --- |"]
        func verdict(_ ok: Bool) -> String { ok ? "yes" : "**no**" }
        if sizes.contains(1) {
            let v = values(of("agent", 1), "api_us").median
            lines.append("| 1 pod Running within 0.5 s | \(String(format: "%.3f s", Double(v) / 1e6)) | \(verdict(v <= 500_000)) |")
        }
        if sizes.contains(200) {
            let a = values(of("agent", 200), "api_us").median
            let f = values(of("floor", 200), "blocking_us").median
            if f > 0 {
                let r = Double(a) / Double(f)
                lines.append("| 200 pods within 2× the floor | \(String(format: "%.2f s / %.2f s = %.2f×", Double(a) / 1e6, Double(f) / 1e6, r)) | \(verdict(r <= 2)) |")
            }
            let rss = values(of("agent", 200), "rss_loaded_kib").median
            let mb = Double(rss) * 1024 / 1e6
            let anon = values(of("agent", 200), "anon_loaded_kib").median
            lines.append("| at most 40 MB resident with 200 pods | VmRSS \(String(format: "%.1f MB (%.1f MiB)", mb, Double(rss) / 1024)), of which anonymous \(String(format: "%.1f MB", Double(anon) * 1024 / 1e6)) | \(verdict(mb <= 40)) |")
        }
        return lines
    }
}
