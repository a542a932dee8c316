import Foundation
import Synchronization
import Testing

@testable import SystemkRuntime

/// The real command runner: output line by line as it comes, exit statuses and signals, timeouts
/// that kill the whole process group.
@Suite struct CommandRunnerTests {
    let runner = ProcessCommandRunner(drainTimeout: .milliseconds(500), killGrace: .milliseconds(500))

    @Test func outputIsCapturedLineByLineFromBothStreams() async throws {
        let seen = Mutex<[OutputLine]>([])
        let result = try await runner.run(
            Command("/bin/sh", ["-c", "echo one; echo two >&2; printf 'three\\r\\nfour'; exit 3"], environment: ["X": "1"])
        ) { line in seen.withLock { $0.append(line) } }
        #expect(result.termination == .exited(3) && !result.succeeded)
        #expect(result.standardOutput == ["one", "three", "four"])
        let lines = seen.withLock { $0 }
        #expect(lines.filter { $0.stream == .standardOutput }.map(\.text) == ["one", "three", "four"])
        #expect(lines.filter { $0.stream == .standardError }.map(\.text) == ["two"])
        #expect(Set(result.tail) == ["one", "two", "three", "four"])
    }

    @Test func theEnvironmentIsAddedToTheRuntimes() async throws {
        let result = try await runner.run(Command("/bin/sh", ["-c", "echo $SYSTEMK_TEST:$PATH"], environment: ["SYSTEMK_TEST": "yes"])) { _ in }
        #expect(result.standardOutput.first?.hasPrefix("yes:") == true)
        #expect(result.standardOutput.first != "yes:")
    }

    @Test func aSignalIsReported() async throws {
        let result = try await runner.run(Command("/bin/sh", ["-c", "kill -9 $$"])) { _ in }
        #expect(result.termination == .signaled(9))
    }

    @Test func aMissingProgramCannotStart() async throws {
        await #expect(performing: { _ = try await runner.run(Command("/no/such/program", [])) { _ in } }, throws: {
            if case .couldNotStart(command: "program", reason: _) = $0 as? CommandError { true } else { false }
        })
    }

    @Test func aCommandRunningTooLongIsKilledWithItsChildren() async throws {
        let scratch = try PackageScratch()
        let pidFile = scratch.root + "/child.pid"
        await #expect(performing: {
            _ = try await runner.run(
                Command("/bin/sh", ["-c", "trap '' TERM; sleep 30 & echo $! > \(pidFile); echo started; wait"], timeout: .milliseconds(300))
            ) { _ in }
        }, throws: {
            if case let .timedOut(_, after, tail) = $0 as? CommandError { after == .milliseconds(300) && tail == ["started"] } else { false }
        })
        let child = try #require(contents(pidFile).flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) })
        try await Task.sleep(for: .milliseconds(100))
        let state = contents("/proc/\(child)/stat")?.split(separator: ")").last?.split(separator: " ").first
        #expect(state == nil || state == "Z", "the child in the command's process group was killed too")
    }

    /// Foundation alone would wait for the grandchild (swift-corelibs-foundation#4795), ten minutes
    /// here. The bound is loose: on a busy 2-core machine CPU-bound tests can hold the two cooperative
    /// threads for tens of seconds (seen in CI: 30 s).
    @Test func aProcessLeftBehindDoesNotHangTheRunner() async throws {
        let scratch = try PackageScratch()
        let pidFile = scratch.root + "/left.pid"
        let start = ContinuousClock.now
        let result = try await runner.run(Command("/bin/sh", ["-c", "echo hi; sleep 600 & echo $! > \(pidFile); exit 0"])) { _ in }
        #expect(result.succeeded && result.standardOutput == ["hi"])
        #expect(ContinuousClock.now - start < .seconds(300))
        if let left = contents(pidFile).flatMap({ Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }) { kill(left, SIGKILL) }
    }

    @Test func linesAreSplitAndRepaired() {
        var splitter = LineSplitter(maxLineBytes: 8)
        #expect(splitter.feed(Array("ab\ncd".utf8)) == ["ab"])
        #expect(splitter.feed(Array("e\r\n\n".utf8)) == ["cde", ""])
        #expect(splitter.feed(Array("0123456789".utf8)) == ["01234567"])
        #expect(splitter.feed([0xff, 0x0a]) == ["89\u{fffd}"])
        #expect(splitter.flush() == nil)
    }
}
