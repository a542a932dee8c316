import CSystemd
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// An exec probe's process, launched the cheap way: one thread of its own enters the container's
/// context itself (no `nsenter` process), makes the command with one `posix_spawn` (no Foundation
/// `Process`, no run loop, no polling), and waits in `poll(2)` on its output pipe and a pidfd of the
/// process until both are done or the timeout passes (BENCHMARKS.md, "Probes").
///
/// Entering the context (`Entry`): the thread takes a file-system context of its own (`unshare
/// CLONE_FS`), joins the mount namespace of the container's main process (`setns`), moves to its working
/// directory, and takes its supplementary groups, group and user with raw system calls, which change the
/// calling thread only (glibc's wrappers would change every thread of systemk). The command inherits
/// all of it; the thread ends with the probe. A context that is already the thread's (the same mount
/// namespace, the same ids) is not entered, so a user systemd's probes need no privilege.
///
/// The process leads its own process group, with every signal at its default and none blocked,
/// standard input `/dev/null`, and only descriptors 0, 1 and 2 open. At the timeout the whole group
/// gets `SIGKILL`; so does a group whose leader exited but which still holds the output open 100 ms
/// later. Like the kubelet, at most the first 10 KiB of output are kept.
enum ExecProbeProcess {
    static let maxOutputBytes = 10 * 1024
    static let drainAfterExit = 100  // milliseconds

    /// Whose context the command runs in: the mount namespace and working directory of process `pid`,
    /// as user `uid`, group `gid` with supplementary `groups`.
    struct Entry: Sendable, Equatable {
        var pid: UInt32
        var uid: UInt32
        var gid: UInt32
        var groups: [UInt32]
    }

    /// Runs `arguments` (an absolute executable path first) with exactly `environment`, in the context
    /// of `entry` when given (else in systemk's).
    static func run(_ arguments: [String], environment: [String: String], entering entry: Entry? = nil, timeout: Duration)
        async -> ProbeOutcome
    {
        await withCheckedContinuation { continuation in
            // A thread of its own: it may enter the container's context, and its blocking wait of up to
            // `timeout` must not hold one of the few cooperative threads.
            Thread.detachNewThread {
                if let entry, let failure = enter(entry) {
                    continuation.resume(returning: ProbeOutcome(success: false, output: failure))
                    return
                }
                continuation.resume(returning: runBlocking(arguments, environment: environment, timeout: timeout))
            }
        }
    }

