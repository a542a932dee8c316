import AsyncHTTPClient
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1

/// A response's body, chunk by chunk, for as long as the server sends it: a watch's, or (read whole by
/// `Transport`) any other API answer's.
///
/// It is read through AsyncHTTPClient's delegate interface, not its `async` one: a request made with
/// `execute(_:deadline:)` keeps the Swift task that made it, with every async frame of its deepest moment,
/// alive for as long as its response streams (heaptrack: about 10 KiB a watch, 2 MiB for the 200
/// ConfigMap watches of 200 pods; BENCHMARKS.md, "Watches"). Here the chunks arrive in callbacks on the
/// connection's event loop and wait in an `AsyncThrowingStream` for the reader, so a watch costs only
/// what its connection and its reader hold.
///
/// Dropping the last reference, or cancelling the task that waits in `next()`, closes the stream.
final class ResponseStream: Sendable {
    /// The status and headers.
    let head: HTTPResponseHead
    private let chunks: AsyncThrowingStream<ByteBuffer, any Error>
    private let flow: FlowControl
    private let request: HTTPClient.Task<Void>

    fileprivate init(
        head: HTTPResponseHead, chunks: AsyncThrowingStream<ByteBuffer, any Error>, flow: FlowControl, request: HTTPClient.Task<Void>
    ) {
        self.head = head
        self.chunks = chunks
        self.flow = flow
        self.request = request
    }

    /// Reads the body's chunks: nil at its end (or once the reading task is cancelled); throws when the
    /// connection fails.
    func makeReader() -> Reader {
        Reader(chunks: chunks.makeAsyncIterator(), flow: flow)
    }

    /// The chunks in order. Taking one lets the connection read on: at most `FlowControl.highWater`
    /// chunks wait for a reader, and then nothing more is read from the server (HTTP/2's flow control
    /// holds the server back), as when the body was read through AsyncHTTPClient's own stream.
    struct Reader {
        fileprivate var chunks: AsyncThrowingStream<ByteBuffer, any Error>.AsyncIterator
        let flow: FlowControl

        mutating func next() async throws -> ByteBuffer? {
            let chunk = try await chunks.next()
            if chunk != nil { flow.took() }
            return chunk
        }
    }

    /// How many chunks wait for the reader, and the connection's read held back meanwhile.
    final class FlowControl: Sendable {
        static let highWater = 8
        static let lowWater = 2

        private struct State {
            var waiting = 0
            var held: EventLoopPromise<Void>?
        }

        private let state = NIOLockedValueBox(State())

        /// A chunk was handed on: the future the connection waits for before it reads more.
        func gave(on eventLoop: any EventLoop) -> EventLoopFuture<Void> {
            state.withLockedValue { state in
                state.waiting += 1
                guard state.waiting >= Self.highWater else { return eventLoop.makeSucceededVoidFuture() }
                let promise = eventLoop.makePromise(of: Void.self)
                state.held = promise
                return promise.futureResult
            }
        }

        /// The reader took a chunk.
        func took() {
            let release = state.withLockedValue { state -> EventLoopPromise<Void>? in
                state.waiting -= 1
                guard state.waiting <= Self.lowWater, let held = state.held else { return nil }
                state.held = nil
                return held
            }
            release?.succeed()
        }

        /// The request ended: nothing waits any more.
        func end() {
            let release = state.withLockedValue { state -> EventLoopPromise<Void>? in
                defer { state.held = nil }
                return state.held
            }
            release?.succeed()
        }
    }

    deinit {
        request.cancel()
    }

    /// What `open` answers: a 2xx response's stream, or another status with its (short) body read whole.
    enum Answer: Sendable {
        case stream(ResponseStream)
        case complete(HTTPResponseHead, ByteBuffer)
    }

    /// The answer to a head that came too late (`headTimeout`).
    struct HeadTimeout: Error, CustomStringConvertible {
        var timeout: Duration
        var description: String { "no response within \(timeout)" }
    }

