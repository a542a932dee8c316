import SystemdTestSupport
import Foundation
import SystemkRuntime
import Testing

/// Reading a unit's output from a real journald: last lines, following, runs, times and cursors.
@Suite(.enabled(if: NamespacedSystemd.isAvailable, "needs root and a namespaced systemd"))
struct JournalReaderTests {
    static let binaryLine: [UInt8] = Array("bin".utf8) + [1, 255] + Array("ary".utf8)

    @Test func tailFollowAndOneRunOfAUnit() async throws {
        try await NamespacedSystemd.with { systemd in
            let manager = try await systemd.connectManager()
            let name = "rt-echo.service"
            let go = systemd.dataDirectory + "/go"
            let script = systemd.dataDirectory + "/echo.sh"
            // Ten lines and a binary one at once; three more once the test creates the file `go`.
            try """
                #!/bin/sh
                i=1
                while [ $i -le 10 ]; do echo "line $i"; i=$((i+1)); done
                printf 'bin\\001\\377ary\\n'
                while [ ! -e \(go) ]; do sleep 0.05; done
                echo late 1; echo late 2; echo late 3
                exec sleep infinity
                """.write(toFile: script, atomically: true, encoding: .utf8)
            chmod(script, 0o755)
            try await manager.install([serviceUnit(name, "exec " + script)])
            try await manager.daemonReload()

            let journal = try await JournalReader.open(.directory(systemd.journalDirectory))
            let unit = JournalFilter(unit: name)
            let everything = await StreamRecorder.recording(try await journal.follow(unit, from: .head))
            try await manager.start([name])
            let first = try await everything.wait(for: "the first eleven lines") { $0.count >= 11 }
            #expect(first.prefix(10).map(\.text) == (1...10).map { "line \($0)" })
            #expect(first[10].message == Self.binaryLine)
            #expect(first.allSatisfy { $0.unit == name && $0.priority == 6 && ($0.pid ?? 0) > 0 })
            let firstRun = try await manager.properties(of: name).invocationID
            #expect(first.allSatisfy { $0.invocationID == firstRun })

            // journalctl -u NAME -n 3
            let last = try await journal.entries(unit, from: .tail(lines: 3))
            #expect(last.map(\.message) == [Array("line 9".utf8), Array("line 10".utf8), Self.binaryLine])
            // More lines asked for than there are: all of them.
            #expect(try await journal.entries(unit, from: .tail(lines: 500)).count == 11)
            // After a cursor: what follows it.
            let afterFifth = try await journal.entries(unit, from: .after(cursor: first[4].cursor), limit: 2)
            #expect(afterFifth.map(\.text) == ["line 6", "line 7"])

            // Only what comes from now on.
            let fresh = await StreamRecorder.recording(try await journal.follow(unit, from: .tail(lines: 0)))
            #expect(FileManager.default.createFile(atPath: go, contents: nil))
            let late = try await fresh.wait(for: "the late lines") { $0.count >= 3 }
            #expect(late.map(\.text) == ["late 1", "late 2", "late 3"])
            try await everything.wait(for: "all lines in the first follower") { $0.count >= 14 }

            // A second run: the same output again, under a new invocation ID.
            // (Every line of the first run is in: the followers saw them. journald stamps a line when it
            // reads it, which can be before systemd's ExecMainStartTimestamp of the same run, so "since"
            // is tested with the time the test asked for the restart, as a user would give it.)
            let beforeRestart = UInt64(Date().timeIntervalSince1970 * 1_000_000)
            try await manager.restart([name])
            let secondRun = try await manager.properties(of: name)
            #expect(secondRun.invocationID != firstRun)
            let second = await StreamRecorder.recording(
                try await journal.follow(JournalFilter(unit: name, invocationID: secondRun.invocationID), from: .head))
            let secondLines = try await second.wait(for: "the second run's lines") { $0.count >= 14 }
            #expect(secondLines.count == 14)
            #expect(secondLines.allSatisfy { $0.invocationID == secondRun.invocationID })
            let firstLines = try await journal.entries(
                JournalFilter(unit: name, invocationID: firstRun), from: .head)
            #expect(firstLines.count == 14)
            #expect(firstLines.allSatisfy { $0.invocationID == firstRun })
            // From the second start on, only the second run.
            let since = try await journal.entries(
                unit, from: .since(realtimeMicroseconds: beforeRestart))
            #expect(since.map(\.cursor) == secondLines.map(\.cursor))
            #expect(await fresh.finished == false)

            // Closing the reader ends its streams.
            await journal.close()
            try await everything.waitUntilFinished()
            try await fresh.waitUntilFinished()
            await manager.bus.close()
        }
    }
}
