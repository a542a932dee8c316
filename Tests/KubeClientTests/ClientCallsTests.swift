import Foundation
import KubeTestServer
import Testing

@testable import KubeClient

@Suite("Typed calls against the test API server over TLS with client certificates", .timeLimit(.minutes(1)))
struct ClientCallsTests {
    func podJSON(_ name: String, node: String, namespace: String = "default") -> JSONValue {
        [
            "apiVersion": "v1", "kind": "Pod",
            "metadata": ["name": .string(name), "namespace": .string(namespace), "labels": ["app": "web"]],
            "spec": [
                "nodeName": .string(node), "restartPolicy": "Always",
                "containers": [["name": "main", "image": "nginx", "command": ["/usr/sbin/nginx"]]],
                "serviceAccountName": "default",
            ],
        ]
    }

    @Test func aClientDroppedWithoutShutdownClosesItselfInsteadOfCrashing() async throws {
        // An error path that skips shutdown() must not end the process (AsyncHTTPClient asserts that
        // its clients were shut down; the transport does it in the background when dropped).
        var options = KubeTestServer.Options()
        options.pki = sharedPKI
        let server = try await KubeTestServer.start(options)
        do {
            let yaml = try server.kubeconfigYAML(for: .admin)
            let configuration = try Kubeconfig(merging: [KubeconfigDocument.parse(yaml, path: "/test/kubeconfig")])
                .clientConfiguration()
            var client: KubeClient? = try KubeClient(configuration: configuration, options: fastOptions())
            _ = try await client?.createNode(Node(metadata: ObjectMeta(name: "dropped")))
            client = nil
            try await Task.sleep(for: .milliseconds(300))
            #expect(client == nil)
        }
        try await server.shutdown()
    }

