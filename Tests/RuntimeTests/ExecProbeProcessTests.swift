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

    /// Whether process `pid` is gone (or a zombie waiting for its parent).
    static func gone(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return true }
        return stat.split(separator: ")").last?.split(separator: " ").first == "Z"
    }

    @Test func atTheTimeoutTheWholeGroupIsKilled() async throws {
        let clock = ContinuousClock()
        let started = clock.now
        // A child in the background (its PID printed), then a wait: both must go at the timeout. (The
        // bound is loose, as a loaded CI machine can hold the cooperative threads for tens of seconds: a
        // probe that waited for its command would take ten minutes.)
        let outcome = await run("sleep 600 & echo $!; sleep 600", timeout: .milliseconds(500))
        #expect(clock.now - started < .seconds(300))
        let pid = try #require(Int32(outcome.output.split(separator: ": ").last ?? ""))
        #expect(outcome == ProbeOutcome(success: false, output: "command timed out after 0.5 seconds: \(pid)"))
        for _ in 0..<100 where !Self.gone(pid) { try await Task.sleep(for: .milliseconds(50)) }
        #expect(Self.gone(pid), "the background child outlived the timeout")
    }

    @Test func aProcessLeftHoldingTheOutputDoesNotHoldTheProbe() async {
        let clock = ContinuousClock()
        let started = clock.now
        let outcome = await run("sleep 600 & echo done", timeout: .seconds(500))
        // Not the ten minutes the leftover holds the output for, nor the timeout.
        #expect(clock.now - started < .seconds(300))
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

    /// A process in a mount namespace of its own (a tmpfs on /mnt only it sees), in /run: the probe's
    /// command sees that mount and directory, with the ids given; systemk's other threads keep theirs.
    @Test(.enabled(if: geteuid() == 0, "entering a mount namespace needs root"))
    func theCommandRunsInTheContextEntered() async throws {
        let target = Process()
        target.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
        target.arguments = ["--mount", "--propagation", "private", "/bin/sh", "-c",
                            "mount -t tmpfs probe-test /mnt && touch /mnt/only-in-here && exec sleep 30"]
        target.currentDirectoryURL = URL(fileURLWithPath: "/run")
        try target.run()
        defer { target.terminate() }
        let pid = UInt32(target.processIdentifier)
        // Until the mount is there.
        for _ in 0..<100 where !FileManager.default.fileExists(atPath: "/proc/\(pid)/root/mnt/only-in-here") {
            try await Task.sleep(for: .milliseconds(20))
        }
        let entry = ExecProbeProcess.Entry(pid: pid, uid: 65534, gid: 65534, groups: [65534, 100])
        let outcome = await ExecProbeProcess.run(
            ["/bin/sh", "-c", "id -u; id -g; id -G; ls /mnt; pwd"], environment: ["PATH": "/usr/bin:/bin"], entering: entry,
            timeout: .seconds(5))
        #expect(outcome == ProbeOutcome(success: true, output: "65534\n65534\n65534 100\nonly-in-here\n/run"))
        #expect(geteuid() == 0 && getegid() == 0, "only the probe's thread changed ids")
        #expect(!FileManager.default.fileExists(atPath: "/mnt/only-in-here"), "only the probe's thread changed namespace")
    }

    @Test func aGoneProcessIsAFailureThatSaysSo() async {
        let entry = ExecProbeProcess.Entry(pid: 999_999_999, uid: 0, gid: 0, groups: [])
        let outcome = await ExecProbeProcess.run(["/bin/true"], environment: [:], entering: entry, timeout: .seconds(1))
        #expect(outcome == ProbeOutcome(success: false, output: "exec: the container's main process (999999999) is gone"))
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
