import Foundation
import KubeClient
import KubeTestServer
import PodCompiler
import Synchronization
import SystemkRuntime
import Testing

/// The ConfigMaps and Secrets a node's pods reference, read with the node's identity under node
/// authorization: by name, only while a pod bound to the node references them.
@Suite("Referenced ConfigMaps and Secrets")
struct ReferencedObjectsTests {
    /// What the actor logged and which objects it reported changed.
    final class Recorder: Sendable {
        private let state = Mutex<(lines: [String], changes: [ObjectRef])>(([], []))
        var lines: [String] { state.withLock { $0.lines } }
        var changes: [ObjectRef] { state.withLock { $0.changes } }
        func log(_ line: String) { state.withLock { $0.lines.append(line) } }
        func changed(_ ref: ObjectRef) { state.withLock { $0.changes.append(ref) } }
    }

    /// Runs `body` with a cluster (node authorization on), a `ReferencedObjects` over the node client,
    /// and a consumer of its changes.
    func withObjects(
        firstListTimeout: Duration = .seconds(30),
        _ body: (KubeTestServer, KubeClient, ReferencedObjects, Recorder) async throws -> Void
    ) async throws {
        var options = KubeTestServer.Options()
        options.nodeAuthorization = true
        try await withCluster(node: "node-a", serverOptions: options) { server, admin, nodeClient in
            let recorder = Recorder()
            let objects = ReferencedObjects(
                client: nodeClient, firstListTimeout: firstListTimeout, log: { recorder.log($0) })
            let consumer = Task {
                for await ref in objects.changes { recorder.changed(ref) }
            }
            defer { consumer.cancel() }
            do {
                try await body(server, admin, objects, recorder)
            } catch {
                await objects.shutdown()
                throw error
            }
            await objects.shutdown()
        }
    }

    /// A pod bound to `node` in namespace default, with `spec` merged into a one-container spec.
    static func podJSON(_ name: String, node: String, spec: [String: JSONValue] = [:]) -> JSONValue {
        var full: [String: JSONValue] = ["nodeName": .string(node), "containers": [["name": "app", "image": "/bin/app"]]]
        for (k, v) in spec { full[k] = v }
        return ["apiVersion": "v1", "kind": "Pod", "metadata": ["name": .string(name), "namespace": "default"], "spec": .object(full)]
    }

    /// The compiler's view of a pod created on the server.
    static func compilerPod(_ json: JSONValue) throws -> PodCompiler::Pod {
        try JSONDecoder().decode(PodCompiler::Pod.self, from: json.data())
    }

    static func configMap(_ name: String) -> ObjectRef { ObjectRef(.configMap, namespace: "default", name: name) }
    static func secret(_ name: String) -> ObjectRef { ObjectRef(.secret, namespace: "default", name: name) }

    @Test func aBoundPodsConfigMapAndSecretAreReadAndCompiled() async throws {
        try await withObjects { server, _, objects, recorder in
            let secretBytes: [UInt8] = [0xff, 0x00, 0x61, 0x0a]
            try await server.create(
                .configMaps,
                ["metadata": ["name": "app-config", "namespace": "default"], "data": ["app.conf": "listen 80\n"],
                 "binaryData": ["blob": .string(Data([1, 2, 0xfe]).base64EncodedString())]])
            try await server.create(
                .secrets,
                ["metadata": ["name": "app-secret", "namespace": "default"], "data": ["key": .string(Data(secretBytes).base64EncodedString())]])
            let created = try await server.create(
                .pods,
                Self.podJSON(
                    "web", node: "node-a",
                    spec: [
                        "automountServiceAccountToken": false,
                        "containers": [["name": "app", "image": "/bin/app",
                                        "volumeMounts": [["name": "conf", "mountPath": "/etc/app"], ["name": "creds", "mountPath": "/creds"]]]],
                        "volumes": [["name": "conf", "configMap": ["name": "app-config"]], ["name": "creds", "secret": ["secretName": "app-secret"]]],
                    ]))
            let pod = try Self.compilerPod(created)
            let refs = PodReferences(pod, serviceAccountTokens: false)
            #expect(refs.objectRefs == [Self.configMap("app-config"), Self.secret("app-secret")])

            await objects.need(refs.objectRefs, for: pod.metadata.uid ?? "")
            #expect(await objects.state(of: Self.configMap("app-config")) == .present)
            #expect(await objects.state(of: Self.secret("app-secret")) == .present)
            let configMaps = await objects.configMaps(namespace: "default")
            let secrets = await objects.secrets(namespace: "default")
            #expect(configMaps["app-config"]?.contents == ["app.conf": Array("listen 80\n".utf8), "blob": [1, 2, 0xfe]])
            #expect(secrets["app-secret"]?.contents == ["key": secretBytes])
            #expect(await objects.configMaps(namespace: "other").isEmpty)

            // The compiler takes them as they are: the Secret's bytes, not base64 text, reach the file.
            let plan = try PodCompiler.compile(
                CompileInput(pod: pod, configMaps: configMaps, secrets: secrets, node: NodeFacts(serviceAccountTokens: false)))
            let keyFile = try #require(plan.files.first { $0.path.hasSuffix("/creds/key") })
            #expect(keyFile.content == .bytes(secretBytes))
            #expect(plan.files.contains { $0.path.hasSuffix("/conf/blob") && $0.content == .bytes([1, 2, 0xfe]) })
            #expect(recorder.lines.isEmpty)
            #expect(recorder.changes.isEmpty)
        }
    }

