import Foundation
import KubeTestServer
import Testing

@Suite("Watches: replay, 410, bookmarks, timeouts, selectors")
struct WatchTests {
    @Test func watchFromAResourceVersionReplaysLaterEventsThenStreams() async throws {
        try await withServer { server in
            let client = try RawClient(server)
            let a = try await client.post("/api/v1/namespaces/default/configmaps", ["metadata": ["name": "a"]])
            _ = try await client.post("/api/v1/namespaces/default/configmaps", ["metadata": ["name": "b"]])
            _ = try await client.delete("/api/v1/namespaces/default/configmaps/a")
            let rv = try #require(a.body.resourceVersion)
            let watch = try await client.watch("/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=\(rv)")
            defer { watch.close() }
            let replayed = [try await watch.next(), try await watch.next()]
            #expect(replayed.map { $0?.type } == ["ADDED", "DELETED"])
            #expect(replayed.map { $0?.name } == ["b", "a"])
            #expect(replayed[0]?.object["kind"] == "ConfigMap")
            #expect(replayed[0]?.object["apiVersion"] == "v1")
            let live = try await client.post("/api/v1/namespaces/default/configmaps", ["metadata": ["name": "c"]])
            let next = try await watch.next()
            #expect(next?.type == "ADDED")
            #expect(next?.resourceVersion == live.body.resourceVersion)
            // What the server recorded as sent is what arrived.
            let sent = server.emittedEvents().filter { $0.type != .bookmark }
            #expect(sent.map(\.type.rawValue) == ["ADDED", "DELETED", "ADDED"])
            #expect(sent.map(\.resourceVersion) == [replayed[0]?.resourceVersion, replayed[1]?.resourceVersion, next?.resourceVersion].compactMap { $0 })
        }
    }

    @Test func watchWithoutResourceVersionStartsWithSyntheticAdds() async throws {
        try await withServer { server in
            let client = try RawClient(server)
            _ = try await client.post("/api/v1/namespaces/default/configmaps", ["metadata": ["name": "x"]])
            _ = try await client.post("/api/v1/namespaces/default/configmaps", ["metadata": ["name": "y"]])
            let watch = try await client.watch("/api/v1/namespaces/default/configmaps?watch=1")
            defer { watch.close() }
            let first = try await watch.next()
            let second = try await watch.next()
            #expect([first?.type, second?.type] == ["ADDED", "ADDED"])
            #expect(Set([first?.name, second?.name]) == ["x", "y"])
        }
    }

    @Test func tooOldResourceVersionGivesAnErrorEventWith410() async throws {
        try await withServer({ $0.historyLimit = 3 }) { server in
            let client = try RawClient(server)
            let first = try await client.post("/api/v1/namespaces/default/configmaps", ["metadata": ["name": "c0"]])
            for i in 1...5 { _ = try await client.post("/api/v1/namespaces/default/configmaps", ["metadata": ["name": .string("c\(i)")]]) }
            let watch = try await client.watch("/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=\(first.body.resourceVersion ?? "")")
            #expect(watch.response.status == 200)
            let event = try await watch.next()
            #expect(event?.type == "ERROR")
            #expect(event?.object["kind"] == "Status")
            #expect(event?.object["code"] == 410)
            #expect(event?.object["reason"] == "Expired")
            #expect(event?.object["message"]?.stringValue?.hasPrefix("too old resource version: ") == true)
            #expect(try await watch.next() == nil)
            // A list still works and a watch from its resourceVersion is fine.
            let list = try await client.get("/api/v1/namespaces/default/configmaps")
            let fresh = try await client.watch("/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=\(list.body[path: ["metadata", "resourceVersion"]]?.stringValue ?? "")")
            defer { fresh.close() }
            _ = try await client.post("/api/v1/namespaces/default/configmaps", ["metadata": ["name": "later"]])
            #expect(try await fresh.next()?.name == "later")
        }
    }

    @Test func bookmarksCarryTheCurrentResourceVersion() async throws {
        try await withServer({ $0.bookmarkInterval = .milliseconds(50) }) { server in
            let client = try RawClient(server)
            let created = try await client.post("/api/v1/nodes", node("n1"))
            let watch = try await client.watch("/api/v1/pods?watch=true&allowWatchBookmarks=true&resourceVersion=\(created.body.resourceVersion ?? "")")
            defer { watch.close() }
            let bookmark = try await watch.next()
            #expect(bookmark?.type == "BOOKMARK")
            #expect(bookmark?.object["kind"] == "Pod")
            #expect(bookmark?.resourceVersion == created.body.resourceVersion)
        }
    }

