import KubeTestServer
import KubeletAPI
import SystemkRuntime
import Testing

/// `follow=true`: lines reach the client as they are written, and a client that goes away ends the log.
@Suite("following a container's log")
struct FollowTests {
    @Test func linesArriveWhileTheStreamIsOpen() async throws {
        let source = FakeLogSource(.live)
        try await withKubelet(logs: source, pods: try await podStore(podJSON("web"))) { kubelet in
            let response = try await kubelet.client.send("GET", kubelet.url + "/containerLogs/default/web/app?follow=true")
            #expect(response.status == 200)
            var writers = source.opened.makeAsyncIterator()
            let writer = try #require(await writers.next())
            var lines = response.lines.makeAsyncIterator()
            writer.yield(Array("first\n".utf8))
            #expect(try await lines.next() == "first")
            writer.yield(Array("second\nthird\n".utf8))
            #expect(try await lines.next() == "second")
            #expect(try await lines.next() == "third")
            // The run ends: so does the response.
            writer.finish()
            #expect(try await lines.next() == nil)
            #expect(source.calls.first?.options.follow == true)
        }
    }

    @Test func aClientThatGoesAwayCancelsTheLog() async throws {
        let source = FakeLogSource(.live)
        try await withKubelet(logs: source, pods: try await podStore(podJSON("web"))) { kubelet in
            let response = try await kubelet.client.send("GET", kubelet.url + "/containerLogs/default/web/app?follow=true")
            var writers = source.opened.makeAsyncIterator()
            let writer = try #require(await writers.next())
            var lines = response.lines.makeAsyncIterator()
            writer.yield(Array("hello\n".utf8))
            #expect(try await lines.next() == "hello")
            // No more output comes; the client hangs up while the server waits for the next line.
            response.close()
            var ends = source.ended.makeAsyncIterator()
            #expect(await ends.next() == true)
        }
    }

    @Test func stoppingTheServerEndsOpenLogs() async throws {
        let source = FakeLogSource(.live)
        let kubelet = try await Kubelet.start(logs: source, pods: try await podStore(podJSON("web")))
        let response = try await kubelet.client.send("GET", kubelet.url + "/containerLogs/default/web/app?follow=true")
        var writers = source.opened.makeAsyncIterator()
        _ = try #require(await writers.next())
        await kubelet.stop()
        var ends = source.ended.makeAsyncIterator()
        #expect(await ends.next() == true)
        response.close()
        // Nothing listens any more.
        await #expect(throws: (any Error).self) { _ = try await kubelet.get("/healthz") }
    }
}
