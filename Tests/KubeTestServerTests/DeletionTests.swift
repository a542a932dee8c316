import Foundation
import KubeTestServer
import Testing

@Suite("Deletion: graceful two-step for bound pods, preconditions, immediate otherwise")
struct DeletionTests {
    @Test func boundPodIsMarkedThenRemovedWhenTheNodeConfirmsWithItsUID() async throws {
        try await withServer { server in
            let client = try RawClient(server)
            let created = try await client.post("/api/v1/namespaces/default/pods", pod("p", node: "n1"))
            let uid = try #require(created.body.uid)
            let watch = try await client.watch("/api/v1/namespaces/default/pods?watch=true&resourceVersion=\(created.body.resourceVersion ?? "")")
            defer { watch.close() }

            let first = try await client.delete("/api/v1/namespaces/default/pods/p", ["kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": 20])
            #expect(first.status == 202)
            #expect(first.body.isBeingDeleted)
            #expect(first.body[path: ["metadata", "deletionGracePeriodSeconds"]] == 20)
            let modified = try await watch.next()
            #expect(modified?.type == "MODIFIED")
            #expect(modified?.object.isBeingDeleted == true)
            #expect(try await client.get("/api/v1/namespaces/default/pods/p").status == 200)

            // The node confirms with grace 0 and a UID precondition; a wrong UID is a conflict.
            let wrong = try await client.delete("/api/v1/namespaces/default/pods/p",
                                                ["gracePeriodSeconds": 0, "preconditions": ["uid": "someone-else"]])
            #expect(wrong.status == 409)
            #expect(wrong.body["reason"] == "Conflict")
            #expect(wrong.body["message"]?.stringValue?.contains("Precondition failed: UID in precondition: someone-else") == true)
            let confirmed = try await client.delete("/api/v1/namespaces/default/pods/p",
                                                    ["gracePeriodSeconds": 0, "preconditions": ["uid": .string(uid)]])
            #expect(confirmed.status == 200)
            let deleted = try await watch.next()
            #expect(deleted?.type == "DELETED")
            #expect(deleted?.name == "p")
            #expect(try await client.get("/api/v1/namespaces/default/pods/p").status == 404)
        }
    }

    @Test func unboundPodsGraceZeroAndOtherKindsGoAtOnce() async throws {
        try await withServer { server in
            let client = try RawClient(server)
            _ = try await client.post("/api/v1/namespaces/default/pods", pod("unbound"))
            _ = try await client.post("/api/v1/namespaces/default/pods", pod("bound", node: "n1"))
            _ = try await client.post("/api/v1/namespaces/default/configmaps", ["metadata": ["name": "c"]])
            let unbound = try await client.delete("/api/v1/namespaces/default/pods/unbound")
            #expect(unbound.status == 200)
            #expect(unbound.body["kind"] == "Pod")
            let bound = try await client.delete("/api/v1/namespaces/default/pods/bound?gracePeriodSeconds=0")
            #expect(bound.status == 200)
            let configMap = try await client.delete("/api/v1/namespaces/default/configmaps/c")
            #expect(configMap.status == 200)
            #expect(configMap.body["kind"] == "Status")
            #expect(configMap.body["status"] == "Success")
            #expect(await server.list(.pods).isEmpty)
            #expect(try await client.delete("/api/v1/namespaces/default/configmaps/c").status == 404)
        }
    }

    @Test func finalizersHoldAnObjectUntilTheyAreRemoved() async throws {
        try await withServer { server in
            let client = try RawClient(server)
            _ = try await client.post("/api/v1/namespaces/default/configmaps", ["metadata": ["name": "c", "finalizers": ["example.com/hold"]]])
            let marked = try await client.delete("/api/v1/namespaces/default/configmaps/c")
            #expect(marked.status == 202)
            #expect(marked.body.isBeingDeleted)
            _ = try await client.patch("/api/v1/namespaces/default/configmaps/c", ["metadata": ["finalizers": nil]])
            #expect(try await client.get("/api/v1/namespaces/default/configmaps/c").status == 404)
        }
    }

    @Test func directAPIWaitsForConditions() async throws {
        try await withServer { server in
            try await server.create(.pods, pod("p", node: "n1"))
            async let marked = server.waitFor(.pods, name: "p") { $0?.isBeingDeleted == true }
            try await server.delete(.pods, name: "p")
            let pod = try await marked
            #expect(pod?[path: ["metadata", "deletionGracePeriodSeconds"]] == 30)
        }
    }
}
