import Foundation

extension Array where Element: Sendable {
    /// `map`, with the elements transformed on several threads at once; the result keeps their order.
    /// For independent, CPU-bound work on many elements (compiling pods, writing their files).
    public func concurrentMap<T: Sendable>(_ transform: @Sendable (Element) -> T) -> [T] {
        guard count > 1 else { return map(transform) }
        let results = Slots<T>(count: count)
        withoutActuallyEscaping(transform) { transform in
            let elements = self
            DispatchQueue.concurrentPerform(iterations: elements.count) { i in
                results.set(i, transform(elements[i]))
            }
        }
        return results.values
    }
}

/// Results written from several threads, each slot once.
private final class Slots<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [Value?]

    init(count: Int) { slots = Array(repeating: nil, count: count) }

    func set(_ index: Int, _ value: Value) { lock.withLock { slots[index] = value } }

    /// Every slot, once all are set.
    var values: [Value] { lock.withLock { slots.map { $0! } } }
}
