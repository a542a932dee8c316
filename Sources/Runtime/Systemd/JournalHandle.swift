import CSystemd

#if canImport(Glibc)
    import Glibc
#endif

/// One `sd_journal` handle and the streams that follow it. Lives on, and is only touched from, its
/// `EventLoopThread`: sd-journal handles must be used from one thread.
final class JournalHandle: PollSource {
    /// At most this many entries go to one follower per pass, so that a flood of lines cannot starve
    /// other calls on the reader.
    static let entriesPerPass = 1000

    private final class Follower {
        let filter: JournalFilter
        var position: JournalPosition
        let continuation: AsyncStream<JournalEntry>.Continuation
        var pending = true

        init(filter: JournalFilter, position: JournalPosition, continuation: AsyncStream<JournalEntry>.Continuation) {
            self.filter = filter
            self.position = position
            self.continuation = continuation
        }
    }

    private var journal: OpaquePointer?
    private var followers: [UInt64: Follower] = [:]
    private var nextFollower: UInt64 = 0

    /// Opens the local journal (`directory` nil) or the journal files in `directory`.
    func open(directory: String?) throws(SystemdError) {
        var handle: OpaquePointer?
        var result: Int32
        if let directory {
            result = sd_journal_open_directory(&handle, directory, 0)
        } else {
            result = sd_journal_open(&handle, Int32(SD_JOURNAL_LOCAL_ONLY))
        }
        guard result >= 0, let handle else {
            throw .operationFailed(operation: "open journal \(directory ?? "(local)")", unit: nil, errno: -result)
        }
        journal = handle
        // No cut-off for long fields: a line may be long and binary.
        _ = sd_journal_set_data_threshold(handle, 0)
        // Sets up inotify now, so that nothing written from here on is missed by followers.
        result = sd_journal_get_fd(handle)
        if result < 0 {
            close()
            throw .operationFailed(operation: "watch journal", unit: nil, errno: -result)
        }
    }

    func close() {
        let all = followers.values
        followers.removeAll()
        for follower in all { follower.continuation.finish() }
        if let journal { sd_journal_close(journal) }
        journal = nil
    }

    /// Entries matching `filter` from `position` to the current end, at most `limit`.
    func read(_ filter: JournalFilter, from position: JournalPosition, limit: Int) throws(SystemdError)
        -> [JournalEntry]
    {
        guard let journal else { throw .disconnected }
        try apply(filter, journal)
        var entries: [JournalEntry] = []
        try read(journal, from: position, limit: limit) { entries.append($0) }
        return entries
    }

    /// Starts a follower: `position` is resolved now, so every matching entry written after this call is
    /// delivered, in order, exactly once.
    func follow(
        _ filter: JournalFilter, from position: JournalPosition, continuation: AsyncStream<JournalEntry>.Continuation
    ) throws(SystemdError) -> UInt64 {
        guard let journal else { throw .disconnected }
        var start = position
        if case .tail(0) = position {
            // "Only what comes later": behind the last matching entry, or from the start if there is none.
            try apply(filter, journal)
            start = .head
            if sd_journal_seek_tail(journal) >= 0 && sd_journal_previous(journal) > 0, let cursor = cursor(journal) {
                start = .after(cursor: cursor)
            }
        }
        nextFollower += 1
        followers[nextFollower] = Follower(filter: filter, position: start, continuation: continuation)
        return nextFollower
    }

    /// The invocation IDs of a unit's runs, newest first, at most `count` of them: from the manager's
    /// own messages about the unit (`UNIT=` with `INVOCATION_ID=`, or `USER_UNIT=` with
    /// `USER_INVOCATION_ID=` for a user manager's unit), a few per run however much the unit logs; then,
    /// when those are too few (rotated away), from the unit's own output, looking back at most
    /// `outputScanLimit` entries.
    func recentInvocations(unit: String, userManager: Bool, count: Int, outputScanLimit: Int) throws(SystemdError)
        -> [String]
    {
        guard let journal else { throw .disconnected }
        var found: [String] = []
        let sources: [(match: String, field: String, limit: Int)] = [
            ((userManager ? "USER_UNIT=" : "UNIT=") + unit, userManager ? "USER_INVOCATION_ID" : "INVOCATION_ID", Int.max),
            ((userManager ? "_SYSTEMD_USER_UNIT=" : "_SYSTEMD_UNIT=") + unit, "_SYSTEMD_INVOCATION_ID", outputScanLimit),
        ]
        for source in sources where found.count < count {
            sd_journal_flush_matches(journal)
            let added = source.match.withCString { sd_journal_add_match(journal, $0, 0) }
            if added < 0 {
                throw .operationFailed(operation: "journal match \(source.match)", unit: unit, errno: -added)
            }
            _ = sd_journal_process(journal)
            let seek = sd_journal_seek_tail(journal)
            if seek < 0 { throw .operationFailed(operation: "journal seek tail", unit: unit, errno: -seek) }
            var seen: [String] = []
            var steps = 0
            while seen.count < count, steps < source.limit {
                let moved = sd_journal_previous(journal)
                if moved < 0 { throw .operationFailed(operation: "journal previous", unit: unit, errno: -moved) }
                if moved == 0 { break }
                steps += 1
                guard let value = field(source.field, journal), !value.isEmpty else { continue }
                let id = String(decoding: value, as: UTF8.self)
                if !seen.contains(id) { seen.append(id) }
            }
            // Each source sees the runs newest first; the manager's record is the better one.
            if seen.count > found.count { found = seen }
        }
        return Array(found.prefix(count))
    }

