/// Reads systemd's journal: one `sd_journal` handle on its own thread (sd-journal handles must stay on
/// one thread), which this actor uses as its executor. Following waits on the journal's inotify
/// descriptor (what `sd_journal_wait` does) in the thread's event loop, so other reads go on meanwhile.
///
/// Call `close()` when done; the thread ends when the last reference goes away.
public actor JournalReader {
    /// Which journal files to read.
    public enum Source: Sendable, Hashable {
        /// The local machine's journal (system and user files).
        case local
        /// The journal files in one directory and its machine-id subdirectories, such as
        /// `/run/log/journal` or `/var/log/journal` (or another root's, through `/proc/PID/root`).
        case directory(String)
    }

    public nonisolated let source: Source
    private let loop: EventLoopThread
    private let handle = JournalHandle()

    public nonisolated var unownedExecutor: UnownedSerialExecutor {
        loop.asUnownedSerialExecutor()
    }

    private init(source: Source) throws(SystemdError) {
        self.source = source
        self.loop = try EventLoopThread(name: "systemk-journal")
    }

    /// Opens the journal.
    public static func open(_ source: Source = .local) async throws(SystemdError) -> JournalReader {
        let reader = try JournalReader(source: source)
        try await reader.start()
        return reader
    }

    private func start() throws(SystemdError) {
        switch source {
        case .local: try handle.open(directory: nil)
        case .directory(let path): try handle.open(directory: path)
        }
        loop.source = handle
    }

    /// Closes the journal; follow streams finish.
    public func close() {
        handle.close()
    }

    isolated deinit {
        handle.close()
        loop.source = nil
        loop.stop()
    }

    /// Matching entries from `position` to the current end, at most `limit` of them, oldest first.
    /// `entries(JournalFilter(unit: "x.service"), from: .tail(lines: 100))` is `journalctl -u x -n 100`
    /// (for the unit's own output only).
    public func entries(_ filter: JournalFilter, from position: JournalPosition, limit: Int = Int.max)
        throws(SystemdError) -> [JournalEntry]
    {
        try handle.read(filter, from: position, limit: limit)
    }

    /// The invocation IDs of the last `count` runs of `unit`, newest first, as the journal recorded them
    /// (`userManager`: a unit of a user manager). The run before the current one is the second, unless
    /// the current run has not logged anything yet.
    public func recentInvocations(of unit: String, userManager: Bool = false, count: Int = 2)
        throws(SystemdError) -> [String]
    {
        try handle.recentInvocations(unit: unit, userManager: userManager, count: count, outputScanLimit: 100_000)
    }

    /// Matching entries from `position` on, then each new one as it is written, until the stream is
    /// dropped or the reader closed. Following starts before this returns.
    public func follow(_ filter: JournalFilter, from position: JournalPosition = .tail(lines: 0))
        throws(SystemdError) -> AsyncStream<JournalEntry>
    {
        let (stream, continuation) = AsyncStream.makeStream(of: JournalEntry.self)
        let id = try handle.follow(filter, from: position, continuation: continuation)
        continuation.onTermination = { [weak self] _ in
            Task { await self?.stopFollowing(id) }
        }
        return stream
    }

    private func stopFollowing(_ id: UInt64) {
        handle.stopFollowing(id)
    }
}
