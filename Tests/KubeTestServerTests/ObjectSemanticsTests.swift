import Foundation
import KubeTestServer
import Testing

@Suite("Objects over HTTP: resourceVersions, conflicts, Status bodies, patches")
struct ObjectSemanticsTests {
    @Test func resourceVersionsIncreaseAcrossTheWholeStoreAndListsCarryTheirs() async throws {
        try await withServer { server in
            let client = try RawClient(server)
            let a = try await client.post("/api/v1/namespaces/default/configmaps", ["metadata": ["name": "a"], "data": ["k": "v"]])
            let b = try await client.post("/api/v1/nodes", node("n1"))
            let c = try await client.post("/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases",
                                          ["metadata": ["name": "n1"], "spec": ["holderIdentity": "n1"]])
            #expect([a.status, b.status, c.status] == [Int](repeating: 201, count: 3))
            let rvs = [a, b, c].compactMap { $0.body.resourceVersion.flatMap { Int64($0) } }
            #expect(rvs.count == 3)
            #expect(rvs == rvs.sorted() && Set(rvs).count == 3)
            #expect(a.body.uid?.isEmpty == false)
            #expect(a.body[path: ["metadata", "creationTimestamp"]]?.stringValue?.hasSuffix("Z") == true)
            #expect(c.body["apiVersion"] == "coordination.k8s.io/v1")

            let list = try await client.get("/api/v1/namespaces/default/configmaps")
            #expect(list.body["kind"] == "ConfigMapList")
            #expect(list.body[path: ["metadata", "resourceVersion"]]?.stringValue == String(rvs[2]))
            #expect(list.body["items"]?.arrayValue?.map(\.name) == ["a"])
            // Items of a typed list carry no kind/apiVersion, as the real server writes them.
            #expect(list.body["items"]?.arrayValue?.first?["kind"] == nil)
        }
    }

    @Test func aDeploymentsGenerationCountsChangesOfItsSpecOnly() async throws {
        try await withServer { server in
            let created = try await server.create(.deployments, [
                "apiVersion": "apps/v1", "kind": "Deployment", "metadata": ["name": "web", "namespace": "default"],
                "spec": ["replicas": 1, "selector": ["matchLabels": ["app": "web"]]],
            ])
            #expect(created[path: ["metadata", "generation"]] == 1)
            var labelled = created
            labelled[path: ["metadata", "labels"]] = ["tier": "front"]
            let afterLabels = try await server.update(.deployments, labelled)
            #expect(afterLabels[path: ["metadata", "generation"]] == 1)
            var status = afterLabels
            status["status"] = ["observedGeneration": 1, "replicas": 1]
            let afterStatus = try await server.updateStatus(.deployments, status)
            #expect(afterStatus[path: ["metadata", "generation"]] == 1)
            #expect(afterStatus[path: ["status", "replicas"]] == 1)
            var scaled = afterStatus
            scaled[path: ["spec", "replicas"]] = 3
            let afterSpec = try await server.update(.deployments, scaled)
            #expect(afterSpec[path: ["metadata", "generation"]] == 2)
            // A plain update cannot change the status.
            #expect(afterSpec[path: ["status", "replicas"]] == 1)
        }
    }

    @Test func generateNameMakesAUniqueNameAndDuplicatesAreAlreadyExists() async throws {
        try await withServer { server in
            let client = try RawClient(server)
            let generated = try await client.post("/api/v1/namespaces/default/configmaps", ["metadata": ["generateName": "cm-"]])
            #expect(generated.status == 201)
            let name = try #require(generated.body.name)
            #expect(name.hasPrefix("cm-") && name.count == 8)
            let again = try await client.post("/api/v1/namespaces/default/configmaps", ["metadata": ["name": .string(name)]])
            #expect(again.status == 409)
            #expect(again.body["kind"] == "Status")
            #expect(again.body["apiVersion"] == "v1")
            #expect(again.body["status"] == "Failure")
            #expect(again.body["reason"] == "AlreadyExists")
            #expect(again.body["code"] == 409)
            #expect(again.body["message"]?.stringValue == "configmaps \"\(name)\" already exists")
            #expect(again.body[path: ["details", "name"]]?.stringValue == name)
        }
    }

    @Test func missingObjectsAndPathsAreNotFoundStatuses() async throws {
        try await withServer { server in
            let client = try RawClient(server)
            let missing = try await client.get("/api/v1/namespaces/default/pods/nope")
            #expect(missing.status == 404)
            #expect(missing.body["reason"] == "NotFound")
            #expect(missing.body["message"] == "pods \"nope\" not found")
            #expect(missing.body[path: ["details", "kind"]] == "pods")
            let lease = try await client.get("/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/x")
            #expect(lease.body["message"] == "leases.coordination.k8s.io \"x\" not found")
            #expect(try await client.get("/api/v1/widgets").status == 404)
            let noNamespace = try await client.post("/api/v1/namespaces/ghost/configmaps", ["metadata": ["name": "a"]])
            #expect(noNamespace.status == 404)
            #expect(noNamespace.body["message"] == "namespaces \"ghost\" not found")
            let badSelector = try await client.get("/api/v1/pods?fieldSelector=spec.bogus%3Dx")
            #expect(badSelector.status == 400)
            #expect(badSelector.body["reason"] == "BadRequest")
        }
    }