    @Test func anUpdateReachesTheChangeStreamWithTheNewData() async throws {
        try await withObjects { server, _, objects, recorder in
            var config: JSONValue = ["metadata": ["name": "live", "namespace": "default"], "data": ["k": "v1"]]
            config = try await server.create(.configMaps, config)
            try await server.create(
                .pods, Self.podJSON("web", node: "node-a", spec: ["volumes": [["name": "c", "configMap": ["name": "live"]]]]))
            await objects.need([Self.configMap("live")], for: "uid-web")
            #expect(await objects.configMaps(namespace: "default")["live"]?.data == ["k": "v1"])

            config[path: ["data", "k"]] = "v2"
            try await server.update(.configMaps, config)
            try await eventually("the update is reported", timeout: .seconds(30)) {
                recorder.changes.contains(Self.configMap("live"))
            }
            #expect(await objects.configMaps(namespace: "default")["live"]?.data == ["k": "v2"])

            // A deletion is a change too: the object is then absent.
            try await server.delete(.configMaps, name: "live")
            try await eventually("the deletion is reported", timeout: .seconds(30)) {
                recorder.changes.filter { $0 == Self.configMap("live") }.count == 2
            }
            #expect(await objects.state(of: Self.configMap("live")) == .absent)
            #expect(await objects.configMaps(namespace: "default").isEmpty)
        }
    }

    @Test func anObjectNoPodReferencesAnyMoreIsNoLongerWatched() async throws {
        try await withObjects { server, _, objects, _ in
            try await server.create(.secrets, ["metadata": ["name": "shared", "namespace": "default"], "data": [:]])
            let spec: [String: JSONValue] = [
                "containers": [["name": "app", "image": "/bin/app", "envFrom": [["secretRef": ["name": "shared"]]]]]
            ]
            try await server.create(.pods, Self.podJSON("one", node: "node-a", spec: spec))
            try await server.create(.pods, Self.podJSON("two", node: "node-a", spec: spec))
            await objects.need([Self.secret("shared")], for: "uid-one")
            await objects.need([Self.secret("shared")], for: "uid-two")
            #expect(await objects.watchedObjects == [Self.secret("shared")])
            #expect(await objects.pods(referencing: Self.secret("shared")) == ["uid-one", "uid-two"])
            try await eventually("one watch is open") { server.faults.openWatchConnections == 1 }

            await objects.release(podUID: "uid-one")
            #expect(await objects.watchedObjects == [Self.secret("shared")])
            #expect(await objects.secrets(namespace: "default")["shared"] != nil)

            // A pod that stops referencing it counts as well as a released one.
            await objects.need([], for: "uid-two")
            #expect(await objects.watchedObjects.isEmpty)
            #expect(await objects.state(of: Self.secret("shared")) == nil)
            #expect(await objects.secrets(namespace: "default").isEmpty)
            try await eventually("the watch is closed") { server.faults.openWatchConnections == 0 }
        }
    }

    @Test func aBurstOfPodsAsksForEveryFirstListBeforeWaitingForAny() async throws {
        try await withObjects { server, _, objects, _ in
            var needs: [String: [ObjectRef]] = [:]
            for i in 0..<8 {
                try await server.create(.configMaps, ["metadata": ["name": .string("conf-\(i)"), "namespace": "default"], "data": ["i": .string("\(i)")]])
                try await server.create(
                    .pods, Self.podJSON("p\(i)", node: "node-a", spec: ["volumes": [["name": "c", "configMap": ["name": .string("conf-\(i)")]]]]))
                needs["uid-\(i)"] = [Self.configMap("conf-\(i)")]
            }
            // Every list is held back: a `need` that waited for each object in turn would have asked for
            // one list only by the time the eight are counted.
            let lists = RequestMatch(verb: "list", pathContains: "/configmaps")
            server.faults.delay(.seconds(3), matching: lists)
            let burst = Task { await objects.need(needs) }
            try await eventually("all eight lists are asked for at once") { server.faults.count(lists) == 8 }
            #expect(await objects.state(of: Self.configMap("conf-0")) == .loading)
            server.faults.delay(nil)
            await burst.value
            for i in 0..<8 {
                #expect(await objects.state(of: Self.configMap("conf-\(i)")) == .present)
                #expect(await objects.pods(referencing: Self.configMap("conf-\(i)")) == ["uid-\(i)"])
            }
            let snapshot = await objects.objects(namespaces: ["default", "empty"])
            #expect(snapshot["default"]?.configMaps.count == 8)
            #expect(snapshot["empty"]?.configMaps.isEmpty == true)
        }
    }

