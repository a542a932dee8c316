/// Times of one stage over many iterations, in nanoseconds.
struct Timings {
    /// Sorted, shortest first.
    let samples: [Double]

    init(_ samples: [Double]) {
        self.samples = samples.sorted()
    }

    /// The nearest-rank percentile: the smallest sample with at least `p` percent of samples at or below it.
    func percentile(_ p: Double) -> Double {
        guard !samples.isEmpty else { return .nan }
        let rank = Int((p / 100 * Double(samples.count)).rounded(.up))
        return samples[Swift.min(Swift.max(rank, 1), samples.count) - 1]
    }

    var median: Double { percentile(50) }
    var p95: Double { percentile(95) }
    var shortest: Double { samples.first ?? .nan }
    var mean: Double { samples.reduce(0, +) / Double(samples.count) }
    /// Operations per second over all timed iterations back to back.
    var perSecond: Double { 1e9 / mean }
}

extension Duration {
    var nanoseconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) * 1e9 + Double(attoseconds) / 1e9
    }
}

/// Times every stage `iterations` times, after `warmup` untimed rounds, each run on its own with the
/// monotonic `ContinuousClock`. The stages take turns (parse, compile, render, parse, ...) rather than
/// running one after the other, so that a change in the machine's load during the run (other builds on
/// a shared machine) falls on all of them alike and their ratios stay meaningful.
func measure(_ stages: [Stage], iterations: Int, warmup: Int, _ body: (Stage) throws -> Void) rethrows -> [Stage: Timings] {
    for _ in 0..<warmup {
        for stage in stages { try body(stage) }
    }
    let clock = ContinuousClock()
    var samples: [Stage: [Double]] = [:]
    for stage in stages { samples[stage, default: []].reserveCapacity(iterations) }
    for _ in 0..<iterations {
        for stage in stages {
            let start = clock.now
            try body(stage)
            samples[stage, default: []].append((clock.now - start).nanoseconds)
        }
    }
    return samples.mapValues(Timings.init)
}
