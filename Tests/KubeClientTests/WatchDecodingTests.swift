import Foundation
import Testing

@testable import KubeClient

@Suite("Incremental watch decoding")
struct WatchDecodingTests {
    func strings(_ lines: [Data]) -> [String] { lines.map { String(decoding: $0, as: UTF8.self) } }

    @Test func anEventSplitAcrossChunks() throws {
        var decoder = LineDecoder()
        let event = #"{"type":"ADDED","object":{"metadata":{"name":"a"}}}"#
        let bytes = Array((event + "\n").utf8)
        var lines: [Data] = []
        for start in stride(from: 0, to: bytes.count, by: 7) {
            lines += try decoder.feed(bytes[start..<min(start + 7, bytes.count)])
        }
        #expect(strings(lines) == [event])
        #expect(decoder.remainder.isEmpty)
    }

    @Test func severalEventsInOneChunkWithCRLFAndBlankLines() throws {
        var decoder = LineDecoder()
        let lines = try decoder.feed(Array("one\ntwo\r\n\nthree\nfou".utf8))
        #expect(strings(lines) == ["one", "two", "three"])
        #expect(String(decoding: decoder.remainder, as: UTF8.self) == "fou")
        #expect(strings(try decoder.feed(Array("r\n".utf8))) == ["four"])
    }

    @Test func everySplitPointGivesTheSameLines() throws {
        let text = "{\"a\":1}\n{\"b\":\"x\\ny\"}\n{\"c\":[1,2,3]}\n"
        let bytes = Array(text.utf8)
        for split in 0...bytes.count {
            var decoder = LineDecoder()
            let lines = try decoder.feed(bytes[..<split]) + decoder.feed(bytes[split...])
            #expect(strings(lines) == [#"{"a":1}"#, #"{"b":"x\ny"}"#, #"{"c":[1,2,3]}"#])
        }
    }

