import Foundation
import Synchronization

/// A real systemd 252 for one test, booted by `nsystemd.sh` as PID 1 of a private PID+mount namespace.
///
/// Use `NamespacedSystemd.with { systemd in ... }`: it boots, runs the body, and always shuts the
/// namespace down (by SIGKILL to its recorded PID 1), also when the body throws or an expectation
/// fails. Should the test process die first, the watchdog started with it stops the namespace.
/// Test data lives under `dataDirectory` (in `/var/tmp/systemk-tests`, visible inside the namespace at
/// the same path); unit files go to the namespace's `/run/systemd/system`.
public final class NamespacedSystemd: Sendable {
    /// What a command printed and how it ended.
    public struct CommandResult: Sendable, CustomStringConvertible {
        public var status: Int32
        public var stdout: String
        public var stderr: String

        public var description: String { "exit \(status)\nstdout: \(stdout)\nstderr: \(stderr)" }
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        public init(description: String) { self.description = description }
    }

    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("nsystemd.sh").path

    /// Why no namespaced systemd can be booted here, or nil when it can.
    public static let unavailableReason: String? = {
        if geteuid() != 0 { return "needs root to create PID and mount namespaces" }
        for tool in ["/usr/bin/unshare", "/usr/bin/nsenter", "/lib/systemd/systemd", "/usr/bin/python3"]
        where !FileManager.default.isExecutableFile(atPath: tool) {
            return "needs \(tool)"
        }
        return nil
    }()

    /// Whether tests that need a namespaced systemd can run here.
    public static var isAvailable: Bool { unavailableReason == nil }

    /// `/var/tmp/systemk-tests/<unique>`: the script's state and the test's data.
    public let stateDirectory: String
    /// A directory for the test's files, reachable from inside the namespace at the same path.
    public let dataDirectory: String
    /// The host PID of the namespace's PID 1.
    public let pid: Int32
    private let shutDown = Mutex(false)

    /// The namespace's `/run/systemd/system`, seen from the host.
    public var unitDirectory: String { "/proc/\(pid)/root/run/systemd/system" }

    private init(stateDirectory: String, pid: Int32) {
        self.stateDirectory = stateDirectory
        self.dataDirectory = stateDirectory + "/data"
        self.pid = pid
    }

    /// Boots a systemd, runs `body` with it, and shuts it down whatever happens.
    /// Booting and shutting down wait for processes for seconds: they run on a thread of their own, not
    /// on one of Swift's few cooperative threads (on 2 cores, two tests booting at once would otherwise
    /// stall every task of the test process, in-process API servers included).
    public static func with<T>(_ body: (NamespacedSystemd) async throws -> T) async throws -> T {
        let systemd = try await offPool { try boot() }
        do {
            let result = try await body(systemd)
            await offPool { systemd.shutdown() }
            return result
        } catch {
            await offPool { systemd.shutdown() }
            throw error
        }
    }

    /// Runs blocking `work` on a new thread and waits for it without holding a cooperative thread.
    public static func offPool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try work() }) }.start()
        }
    }

    /// `offPool` for work that cannot fail.
    public static func offPool<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            Thread { continuation.resume(returning: work()) }.start()
        }
    }

    /// Boots a systemd and waits until it reports `running` or `degraded`.
    public static func boot() throws -> NamespacedSystemd {
        if let unavailableReason { throw Failure(description: unavailableReason) }
        let directory = "/var/tmp/systemk-tests/\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory + "/data", withIntermediateDirectories: true)
        let result = try runProcess(
            ["/bin/bash", script, "up", directory, String(getpid())], outputDirectory: directory, timeout: 60)
        guard result.status == 0,
            let text = try? String(contentsOfFile: directory + "/pid", encoding: .utf8),
            let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines))
        else {
            _ = try? runProcess(["/bin/bash", script, "down", directory], outputDirectory: directory, timeout: 30)
            throw Failure(description: "booting systemd failed: \(result)")
        }
        return NamespacedSystemd(stateDirectory: directory, pid: pid)
    }

    /// Kills the namespace's PID 1 (which ends everything in it) and removes the test's directory.
    /// Safe to call more than once.
    public func shutdown() {
        guard shutDown.withLock({ done in
            defer { done = true }
            return !done
        }) else { return }
        _ = try? Self.runProcess(["/bin/bash", Self.script, "down", stateDirectory], outputDirectory: nil, timeout: 30)
        try? FileManager.default.removeItem(atPath: stateDirectory)
    }

    deinit {
        shutdown()
    }

    /// Runs a command inside the namespace.
    public func run(_ arguments: [String], timeout: TimeInterval = 60) throws -> CommandResult {
        try Self.runProcess(
            ["/usr/bin/nsenter", "-t", String(pid), "-m", "-p", "--"] + arguments,
            outputDirectory: stateDirectory, timeout: timeout)
    }

    /// Runs `systemctl` inside the namespace.
    public func systemctl(_ arguments: String...) throws -> CommandResult {
        try run(["systemctl"] + arguments)
    }

    /// Writes a unit file to the namespace's `/run/systemd/system` (call `daemon-reload` afterwards).
    public func writeUnit(_ name: String, _ contents: String) throws {
        try Data(contents.utf8).write(to: URL(fileURLWithPath: unitDirectory + "/" + name))
    }

    /// The journal of one unit, for failure messages.
    public func journal(_ unit: String) -> String {
        (try? run(["journalctl", "--no-pager", "-o", "cat", "-u", unit]).stdout) ?? ""
    }

    /// Runs a process to completion, with its output in files (no pipe can fill up), killing it (by its
    /// own PID) after `timeout` seconds.
    public static func runProcess(_ arguments: [String], outputDirectory: String?, timeout: TimeInterval) throws
        -> CommandResult
    {
        let directory = outputDirectory ?? NSTemporaryDirectory()
        let id = UUID().uuidString
        let outPath = directory + "/.out-\(id)"
        let errPath = directory + "/.err-\(id)"
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        defer {
            try? FileManager.default.removeItem(atPath: outPath)
            try? FileManager.default.removeItem(atPath: errPath)
        }
        guard let out = FileHandle(forWritingAtPath: outPath), let err = FileHandle(forWritingAtPath: errPath) else {
            throw Failure(description: "cannot create output files in \(directory)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: arguments[0])
        process.arguments = Array(arguments.dropFirst())
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = out
        process.standardError = err
        let finished = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in finished.signal() }
        try process.run()
        if finished.wait(timeout: .now() + timeout) == .timedOut {
            kill(process.processIdentifier, SIGKILL)
            finished.wait()
        }
        try? out.close()
        try? err.close()
        let stdout = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
        let stderr = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
        return CommandResult(status: process.terminationStatus, stdout: stdout, stderr: stderr)
    }
}
