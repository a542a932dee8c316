import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A file descriptor of a C library (sd-bus, sd-journal) that an `EventLoopThread` waits on between jobs.
/// Only ever called on the loop's thread.
protocol PollSource: AnyObject {
    /// What to wait for: the descriptor, its poll events and an absolute `CLOCK_MONOTONIC` deadline in
    /// microseconds; nil when there is nothing to wait for (the source is closed).
    func pollRequest() -> (fd: Int32, events: Int16, deadline: UInt64?)?
    /// Handles whatever is ready. Returns true when more work is ready at once (do not block).
    func process() -> Bool
}

/// A serial executor that owns one dedicated thread: it runs the jobs of one actor there and, between
/// jobs, waits on the file descriptor of its `PollSource` and on an eventfd that `enqueue` signals.
///
/// sd-bus and sd-journal objects are not thread-safe and must stay on the thread that made them, so each
/// handle gets one of these: the actor's methods and the C library's callbacks then all run on that thread,
/// one at a time. The lock guards only the handoff of jobs from other threads.
final class EventLoopThread: SerialExecutor, Sendable {
    private struct Handoff {
        var jobs: [UnownedJob] = []
        var stopping = false
        var thread: pthread_t?
    }

    // A pthread mutex (NSLock) rather than Synchronization.Mutex: ThreadSanitizer does not see the
    // latter's futex-based locking on Linux and reports false races.
    private let lock = NSLock()
    /// Guarded by `lock`.
    nonisolated(unsafe) private var handoff = Handoff()
    /// A non-blocking pipe: `enqueue` writes a byte to wake the thread out of `poll`.
    private let wakeReadFD: Int32
    private let wakeWriteFD: Int32
    /// The thread-confined source this loop polls; set and read only on the loop's thread.
    nonisolated(unsafe) var source: (any PollSource)?

    /// Starts the thread. `name` (at most 15 bytes are kept) shows in `ps -L` and debuggers.
    init(name: String) throws(SystemdError) {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else {
            throw .operationFailed(operation: "create the wake-up pipe of \(name)", unit: nil, errno: errno)
        }
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        wakeReadFD = fds[0]
        wakeWriteFD = fds[1]
        let thread = Thread { [self] in
            Self.nameCurrentThread(name)
            self.run()
        }
        thread.stackSize = 1 << 20
        thread.start()
    }

    deinit {
        close(wakeReadFD)
        close(wakeWriteFD)
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        lock.withLock { handoff.jobs.append(job) }
        wake()
    }

    func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        UnownedSerialExecutor(ordinary: self)
    }

    func isIsolatingCurrentContext() -> Bool? {
        isCurrentThread
    }

    func checkIsolated() {
        precondition(isCurrentThread, "not on the event loop thread")
    }

    /// Whether the caller runs on this loop's thread.
    var isCurrentThread: Bool {
        guard let thread = lock.withLock({ handoff.thread }) else { return false }
        return pthread_equal(thread, pthread_self()) != 0
    }

    /// Lets the thread finish once the jobs already queued have run. Called from the owner's deinit.
    func stop() {
        lock.withLock { handoff.stopping = true }
        wake()
    }

    /// Names the calling thread for the kernel (`comm`, 15 bytes at most). Foundation's `Thread.name`
    /// reaches the OS thread only in a race with `start()`, and `pthread_setname_np` is not imported.
    private static func nameCurrentThread(_ name: String) {
        let fd = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        let bytes = Array(name.utf8.prefix(15))
        _ = write(fd, bytes, bytes.count)
        close(fd)
    }

    private func wake() {
        // A full pipe already means "wake up": EAGAIN is fine.
        var byte: UInt8 = 1
        _ = write(wakeWriteFD, &byte, 1)
    }

    private func run() {
        lock.withLock { handoff.thread = pthread_self() }
        let executor = asUnownedSerialExecutor()
        while true {
            let (jobs, stopping) = lock.withLock {
                defer { handoff.jobs.removeAll(keepingCapacity: true) }
                return (handoff.jobs, handoff.stopping)
            }
            for job in jobs { job.runSynchronously(on: executor) }
            if stopping && jobs.isEmpty { break }
            // Always give the source its turn, so a steady stream of jobs cannot starve it; jobs enqueued
            // meanwhile have written to the wake pipe, so the poll below returns at once for them.
            if source?.process() == true { continue }
            waitForWork()
        }
        source = nil
    }

    /// Blocks until the source's descriptor is ready, its deadline passes, or a job is enqueued.
    private func waitForWork() {
        var fds = [pollfd(fd: wakeReadFD, events: Int16(POLLIN), revents: 0)]
        var timeout: Int32 = -1
        if let request = source?.pollRequest() {
            fds.append(pollfd(fd: request.fd, events: request.events, revents: 0))
            if let deadline = request.deadline {
                var now = timespec()
                clock_gettime(CLOCK_MONOTONIC, &now)
                let nowMicros = UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1000
                let remaining = deadline > nowMicros ? deadline - nowMicros : 0
                timeout = Int32(clamping: (remaining + 999) / 1000)
            }
        }
        let result = fds.withUnsafeMutableBufferPointer { poll($0.baseAddress, nfds_t($0.count), timeout) }
        if result > 0 && fds[0].revents != 0 {
            var drain = [UInt8](repeating: 0, count: 256)
            while read(wakeReadFD, &drain, drain.count) > 0 {}
        }
    }
}
