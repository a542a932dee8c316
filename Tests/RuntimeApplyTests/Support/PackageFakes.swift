import Foundation
import Synchronization
import Testing

@testable import PodCompiler
@testable import SystemkRuntime

/// A `CommandRunner` that answers from a script and records every command, with the content of
/// policy-rc.d at the moment each ran.
final class FakeRunner: CommandRunner {
    typealias Handler = @Sendable (Command) async throws(CommandError) -> CommandResult
    struct Call: Sendable {
        var command: Command
        var policyRcD: String?
    }

    let policyRcD: String?
    let handler: Handler
    let calls = Mutex<[Call]>([])
    let running = Mutex<(now: Int, most: Int)>((0, 0))

    init(policyRcD: String? = nil, _ handler: @escaping Handler) {
        self.policyRcD = policyRcD
        self.handler = handler
    }

    func run(_ command: Command, output: @escaping @Sendable (OutputLine) -> Void) async throws(CommandError) -> CommandResult {
        let policy = policyRcD.flatMap { FileManager.default.contents(atPath: $0) }.map { String(decoding: $0, as: UTF8.self) }
        calls.withLock { $0.append(Call(command: command, policyRcD: policy)) }
        running.withLock { $0.now += 1; $0.most = max($0.most, $0.now) }
        defer { running.withLock { $0.now -= 1 } }
        let result = try await handler(command)
        for line in result.standardOutput { output(OutputLine(.standardOutput, line)) }
        return result
    }

    /// The command lines run, as `dpkg-query --show ...`.
    var lines: [String] { calls.withLock { $0.map(\.command.description) } }

    static func ok(_ lines: [String] = []) -> CommandResult {
        CommandResult(termination: .exited(0), standardOutput: lines, tail: lines)
    }

    static func fail(_ status: Int32, _ tail: [String]) -> CommandResult {
        CommandResult(termination: .exited(status), standardOutput: [], tail: tail)
    }
}

/// Records the units it is asked to mask, or fails.
final class RecordingMasker: ServiceMasker {
    let masked = Mutex<[String]>([])
    let failure: String?

    init(failure: String? = nil) {
        self.failure = failure
    }

    func mask(unit: String) async throws {
        if let failure { throw MaskError(description: failure) }
        masked.withLock { $0.append(unit) }
    }
}

struct MaskError: Error, CustomStringConvertible {
    var description: String
}

/// A scratch directory with a `policy-rc.d` location and a download cache.
final class PackageScratch {
    let root: String
    var policyRcD: String { root + "/sbin/policy-rc.d" }
    var cache: String { root + "/cache/systemk" }

    init(existingPolicy: String? = nil) throws {
        var template = Array("/tmp/systemk-packages-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw POSIXError(.EIO) }
        root = String(cString: made)
        try FileManager.default.createDirectory(atPath: root + "/sbin", withIntermediateDirectories: true)
        if let existingPolicy { writeText(policyRcD, existingPolicy) }
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    func manager(_ runner: FakeRunner, backend: NodePackageManager.Backend = .apt, masker: RecordingMasker = RecordingMasker())
        -> NodePackageManager
    {
        NodePackageManager(backend: backend, runner: runner, masker: masker, cacheDirectory: cache, policyRcD: policyRcD)
    }

    var policyText: String? { contents(policyRcD) }
    static let ourPolicy = String(decoding: ServiceStartBlocker.script, as: UTF8.self)
}
