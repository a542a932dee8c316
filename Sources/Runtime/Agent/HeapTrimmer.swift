import CSystemd

/// Gives the heap's free pages back to the kernel once a burst of work has settled.
///
/// A burst (a pass over 200 new pods, their status writes, an informer's request per ConfigMap) frees
/// most of what it allocated, but glibc keeps freed memory that sits between live blocks: it stays
/// resident and counts in systemk's RSS for as long as systemk runs. `malloc_trim(0)` returns every whole
/// free page of every arena. Calling it after each event would cost CPU in the middle of a burst, so
/// `settle()` asks for it once nothing else has asked for `quiet`.
public actor HeapTrimmer {
    private let quiet: Duration
    private let trim: @Sendable () -> Void
    private var requests = 0
    /// How many times the heap was trimmed.
    public private(set) var trims = 0

    /// - Parameters:
    ///   - quiet: how long after the last `settle()` the heap is trimmed.
    ///   - trim: what trims it; glibc's `malloc_trim(0)`.
    public init(quiet: Duration = .seconds(1), trim: @escaping @Sendable () -> Void = HeapTrimmer.mallocTrim) {
        self.quiet = quiet
        self.trim = trim
    }

    /// Work has just settled: trim the heap after `quiet`, unless work settles again meanwhile.
    public func settle() {
        requests += 1
        let request = requests
        let quiet = self.quiet
        Task {
            try? await Task.sleep(for: quiet)
            await self.fire(request)
        }
    }

    private func fire(_ request: Int) {
        guard request == requests else { return }
        trim()
        trims += 1
    }

    /// How many malloc arenas systemk asks glibc for: 2, unless `MALLOC_ARENA_MAX` in `environment` says
    /// otherwise (then glibc reads it itself and this is nil). glibc's default is 8 per CPU, one taken by
    /// each thread that allocates while the others do; systemk's threads (NIO's event loops, the
    /// concurrency pool, sd-bus) then spread the heap over many arenas (8 with 200 pods on 2 CPUs), each
    /// keeping freed memory of its own. With 200 pods that was 17 MiB of arenas for 11 MiB of live heap (BENCHMARKS.md).
    public static func arenaLimit(environment: [String: String]) -> Int32? {
        environment["MALLOC_ARENA_MAX"] == nil ? 2 : nil
    }

    /// Applies `arenaLimit(environment:)`; call it first thing, before threads allocate.
    public static func limitArenas(environment: [String: String]) {
        guard let limit = arenaLimit(environment: environment) else { return }
        _ = mallopt(M_ARENA_MAX, limit)
    }

    /// glibc's `malloc_trim(0)`.
    public static let mallocTrim: @Sendable () -> Void = {
        _ = malloc_trim(0)
    }
}
