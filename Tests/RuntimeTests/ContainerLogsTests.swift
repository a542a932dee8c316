import SystemdTestSupport
import Foundation
import SystemkRuntime
import Testing

/// `kubectl logs` from the journal of a real systemd: the current run, the previous one, tail, since,
/// timestamps, a byte limit, and following until the run ends.
@Suite(.enabled(if: NamespacedSystemd.isAvailable, "needs root and a namespaced systemd"))
struct ContainerLogsTests {
    /// Everything a non-following log stream gives, as text.
    static func text(_ stream: AsyncThrowingStream<[UInt8], any Error>) async throws -> String {
        var bytes: [UInt8] = []
        for try await chunk in stream { bytes += chunk }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func lines(_ run: Int, _ range: ClosedRange<Int>) -> String {
        range.map { "run \(run) line \($0)\n" }.joined()
    }

    @Test func currentAndPreviousRunsWithTailSinceTimestampsAndLimit() async throws {
        try await NamespacedSystemd.with { systemd in
            let manager = try await systemd.connectManager()
            let name = "rt-logs.service"
            let counter = systemd.dataDirectory + "/runs"
            let script = systemd.dataDirectory + "/logs.sh"
            // Runs 1 and 2 print five lines and fail; run 3 prints five lines and stays.
            try """
                #!/bin/sh
                n=$(cat \(counter) 2>/dev/null || echo 0); n=$((n+1)); echo $n > \(counter)
                i=1
                while [ $i -le 5 ]; do echo "run $n line $i"; i=$((i+1)); done
                [ $n -ge 3 ] && exec sleep infinity
                # journald attributes a line to its run (the invocation ID) by the writer's cgroup: lines it
                # reads only after the process is gone lose that (see docs/standalone.md, Logs).
                sleep 0.5
                exit 1
                """.write(toFile: script, atomically: true, encoding: .utf8)
            chmod(script, 0o755)
            try await manager.install([
                serviceUnit(name, "exec " + script, extra: "Restart=always\nRestartSec=100ms"),
                serviceUnit("rt-logs-idle.service", "exec sleep infinity"),
            ])
            try await manager.daemonReload()
            let journal = try await JournalReader.open(.directory(systemd.journalDirectory))
            let logs = ContainerLogs(systemd: manager, journal: journal)

            // Before any run: nothing to show, and a unit systemd does not know.
            await #expect(throws: ContainerLogError.notStarted(unit: "rt-logs-idle.service")) {
                _ = try await logs.open(unit: "rt-logs-idle.service", options: .init())
            }
            await #expect(throws: ContainerLogError.unitNotFound(unit: "rt-nothing.service")) {
                _ = try await logs.open(unit: "rt-nothing.service", options: .init())
            }

            try await manager.start([name])
            // The third run is up and has written its five lines.
            let third = JournalFilter(unit: name)
            let all = await StreamRecorder.recording(try await journal.follow(third, from: .head))
            try await all.wait(for: "three runs' lines") { $0.count >= 15 }
            let properties = try await manager.properties(of: name)
            #expect(properties.restarts == 2)

            #expect(try await Self.text(logs.open(unit: name, options: .init())) == Self.lines(3, 1...5))
            #expect(try await Self.text(logs.open(unit: name, options: .init(previous: true))) == Self.lines(2, 1...5))
            #expect(try await Self.text(logs.open(unit: name, options: .init(tailLines: 2))) == Self.lines(3, 4...5))
            #expect(try await Self.text(logs.open(unit: name, options: .init(tailLines: 0))) == "")
            #expect(
                try await Self.text(logs.open(unit: name, options: .init(tailLines: 2, previous: true)))
                    == Self.lines(2, 4...5))
            #expect(try await Self.text(logs.open(unit: name, options: .init(limitBytes: 20))) == "run 3 line 1\nrun 3 l")

