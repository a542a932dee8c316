import Foundation
import KubeTestServer
import Testing

@testable import KubeClient

@Suite("Informers: list, watch, resume, re-list", .timeLimit(.minutes(1)))
struct InformerTests {
    var informerOptions: InformerOptions {
        var options = InformerOptions()
        options.watchTimeoutSeconds = 30...30
        return options
    }

    @Test func listThenWatchDeliversEveryChangeOnce() async throws {
        try await withServer { server, client in
            try await server.create(.pods, podManifest("a", node: "n1"))
            try await server.create(.pods, podManifest("b", node: "n1"))
            try await server.create(.pods, podManifest("other", node: "n2"))
            let sink = EventSink<Pod>()
            let task = EventSink.consume(client.podInformer(nodeName: "n1", options: informerOptions), into: sink)
            await sink.waitUntil { $0.events.contains(where: \.isSynced) }
            #expect(await sink.events.map(\.summary).prefix(2).sorted().allSatisfy { $0.hasSuffix("(list)") })

            let c = try await server.create(.pods, podManifest("c", node: "n1"))
            let a = try await server.update(.pods, relabel(try await server.get(.pods, name: "a"), "v", "2"))
            try await server.delete(.pods, name: "b", options: .init(gracePeriodSeconds: 0))
            await sink.waitUntil { $0.state["default/b"] == nil && $0.versions["default/a"] == a.resourceVersion }
            let summaries = await sink.events.map(\.summary)
            #expect(summaries.contains("ADDED default/c@\(c.resourceVersion ?? "")"))
            #expect(summaries.contains("MODIFIED default/a@\(a.resourceVersion ?? "")"))
            #expect(summaries.contains { $0.hasPrefix("DELETED default/b@") })
            #expect(!summaries.contains { $0.contains("other") })
            // The watch asked for what an agent needs.
            let watch = try #require(server.faults.requests.first { $0.verb == "watch" })
            #expect(watch.query.contains("fieldSelector=spec.nodeName%3Dn1"))
            #expect(watch.query.contains("allowWatchBookmarks=true"))
            #expect(watch.query.contains("timeoutSeconds=30"))
            #expect(watch.query.contains("resourceVersion="))
            task.cancel()
            await task.value
        }
    }

    @Test func aDroppedWatchResumesFromTheLastResourceVersion() async throws {
        try await withServer { server, client in
            let sink = EventSink<Pod>()
            let task = EventSink.consume(client.podInformer(nodeName: "n1", options: informerOptions), into: sink)
            await sink.waitUntil { $0.events.contains(where: \.isSynced) }
            let first = try await server.create(.pods, podManifest("a", node: "n1"))
            await sink.waitUntil { $0.versions["default/a"] == first.resourceVersion }
            #expect(await server.faults.dropWatches() == 1)
            let second = try await server.create(.pods, podManifest("b", node: "n1"))
            await sink.waitUntil { $0.versions["default/b"] == second.resourceVersion }
            let watches = server.faults.requests.filter { $0.verb == "watch" }
            #expect(watches.count >= 2)
            #expect(server.faults.count(.init(verb: "list")) == 1, "no re-list after a drop")
            #expect(watches.dropFirst().allSatisfy { !$0.query.contains("resourceVersion=0&") })
            task.cancel()
            await task.value
        }
    }

    @Test func goneAfterARestartReListsAndDeliversOnlyTheDifference() async throws {
        try await withServer { server, client in
            let keep = try await server.create(.pods, podManifest("keep", node: "n1"))
            try await server.create(.pods, podManifest("change", node: "n1"))
            try await server.create(.pods, podManifest("remove", node: "n1"))
            let sink = EventSink<Pod>()
            let task = EventSink.consume(client.podInformer(nodeName: "n1", options: informerOptions), into: sink)
            await sink.waitUntil { $0.state.count == 3 && $0.events.contains(where: \.isSynced) }
            // Hold the consumer, then change things while no watch is open and forget the history.
            await sink.close()
            let marker = try await server.update(.pods, relabel(try await server.get(.pods, name: "change"), "step", "1"))
            await sink.waitUntil { $0.versions["default/change"] == marker.resourceVersion }
            await server.faults.restart(compact: false)
            let changed = try await server.update(.pods, relabel(try await server.get(.pods, name: "change"), "step", "2"))
            try await server.delete(.pods, name: "remove", options: .init(gracePeriodSeconds: 0))
            let added = try await server.create(.pods, podManifest("new", node: "n1"))
            await server.faults.restart(compact: true)
            let before = await sink.events.count
            await sink.open()
            await sink.waitUntil { $0.events.count > before && $0.events.last?.isSynced == true }

            let after = Array(await sink.events.dropFirst(before))
            let summaries = after.map(\.summary)
            #expect(summaries.first?.hasPrefix("INTERRUPTED") == true, "\(summaries)")
            #expect(summaries.contains("MODIFIED default/change@\(changed.resourceVersion ?? "") (list)"))
            #expect(summaries.contains("ADDED default/new@\(added.resourceVersion ?? "") (list)"))
            #expect(summaries.contains { $0.hasPrefix("DELETED default/remove@") && $0.hasSuffix("(list)") })
            #expect(!summaries.contains { $0.contains("default/keep") }, "unchanged objects are not repeated")
            #expect(await sink.versions()["default/keep"] == keep.resourceVersion)
            #expect(server.faults.count(.init(verb: "list")) == 2)
            task.cancel()
            await task.value
        }
    }

