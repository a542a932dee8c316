import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One launch at a time in this process (see `ProcessCommandRunner.run`).
private let spawnLock = NSLock()

/// Runs commands with Foundation's `Process`: standard input is `/dev/null`, both output streams
/// are read line by line as they come, and a command that outlives its timeout gets `SIGTERM`, then
/// `SIGKILL` five seconds later, sent to its whole process group (`Process` makes the child a
/// group leader), so that helpers it started (dpkg, apt's download methods) go with it.
public struct ProcessCommandRunner: CommandRunner {
    /// How long to wait, after the command exits, for the rest of its output: a process it left
    /// behind may hold the pipes open.
    public var drainTimeout: Duration
    /// How long a command killed with `SIGTERM` has before `SIGKILL`.
    public var killGrace: Duration

    public init(drainTimeout: Duration = .seconds(2), killGrace: Duration = .seconds(5)) {
        self.drainTimeout = drainTimeout
        self.killGrace = killGrace
    }

    public func run(_ command: Command, output: @escaping @Sendable (OutputLine) -> Void) async throws(CommandError) -> CommandResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: command.executable)
        process.arguments = command.arguments
        process.environment = ProcessInfo.processInfo.environment.merging(command.environment) { $1 }
        process.standardInput = FileHandle.nullDevice
        let standardOutput = Pipe()
        let standardError = Pipe()
        process.standardOutput = standardOutput
        process.standardError = standardError
        let (exits, exited) = AsyncStream<CommandResult.Termination>.makeStream()
        process.terminationHandler = { finished in
            exited.yield(finished.terminationReason == .uncaughtSignal ? .signaled(finished.terminationStatus) : .exited(finished.terminationStatus))
            exited.finish()
        }
        let outReader = LineReader(standardOutput.fileHandleForReading, stream: .standardOutput, output: output)
        let errReader = LineReader(standardError.fileHandleForReading, stream: .standardError, output: output)
        do {
            // Foundation's Process.run is not safe to call from several threads at once (200 concurrent
            // launches crashed in it): launches are serialized, not the runs.
            try spawnLock.withLock { try process.run() }
        } catch {
            _ = await outReader.finish(within: .zero)
            _ = await errReader.finish(within: .zero)
            throw .couldNotStart(command: command.description, reason: error.localizedDescription)
        }
        try? standardOutput.fileHandleForWriting.close()
        try? standardError.fileHandleForWriting.close()

        let pid = process.processIdentifier
        let grace = killGrace
        let timer = Task { () -> Bool in
            do { try await Task.sleep(for: command.timeout) } catch { return false }
            Self.signal(pid, SIGTERM)
            do { try await Task.sleep(for: grace) } catch { return true }
            Self.signal(pid, SIGKILL)
            return true
        }
        // Foundation notices the end of a child only when every process holding a descriptor it
        // inherits has gone (swift-corelibs-foundation#4795): a daemon a maintainer script leaves
        // behind would hold it for ever. So also look for the exit directly, leaving the child for
        // Foundation to reap.
        let watcher = Task {
            while !Task.isCancelled {
                if let ended = Self.exitWithoutReaping(pid) {
                    exited.yield(ended)
                    return
                }
                try? await Task.sleep(for: .milliseconds(50))
            }
        }
        var termination = CommandResult.Termination.signaled(SIGKILL)
        for await ended in exits {
            termination = ended
            break
        }
        watcher.cancel()
        timer.cancel()
        let timedOut = await timer.value
        async let outLines = outReader.finish(within: drainTimeout)
        async let errLines = errReader.finish(within: drainTimeout)
        let (out, err) = await (outLines, errLines)
        let tail = Array((out.tail + err.tail).suffix(LineReader.tailLength))
        if timedOut { throw .timedOut(command: command.description, after: command.timeout, tail: tail) }
        return CommandResult(termination: termination, standardOutput: out.lines, tail: tail)
    }

    /// How `pid` ended, once it has, without reaping it (`waitid` with `WNOWAIT`); nil while it runs.
    static func exitWithoutReaping(_ pid: Int32) -> CommandResult.Termination? {
        var info = siginfo_t()
        guard waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0, info._sifields._sigchld.si_pid == pid else {
            return nil
        }
        let status = info._sifields._sigchld.si_status
        return info.si_code == Int32(CLD_EXITED) ? .exited(status) : .signaled(status)
    }

    /// Signals the process group of `pid`, or `pid` alone when it leads no group.
    static func signal(_ pid: Int32, _ signal: Int32) {
        if kill(-pid, signal) != 0 { kill(pid, signal) }
    }
}

/// Reads one pipe as lines, handing each to a callback as it arrives.
final class LineReader: Sendable {
    static let tailLength = 40
    static let maxKeptLines = 10_000
    static let maxLineBytes = 65_536

    private let handle: FileHandle
    private let chunks: AsyncStream<Data>.Continuation
    private let reading: Task<(lines: [String], tail: [String]), Never>

    init(_ handle: FileHandle, stream: OutputLine.Stream, output: @escaping @Sendable (OutputLine) -> Void) {
        self.handle = handle
        let (data, chunks) = AsyncStream<Data>.makeStream()
        self.chunks = chunks
        handle.readabilityHandler = { readable in
            let chunk = readable.availableData
            if chunk.isEmpty {
                readable.readabilityHandler = nil
                chunks.finish()
            } else {
                chunks.yield(chunk)
            }
        }
        reading = Task {
            var splitter = LineSplitter(maxLineBytes: Self.maxLineBytes)
            var lines: [String] = []
            var tail: [String] = []
            func take(_ line: String) {
                output(OutputLine(stream, line))
                if lines.count < Self.maxKeptLines { lines.append(line) }
                tail.append(line)
                if tail.count > Self.tailLength { tail.removeFirst() }
            }
            for await chunk in data {
                for line in splitter.feed(Array(chunk)) { take(line) }
            }
            if let last = splitter.flush() { take(last) }
            return (lines, tail)
        }
    }

    /// The lines read, once the pipe is closed, or after `within` when it is not.
    func finish(within limit: Duration) async -> (lines: [String], tail: [String]) {
        let chunks = self.chunks
        let deadline = Task {
            try? await Task.sleep(for: limit)
            chunks.finish()
        }
        let result = await reading.value
        deadline.cancel()
        handle.readabilityHandler = nil
        try? handle.close()
        return result
    }
}

/// Splits bytes into lines at `\n` (dropping a `\r` before it); invalid UTF-8 is repaired.
struct LineSplitter {
    let maxLineBytes: Int
    private var pending: [UInt8] = []

    init(maxLineBytes: Int) {
        self.maxLineBytes = maxLineBytes
    }

    mutating func feed(_ bytes: [UInt8]) -> [String] {
        var lines: [String] = []
        for byte in bytes {
            if byte == UInt8(ascii: "\n") {
                lines.append(Self.text(pending))
                pending.removeAll(keepingCapacity: true)
            } else {
                pending.append(byte)
                if pending.count >= maxLineBytes {
                    lines.append(Self.text(pending))
                    pending.removeAll(keepingCapacity: true)
                }
            }
        }
        return lines
    }

    mutating func flush() -> String? {
        defer { pending.removeAll() }
        return pending.isEmpty ? nil : Self.text(pending)
    }

    static func text(_ bytes: [UInt8]) -> String {
        let trimmed = bytes.last == UInt8(ascii: "\r") ? bytes.dropLast() : bytes[...]
        return String(decoding: trimmed, as: UTF8.self)
    }
}