            // since: an hour ago is everything; after the last line is nothing.
            #expect(
                try await Self.text(logs.open(unit: name, options: .init(since: .seconds(3600)))) == Self.lines(3, 1...5))
            let newest = try #require(await all.elements.last).realtimeMicroseconds
            #expect(
                try await Self.text(logs.open(unit: name, options: .init(since: .time(microsecondsSinceEpoch: newest + 1))))
                    == "")
            // journald stamps the lines it reads at once with one time: the last three lines, less
            // those stamped before the newest.
            let lastThree = await all.elements.suffix(3).filter { $0.realtimeMicroseconds >= newest }
            #expect(
                try await Self.text(
                    logs.open(unit: name, options: .init(tailLines: 3, since: .time(microsecondsSinceEpoch: newest))))
                    == lastThree.map { $0.text + "\n" }.joined())
            #expect(!lastThree.isEmpty)

            // Timestamps: journald's receive time of each line, RFC 3339 in UTC.
            let stamped = try await Self.text(logs.open(unit: name, options: .init(timestamps: true)))
                .split(separator: "\n").map(String.init)
            #expect(stamped.count == 5)
            let pattern = #/^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(\.\d{1,6})?Z run 3 line \d$/#
            for line in stamped { #expect(line.wholeMatch(of: pattern) != nil, "\(line)") }
            let third5 = await all.elements[14]
            let formatted = try #require(stamped.last?.split(separator: " ").first).description
            let seconds = third5.realtimeMicroseconds / 1_000_000
            let date = Date(timeIntervalSince1970: TimeInterval(seconds))
            let iso = ISO8601DateFormatter().string(from: date)  // 2026-11-26T02:00:00Z
            #expect(formatted.hasPrefix(String(iso.dropLast())))

            // Options out of range.
            await #expect(throws: ContainerLogError.invalidOption("tailLines must not be negative")) {
                _ = try await logs.open(unit: name, options: .init(tailLines: -1))
            }
            await #expect(throws: ContainerLogError.invalidOption("limitBytes must be positive")) {
                _ = try await logs.open(unit: name, options: .init(limitBytes: 0))
            }
            await journal.close()
        }
    }

    @Test func followingEndsWithTheRunAndPreviousNeedsARestart() async throws {
        try await NamespacedSystemd.with { systemd in
            let manager = try await systemd.connectManager()
            let name = "rt-follow.service"
            let go = systemd.dataDirectory + "/go"
            let script = systemd.dataDirectory + "/follow.sh"
            try """
                #!/bin/sh
                echo before
                while [ ! -e \(go) ]; do sleep 0.05; done
                echo after 1; echo after 2
                """.write(toFile: script, atomically: true, encoding: .utf8)
            chmod(script, 0o755)
            try await manager.install([serviceUnit(name, "exec " + script)])
            try await manager.daemonReload()
            try await manager.start([name])
            let journal = try await JournalReader.open(.directory(systemd.journalDirectory))
            let logs = ContainerLogs(systemd: manager, journal: journal)
            let seen = await StreamRecorder.recording(try await journal.follow(JournalFilter(unit: name), from: .head))
            try await seen.wait(for: "the first line") { $0.count >= 1 }

            // One run only: there is no previous one.
            await #expect(throws: ContainerLogError.noPreviousRun(unit: name)) {
                _ = try await logs.open(unit: name, options: .init(previous: true))
            }

            let followed = try await logs.open(unit: name, options: .init(follow: true))
            let (plain, sink) = AsyncStream.makeStream(of: String.self)
            Task {
                for try await chunk in followed { sink.yield(String(decoding: chunk, as: UTF8.self)) }
                sink.finish()
            }
            let recorder = await StreamRecorder.recording(plain)
            try await recorder.wait(for: "the line before") { $0.joined() == "before\n" }
            #expect(FileManager.default.createFile(atPath: go, contents: nil))
            // The run exits after two more lines: the stream gives them and ends by itself.
            try await recorder.waitUntilFinished()
            let got = await recorder.elements.joined()
            #expect(got == "before\nafter 1\nafter 2\n", "\(got.debugDescription)")
            await journal.close()
        }
    }

}

/// The time prefix of `kubectl logs --timestamps`.
@Suite struct LogTimestampTests {
    @Test func timestampsAreGoRFC3339Nano() {
        // Whole seconds have no fraction; trailing zeros of a fraction are cut.
        #expect(ContainerLogs.timestamp(microseconds: 1_700_000_000_000_000) == "2023-11-14T22:13:20Z")
        #expect(ContainerLogs.timestamp(microseconds: 1_700_000_000_120_000) == "2023-11-14T22:13:20.12Z")
        #expect(ContainerLogs.timestamp(microseconds: 1_700_000_000_000_001) == "2023-11-14T22:13:20.000001Z")
    }
}
