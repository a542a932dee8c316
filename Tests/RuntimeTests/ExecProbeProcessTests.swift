import Foundation
import Testing

@testable import SystemkRuntime

/// The exec probe's launcher against real processes: exit statuses, output, the exact environment,
/// the timeout, and a process left behind holding the output.
struct ExecProbeProcessTests {
    func run(_ script: String, environment: [String: String] = [:], timeout: Duration = .seconds(5)) async -> ProbeOutcome {
        await ExecProbeProcess.run(["/bin/sh", "-c", script], environment: environment, timeout: timeout)
    }

    @Test func exitZeroIsASuccessWithItsOutput() async {
        let outcome = await run("echo out; echo err >&2")
        #expect(outcome == ProbeOutcome(success: true, output: "out\nerr"))
    }

    @Test func anotherExitIsAFailureThatSaysTheStatus() async {
        let outcome = await run("echo broken; exit 3")
        #expect(outcome == ProbeOutcome(success: false, output: "command exited 3: broken"))
    }

    @Test func aSignalIsAFailure() async {
        let outcome = await run("kill -TERM $$")
        #expect(outcome == ProbeOutcome(success: false, output: "command killed by signal 15"))
    }

    @Test func theEnvironmentIsExactlyTheOneGiven() async {
        let outcome = await run("env | sort", environment: ["A": "1", "B": "two words"])
        // sh adds PWD (and may add SHLVL / _): nothing of this process' environment leaks in.
        let lines = outcome.output.split(separator: "\n").filter { !$0.hasPrefix("PWD=") && !$0.hasPrefix("SHLVL=") && !$0.hasPrefix("_=") }
        #expect(lines == ["A=1", "B=two words"])
    }

    @Test func standardInputIsEmptyAndOnlyThreeDescriptorsAreOpen() async {
        let outcome = await run("cat; ls /proc/self/fd | sort -n | tr '\\n' ' '")
        // cat reads /dev/null; ls sees 0, 1, 2 and the directory it lists (3).
        #expect(outcome == ProbeOutcome(success: true, output: "0 1 2 3"))
    }

    @Test func atTheTimeoutTheWholeGroupIsKilled() async throws {
        let marker = "/run/exec-probe-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { unlink(marker) }
        let clock = ContinuousClock()
        let started = clock.now
        // A child in the background, then a wait: both must go at the timeout.
        let outcome = await run("(sleep 3; touch \(marker)) & echo waiting; sleep 30", timeout: .milliseconds(500))
        #expect(clock.now - started < .seconds(3))
        #expect(outcome == ProbeOutcome(success: false, output: "command timed out after 0.5 seconds: waiting"))
        try await Task.sleep(for: .seconds(4))
        #expect(!FileManager.default.fileExists(atPath: marker), "the background child outlived the timeout")
    }

    @Test func aProcessLeftHoldingTheOutputDoesNotHoldTheProbe() async {
        let clock = ContinuousClock()
        let started = clock.now
        let outcome = await run("sleep 30 & echo done", timeout: .seconds(10))
        #expect(clock.now - started < .seconds(2))
        #expect(outcome == ProbeOutcome(success: true, output: "done"))
    }

    @Test func outputIsKeptUpTo10KiB() async {
        let outcome = await run("head -c 50000 /dev/zero | tr '\\0' x")
        #expect(outcome.success)
        #expect(outcome.output.utf8.count == ExecProbeProcess.maxOutputBytes)
    }

    @Test func aMissingExecutableIsAFailureThatSaysSo() async {
        let outcome = await ExecProbeProcess.run(["/nonexistent/probe"], environment: [:], timeout: .seconds(1))
        #expect(!outcome.success)
        #expect(outcome.output == "exec: cannot start /nonexistent/probe: No such file or directory")
    }

    @Test func manyAtOnce() async {
        let outcomes = await withTaskGroup(of: ProbeOutcome.self) { group in
            for i in 0..<64 { group.addTask { await self.run("echo \(i)") } }
            return await group.reduce(into: [ProbeOutcome]()) { $0.append($1) }
        }
        #expect(Set(outcomes.map(\.output)) == Set((0..<64).map(String.init)))
        #expect(outcomes.allSatisfy { $0.success })
    }
}