    @Test func aRestartWithoutCompactionResumesWithoutReListing() async throws {
        try await withServer { server, client in
            let sink = EventSink<Pod>()
            let task = EventSink.consume(client.podInformer(nodeName: "n1", options: informerOptions), into: sink)
            await sink.waitUntil { $0.events.contains(where: \.isSynced) }
            await server.faults.restart(compact: false)
            let pod = try await server.create(.pods, podManifest("after-restart", node: "n1"))
            await sink.waitUntil { $0.versions["default/after-restart"] == pod.resourceVersion }
            #expect(server.faults.count(.init(verb: "list")) == 1)
            #expect(await sink.events.filter { $0.summary.hasSuffix("(list)") }.isEmpty)
            task.cancel()
            await task.value
        }
    }

    @Test func aSingleWatchStreamEndsWhenTheServerEndsIt() async throws {
        try await withServer { server, client in
            let list = try await client.listPods(onNode: "n1")
            let stream = try await client.watch(
                Pod.self, scope: KubeClient.podsOnNode("n1"), resourceVersion: list.metadata.resourceVersion,
                allowBookmarks: false, timeoutSeconds: 1)
            let pod = try await server.create(.pods, podManifest("w", node: "n1"))
            var seen: [String] = []
            for try await event in stream {
                if case .added(let p) = event { seen.append("\(p.key)@\(p.metadata.resourceVersion ?? "")") }
            }
            #expect(seen == ["default/w@\(pod.resourceVersion ?? "")"])
        }
    }

    @Test func droppingAWatchStreamClosesItsConnection() async throws {
        // The server notices a closed watch when its next bookmark write fails: write them often.
        var serverOptions = KubeTestServer.Options()
        serverOptions.bookmarkInterval = .milliseconds(20)
        try await withServer(serverOptions: serverOptions) { server, client in
            var stream: WatchStream<Pod>? = try await client.watch(
                Pod.self, scope: KubeClient.podsOnNode("n1"), resourceVersion: nil, allowBookmarks: true)
            await server.faults.waitForWatch()
            #expect(server.faults.openWatchConnections == 1)
            #expect(stream != nil)
            stream = nil  // never read, never cancelled: only dropped
            #expect(try await openWatchesOnceClosed(server) == 0)
        }
    }

