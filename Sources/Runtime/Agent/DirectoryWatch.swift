import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// What a `DirectoryWatch` reports.
public enum DirectoryEvent: Sendable, Equatable {
    /// Entries of the directory changed, and then nothing more for the settle time (or the longest
    /// wait passed): a burst of writes is reported once.
    case changed
    /// Nothing was heard for the check interval: look anyway (a file system where inotify misses
    /// changes, such as NFS, still gets noticed this way).
    case check
}

/// Changes to the entries of one directory, from inotify(7), on a thread of its own. Replaces polling:
/// a change is seen at once and reported after `settle` of quiet, so that a `mv` of many manifests, or
/// an editor's write-then-rename, costs one reconcile.
public enum DirectoryWatch {
    /// Starts watching `path`. The stream ends when it is dropped or the directory goes away; nil when
    /// inotify is not available (then poll).
    public static func events(
        _ path: String, settle: Duration = .milliseconds(30), longestWait: Duration = .seconds(1),
        checkInterval: Duration = .seconds(2)
    ) -> AsyncStream<DirectoryEvent>? {
        let fd = inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK))
        guard fd >= 0 else { return nil }
        let mask = UInt32(
            IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM | IN_CLOSE_WRITE | IN_MODIFY | IN_ATTRIB
                | IN_DELETE_SELF | IN_MOVE_SELF)
        guard inotify_add_watch(fd, path, mask) >= 0 else {
            close(fd)
            return nil
        }
        let (stream, continuation) = AsyncStream.makeStream(of: DirectoryEvent.self, bufferingPolicy: .bufferingNewest(4))
        let stop = StopFlag()
        continuation.onTermination = { _ in stop.set() }
        let thread = Thread {
            defer { close(fd) }
            watch(
                fd: fd, settle: milliseconds(settle), longestWait: longestWait,
                checkInterval: milliseconds(checkInterval), stop: stop, continuation: continuation)
        }
        thread.name = "systemk-dirwatch"
        thread.stackSize = 1 << 18
        thread.start()
        return stream
    }

    private static func milliseconds(_ d: Duration) -> Int32 {
        Int32(clamping: d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000)
    }

    /// The thread's loop: wait for events (at most `checkInterval`, and at most half a second at a
    /// time so that a dropped stream is noticed), then drain until `settle` of quiet.
    private static func watch(
        fd: Int32, settle: Int32, longestWait: Duration, checkInterval: Int32, stop: StopFlag,
        continuation: AsyncStream<DirectoryEvent>.Continuation
    ) {
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        var idle: Int32 = 0
        while !stop.isSet {
            let slice = min(500, checkInterval - idle)
            switch wait(fd, slice) {
            case .failed:
                continuation.finish()
                return
            case .quiet:
                idle += slice
                if idle >= checkInterval {
                    idle = 0
                    continuation.yield(.check)
                }
                continue
            case .ready:
                idle = 0
            }
            // Something happened: drain until quiet for `settle`, at most `longestWait` in all.
            let clock = ContinuousClock()
            let deadline = clock.now.advanced(by: longestWait)
            var gone = false
            repeat {
                gone = drain(fd, &buffer)
                if gone { break }
                guard case .ready = wait(fd, settle) else { break }
            } while clock.now < deadline && !stop.isSet
            continuation.yield(.changed)
            if gone {
                // The directory itself was removed or moved: nothing more to watch.
                continuation.finish()
                return
            }
        }
    }

    private enum Readiness { case ready, quiet, failed }

    private static func wait(_ fd: Int32, _ timeout: Int32) -> Readiness {
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        while true {
            let n = poll(&entry, 1, timeout)
            if n < 0 && errno == EINTR { continue }
            if n < 0 { return .failed }
            return n == 0 ? .quiet : .ready
        }
    }

    /// Reads all pending events; true when the watched directory went away.
    private static func drain(_ fd: Int32, _ buffer: inout [UInt8]) -> Bool {
        var gone = false
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if n <= 0 { return gone }
            var offset = 0
            while offset + MemoryLayout<inotify_event>.size <= n {
                let (mask, length) = buffer.withUnsafeBytes { raw -> (UInt32, UInt32) in
                    let event = raw.loadUnaligned(fromByteOffset: offset, as: inotify_event.self)
                    return (event.mask, event.len)
                }
                if mask & UInt32(IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED) != 0 { gone = true }
                offset += MemoryLayout<inotify_event>.size + Int(length)
            }
        }
    }
}

/// A flag set from any thread and read by the watch thread.
private final class StopFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false

    var isSet: Bool { lock.withLock { value } }
    func set() { lock.withLock { value = true } }
}
