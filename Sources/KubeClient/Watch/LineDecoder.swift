import Foundation

/// Splits a byte stream into newline-terminated lines as chunks arrive: a line may span many chunks and a
/// chunk may hold many lines. Empty lines (and a `\r` before `\n`) are dropped. Bytes after the last
/// newline wait for the next chunk; at the end of the stream they are an incomplete line (`remainder`).
public struct LineDecoder: Sendable {
    /// A line longer than this is refused (a watch event is one object, and objects are at most ~1.5 MB).
    public var maximumLineLength: Int

    private var buffer: [UInt8] = []
    /// Where the search for the next newline resumes, so a long line is not rescanned per chunk.
    private var scanned = 0

    /// A line exceeded `maximumLineLength`.
    public struct LineTooLong: Error, CustomStringConvertible {
        public var length: Int
        public var description: String { "a watch line exceeded \(length) bytes without a newline" }
    }

    /// Creates a decoder.
    public init(maximumLineLength: Int = 32 << 20) {
        self.maximumLineLength = maximumLineLength
    }

    /// Feeds a chunk; returns the lines it completed, in order.
    public mutating func feed<Bytes: Sequence>(_ chunk: Bytes) throws(LineTooLong) -> [Data] where Bytes.Element == UInt8 {
        buffer.append(contentsOf: chunk)
        var lines: [Data] = []
        var lineStart = 0
        var index = scanned
        while let newline = buffer[index...].firstIndex(of: 0x0A) {
            var end = newline
            if end > lineStart, buffer[end - 1] == 0x0D { end -= 1 }
            if end > lineStart { lines.append(Data(buffer[lineStart..<end])) }
            lineStart = newline + 1
            index = lineStart
        }
        if lineStart > 0 { buffer.removeFirst(lineStart) }
        scanned = buffer.count
        if buffer.count > maximumLineLength { throw LineTooLong(length: maximumLineLength) }
        return lines
    }

    /// The bytes of an unfinished line (a stream that ended mid-event).
    public var remainder: Data { Data(buffer) }
}