    @Test func aWatchWhoseAnswerDoesNotComeFailsAfterTheRequestTimeout() async throws {
        var options = fastOptions()
        options.requestTimeout = .milliseconds(300)
        try await withServer(options: options) { server, client in
            server.faults.delay(.seconds(3), matching: .init(verb: "watch"))
            let started = ContinuousClock.now
            await #expect {
                _ = try await client.watch(Pod.self, scope: KubeClient.podsOnNode("n1"), resourceVersion: nil)
            } throws: { error in
                guard case .transport(_, _, let detail) = error as? KubeError else { return false }
                return detail.contains("no response within")
            }
            #expect(ContinuousClock.now - started < .seconds(2))
            server.faults.delay(nil)
        }
    }

    @Test func aWatchAnsweredWithAnErrorThrowsItsStatus() async throws {
        try await withServer { server, client in
            server.faults.failNext(1, status: 503, matching: .init(verb: "watch"))
            await #expect {
                _ = try await client.watch(Pod.self, scope: KubeClient.podsOnNode("n1"), resourceVersion: nil)
            } throws: { error in
                guard case .server(503, _)? = error as? KubeError else { return false }
                return true
            }
            // The next one streams.
            let stream = try await client.watch(Pod.self, scope: KubeClient.podsOnNode("n1"), resourceVersion: nil, timeoutSeconds: 1)
            for try await _ in stream {}
        }
    }

    @Test func tooManyRequestsOnAWatchWaitsRetryAfter() async throws {
        let sleeps = SleepRecorder()
        try await withServer(options: sleeps.options()) { server, client in
            server.faults.failNext(1, status: 429, retryAfter: 1, matching: .init(verb: "watch"))
            let sink = EventSink<Pod>()
            let task = EventSink.consume(client.podInformer(nodeName: "n1", options: informerOptions), into: sink)
            await sink.waitUntil { $0.events.contains(where: \.isSynced) }
            let pod = try await server.create(.pods, podManifest("a", node: "n1"))
            await sink.waitUntil { $0.versions["default/a"] == pod.resourceVersion }
            let interruptions = await sink.events.compactMap { event -> Duration? in
                if case .interrupted(.tooManyRequests, let wait) = event { return wait }
                return nil
            }
            #expect(interruptions == [.seconds(1)])
            #expect(sleeps.waits.contains(.seconds(1)))
            task.cancel()
            await task.value
        }
    }

    @Test func serverErrorsOnWatchAndListAreRetriedWithBackoff() async throws {
        let sleeps = SleepRecorder()
        try await withServer(options: sleeps.options()) { server, client in
            server.faults.failNext(2, status: 500, matching: .init(verb: "list"))
            server.faults.failNext(3, status: 500, matching: .init(verb: "watch"))
            let sink = EventSink<Pod>()
            let task = EventSink.consume(client.podInformer(nodeName: "n1", options: informerOptions), into: sink)
            await sink.waitUntil { $0.events.contains(where: \.isSynced) }
            let pod = try await server.create(.pods, podManifest("a", node: "n1"))
            await sink.waitUntil { $0.versions["default/a"] == pod.resourceVersion }
            let interruptions = await sink.events.filter {
                if case .interrupted(.server(500, _), _) = $0 { return true }
                return false
            }
            #expect(interruptions.count == 3)
            #expect(sleeps.waits.count >= 5, "list retries inside the request, watch retries in the informer")
            task.cancel()
            await task.value
        }
    }

    @Test func cancellingTheConsumerClosesTheConnection() async throws {
        // The server notices a closed watch when its next bookmark write fails: write them often.
        var serverOptions = KubeTestServer.Options()
        serverOptions.bookmarkInterval = .milliseconds(20)
        try await withServer(serverOptions: serverOptions) { server, client in
            let sink = EventSink<Pod>()
            let task = EventSink.consume(client.podInformer(nodeName: "n1", options: informerOptions), into: sink)
            await sink.waitUntil { $0.events.contains(where: \.isSynced) }
            let pod = try await server.create(.pods, podManifest("a", node: "n1"))
            await sink.waitUntil { $0.versions["default/a"] == pod.resourceVersion }
            #expect(server.faults.openWatchConnections == 1)
            task.cancel()
            await task.value
            #expect(try await openWatchesOnceClosed(server) == 0)
        }
    }

    @Test func manyWatchesAtOnceAreNotQueuedBehindEachOther() async throws {
        // AsyncHTTPClient keeps 8 HTTP/1 connections per host by default; a node watches one ConfigMap or
        // Secret per reference, so the client raises that limit.
        try await withServer { server, client in
            let names = (0..<12).map { "cfg-\($0)" }
            for name in names {
                try await server.create(.configMaps, ["metadata": ["name": .string(name), "namespace": "default"], "data": ["k": "1"]])
            }
            var sinks: [EventSink<ConfigMap>] = []
            var tasks: [Task<Void, Never>] = []
            for name in names {
                let sink = EventSink<ConfigMap>()
                sinks.append(sink)
                tasks.append(EventSink.consume(client.configMapInformer(namespace: "default", name: name, options: informerOptions), into: sink))
            }
            for sink in sinks { await sink.waitUntil { $0.events.contains(where: \.isSynced) } }
            for (name, sink) in zip(names, sinks) {
                let updated = try await server.update(
                    .configMaps, ["metadata": ["name": .string(name), "namespace": "default"], "data": ["k": "2"]])
                await sink.waitUntil { $0.versions["default/\(name)"] == updated.resourceVersion }
            }
            #expect(server.faults.openWatchConnections == names.count)
            for task in tasks { task.cancel() }
            for task in tasks { await task.value }
        }
    }

    @Test func configMapWatchedByName() async throws {
        try await withServer { server, client in
            try await server.create(.configMaps, ["metadata": ["name": "cfg", "namespace": "default"], "data": ["k": "1"]])
            try await server.create(.configMaps, ["metadata": ["name": "other", "namespace": "default"], "data": ["k": "x"]])
            let sink = EventSink<ConfigMap>()
            let task = EventSink.consume(
                client.configMapInformer(namespace: "default", name: "cfg", options: informerOptions), into: sink)
            await sink.waitUntil { $0.events.contains(where: \.isSynced) }
            #expect(await sink.state.keys.sorted() == ["default/cfg"])
            let updated = try await server.update(
                .configMaps, ["metadata": ["name": "cfg", "namespace": "default"], "data": ["k": "2"]])
            await sink.waitUntil { $0.versions["default/cfg"] == updated.resourceVersion }
            #expect(await sink.state["default/cfg"]?.data == ["k": "2"])
            let list = try #require(server.faults.requests.first { $0.verb == "list" })
            #expect(list.query.contains("fieldSelector=metadata.name%3Dcfg"))
            task.cancel()
            await task.value
        }
    }
}

extension EventSink {
    func versions() -> [String: String] { snapshot.versions }
}