    func stopFollowing(_ id: UInt64) {
        followers.removeValue(forKey: id)?.continuation.finish()
    }

    // MARK: PollSource

    func pollRequest() -> (fd: Int32, events: Int16, deadline: UInt64?)? {
        guard let journal else { return nil }
        let fd = sd_journal_get_fd(journal)
        let events = sd_journal_get_events(journal)
        guard fd >= 0, events >= 0 else { return nil }
        var deadline: UInt64 = 0
        let hasDeadline = sd_journal_get_timeout(journal, &deadline) >= 0 && deadline != UInt64.max
        return (fd, Int16(truncatingIfNeeded: events), hasDeadline ? deadline : nil)
    }

    func process() -> Bool {
        guard let journal, !followers.isEmpty else {
            if let journal { _ = sd_journal_process(journal) }
            return false
        }
        // SD_JOURNAL_APPEND or SD_JOURNAL_INVALIDATE: something new for everyone to look at.
        if sd_journal_process(journal) > 0 {
            for follower in followers.values { follower.pending = true }
        }
        var more = false
        for (id, follower) in followers where follower.pending {
            do {
                try apply(follower.filter, journal)
                var delivered = 0
                try read(journal, from: follower.position, limit: Self.entriesPerPass) { entry in
                    follower.continuation.yield(entry)
                    follower.position = .after(cursor: entry.cursor)
                    delivered += 1
                }
                follower.pending = delivered == Self.entriesPerPass
                more = more || follower.pending
            } catch {
                stopFollowing(id)
            }
        }
        return more
    }

    // MARK: Reading

    private func apply(_ filter: JournalFilter, _ journal: OpaquePointer) throws(SystemdError) {
        sd_journal_flush_matches(journal)
        for match in filter.matches {
            let result = match.withCString { sd_journal_add_match(journal, $0, 0) }
            if result < 0 {
                throw .operationFailed(operation: "journal match \(match)", unit: filter.unit, errno: -result)
            }
        }
    }

    private func read(
        _ journal: OpaquePointer, from position: JournalPosition, limit: Int, _ deliver: (JournalEntry) -> Void
    ) throws(SystemdError) {
        func check(_ result: Int32, _ operation: String) throws(SystemdError) -> Int32 {
            if result < 0 { throw .operationFailed(operation: operation, unit: nil, errno: -result) }
            return result
        }
        // Notice what was appended since this handle last looked (journal files grow under it). The
        // change is consumed here, so followers must hear of it too, or they would wait for the next.
        if sd_journal_process(journal) > 0 {
            for follower in followers.values { follower.pending = true }
        }
        var count = 0
        func take() {
            if let entry = entry(journal) {
                deliver(entry)
                count += 1
            }
        }
        switch position {
        case .head:
            _ = try check(sd_journal_seek_head(journal), "journal seek head")
        case .since(let time):
            _ = try check(sd_journal_seek_realtime_usec(journal, time), "journal seek time")
        case .tail(let lines):
            _ = try check(sd_journal_seek_tail(journal), "journal seek tail")
            guard lines > 0 else { return }
            // Lands on the lines-th last entry (or the first, when there are fewer).
            guard try check(sd_journal_previous_skip(journal, UInt64(lines)), "journal skip back") > 0 else { return }
            take()
        case .after(let cursor):
            _ = try check(cursor.withCString { sd_journal_seek_cursor(journal, $0) }, "journal seek cursor")
            guard try check(sd_journal_next(journal), "journal next") > 0 else { return }
            // The entry at the cursor itself, unless it is gone (vacuumed) and we landed behind it.
            if cursor.withCString({ sd_journal_test_cursor(journal, $0) }) <= 0 { take() }
        }
        while count < limit, try check(sd_journal_next(journal), "journal next") > 0 {
            take()
        }
    }

    private func cursor(_ journal: OpaquePointer) -> String? {
        var text: UnsafeMutablePointer<CChar>?
        guard sd_journal_get_cursor(journal, &text) >= 0, let text else { return nil }
        defer { free(text) }
        return String(cString: text)
    }

    private func entry(_ journal: OpaquePointer) -> JournalEntry? {
        guard let cursor = cursor(journal) else { return nil }
        var realtime: UInt64 = 0
        _ = sd_journal_get_realtime_usec(journal, &realtime)
        let text = { (field: String) -> String? in
            self.field(field, journal).map { String(decoding: $0, as: UTF8.self) }
        }
        return JournalEntry(
            cursor: cursor, realtimeMicroseconds: realtime, message: field("MESSAGE", journal) ?? [],
            unit: text("_SYSTEMD_UNIT"), invocationID: text("_SYSTEMD_INVOCATION_ID"),
            priority: text("PRIORITY").flatMap { Int($0) }, pid: text("_PID").flatMap { Int32($0) })
    }

    /// The value of one field of the current entry: `sd_journal_get_data` returns `FIELD=value`.
    private func field(_ name: String, _ journal: OpaquePointer) -> [UInt8]? {
        var data: UnsafeRawPointer?
        var length = 0
        guard name.withCString({ sd_journal_get_data(journal, $0, &data, &length) }) >= 0, let data else {
            return nil
        }
        let prefix = name.utf8.count + 1
        guard length >= prefix else { return nil }
        return Array(UnsafeRawBufferPointer(start: data + prefix, count: length - prefix))
    }
}