    @Test func aMissingOptionalObjectIsAbsentAndItsArrivalIsAChange() async throws {
        // A long first-list timeout: `need` must return because the list answered, not because it gave up.
        try await withObjects(firstListTimeout: .seconds(60)) { server, _, objects, recorder in
            let created = try await server.create(
                .pods,
                Self.podJSON(
                    "web", node: "node-a",
                    spec: ["containers": [["name": "app", "image": "/bin/app", "envFrom": [["configMapRef": ["name": "maybe", "optional": true]]]]]]))
            let pod = try Self.compilerPod(created)
            let refs = PodReferences(pod, serviceAccountTokens: false)
            #expect(refs.objects == [PodReferences.Object(Self.configMap("maybe"), optional: true)])

            let started = ContinuousClock.now
            await objects.need(refs.objectRefs, for: "uid-web")
            #expect(ContinuousClock.now - started < .seconds(55), "an optional object that is absent must not wait the first-list timeout (60 s)")
            #expect(await objects.state(of: Self.configMap("maybe")) == .absent)
            #expect(recorder.lines.isEmpty)
            // The compiler accepts the pod without it.
            let configMaps = await objects.configMaps(namespace: "default")
            #expect(configMaps.isEmpty)
            _ = try PodCompiler.compile(CompileInput(pod: pod, configMaps: configMaps, node: NodeFacts(serviceAccountTokens: false)))

            try await server.create(.configMaps, ["metadata": ["name": "maybe", "namespace": "default"], "data": ["X": "1"]])
            try await eventually("its creation is reported", timeout: .seconds(30)) {
                recorder.changes == [Self.configMap("maybe")]
            }
            #expect(await objects.state(of: Self.configMap("maybe")) == .present)
        }
    }

    @Test func anObjectOnlyAnotherNodesPodReferencesIsRefusedAndReported() async throws {
        try await withObjects { server, _, objects, recorder in
            try await server.create(.configMaps, ["metadata": ["name": "theirs", "namespace": "default"], "data": ["k": "v"]])
            try await server.create(
                .pods, Self.podJSON("elsewhere", node: "node-b", spec: ["volumes": [["name": "c", "configMap": ["name": "theirs"]]]]))

            let ref = Self.configMap("theirs")
            await objects.need([ref], for: "uid-mistaken")
            guard case .failed(let why)? = await objects.state(of: ref) else {
                Issue.record("expected a failure, got \(String(describing: await objects.state(of: ref)))")
                return
            }
            #expect(why.contains("forbidden"))
            #expect(await objects.configMaps(namespace: "default").isEmpty)

            // The informer keeps retrying with back-off; the failure is logged once, not once per retry.
            let lists = RequestMatch(verb: "list", pathContains: "/configmaps")
            try await eventually("the list is retried") { server.faults.count(lists) >= 3 }
            #expect(recorder.lines.count == 1)
            #expect(recorder.lines.first?.contains("ConfigMap default/theirs") == true)
            #expect(recorder.lines.first?.contains("403") == true)

            // Once a pod bound here references it, the next retry reads it: a change.
            try await server.create(
                .pods, Self.podJSON("here", node: "node-a", spec: ["volumes": [["name": "c", "configMap": ["name": "theirs"]]]]))
            try await eventually("it becomes readable", timeout: .seconds(30)) {
                await objects.state(of: ref) == .present
            }
            // The change reaches the consumer of `changes` a moment after the state is set.
            try await eventually("its change is reported", timeout: .seconds(30)) { recorder.changes == [ref] }
            #expect(recorder.changes == [ref])
            #expect(recorder.lines.last?.contains("readable again") == true)
        }
    }

    @Test func conversionKeepsBytesAndMetadata() {
        let meta = KubeClient::ObjectMeta(
            name: "c", namespace: "ns", uid: "u", resourceVersion: "7", labels: ["a": "b"], annotations: ["x": "y"])
        let configMap = PodCompiler::ConfigMap(
            KubeClient::ConfigMap(metadata: meta, data: ["t": "text"], binaryData: ["b": Data([0, 0xff])]))
        #expect(configMap.metadata.name == "c" && configMap.metadata.namespace == "ns" && configMap.metadata.uid == "u")
        #expect(configMap.metadata.resourceVersion == "7" && configMap.metadata.labels == ["a": "b"])
        #expect(configMap.metadata.annotations == ["x": "y"])
        #expect(configMap.contents == ["t": Array("text".utf8), "b": [0, 0xff]])

        var secret = KubeClient::Secret(metadata: meta, data: ["raw": Data([0x80, 0x00])], type: "Opaque")
        secret.immutable = true
        let converted = PodCompiler::Secret(secret)
        #expect(converted.data?["raw"]?.bytes == [0x80, 0x00])
        #expect(converted.type == "Opaque" && converted.immutable == true)
        #expect(converted.contents == ["raw": [0x80, 0x00]])
        // The compiler's JSON form of the bytes is base64, as in a manifest.
        let encoded = String(decoding: (try? JSONEncoder().encode(converted.data?["raw"])) ?? Data(), as: UTF8.self)
        #expect(encoded == "\"gAA=\"")
    }
}