    @Test func nodeRegistrationPatchAndStatus() async throws {
        try await withServer(identity: .node("n1")) { server, client in
            var node = Node(
                metadata: ObjectMeta(name: "n1", labels: ["type": "virtual-kubelet"]),
                spec: NodeSpec(taints: [Taint(key: "virtual-kubelet.io/provider", value: "systemk", effect: "NoSchedule")]),
                status: NodeStatus(
                    capacity: ["cpu": "2", "memory": "4Gi", "pods": "110"], allocatable: ["cpu": "2"],
                    conditions: [NodeCondition(type: "Ready", status: "False", reason: "Starting")],
                    addresses: [NodeAddress(type: "InternalIP", address: "10.0.0.5")],
                    daemonEndpoints: NodeDaemonEndpoints(kubeletPort: 10250),
                    nodeInfo: NodeSystemInfo(
                        kernelVersion: "6.1", osImage: "Debian 12", containerRuntimeVersion: "systemd://252",
                        kubeletVersion: "v1.32.0-systemk", architecture: "amd64")))
            node = try await client.createNode(node)
            #expect(node.metadata.uid != nil)
            #expect(node.spec?.taints?.first?.key == "virtual-kubelet.io/provider")

            let patched = try await client.patchNode(
                "n1", patch: Data(#"{"metadata":{"labels":{"kubernetes.io/os":"linux"}}}"#.utf8), type: .merge)
            #expect(patched.metadata.labels == ["type": "virtual-kubelet", "kubernetes.io/os": "linux"])

            let updated = try await client.updateNodeStatus("n1") { status in
                status.conditions = [NodeCondition(type: "Ready", status: "True", reason: "KubeletReady")]
            }
            #expect(updated.status?.conditions?.first?.status == "True")
            #expect(updated.status?.daemonEndpoints?.kubeletEndpoint?.port == 10250, "untouched status fields stay")
            let stored = try await server.get(.nodes, name: "n1")
            #expect(stored[path: ["status", "conditions"]]?.arrayValue?.first?["reason"]?.stringValue == "KubeletReady")
            #expect(stored[path: ["status", "nodeInfo", "osImage"]]?.stringValue == "Debian 12")

            let fetched = try await client.getNode("n1")
            #expect(fetched.status?.addresses == [NodeAddress(type: "InternalIP", address: "10.0.0.5")])

            let statusPatched = try await client.patchNodeStatus(
                "n1", patch: Data(#"{"status":{"allocatable":{"cpu":"1"}}}"#.utf8), type: .merge)
            #expect(statusPatched.status?.allocatable?["cpu"] == "1")
        }
    }

    @Test func leasesInKubeNodeLease() async throws {
        try await withServer { _, client in
            let now = MicroTimestamp(Date())
            var lease = try await client.createLease(
                Lease(
                    metadata: ObjectMeta(name: "n1", namespace: "kube-node-lease"),
                    spec: LeaseSpec(holderIdentity: "n1", leaseDurationSeconds: 40, renewTime: now)))
            #expect(lease.metadata.namespace == "kube-node-lease")
            let stale = lease
            lease.spec?.renewTime = MicroTimestamp(Date().addingTimeInterval(10))
            lease = try await client.updateLease(lease)
            #expect(try await client.getLease("n1").spec?.renewTime == lease.spec?.renewTime)
            await #expect(throws: KubeError.self) { _ = try await client.updateLease(stale) }
            do throws(KubeError) {
                _ = try await client.updateLease(stale)
            } catch {
                guard case .conflict = error else {
                    Issue.record("expected a conflict, got \(error)")
                    return
                }
            }
            do throws(KubeError) {
                _ = try await client.getLease("missing")
                Issue.record("expected notFound")
            } catch {
                guard case .notFound(let failure) = error else {
                    Issue.record("expected notFound, got \(error)")
                    return
                }
                #expect(failure.path == "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/missing")
            }
        }
    }

    @Test func nodeLeaseIsCreatedThenRenewed() async throws {
        try await withServer(identity: .node("n1")) { server, client in
            let node = try await client.createNode(Node(metadata: ObjectMeta(name: "n1")))
            let start = Date(timeIntervalSince1970: 1_900_000_000)
            let first = try await client.renewNodeLease(nodeName: "n1", nodeUID: node.metadata.uid, now: start)
            #expect(first.spec?.holderIdentity == "n1")
            #expect(first.spec?.leaseDurationSeconds == 40)
            #expect(first.metadata.ownerReferences?.first?.uid == node.metadata.uid)
            let second = try await client.renewNodeLease(
                nodeName: "n1", nodeUID: node.metadata.uid, now: start.addingTimeInterval(10))
            #expect(second.spec?.renewTime == MicroTimestamp(start.addingTimeInterval(10)))
            let stored = try await server.get(.leases, name: "n1", namespace: "kube-node-lease")
            #expect(stored[path: ["spec", "renewTime"]]?.stringValue == "2030-03-17T17:46:50.000000Z")
        }
    }

    @Test func podsOnANodeKeepTheirRawJSON() async throws {
        try await withServer { server, client in
            try await server.create(.pods, podJSON("a", node: "n1"))
            try await server.create(.pods, podJSON("b", node: "n2"))
            try await server.create(.pods, podJSON("c", node: "n1", namespace: "kube-system"))
            let list = try await client.listPods(onNode: "n1")
            #expect(list.items.map(\.key).sorted() == ["default/a", "kube-system/c"])
            #expect(list.metadata.resourceVersion?.isEmpty == false)
            for pod in list.items {
                let raw = try #require(pod.raw)
                let stored = try await server.get(.pods, name: pod.metadata.name ?? "", namespace: pod.metadata.namespace)
                // List items come without apiVersion and kind, as from a real API server.
                var expected = stored
                if case .object(var fields) = expected {
                    fields["apiVersion"] = nil
                    fields["kind"] = nil
                    expected = .object(fields)
                }
                let received = try JSONValue(data: raw)
                #expect(received == stored || received == expected, "raw is the whole object as sent")
            }
            let single = try await client.getPod(namespace: "default", name: "a")
            #expect(try JSONValue(data: try #require(single.raw))[path: ["spec", "containers"]]?.arrayValue?.first?["command"] == ["/usr/sbin/nginx"])
        }
    }

    @Test func podStatusUpdateRetriesOnConflictAndKeepsOtherFields() async throws {
        try await withServer { server, client in
            try await server.create(.pods, podJSON("web", node: "n1"))
            var withExtra = try await server.get(.pods, name: "web")
            guard case .object(var object) = withExtra, case .object(var status)? = object["status"] ?? .object([:])
            else {
                Issue.record("unexpected pod shape")
                return
            }
            status["nominatedNodeName"] = "n1"
            object["status"] = .object(status)
            withExtra = .object(object)
            try await server.updateStatus(.pods, withExtra)
            let stale = try await client.getPod(namespace: "default", name: "web")
            // Someone else changes the pod: the stale copy now conflicts.
            var relabelled = try await server.get(.pods, name: "web")
            if case .object(var o) = relabelled, case .object(var m)? = o["metadata"] {
                m["labels"] = ["app": "web", "tier": "front"]
                o["metadata"] = .object(m)
                relabelled = .object(o)
            }
            try await server.update(.pods, relabelled)

            let updated = try await client.updatePodStatus(namespace: "default", name: "web", from: stale) { status in
                status.phase = "Running"
                status.hostIP = "10.0.0.5"
                status.podIPs = [PodIP(ip: "10.0.0.5")]
                status.containerStatuses = [
                    ContainerStatus(
                        name: "main", state: ContainerState(running: .init(startedAt: Timestamp(Date()))), ready: true,
                        started: true, image: "nginx", imageID: "deb://nginx", containerID: "systemd://web.service")
                ]
            }
            #expect(updated.status?.phase == "Running")
            #expect(updated.metadata.labels?["tier"] == "front")
            let stored = try await server.get(.pods, name: "web")
            #expect(stored[path: ["status", "phase"]]?.stringValue == "Running")
            #expect(stored[path: ["status", "nominatedNodeName"]]?.stringValue == "n1", "fields the model lacks survive")
            #expect(
                stored[path: ["status", "containerStatuses"]]?.arrayValue?.first?[path: ["state", "running"]] != nil)
            let puts = server.faults.requests.filter { $0.method == "PUT" && $0.path.hasSuffix("/web/status") }
            #expect(puts.count == 2, "one conflict, one success")
        }
    }

    @Test func podStatusIsSetWithOneMergePatchForThatIncarnationOnly() async throws {
        try await withServer { server, client in
            let created = try await server.create(.pods, podJSON("web", node: "n1"))
            var object = try await server.get(.pods, name: "web")
            object[path: ["status", "nominatedNodeName"]] = "n1"
            object[path: ["status", "message"]] = "was here"
            try await server.updateStatus(.pods, object)
            let uid = try #require(created.uid)
            let before = server.faults.requests.count

            var status = PodStatus()
            status.phase = "Running"
            status.hostIP = "10.0.0.5"
            status.containerStatuses = [ContainerStatus(name: "main", state: ContainerState(), ready: true, image: "nginx")]
            try await client.setPodStatus(namespace: "default", name: "web", uid: uid, status: status)

            let stored = try await server.get(.pods, name: "web")
            #expect(stored[path: ["status", "phase"]]?.stringValue == "Running")
            #expect(stored[path: ["status", "containerStatuses"]]?.arrayValue?.first?["name"] == "main")
            #expect(stored[path: ["status", "nominatedNodeName"]]?.stringValue == "n1", "fields the model lacks survive")
            #expect(stored[path: ["status", "message"]] == nil, "a modelled field the status lacks is removed")
            let sent = server.faults.requests.dropFirst(before).map { "\($0.method) \($0.path)" }
            #expect(sent == ["PATCH /api/v1/namespaces/default/pods/web/status"], "no read first")

            // Another pod of the same name: the patch does not apply to it.
            do throws(KubeError) {
                try await client.setPodStatus(namespace: "default", name: "web", uid: "an-earlier-uid", status: status)
                Issue.record("expected 422 Invalid")
            } catch {
                guard case .invalid(let failure) = error else {
                    Issue.record("expected 422 Invalid, got \(error)")
                    return
                }
                #expect(failure.message.contains("metadata.uid"))
            }
            await #expect(throws: KubeError.self) {
                try await client.setPodStatus(namespace: "default", name: "absent", uid: uid, status: status)
            }
        }
    }

    @Test func theStatusPatchSetsEveryModelledKey() throws {
        var status = PodStatus()
        status.phase = "Pending"
        let patch = try StatusPatch.merge(status, modelledKeys: ["phase", "message", "podIP"], uid: "u-1", what: "test")
        #expect(String(decoding: patch, as: UTF8.self) == #"{"metadata":{"uid":"u-1"},"status":{"message":null,"phase":"Pending","podIP":null}}"#)
    }

    @Test func podDeleteWithUIDPrecondition() async throws {
        try await withServer { server, client in
            let created = try await server.create(.pods, podJSON("gone", node: "n1"))
            do throws(KubeError) {
                try await client.deletePod(namespace: "default", name: "gone", gracePeriodSeconds: 0, uid: "not-the-uid")
                Issue.record("expected a conflict")
            } catch {
                guard case .conflict = error else {
                    Issue.record("expected a conflict, got \(error)")
                    return
                }
            }
            try await client.deletePod(namespace: "default", name: "gone", gracePeriodSeconds: 0, uid: created.uid)
            let remaining = try? await server.get(.pods, name: "gone")
            #expect(remaining == nil || remaining?.isBeingDeleted == true)
        }
    }

    @Test func configMapsSecretsTokensAndEvents() async throws {
        try await withServer { server, client in
            try await server.create(
                .configMaps, ["metadata": ["name": "cfg", "namespace": "default"], "data": ["a.conf": "x=1"]])
            try await server.create(
                .secrets,
                ["metadata": ["name": "sec", "namespace": "default"], "data": ["pw": .string(Data("hunter2".utf8).base64EncodedString())]])
            try await server.create(.serviceAccounts, ["metadata": ["name": "default", "namespace": "default"]])
            let pod = try await server.create(.pods, podJSON("p", node: "n1"))

            #expect(try await client.getConfigMap(namespace: "default", name: "cfg").data == ["a.conf": "x=1"])
            #expect(try await client.getSecret(namespace: "default", name: "sec").data == ["pw": Data("hunter2".utf8)])

            let token = try await client.requestToken(
                namespace: "default", serviceAccount: "default", audiences: ["api"], expirationSeconds: 3600,
                boundTo: (name: "p", uid: pod.uid ?? ""))
            #expect(token.status?.token.isEmpty == false)

            let event = try await client.createEvent(
                Event(
                    metadata: ObjectMeta(generateName: "p.", namespace: "default"),
                    involvedObject: ObjectReference(apiVersion: "v1", kind: "Pod", namespace: "default", name: "p", uid: pod.uid),
                    reason: "Started", message: "Started container main", type: "Normal",
                    source: EventSource(component: "systemk", host: "n1"), firstTimestamp: Timestamp(Date()),
                    lastTimestamp: Timestamp(Date())))
            #expect(event.metadata.name?.hasPrefix("p.") == true)
            let events = await server.list(.events, namespace: "default")
            #expect(events.contains { $0["reason"]?.stringValue == "Started" })
        }
    }
}
