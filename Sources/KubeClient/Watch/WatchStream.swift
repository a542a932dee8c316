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
    let stream: ResponseStream
    let path: String

    /// Starts reading the body.
    public func makeAsyncIterator() -> Iterator {
        Iterator(connection: WatchConnection(stream: stream, path: path))
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

/// The decoding state of one watch connection.
struct WatchConnection<Object: KubeResource> {
    /// Holds the connection open: dropping the last copy closes it.
    private let stream: ResponseStream
    private var body: ResponseStream.Reader
    private var decoder = LineDecoder()
    private var lines: [Data] = []
    private var lineIndex = 0
    private var ended = false
    let path: String

    init(stream: ResponseStream, path: String) {
        self.stream = stream
        self.body = stream.makeReader()
        self.path = path
    }

    /// The next event, nil at a clean end of stream.
    mutating func next() async throws(KubeError) -> WatchEvent<Object>? {
        try await nextResult().get()
    }

    /// `next()` as a result. Only the wait for a chunk is async; decoding is in synchronous, non-inlined
    /// functions, so that an informer waiting here for minutes keeps small async frames (see `Informer`).
    mutating func nextResult() async -> Result<WatchEvent<Object>?, KubeError> {
        while true {
            if let decoded = decodeBuffered() { return decoded }
            if ended { return .success(nil) }
            let chunk: Result<ByteBuffer?, any Error>
            do {
                chunk = .success(try await body.next())
            } catch {
                chunk = .failure(error)
            }
            if let failure = take(chunk) { return .failure(failure) }
        }
    }

    /// The next line received, decoded; nil when none is waiting.
    @inline(never)
    private mutating func decodeBuffered() -> Result<WatchEvent<Object>?, KubeError>? {
        guard lineIndex < lines.count else { return nil }
        let line = lines[lineIndex]
        lineIndex += 1
        do {
            return .success(try WatchEvent<Object>.decode(line: line))
        } catch {
            return .failure(
                .decoding(
                    what: "watch event from \(path)",
                    detail: "\(error); line starts \(String(decoding: line.prefix(200), as: UTF8.self))"))
        }
    }

    /// Splits a chunk into lines (or notes the end of the stream); the error that ends the watch, if any.
    @inline(never)
    private mutating func take(_ chunk: Result<ByteBuffer?, any Error>) -> KubeError? {
        lines = []
        lineIndex = 0
        switch chunk {
        case .failure(let error):
            return .transport(method: "GET", path: path, detail: "watch interrupted: \(Transport.describe(error))")
        case .success(nil):
            ended = true
            // A final event without its newline still counts if it is whole; a cut-off one is dropped
            // (the watch resumes before it).
            let rest = decoder.remainder
            if !rest.isEmpty, (try? WatchEvent<Object>.decode(line: rest)) != nil { lines = [rest] }
            return nil
        case .success(let bytes?):
            do {
                lines = try decoder.feed(bytes.readableBytesView)
                return nil
            } catch {
                return .decoding(what: "watch stream from \(path)", detail: error.description)
            }
        }
    }
}
