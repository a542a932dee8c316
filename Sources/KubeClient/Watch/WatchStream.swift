import AsyncHTTPClient
import Foundation
import NIOCore

/// Which objects a list or watch covers.
public struct WatchScope: Sendable, Equatable {
    /// The namespace; nil for all namespaces (or a cluster-scoped kind).
    public var namespace: String?
    /// A field selector such as `spec.nodeName=node1` or `metadata.name=app-config`.
    public var fieldSelector: String?
    /// A label selector.
    public var labelSelector: String?

    /// Creates a scope.
    public init(namespace: String? = nil, fieldSelector: String? = nil, labelSelector: String? = nil) {
        self.namespace = namespace
        self.fieldSelector = fieldSelector
        self.labelSelector = labelSelector
    }

    var query: [(String, String)] {
        var query: [(String, String)] = []
        if let fieldSelector, !fieldSelector.isEmpty { query.append(("fieldSelector", fieldSelector)) }
        if let labelSelector, !labelSelector.isEmpty { query.append(("labelSelector", labelSelector)) }
        return query
    }
}

/// The events of one watch connection, decoded line by line as the body arrives. It ends when the server
/// closes the stream; it throws `KubeError` when the connection fails or a line is not a watch event.
/// Cancelling the consuming task (or dropping the iterator) closes the connection.
public struct WatchStream<Object: KubeResource>: AsyncSequence {
    public typealias Element = WatchEvent<Object>
    let response: HTTPClientResponse
    let path: String

    /// Starts reading the body.
    public func makeAsyncIterator() -> Iterator {
        Iterator(connection: WatchConnection(body: response.body.makeAsyncIterator(), path: path))
    }

    /// Reads events one at a time.
    public struct Iterator: AsyncIteratorProtocol {
        var connection: WatchConnection<Object>

        /// The next event; nil at the end of the stream.
        public mutating func next() async throws(KubeError) -> WatchEvent<Object>? {
            try await connection.next()
        }
    }
}

/// One watch connection's lines, as the body arrives: not generic, so that a watch waiting for its next
/// event (most of its life) holds little. A generic caller suspended across an `await` keeps each of its
/// generic values in the task's allocator; an informer per referenced ConfigMap used to hold 23 KiB that way
/// (BENCHMARKS.md, "Where the memory goes"). Callers await `nextLine()`, then decode.
struct WatchLines {
    /// A line of the body; `isRemainder` marks what followed the last newline when the stream ended,
    /// which counts only if it is a whole event (a cut-off one is dropped: the watch resumes before it).
    struct Line {
        var bytes: Data
        var isRemainder: Bool
    }

    private var body: HTTPClientResponse.Body.AsyncIterator
    private var decoder = LineDecoder()
    private var lines: [Data] = []
    private var lineIndex = 0
    private var ended = false
    let path: String

    init(body: HTTPClientResponse.Body.AsyncIterator, path: String) {
        self.body = body
        self.path = path
    }

    /// The next line, nil at a clean end of stream.
    mutating func nextLine() async throws(KubeError) -> Line? {
        while true {
            if lineIndex < lines.count {
                defer { lineIndex += 1 }
                return Line(bytes: lines[lineIndex], isRemainder: false)
            }
            if ended { return nil }
            lines = []
            lineIndex = 0
            let chunk: ByteBuffer?
            do {
                chunk = try await body.next()
            } catch {
                throw .transport(method: "GET", path: path, detail: "watch interrupted: \(Transport.describe(error))")
            }
            guard let chunk else {
                ended = true
                let rest = decoder.remainder
                return rest.isEmpty ? nil : Line(bytes: rest, isRemainder: true)
            }
            do {
                lines = try decoder.feed(chunk.readableBytesView)
            } catch {
                throw .decoding(what: "watch stream from \(path)", detail: error.description)
            }
        }
    }

    /// The event a line holds; nil for a remainder that is not a whole event.
    static func decode<Object: KubeResource>(_ line: Line, as: Object.Type, path: String) throws(KubeError) -> WatchEvent<Object>? {
        do {
            return try WatchEvent<Object>.decode(line: line.bytes)
        } catch {
            if line.isRemainder { return nil }
            throw .decoding(
                what: "watch event from \(path)",
                detail: "\(error); line starts \(String(decoding: line.bytes.prefix(200), as: UTF8.self))")
        }
    }
}

/// The decoding state of one watch connection: its lines, each decoded as an event of `Object`.
struct WatchConnection<Object: KubeResource> {
    private(set) var lines: WatchLines

    init(body: HTTPClientResponse.Body.AsyncIterator, path: String) {
        lines = WatchLines(body: body, path: path)
    }

    /// The next event, nil at a clean end of stream.
    mutating func next() async throws(KubeError) -> WatchEvent<Object>? {
        while let line = try await lines.nextLine() {
            if let event = try WatchLines.decode(line, as: Object.self, path: lines.path) { return event }
        }
        return nil
    }
}