    /// Sends `request` on `client` and waits for the response's head (at most `headTimeout`; the body may
    /// then stream for as long as the server sends it). Cancelling the calling task cancels the request.
    static func open(_ request: HTTPClient.Request, on client: HTTPClient, headTimeout: Duration) async throws -> Answer {
        let (chunks, chunkSink) = AsyncThrowingStream.makeStream(of: ByteBuffer.self, throwing: (any Error).self)
        let delegate = Delegate(chunks: chunks, sink: chunkSink)
        let sent = Started()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (answer: CheckedContinuation<Answer, any Error>) in
                delegate.wait { result in answer.resume(with: result) }
                delegate.keep(
                    client.eventLoopGroup.any().scheduleTask(in: .nanoseconds(headTimeout.nanoseconds)) {
                        guard let answer = delegate.takeAnswer() else { return }
                        answer(.failure(HeadTimeout(timeout: headTimeout)))
                        sent.cancel()
                    })
                let task = client.execute(request: request, delegate: delegate, eventLoop: .indifferent, deadline: nil, logger: nil)
                // The reader gone (its task cancelled) ends the request.
                chunkSink.onTermination = { termination in
                    if case .cancelled = termination { task.cancel() }
                }
                sent.set(task)
            }
        } onCancel: {
            sent.cancel()
        }
    }

    /// The request once sent, for a cancellation that may come before or after.
    private final class Started: Sendable {
        private enum State {
            case waiting
            case cancelled
            case sent(HTTPClient.Task<Void>)
        }

        private let state = NIOLockedValueBox(State.waiting)

        func set(_ task: HTTPClient.Task<Void>) {
            let cancelled = state.withLockedValue { state -> Bool in
                if case .cancelled = state { return true }
                state = .sent(task)
                return false
            }
            if cancelled { task.cancel() }
        }

        func cancel() {
            let task = state.withLockedValue { state -> HTTPClient.Task<Void>? in
                defer { state = .cancelled }
                if case .sent(let task) = state { return task }
                return nil
            }
            task?.cancel()
        }
    }

    /// AsyncHTTPClient's callbacks for one request, all on the connection's event loop.
    private final class Delegate: HTTPClientResponseDelegate, Sendable {
        typealias Response = Void

        private struct State {
            var answer: (@Sendable (Result<Answer, any Error>) -> Void)?
            var timeout: Scheduled<Void>?
            /// Handed to the caller with a 2xx head.
            var chunks: AsyncThrowingStream<ByteBuffer, any Error>?
            var head: HTTPResponseHead?
            /// The body of a response that is not 2xx, read whole (up to `maxErrorBody`).
            var errorBody = ByteBuffer()
        }

        static let maxErrorBody = 1 << 20

        /// 2xx: the body streams to the caller; any other status is read whole and answered at the end.
        static func isSuccess(_ head: HTTPResponseHead) -> Bool { (200..<300).contains(head.status.code) }
        private let sink: AsyncThrowingStream<ByteBuffer, any Error>.Continuation
        private let flow = FlowControl()
        private let state: NIOLockedValueBox<State>

        init(chunks: AsyncThrowingStream<ByteBuffer, any Error>, sink: AsyncThrowingStream<ByteBuffer, any Error>.Continuation) {
            self.sink = sink
            self.state = NIOLockedValueBox(State(chunks: chunks))
        }

        /// Sets who waits for the answer.
        func wait(_ answer: @escaping @Sendable (Result<Answer, any Error>) -> Void) {
            state.withLockedValue { $0.answer = answer }
        }

        /// Keeps the timer that gives up on the head, until the answer comes (cancelled if it came).
        func keep(_ timeout: Scheduled<Void>) {
            let answered = state.withLockedValue { state -> Bool in
                guard state.answer != nil else { return true }
                state.timeout = timeout
                return false
            }
            if answered { timeout.cancel() }
        }

        /// The waiting caller, once: nil after it was answered.
        func takeAnswer() -> (@Sendable (Result<Answer, any Error>) -> Void)? {
            state.withLockedValue { state in
                defer {
                    state.answer = nil
                    state.timeout = nil
                }
                state.timeout?.cancel()
                return state.answer
            }
        }

        func didReceiveHead(task: HTTPClient.Task<Void>, _ head: HTTPResponseHead) -> EventLoopFuture<Void> {
            state.withLockedValue { $0.head = head }
            if Self.isSuccess(head) {
                let chunks = state.withLockedValue { state in
                    defer { state.chunks = nil }
                    return state.chunks
                }
                if let chunks, let answer = takeAnswer() {
                    answer(.success(.stream(ResponseStream(head: head, chunks: chunks, flow: flow, request: task))))
                }
            }
            return task.eventLoop.makeSucceededVoidFuture()
        }

        func didReceiveBodyPart(task: HTTPClient.Task<Void>, _ buffer: ByteBuffer) -> EventLoopFuture<Void> {
            let streaming = state.withLockedValue { state -> Bool in
                guard let head = state.head, !Self.isSuccess(head) else { return true }
                let room = Self.maxErrorBody - state.errorBody.readableBytes
                if room > 0, let part = buffer.getSlice(at: buffer.readerIndex, length: min(room, buffer.readableBytes)) {
                    state.errorBody.writeImmutableBuffer(part)
                }
                return false
            }
            if streaming {
                // A copy: the chunk is a slice of the connection's frame buffer, which a slice kept anywhere
                // on the way to the reader pins whole (heaptrack: 5 KiB a watch, 1.1 MiB for 200).
                var copy = ByteBufferAllocator().buffer(capacity: buffer.readableBytes)
                copy.writeImmutableBuffer(buffer)
                sink.yield(copy)
                return flow.gave(on: task.eventLoop)
            }
            return task.eventLoop.makeSucceededVoidFuture()
        }

        func didFinishRequest(task: HTTPClient.Task<Void>) throws {
            let (head, body) = state.withLockedValue { ($0.head, $0.errorBody) }
            if let head, !Self.isSuccess(head), let answer = takeAnswer() {
                answer(.success(.complete(head, body)))
            }
            flow.end()
            sink.finish()
        }

        func didReceiveError(task: HTTPClient.Task<Void>, _ error: any Error) {
            if let answer = takeAnswer() { answer(.failure(error)) }
            flow.end()
            sink.finish(throwing: error)
        }
    }
}