    @Test func watchListSendsInitialEventsThenAnAnnotatedBookmark() async throws {
        try await withServer { server in
            let client = try RawClient(server)
            let created = try await client.post("/api/v1/namespaces/default/configmaps", ["metadata": ["name": "a"]])
            let watch = try await client.watch("/api/v1/namespaces/default/configmaps?watch=true&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan")
            defer { watch.close() }
            #expect(try await watch.next()?.name == "a")
            let end = try await watch.next()
            #expect(end?.type == "BOOKMARK")
            #expect(end?.object[path: ["metadata", "annotations", "k8s.io/initial-events-end"]] == "true")
            #expect(end?.resourceVersion == created.body.resourceVersion)
            let refused = try await client.get("/api/v1/namespaces/default/configmaps?watch=true&sendInitialEvents=true")
            #expect(refused.status == 422)
        }
    }

    @Test func timeoutSecondsEndsTheStreamCleanly() async throws {
        try await withServer { server in
            let client = try RawClient(server)
            let watch = try await client.watch("/api/v1/namespaces/default/pods?watch=true&timeoutSeconds=1&resourceVersion=1")
            #expect(try await watch.next() == nil)
        }
    }

    @Test func selectorsFilterAndLeavingTheSelectionIsDeleted() async throws {
        try await withServer { server in
            let client = try RawClient(server)
            let list = try await client.get("/api/v1/pods?fieldSelector=spec.nodeName%3Dn1")
            let rv = list.body[path: ["metadata", "resourceVersion"]]?.stringValue ?? ""
            let watch = try await client.watch("/api/v1/pods?watch=true&resourceVersion=\(rv)&fieldSelector=spec.nodeName%3Dn1&labelSelector=app%20in%20(web,api),!legacy")
            defer { watch.close() }
            _ = try await client.post("/api/v1/namespaces/default/pods", pod("elsewhere", node: "n2", labels: ["app": "web"]))
            _ = try await client.post("/api/v1/namespaces/default/pods", pod("other-app", node: "n1", labels: ["app": "db"]))
            _ = try await client.post("/api/v1/namespaces/default/pods", pod("mine", node: "n1", labels: ["app": "web"]))
            let added = try await watch.nextChange()
            #expect(added?.type == "ADDED")
            #expect(added?.name == "mine")
            // Entering the selection is ADDED, leaving it DELETED (with the new resourceVersion).
            _ = try await client.patch("/api/v1/namespaces/default/pods/other-app", ["metadata": ["labels": ["app": "api"]]])
            let entered = try await watch.nextChange()
            #expect(entered?.type == "ADDED")
            #expect(entered?.name == "other-app")
            let left = try await client.patch("/api/v1/namespaces/default/pods/mine", ["metadata": ["labels": ["legacy": "true"]]])
            let deleted = try await watch.nextChange()
            #expect(deleted?.type == "DELETED")
            #expect(deleted?.name == "mine")
            #expect(deleted?.resourceVersion == left.body.resourceVersion)
            #expect(deleted?.object.labels["legacy"] == nil)

            let filtered = try await client.get("/api/v1/pods?labelSelector=app%3Dapi")
            #expect(filtered.body["items"]?.arrayValue?.map(\.name) == ["other-app"])
            let notEqual = try await client.get("/api/v1/namespaces/default/pods?fieldSelector=spec.nodeName!%3Dn1")
            #expect(notEqual.body["items"]?.arrayValue?.map(\.name) == ["elsewhere"])
        }
    }

    @Test func tableWatchEventsWhenAsked() async throws {
        try await withServer { server in
            let client = try RawClient(server)
            _ = try await client.post("/api/v1/namespaces/default/pods", pod("p", node: "n1"))
            let response = try await client.http.send("GET", server.url + "/api/v1/namespaces/default/pods?watch=true",
                                                      headers: [("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io,application/json")])
            let watch = WatchReader(response: response)
            defer { watch.close() }
            let event = try await watch.next()
            #expect(event?.object["kind"] == "Table")
            #expect(event?.object["rows"]?.arrayValue?.first?["cells"]?.arrayValue?.first == "p")
        }
    }
}
