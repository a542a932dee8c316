import AsyncHTTPClient
import NIOCore
import Synchronization
import Testing

@testable import KubeClient

/// The flow control between AsyncHTTPClient's callbacks and a response's reader.
@Suite struct ResponseStreamFlowTests {
    let loop = HTTPClient.defaultEventLoopGroup.any()

    @Test(.timeLimit(.minutes(1))) func theConnectionWaitsOnceChunksPileUpAndReadsOnWhenTheReaderCatchesUp() async throws {
        let flow = ResponseStream.FlowControl()
        var futures: [EventLoopFuture<Void>] = []
        for _ in 0..<ResponseStream.FlowControl.highWater { futures.append(flow.gave(on: loop)) }
        // AsyncHTTPClient hands the next chunk only once the last future succeeded.
        for future in futures.dropLast() { try await future.get() }
        let held = try #require(futures.last)
        let released = Flag()
        held.whenSuccess { released.set() }
        for _ in 0..<(ResponseStream.FlowControl.highWater - ResponseStream.FlowControl.lowWater - 1) { flow.took() }
        try await Task.sleep(for: .milliseconds(50))
        #expect(!released.isSet, "still more than the low water mark waiting")
        flow.took()
        try await held.get()
        #expect(released.isSet)
        // Below the high water mark again, chunks go straight on.
        try await flow.gave(on: loop).get()
    }

    @Test(.timeLimit(.minutes(1))) func theEndOfTheRequestReleasesAHeldRead() async throws {
        let flow = ResponseStream.FlowControl()
        var last: EventLoopFuture<Void>?
        for _ in 0..<ResponseStream.FlowControl.highWater { last = flow.gave(on: loop) }
        flow.end()
        try await #require(last).get()
    }
}

private final class Flag: Sendable {
    private let value = Mutex(false)
    func set() { value.withLock { $0 = true } }
    var isSet: Bool { value.withLock { $0 } }
}