    @Test func staleUpdateIsConflictAndCurrentUpdateSucceeds() async throws {
        try await withServer { server in
            let client = try RawClient(server)
            let created = try await client.post("/api/v1/namespaces/default/configmaps", ["metadata": ["name": "cfg"], "data": ["a": "1"]])
            var first = created.body
            first["data"] = ["a": "2"]
            let updated = try await client.put("/api/v1/namespaces/default/configmaps/cfg", first)
            #expect(updated.status == 200)
            #expect(updated.body["data"] == ["a": "2"])
            #expect(updated.body.uid == created.body.uid)
            // `first` still carries the old resourceVersion.
            first["data"] = ["a": "3"]
            let stale = try await client.put("/api/v1/namespaces/default/configmaps/cfg", first)
            #expect(stale.status == 409)
            #expect(stale.body["reason"] == "Conflict")
            #expect(stale.body["message"] == "Operation cannot be fulfilled on configmaps \"cfg\": the object has been modified; please apply your changes to the latest version and try again")
            // An update that changes nothing keeps the resourceVersion.
            let same = try await client.put("/api/v1/namespaces/default/configmaps/cfg", updated.body)
            #expect(same.body.resourceVersion == updated.body.resourceVersion)
        }
    }

    @Test func statusSubresourceChangesOnlyStatusAndMainResourceKeepsIt() async throws {
        try await withServer { server in
            let client = try RawClient(server)
            let created = try await client.post("/api/v1/namespaces/default/pods", pod("p", node: "n1"))
            #expect(created.body[path: ["status", "phase"]] == "Pending")
            #expect(created.body[path: ["spec", "restartPolicy"]] == "Always")
            var withStatus = created.body
            withStatus["status"] = ["phase": "Running", "podIP": "10.0.0.5"]
            withStatus[path: ["metadata", "labels"]] = ["ignored": "yes"]
            let status = try await client.put("/api/v1/namespaces/default/pods/p/status", withStatus)
            #expect(status.status == 200)
            #expect(status.body[path: ["status", "phase"]] == "Running")
            #expect(status.body.labels["ignored"] == nil)
            var main = status.body
            main["status"] = ["phase": "Failed"]
            main[path: ["metadata", "labels"]] = ["app": "web"]
            let updated = try await client.put("/api/v1/namespaces/default/pods/p", main)
            #expect(updated.body[path: ["status", "phase"]] == "Running")
            #expect(updated.body.labels == ["app": "web"])
            // Pod specs are immutable apart from images and a few fields.
            var changed = updated.body
            changed[path: ["spec", "nodeName"]] = "other"
            let invalid = try await client.put("/api/v1/namespaces/default/pods/p", changed)
            #expect(invalid.status == 422)
            #expect(invalid.body["reason"] == "Invalid")
        }
    }

    @Test func mergeStrategicAndJSONPatches() async throws {
        try await withServer { server in
            let client = try RawClient(server)
            _ = try await client.post("/api/v1/nodes", node("n1"))
            // Strategic merge: conditions merge by type, as a kubelet status update sends them.
            let heartbeat = try await client.patch("/api/v1/nodes/n1/status",
                                                   ["status": ["conditions": [["type": "MemoryPressure", "status": "False"],
                                                                              ["type": "Ready", "status": "False"]]]],
                                                   type: "application/strategic-merge-patch+json")
            #expect(heartbeat.status == 200)
            let conditions = heartbeat.body[path: ["status", "conditions"]]?.arrayValue ?? []
            #expect(conditions.count == 2)
            #expect(conditions.first { $0["type"] == "Ready" }?["status"] == "False")
            #expect(conditions.first { $0["type"] == "Ready" }?["reason"] == "KubeletReady")
            // Merge patch: null deletes, objects merge, lists replace.
            let merged = try await client.patch("/api/v1/nodes/n1",
                                                ["metadata": ["labels": ["kubernetes.io/hostname": nil, "zone": "a"]]])
            #expect(merged.body.labels == ["node-role.kubernetes.io/agent": "", "zone": "a"])
            // JSON patch.
            let jsonPatched = try await client.patch("/api/v1/nodes/n1",
                                                     [["op": "add", "path": "/spec/taints", "value": [["key": "k", "effect": "NoSchedule"]]],
                                                      ["op": "replace", "path": "/metadata/labels/zone", "value": "b"]],
                                                     type: "application/json-patch+json")
            #expect(jsonPatched.status == 200)
            #expect(jsonPatched.body.labels["zone"] == "b")
            #expect(jsonPatched.body[path: ["spec", "taints"]]?.arrayValue?.count == 1)
            // A patch with a stale resourceVersion is a conflict.
            let stale = try await client.patch("/api/v1/nodes/n1", ["metadata": ["resourceVersion": "1", "labels": ["x": "y"]]])
            #expect(stale.status == 409)
            // Server-side apply is refused plainly.
            let apply = try await client.patch("/api/v1/nodes/n1", ["metadata": ["labels": ["x": "y"]]], type: "application/apply-patch+yaml")
            #expect(apply.status == 415)
        }
    }

