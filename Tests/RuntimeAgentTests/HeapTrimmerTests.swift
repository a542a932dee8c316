import Foundation
import SystemkRuntime
import Synchronization
import Testing

@Suite("The heap is trimmed once work settles")
struct HeapTrimmerTests {
    final class Count: Sendable {
        let value = Mutex(0)
        func add() { value.withLock { $0 += 1 } }
        var current: Int { value.withLock { $0 } }
    }

    @Test func aBurstOfSettlesTrimsOnceAfterTheQuietWhile() async throws {
        let count = Count()
        let trimmer = HeapTrimmer(quiet: .milliseconds(600), trim: { count.add() })
        for _ in 0..<5 {  // 20 ms apart: well within the quiet while, even on a loaded machine
            await trimmer.settle()
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(count.current == 0, "not while work keeps settling")
        try await waitFor { count.current == 1 }
        try await Task.sleep(for: .milliseconds(800))
        #expect(count.current == 1, "once for the whole burst")
    }

    @Test func settlesFarApartTrimEachTime() async throws {
        let count = Count()
        let trimmer = HeapTrimmer(quiet: .milliseconds(50), trim: { count.add() })
        await trimmer.settle()
        try await waitFor { count.current == 1 }
        await trimmer.settle()
        try await waitFor { count.current == 2 }
        #expect(await trimmer.trims == 2)
    }

    @Test func twoArenasUnlessTheEnvironmentSetsTheirNumber() {
        #expect(HeapTrimmer.arenaLimit(environment: [:]) == 2)
        #expect(HeapTrimmer.arenaLimit(environment: ["PATH": "/usr/bin"]) == 2)
        #expect(HeapTrimmer.arenaLimit(environment: ["MALLOC_ARENA_MAX": "8"]) == nil)
    }

    /// What the default trim does with glibc: memory freed between live blocks, which glibc keeps
    /// resident, goes back to the kernel.
    @Test func mallocTrimReturnsFreedMemoryHeldBetweenLiveBlocks() throws {
        let blocks = 8192, size = 8192  // 64 MiB under malloc's mmap threshold, so from an arena
        var freed: [UnsafeMutableRawPointer] = []
        var kept: [UnsafeMutableRawPointer] = []
        for _ in 0..<blocks {
            let block = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16)
            block.initializeMemory(as: UInt8.self, repeating: 1, count: size)
            freed.append(block)
            kept.append(UnsafeMutableRawPointer.allocate(byteCount: 32, alignment: 16))  // no coalescing
        }
        defer { for block in kept { block.deallocate() } }
        for block in freed { block.deallocate() }
        let before = try Self.rssAnonKiB()
        HeapTrimmer.mallocTrim()
        let after = try Self.rssAnonKiB()
        #expect(before - after > 32 * 1024, "RssAnon \(before) KiB → \(after) KiB")
    }

    static func rssAnonKiB() throws -> Int {
        let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
        let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("RssAnon:") })
        return try #require(line.split(separator: " ").compactMap { Int($0) }.first)
    }

    func waitFor(_ condition: () -> Bool) async throws {
        for _ in 0..<200 where !condition() { try await Task.sleep(for: .milliseconds(10)) }
        #expect(condition())
    }
}
