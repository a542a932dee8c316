import Foundation

/// Records every element of an `AsyncStream` as it arrives, and lets a test wait until what was recorded
/// satisfies a condition. The wait is woken by the stream itself (no polling); the timeout only keeps a
/// broken test from hanging.
actor StreamRecorder<Element: Sendable> {
    struct TimedOut: Error, CustomStringConvertible {
        var what: String
        var recorded: [Element]
        var description: String { "timed out waiting for \(what); recorded \(recorded.count): \(recorded)" }
    }

    private(set) var elements: [Element] = []
    private(set) var finished = false
    private var waiters: [UUID: (condition: @Sendable ([Element]) -> Bool, continuation: CheckedContinuation<Bool, Never>)] = [:]
    private var finishWaiters: [UUID: CheckedContinuation<Bool, Never>] = [:]
    private var consumer: Task<Void, Never>?

    init() {}

    /// A recorder that starts consuming `stream` at once.
    static func recording(_ stream: AsyncStream<Element>) async -> StreamRecorder<Element> {
        let recorder = StreamRecorder()
        await recorder.consume(stream)
        return recorder
    }

    private func consume(_ stream: AsyncStream<Element>) {
        consumer = Task {
            for await element in stream { self.append(element) }
            self.finish()
        }
    }

    /// Stops consuming (the stream's subscription ends).
    func cancel() {
        consumer?.cancel()
    }

    private func append(_ element: Element) {
        elements.append(element)
        for (id, waiter) in waiters where waiter.condition(elements) {
            waiters.removeValue(forKey: id)
            waiter.continuation.resume(returning: true)
        }
    }

    private func finish() {
        finished = true
        let all = waiters
        waiters.removeAll()
        for waiter in all.values { waiter.continuation.resume(returning: false) }
        let enders = finishWaiters
        finishWaiters.removeAll()
        for waiter in enders.values { waiter.resume(returning: true) }
    }

    /// Waits until the stream has ended.
    func waitUntilFinished(timeout: Duration = .seconds(15)) async throws {
        if finished { return }
        let id = UUID()
        let timer = Task {
            try? await Task.sleep(for: timeout)
            self.finishWaiters.removeValue(forKey: id)?.resume(returning: false)
        }
        let ended = await withCheckedContinuation { finishWaiters[id] = $0 }
        timer.cancel()
        guard ended else { throw TimedOut(what: "the end of the stream", recorded: elements) }
    }

    /// Waits until `condition` holds for everything recorded so far; returns the recorded elements.
    @discardableResult
    func wait(
        for what: String, timeout: Duration = .seconds(15), until condition: @escaping @Sendable ([Element]) -> Bool
    ) async throws -> [Element] {
        if condition(elements) { return elements }
        if finished { throw TimedOut(what: what + " (stream ended)", recorded: elements) }
        let id = UUID()
        let timer = Task {
            try? await Task.sleep(for: timeout)
            self.timeOut(id)
        }
        let satisfied = await withCheckedContinuation { continuation in
            waiters[id] = (condition, continuation)
        }
        timer.cancel()
        guard satisfied else { throw TimedOut(what: what, recorded: elements) }
        return elements
    }

    private func timeOut(_ id: UUID) {
        waiters.removeValue(forKey: id)?.continuation.resume(returning: false)
    }
}
