import Foundation
import Testing

@testable import SystemkRuntime

/// An actor on an `EventLoopThread` runs every job on that one thread, one at a time, and the thread
/// ends once the actor is gone.
struct EventLoopThreadTests {
    actor Counter {
        let loop: EventLoopThread
        var count = 0
        var offThread = 0

        nonisolated var unownedExecutor: UnownedSerialExecutor { loop.asUnownedSerialExecutor() }

        init(name: String) throws { loop = try EventLoopThread(name: name) }

        func increment() {
            if !loop.isCurrentThread { offThread += 1 }
            let before = count
            count = before + 1
        }

        func isolationHolds() -> Bool {
            // assumeIsolated asks the executor (isIsolatingCurrentContext) whether this is its thread.
            self.assumeIsolated { _ in true }
        }

        isolated deinit { loop.stop() }
    }

    @Test func jobsRunSeriallyOnTheLoopThread() async throws {
        let counter = try Counter(name: "rt-serial")
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<1000 { group.addTask { await counter.increment() } }
        }
        #expect(await counter.count == 1000)
        #expect(await counter.offThread == 0)
        #expect(await counter.isolationHolds())
        #expect(!counter.loop.isCurrentThread)
    }

    @Test func theThreadEndsWithItsActor() async throws {
        let name = "rt-end-\(UInt16.random(in: 0...UInt16.max))"
        var counter: Counter? = try Counter(name: name)
        await counter?.increment()
        #expect(Self.threadNames().contains(name))
        counter = nil
        // Thread exit has no event to wait for: look a few times.
        for _ in 0..<100 where Self.threadNames().contains(name) {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(!Self.threadNames().contains(name))
    }

    private static func threadNames() -> [String] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        return tasks.compactMap {
            (try? String(contentsOfFile: "/proc/self/task/\($0)/comm", encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }
}
