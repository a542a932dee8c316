import Foundation
import KubeTestServer
import Testing

@Suite("Node authorizer (opt-in)")
struct NodeAuthorizationTests {
    @Test func aNodeReadsOnlyWhatItsPodsReferenceAndChangesOnlyItsOwnObjects() async throws {
        try await withServer(tls: true, { $0.nodeAuthorization = true }) { server in
            var mine = pod("mine", node: "n1")
            mine[path: ["spec", "volumes"]] = [["name": "cfg", "configMap": ["name": "app-config"]]]
            mine[path: ["spec", "containers"]] = [["name": "app", "image": "x",
                                                   "env": [["name": "PW", "valueFrom": ["secretKeyRef": ["name": "app-secret", "key": "pw"]]]]]]
            let minePod = try await server.create(.pods, mine)
            try await server.create(.pods, pod("theirs", node: "n2"))
            for name in ["app-config", "other-config"] { try await server.create(.configMaps, ["metadata": ["name": .string(name)]]) }
            for name in ["app-secret", "other-secret"] { try await server.create(.secrets, ["metadata": ["name": .string(name)]]) }
            try await server.create(.serviceAccounts, ["metadata": ["name": "default"]])
            try await server.create(.nodes, node("n2"))

            let n1 = try RawClient(server, identity: .node("n1"))
            #expect(try await n1.post("/api/v1/nodes", node("n1")).status == 201)
            #expect(try await n1.patch("/api/v1/nodes/n1/status", ["status": ["phase": "Running"]]).status == 200)
            let foreign = try await n1.patch("/api/v1/nodes/n2", ["metadata": ["labels": ["x": "y"]]])
            #expect(foreign.status == 403)
            #expect(foreign.body["reason"] == "Forbidden")

            #expect(try await n1.get("/api/v1/namespaces/default/configmaps/app-config").status == 200)
            #expect(try await n1.get("/api/v1/namespaces/default/secrets/app-secret").status == 200)
            #expect(try await n1.get("/api/v1/namespaces/default/secrets?fieldSelector=metadata.name%3Dapp-secret").status == 200)
            #expect(try await n1.get("/api/v1/namespaces/default/secrets/other-secret").status == 403)
            #expect(try await n1.get("/api/v1/namespaces/default/configmaps/other-config").status == 403)
            #expect(try await n1.get("/api/v1/secrets").status == 403)

            #expect(try await n1.get("/api/v1/pods?fieldSelector=spec.nodeName%3Dn1").status == 200)
            #expect(try await n1.patch("/api/v1/namespaces/default/pods/mine/status", ["status": ["phase": "Running"]]).status == 200)
            #expect(try await n1.patch("/api/v1/namespaces/default/pods/theirs/status", ["status": ["phase": "Running"]]).status == 403)
            #expect(try await n1.delete("/api/v1/namespaces/default/pods/theirs").status == 403)

            let token: JSONValue = ["kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
                                    "spec": ["boundObjectRef": ["kind": "Pod", "apiVersion": "v1", "name": "mine", "uid": .string(minePod.uid ?? "")]]]
            #expect(try await n1.post("/api/v1/namespaces/default/serviceaccounts/default/token", token).status == 201)
            var theirs = token
            theirs[path: ["spec", "boundObjectRef", "name"]] = "theirs"
            #expect(try await n1.post("/api/v1/namespaces/default/serviceaccounts/default/token", theirs).status == 403)

            let lease: JSONValue = ["apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": ["name": "n1"],
                                    "spec": ["holderIdentity": "n1", "leaseDurationSeconds": 40]]
            #expect(try await n1.post("/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases", lease).status == 201)
            var otherLease = lease
            otherLease[path: ["metadata", "name"]] = "n2"
            #expect(try await n1.post("/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases", otherLease).status == 403)

            // The admin is not restricted.
            #expect(try await RawClient(server).get("/api/v1/secrets").status == 200)
        }
    }
}
