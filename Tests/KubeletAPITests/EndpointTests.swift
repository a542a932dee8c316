import Foundation
import KubeTestServer
import KubeletAPI
import SystemkRuntime
import Testing

/// `/containerLogs` errors with the kubelet's codes and texts, `/healthz`, `/pods` and unknown paths.
@Suite("kubelet API endpoints")
struct EndpointTests {
    @Test func unknownPodIs404() async throws {
        try await withKubelet(pods: try await podStore(podJSON("web"))) { kubelet in
            let answer = try await kubelet.get("/containerLogs/default/nope/app")
            #expect(answer.status == 404)
            #expect(answer.body == #"pod "nope" does not exist"#)
            // The namespace is part of the pod's identity.
            #expect(try await kubelet.get("/containerLogs/other/web/app").status == 404)
        }
    }

    @Test func unknownContainerIs404() async throws {
        try await withKubelet(pods: try await podStore(podJSON("web"))) { kubelet in
            let answer = try await kubelet.get("/containerLogs/default/web/db")
            #expect(answer.status == 404)
            #expect(answer.body == #"container "db" not found in pod "web""#)
        }
    }

    @Test func initContainersHaveLogs() async throws {
        let source = FakeLogSource(.output(["init ran\n"]))
        try await withKubelet(logs: source, pods: try await podStore(podJSON("web", initContainers: ["setup"]))) { kubelet in
            let answer = try await kubelet.get("/containerLogs/default/web/setup")
            #expect(answer.status == 200)
            #expect(answer.body == "init ran\n")
        }
    }

    @Test func noPreviousRunIs400() async throws {
        let source = FakeLogSource(.fail(.noPreviousRun(unit: "systemk.default.web.app.service")))
        try await withKubelet(logs: source, pods: try await podStore(podJSON("web"))) { kubelet in
            let answer = try await kubelet.get("/containerLogs/default/web/app?previous=true")
            #expect(answer.status == 400)
            #expect(answer.body == #"previous terminated container "app" in pod "web" not found"#)
        }
    }

    @Test(arguments: [ContainerLogError.notStarted(unit: "u"), .unitNotFound(unit: "u")])
    func aContainerNotYetRunningIsWaiting(error: ContainerLogError) async throws {
        let source = FakeLogSource(.fail(error))
        let pods = try await podStore(
            podJSON("web"), podJSON("db", containers: ["main"], initContainers: ["migrate"]),
            podJSON("cache", containers: ["redis"], waiting: ["redis": "CreateContainerConfigError"]))
        try await withKubelet(logs: source, pods: pods) { kubelet in
            let creating = try await kubelet.get("/containerLogs/default/web/app")
            #expect(creating.status == 400)
            #expect(creating.body == #"container "app" in pod "web" is waiting to start: ContainerCreating"#)
            let initializing = try await kubelet.get("/containerLogs/default/db/main")
            #expect(initializing.body == #"container "main" in pod "db" is waiting to start: PodInitializing"#)
            let fromStatus = try await kubelet.get("/containerLogs/default/cache/redis")
            #expect(fromStatus.body == #"container "redis" in pod "cache" is waiting to start: CreateContainerConfigError"#)
        }
    }

    @Test func aJournalFailureIs400WithItsReason() async throws {
        let source = FakeLogSource(.fail(.systemd(.disconnected)))
        try await withKubelet(logs: source, pods: try await podStore(podJSON("web"))) { kubelet in
            let answer = try await kubelet.get("/containerLogs/default/web/app")
            #expect(answer.status == 400)
            #expect(answer.body.hasPrefix(#"cannot read the log of container "app" in pod "web": "#))
        }
    }

    @Test func logsArePlainText() async throws {
        let source = FakeLogSource(.output(["a\n", "b\n"]))
        try await withKubelet(logs: source, pods: try await podStore(podJSON("web"))) { kubelet in
            let response = try await kubelet.client.send("GET", kubelet.url + "/containerLogs/default/web/app")
            #expect(response.status == 200)
            #expect(response.header("Content-Type") == "text/plain; charset=utf-8")
            #expect(response.header("Transfer-Encoding") == "chunked")
            #expect(try await response.text() == "a\nb\n")
        }
    }

    @Test func healthzIsOK() async throws {
        try await withKubelet(pods: PodStore()) { kubelet in
            let answer = try await kubelet.get("/healthz")
            #expect(answer.status == 200)
            #expect(answer.body == "ok")
        }
    }

    @Test func podsListsThePodsOfThisNode() async throws {
        let pods = try await podStore(podJSON("web"), podJSON("api", namespace: "prod"))
        try await withKubelet(pods: pods) { kubelet in
            let answer = try await kubelet.get("/pods")
            #expect(answer.status == 200)
            #expect(answer.contentType == "application/json")
            let list = try JSONValue(json: answer.body)
            #expect(list["kind"] == "PodList")
            #expect(list["apiVersion"] == "v1")
            let names = list["items"]?.arrayValue?.map { "\($0.namespace ?? "")/\($0.name ?? "")" }
            #expect(names == ["default/web", "prod/api"])
            await pods.remove(namespace: "prod", name: "api")
            let after = try JSONValue(json: try await kubelet.get("/pods").body)
            #expect(after["items"]?.arrayValue?.count == 1)
        }
    }

    @Test(arguments: ["/", "/metrics", "/containerLogs/default/web", "/containerLogs/default/web/app/extra",
                      "/containerLogs//web/app", "/exec/default/web/app", "/healthzx"])
    func unknownPathsAre404(path: String) async throws {
        let source = FakeLogSource(.output(["x\n"]))
        try await withKubelet(logs: source, pods: try await podStore(podJSON("web"))) { kubelet in
            let answer = try await kubelet.get(path)
            #expect(answer.status == 404)
            #expect(source.calls.isEmpty)
        }
    }

    @Test func onlyGETIsAllowed() async throws {
        try await withKubelet(pods: try await podStore(podJSON("web"))) { kubelet in
            let response = try await kubelet.client.send("POST", kubelet.url + "/containerLogs/default/web/app", body: Data())
            #expect(response.status == 405)
            _ = try await response.collect()
        }
    }

    @Test func aPodStoreRefusesWhatIsNotAPod() async throws {
        let store = PodStore()
        await #expect(throws: PodStoreError.self) { try await store.set(podJSON: Array("[1]".utf8)) }
        await #expect(throws: PodStoreError.self) { try await store.set(podJSON: Array(#"{"metadata":{}}"#.utf8)) }
    }
}
