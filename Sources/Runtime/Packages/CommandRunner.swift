/// Runs programs (apt-get, dpkg, pacman, curl) for the package managers, so tests can use a fake.
/// `ProcessCommandRunner` is the real implementation.
public protocol CommandRunner: Sendable {
    /// Runs `command` to its end, passing each line it writes to `output` as it comes.
    ///
    /// A command that cannot be started, or runs longer than its timeout (it is then killed with its
    /// process group), throws; any exit status is a result.
    func run(_ command: Command, output: @escaping @Sendable (OutputLine) -> Void) async throws(CommandError) -> CommandResult
}

/// A program to run.
public struct Command: Sendable, Equatable, CustomStringConvertible {
    /// An absolute path.
    public var executable: String
    public var arguments: [String]
    /// Set on top of the runtime's own environment.
    public var environment: [String: String]
    public var timeout: Duration

    public init(_ executable: String, _ arguments: [String], environment: [String: String] = [:], timeout: Duration = .seconds(60)) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.timeout = timeout
    }

    /// The command line, for messages: `apt-get install -y hello`.
    public var description: String {
        ([executable.split(separator: "/").last.map(String.init) ?? executable] + arguments).joined(separator: " ")
    }
}

/// One line a command wrote, without its line end.
public struct OutputLine: Sendable, Equatable {
    public enum Stream: Sendable, Equatable {
        case standardOutput
        case standardError
    }

    public var stream: Stream
    public var text: String

    public init(_ stream: Stream, _ text: String) {
        self.stream = stream
        self.text = text
    }
}

/// How a command ended.
public struct CommandResult: Sendable, Equatable {
    public enum Termination: Sendable, Equatable {
        case exited(Int32)
        case signaled(Int32)
    }

    public var termination: Termination
    /// Everything written to standard output, line by line (bounded: the first 10,000 lines).
    public var standardOutput: [String]
    /// The last lines written to either stream, for error messages.
    public var tail: [String]

    public init(termination: Termination, standardOutput: [String] = [], tail: [String] = []) {
        self.termination = termination
        self.standardOutput = standardOutput
        self.tail = tail
    }

    /// True when it exited with status 0.
    public var succeeded: Bool { termination == .exited(0) }
}

/// A command that could not run to its end.
public enum CommandError: Error, Sendable, Equatable, CustomStringConvertible {
    case couldNotStart(command: String, reason: String)
    case timedOut(command: String, after: Duration, tail: [String])

    public var description: String {
        switch self {
        case let .couldNotStart(command, reason): return "\(command) could not be started: \(reason)"
        case let .timedOut(command, after, _): return "\(command) did not finish within \(after) and was killed"
        }
    }
}