    @Test func strategicMergeOfContainersKeepsOrderAndDeletes() async throws {
        try await withServer { server in
            let client = try RawClient(server)
            _ = try await client.post("/api/v1/namespaces/default/pods", pod("p", containers: ["a", "b"]))
            let patched = try await client.patch(
                "/api/v1/namespaces/default/pods/p",
                ["spec": ["$setElementOrder/containers": [["name": "a"], ["name": "b"]],
                          "containers": [["name": "b", "image": "busybox:1.37"]]],
                 "metadata": ["annotations": ["note": "x"], "finalizers": ["example.com/f"]]],
                type: "application/strategic-merge-patch+json")
            #expect(patched.status == 200)
            let containers = patched.body[path: ["spec", "containers"]]?.arrayValue ?? []
            #expect(containers.map { $0["name"] } == ["a", "b"])
            #expect(containers.map { $0["image"] } == ["busybox:1.36", "busybox:1.37"])
            #expect(patched.body[path: ["metadata", "annotations", "note"]] == "x")
            let removed = try await client.patch(
                "/api/v1/namespaces/default/pods/p",
                ["metadata": ["$deleteFromPrimitiveList/finalizers": ["example.com/f"], "annotations": ["note": nil]]],
                type: "application/strategic-merge-patch+json")
            #expect(removed.body[path: ["metadata", "finalizers"]] == [])
            #expect(removed.body[path: ["metadata", "annotations"]] == [:])
        }
    }

    @Test func secretsFoldStringDataAndTokenRequestsMintUsableTokens() async throws {
        try await withServer(tls: true) { server in
            let client = try RawClient(server)
            let secret = try await client.post("/api/v1/namespaces/default/secrets", ["metadata": ["name": "s"], "stringData": ["pw": "hunter2"]])
            #expect(secret.body["data"] == ["pw": .string(Data("hunter2".utf8).base64EncodedString())])
            #expect(secret.body["stringData"] == nil)
            #expect(secret.body["type"] == "Opaque")

            _ = try await client.post("/api/v1/namespaces/default/serviceaccounts", ["metadata": ["name": "sa"]])
            let p = try await client.post("/api/v1/namespaces/default/pods", pod("p", node: "n1"))
            let request: JSONValue = ["apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                                      "spec": ["audiences": ["api"], "expirationSeconds": 3600,
                                               "boundObjectRef": ["kind": "Pod", "apiVersion": "v1", "name": "p", "uid": .string(p.body.uid ?? "")]]]
            let answer = try await client.post("/api/v1/namespaces/default/serviceaccounts/sa/token", request)
            #expect(answer.status == 201)
            let token = try #require(answer.body[path: ["status", "token"]]?.stringValue)
            #expect(token.split(separator: ".").count == 3)
            #expect(answer.body[path: ["status", "expirationTimestamp"]]?.stringValue?.hasSuffix("Z") == true)
            // The minted token authenticates.
            let asAccount = try RawClient(server, identity: .token(token))
            #expect(try await asAccount.get("/api/v1/namespaces/default/secrets/s").status == 200)
            // Wrong pod uid and a missing service account are refused.
            var wrong = request
            wrong[path: ["spec", "boundObjectRef", "uid"]] = "not-the-uid"
            #expect(try await client.post("/api/v1/namespaces/default/serviceaccounts/sa/token", wrong).status == 409)
            #expect(try await client.post("/api/v1/namespaces/default/serviceaccounts/nobody/token", request).status == 404)
        }
    }

    @Test func pagingWithLimitAndContinue() async throws {
        try await withServer { server in
            let client = try RawClient(server)
            for i in 0..<5 { _ = try await client.post("/api/v1/namespaces/default/configmaps", ["metadata": ["name": .string("c\(i)")]]) }
            let first = try await client.get("/api/v1/namespaces/default/configmaps?limit=2")
            #expect(first.body["items"]?.arrayValue?.map(\.name) == ["c0", "c1"])
            #expect(first.body[path: ["metadata", "remainingItemCount"]] == 3)
            let token = try #require(first.body[path: ["metadata", "continue"]]?.stringValue)
            let encoded = token.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? token
            let rest = try await client.get("/api/v1/namespaces/default/configmaps?limit=10&continue=\(encoded)")
            #expect(rest.body["items"]?.arrayValue?.map(\.name) == ["c2", "c3", "c4"])
            #expect(rest.body[path: ["metadata", "continue"]] == nil)
        }
    }
}