    /// Moves the calling thread into `entry`'s context; nil when done, else what failed. Only for a
    /// thread that ends after the probe.
    static func enter(_ entry: Entry) -> String? {
        let ns = open("/proc/\(entry.pid)/ns/mnt", O_RDONLY | O_CLOEXEC)
        let cwd = open("/proc/\(entry.pid)/cwd", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        defer {
            if ns >= 0 { close(ns) }
            if cwd >= 0 { close(cwd) }
        }
        guard ns >= 0, cwd >= 0 else { return "exec: the container's main process (\(entry.pid)) is gone" }
        guard systemk_thread_unshare_fs() == 0 else { return "exec: cannot take a file-system context: \(errnoText())" }
        if !sameFile(ns, "/proc/self/ns/mnt") {
            guard systemk_thread_setns_mount(ns) == 0 else {
                return "exec: cannot enter the mount namespace of process \(entry.pid): \(errnoText())"
            }
        }
        guard fchdir(cwd) == 0 else { return "exec: cannot change to the working directory of process \(entry.pid): \(errnoText())" }
        var current = [gid_t](repeating: 0, count: Int(getgroups(0, nil)))
        current = Array(current.prefix(Int(getgroups(Int32(current.count), &current))))
        if geteuid() != entry.uid || getuid() != entry.uid || getegid() != entry.gid || getgid() != entry.gid
            || Set(current) != Set(entry.groups)
        {
            let groups = entry.groups.map { gid_t($0) }
            guard systemk_thread_setgroups(groups.count, groups) == 0, systemk_thread_setresgid(entry.gid) == 0,
                systemk_thread_setresuid(entry.uid) == 0
            else { return "exec: cannot take the user \(entry.uid) and group \(entry.gid) of process \(entry.pid): \(errnoText())" }
        }
        return nil
    }

    /// Whether descriptor `fd` and `path` are one file (one namespace).
    private static func sameFile(_ fd: Int32, _ path: String) -> Bool {
        var a = stat()
        var b = stat()
        guard fstat(fd, &a) == 0, stat(path, &b) == 0 else { return false }
        return a.st_dev == b.st_dev && a.st_ino == b.st_ino
    }

    enum Ending: Equatable {
        case exited(Int32)
        case signaled(Int32)
    }

    static func runBlocking(_ arguments: [String], environment: [String: String], timeout: Duration) -> ProbeOutcome {
        guard let executable = arguments.first else { return ProbeOutcome(success: false, output: "exec: no command") }
        var fds: [Int32] = [-1, -1]
        guard pipe2(&fds, O_CLOEXEC) == 0 else { return failure("exec: cannot make a pipe: \(errnoText())") }
        let (readEnd, writeEnd) = (fds[0], fds[1])
        defer { close(readEnd) }

        var pid: pid_t = 0
        let spawnError = spawn(executable, arguments, environment: environment, output: writeEnd, pid: &pid)
        close(writeEnd)
        if spawnError != 0 {
            return failure("exec: cannot start \(executable): \(String(cString: strerror(spawnError)))")
        }

        let deadline = ContinuousClock.now + timeout
        var output: [UInt8] = []
        var ending: Ending?
        var pipeOpen = true
        var drainUntil: ContinuousClock.Instant?
        let pidfd = pidfd_open(pid, 0)
        defer { if pidfd >= 0 { close(pidfd) } }

        while pipeOpen || ending == nil {
            let now = ContinuousClock.now
            let until = min(deadline, drainUntil ?? deadline)
            if now >= until { break }
            var waits: [pollfd] = []
            if pipeOpen { waits.append(pollfd(fd: readEnd, events: Int16(POLLIN), revents: 0)) }
            // Without a pidfd (a kernel before 5.3), look for the exit every 10 ms.
            if ending == nil, pidfd >= 0 { waits.append(pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0)) }
            var wait = milliseconds(until - now)
            if ending == nil, pidfd < 0 { wait = min(wait, 10) }
            let ready = poll(&waits, nfds_t(waits.count), Int32(wait))
            if ready < 0 {
                if errno == EINTR { continue }
                break
            }
            if pipeOpen, waits[0].revents != 0, !read(readEnd, into: &output) { pipeOpen = false }
            if ending == nil, pidfd < 0 || waits.last!.revents != 0, let ended = reap(pid, blocking: false) {
                ending = ended
                if pipeOpen { drainUntil = ContinuousClock.now + .milliseconds(drainAfterExit) }
            }
        }

        let text = String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        let suffix = text.isEmpty ? "" : ": \(text)"
        guard let ending else {
            kill(-pid, SIGKILL)
            _ = reap(pid, blocking: true)
            return ProbeOutcome(success: false, output: "command timed out after \(timeout)" + suffix)
        }
        // A process the command left behind still holds the output: it goes with the command's group.
        if pipeOpen { kill(-pid, SIGKILL) }
        switch ending {
        case .exited(0): return ProbeOutcome(success: true, output: text)
        case .exited(let status): return ProbeOutcome(success: false, output: "command exited \(status)" + suffix)
        case .signaled(let signal): return ProbeOutcome(success: false, output: "command killed by signal \(signal)" + suffix)
        }
    }

    /// posix_spawn with the probe's descriptors and signal state; 0 or the error number.
    private static func spawn(_ executable: String, _ arguments: [String], environment: [String: String], output: Int32,
                              pid: inout pid_t) -> Int32 {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, output, 1)
        posix_spawn_file_actions_adddup2(&actions, output, 2)
        posix_spawn_file_actions_addclosefrom_np(&actions, 3)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        return posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
    }

    /// Reads what is there; false at end of file (or a read error).
    private static func read(_ fd: Int32, into output: inout [UInt8]) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        if count < 0 { return errno == EINTR || errno == EAGAIN }
        if count == 0 { return false }
        let room = maxOutputBytes - output.count
        if room > 0 { output += buffer[0..<min(count, room)] }
        return true
    }

    /// How `pid` ended, reaping it; nil while it runs (when not blocking).
    private static func reap(_ pid: pid_t, blocking: Bool) -> Ending? {
        var status: Int32 = 0
        while true {
            let result = waitpid(pid, &status, blocking ? 0 : WNOHANG)
            if result < 0, errno == EINTR { continue }
            // ECHILD: someone else reaped it; its status is lost.
            if result < 0 { return .signaled(0) }
            if result == 0 { return nil }
            break
        }
        let signal = status & 0x7f
        return signal == 0 ? .exited((status >> 8) & 0xff) : .signaled(signal)
    }

    private static func milliseconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        return max(0, Int(seconds) * 1000 + Int((attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000))
    }

    private static func failure(_ message: String) -> ProbeOutcome { ProbeOutcome(success: false, output: message) }
    private static func errnoText() -> String { String(cString: strerror(errno)) }
}