    @Test func anOverlongLineIsRefused() {
        var decoder = LineDecoder(maximumLineLength: 16)
        #expect(throws: LineDecoder.LineTooLong.self) {
            _ = try decoder.feed(Array(repeating: UInt8(ascii: "x"), count: 17))
        }
    }

    @Test func watchEventsDecodeEveryType() throws {
        let pod = #"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"ns","resourceVersion":"7","uid":"u1"},"spec":{"nodeName":"n1","containers":[{"name":"c","image":"i","extra":{"deep":["}"]}}]}}"#
        let added = try WatchEvent<Pod>.decode(line: Data(#"{"type":"ADDED","object":\#(pod)}"#.utf8))
        guard case .added(let object) = added else {
            Issue.record("expected ADDED")
            return
        }
        #expect(object.metadata.name == "p")
        #expect(object.spec?.nodeName == "n1")
        #expect(object.raw == Data(pod.utf8), "the pod keeps exactly the bytes sent")

        let bookmark = try WatchEvent<Pod>.decode(
            line: Data(#"{"type":"BOOKMARK","object":{"kind":"Pod","apiVersion":"v1","metadata":{"resourceVersion":"42"}}}"#.utf8))
        guard case .bookmark(let version) = bookmark else {
            Issue.record("expected BOOKMARK")
            return
        }
        #expect(version == "42")

        let error = try WatchEvent<Pod>.decode(
            line: Data(#"{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","status":"Failure","message":"too old resource version: 1 (5)","reason":"Expired","code":410}}"#.utf8))
        guard case .error(let status) = error else {
            Issue.record("expected ERROR")
            return
        }
        #expect(status.code == 410)
        #expect(status.reason == "Expired")
        #expect(throws: (any Error).self) { try WatchEvent<Pod>.decode(line: Data(#"{"type":"ADDED"}"#.utf8)) }
        #expect(throws: (any Error).self) { try WatchEvent<Pod>.decode(line: Data(#"{"type":"ADDED","object":{"#.utf8)) }
    }

    @Test func listsKeepEachItemsBytes() throws {
        let a = #"{"metadata":{"name":"a","resourceVersion":"1"},"spec":{"x":"]\"}"}}"#
        let b = #"{"metadata":{"name":"b","resourceVersion":"2"}}"#
        let body = #"{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"9","continue":"tok"},"items":[ \#(a) , \#(b) ]}"#
        let list = try KubeList<Pod>.decode(from: Data(body.utf8))
        #expect(list.metadata.resourceVersion == "9")
        #expect(list.metadata.continue == "tok")
        #expect(list.items.map(\.metadata.name) == ["a", "b"])
        #expect(list.items.map(\.raw) == [Data(a.utf8), Data(b.utf8)])
        let empty = try KubeList<Pod>.decode(from: Data(#"{"metadata":{"resourceVersion":"3"},"items":null}"#.utf8))
        #expect(empty.items.isEmpty)
    }

    @Test func manifestsGetTheKindListItemsLack() throws {
        let item = try Pod.decodeObject(from: Data(#" {"metadata":{"name":"a"},"spec":{}}"#.utf8))
        #expect(item.manifest == Data(#" {"apiVersion":"v1","kind":"Pod","metadata":{"name":"a"},"spec":{}}"#.utf8))
        let whole = #"{"kind":"Pod","apiVersion":"v1","metadata":{"name":"a"}}"#
        #expect(try Pod.decodeObject(from: Data(whole.utf8)).manifest == Data(whole.utf8))
        #expect(try Pod.decodeObject(from: Data(#"{"metadata":{}}"#.utf8)).manifest?.isEmpty == false)
    }
}

@Suite("Status answers become typed errors")
struct StatusErrorTests {
    func error(_ code: Int, reason: String?, headers: [(String, String)] = [], retryAfterSeconds: Int? = nil) -> KubeError {
        var status = Status(message: "the message", reason: reason, code: code)
        if let retryAfterSeconds {
            status.details = try? JSONDecoder().decode(
                StatusDetails.self, from: Data(#"{"retryAfterSeconds":\#(retryAfterSeconds)}"#.utf8))
        }
        let body = (try? JSONEncoder().encode(status)) ?? Data()
        return Transport.error(
            for: APIResponse(code: code, headerPairs: headers, body: body),
            request: APIRequest(method: .GET, path: "/api/v1/namespaces/d/pods/p"))
    }

    @Test func everyCodeMapsToItsCase() {
        func name(_ e: KubeError) -> String {
            switch e {
            case .notFound: "notFound"
            case .alreadyExists: "alreadyExists"
            case .conflict: "conflict"
            case .gone: "gone"
            case .invalid: "invalid"
            case .forbidden: "forbidden"
            case .unauthorized: "unauthorized"
            case .tooManyRequests: "tooManyRequests"
            case .server(let code, _): "server(\(code))"
            case .unexpected(let code, _): "unexpected(\(code))"
            case .transport: "transport"
            case .decoding: "decoding"
            case .configuration: "configuration"
            }
        }
        #expect(name(error(404, reason: "NotFound")) == "notFound")
        #expect(name(error(409, reason: "AlreadyExists")) == "alreadyExists")
        #expect(name(error(409, reason: "Conflict")) == "conflict")
        #expect(name(error(410, reason: "Expired")) == "gone")
        #expect(name(error(422, reason: "Invalid")) == "invalid")
        #expect(name(error(400, reason: "Invalid")) == "invalid")
        #expect(name(error(400, reason: "BadRequest")) == "unexpected(400)")
        #expect(name(error(403, reason: "Forbidden")) == "forbidden")
        #expect(name(error(401, reason: "Unauthorized")) == "unauthorized")
        #expect(name(error(429, reason: "TooManyRequests")) == "tooManyRequests")
        #expect(name(error(500, reason: "InternalError")) == "server(500)")
        #expect(name(error(503, reason: "ServiceUnavailable")) == "server(503)")
    }

    @Test func messageReasonAndRetryAfter() {
        let notFound = error(404, reason: "NotFound")
        #expect(notFound.description == "GET /api/v1/namespaces/d/pods/p: 404 NotFound: the message")
        #expect(notFound.failure?.status?.message == "the message")
        guard case .tooManyRequests(_, let header) = error(429, reason: "TooManyRequests", headers: [("Retry-After", "3")])
        else {
            Issue.record("expected 429")
            return
        }
        #expect(header == .seconds(3))
        guard case .tooManyRequests(_, let details) = error(429, reason: "TooManyRequests", retryAfterSeconds: 4) else {
            Issue.record("expected 429")
            return
        }
        #expect(details == .seconds(4))
    }

    @Test func aBodyThatIsNotAStatusStillGivesTheCode() {
        let e = Transport.error(
            for: APIResponse(code: 502, headerPairs: [], body: Data("bad gateway".utf8)),
            request: APIRequest(method: .POST, path: "/api/v1/nodes"))
        #expect(e.description == "POST /api/v1/nodes: 502 BadGateway: bad gateway")
        #expect(e.isTransient)
    }
}

@Suite("Back-off and timestamps")
struct BackoffAndTimeTests {
    @Test func backoffGrowsIsCappedAndJittered() {
        let b = Backoff(initial: .milliseconds(100), maximum: .seconds(1), factor: 2, jitter: 1)
        #expect(b.delay(attempt: 0, random: 0) == .milliseconds(100))
        #expect(b.delay(attempt: 1, random: 0) == .milliseconds(200))
        #expect(b.delay(attempt: 3, random: 0) == .milliseconds(800))
        #expect(b.delay(attempt: 4, random: 0) == .seconds(1))
        #expect(b.delay(attempt: 100, random: 0.99) == .seconds(1))
        #expect(b.delay(attempt: 0, random: 0.5) == .milliseconds(150))
    }

    @Test func timestampsRoundTrip() throws {
        let t = try #require(Timestamp(rfc3339: "2024-02-29T23:59:58Z"))
        #expect(t.description == "2024-02-29T23:59:58Z")
        #expect(Timestamp(rfc3339: "2024-03-01T01:59:58+02:00") == t)
        #expect(Timestamp(rfc3339: "1970-01-01T00:00:00.5Z")?.date.timeIntervalSince1970 == 0.5)
        #expect(Timestamp(rfc3339: "yesterday") == nil)
        #expect(MicroTimestamp(Date(timeIntervalSince1970: 1.25)).description == "1970-01-01T00:00:01.250000Z")
        let json = try JSONEncoder().encode(["t": t])
        #expect(String(decoding: json, as: UTF8.self) == #"{"t":"2024-02-29T23:59:58Z"}"#)
    }
}
