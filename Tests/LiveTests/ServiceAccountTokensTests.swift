import Foundation
import KubeClient
import KubeTestServer
import PodCompiler
import Synchronization
import SystemkRuntime
import Testing

/// Service-account tokens through TokenRequest bound to the pod, with the node's identity under node
/// authorization, renewed on a clock running 400 times faster than the wall clock.
@Suite("Service-account tokens")
struct ServiceAccountTokensTests {
    /// 400 times faster than the wall clock, from the wall clock's now: a 600 s token (the shortest the
    /// API server grants) is due for renewal after 1.2 s.
    static let scale = 100.0  // the first renewal of a 600 s token after about 4.8 s: room for a loaded machine

    static func fastClock() -> TokenClock {
        let start = Date()
        return TokenClock(
            now: { start.addingTimeInterval(Date().timeIntervalSince(start) * scale) },
            sleep: { try await Task.sleep(for: $0 / scale) })
    }

    final class Recorder: Sendable {
        private let state = Mutex<(lines: [String], renewed: [ServiceAccountTokenKey])>(([], []))
        var lines: [String] { state.withLock { $0.lines } }
        var renewed: [ServiceAccountTokenKey] { state.withLock { $0.renewed } }
        func log(_ line: String) { state.withLock { $0.lines.append(line) } }
        func renewal(_ key: ServiceAccountTokenKey) { state.withLock { $0.renewed.append(key) } }
    }

    /// A pod bound to `node` in namespace default: a projected token for audience vault (600 s) mounted
    /// at /vault, and the default token.
    static func podJSON(_ name: String, node: String) -> JSONValue {
        [
            "apiVersion": "v1", "kind": "Pod", "metadata": ["name": .string(name), "namespace": "default"],
            "spec": [
                "nodeName": .string(node),
                "containers": [["name": "app", "image": "/bin/app", "volumeMounts": [["name": "vault", "mountPath": "/vault"]]]],
                "volumes": [["name": "vault", "projected": ["sources": [["serviceAccountToken": ["path": "token", "audience": "vault", "expirationSeconds": 600]]]]]],
            ],
        ]
    }

    /// The plan of a pod created on the server, compiled for a node with tokens.
    static func plan(_ created: JSONValue) throws -> PodPlan {
        let pod = try JSONDecoder().decode(PodCompiler::Pod.self, from: created.data())
        return try PodCompiler.compile(CompileInput(pod: pod, node: NodeFacts(serviceAccountTokens: true)))
    }

    static func runtimeSources(_ plan: PodPlan) -> Set<String> {
        Set(
            plan.files.compactMap { file -> String? in
                if case .runtime(let source) = file.content { return source }
                return nil
            })
    }

    /// The claims of a JWT.
    static func claims(_ token: [UInt8]) throws -> JSONValue {
        let parts = String(decoding: token, as: UTF8.self).split(separator: ".")
        try #require(parts.count == 3)
        var text = parts[1].replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while text.count % 4 != 0 { text += "=" }
        return try JSONValue(data: try #require(Data(base64Encoded: text)))
    }

    static let tokenRequests = RequestMatch(verb: "create", pathContains: "/serviceaccounts/default/token")

    @Test func aTokenIsBoundToThePodRenewedBeforeItExpiresAndForgottenWithIt() async throws {
        var options = KubeTestServer.Options()
        options.nodeAuthorization = true
        try await withCluster(node: "node-a", serverOptions: options) { server, _, nodeClient in
            try await server.create(.serviceAccounts, ["metadata": ["name": "default", "namespace": "default"]])
            let created = try await server.create(.pods, Self.podJSON("web", node: "node-a"))
            let plan = try Self.plan(created)
            let uid = try #require(created.uid)
            let recorder = Recorder()
            let tokens = ServiceAccountTokens(
                client: nodeClient, clusterCAPEM: nodeClient.configuration.certificateAuthorityPEM,
                clock: Self.fastClock(), log: { recorder.log($0) })
            let consumer = Task { for await key in tokens.renewals { recorder.renewal(key) } }
            defer { consumer.cancel() }

            // Exactly the plan's runtime sources are filled: the CA, the default token, the projected one.
            let vaultSource = "serviceAccountToken expirationSeconds=600 audience=vault"
            let defaultSource = "serviceAccountToken expirationSeconds=3607"
            #expect(Self.runtimeSources(plan) == ["clusterCA", defaultSource, vaultSource])
            let content = try await tokens.runtimeContent(for: plan, serviceAccount: "default")
            #expect(Set(content.keys) == Self.runtimeSources(plan))
            #expect(content["clusterCA"] == Array((server.pki?.ca.certificatePEM ?? "").utf8))
            let first = try #require(content[vaultSource])
            let claims = try Self.claims(first)
            #expect(claims["aud"] == ["vault"])
            #expect(claims[path: ["kubernetes.io", "pod", "name"]] == "web")
            #expect(claims[path: ["kubernetes.io", "pod", "uid"]] == .string(uid))
            #expect(try Self.claims(try #require(content[defaultSource]))[path: ["kubernetes.io", "pod", "uid"]] == .string(uid))
            #expect(server.faults.count(Self.tokenRequests) == 2)

            // Asked again before renewal, the tokens held are given.
            #expect(try await tokens.runtimeContent(for: plan, serviceAccount: "default") == content)
            #expect(server.faults.count(Self.tokenRequests) == 2)

            // The first renewal fails once (reported), is retried after a back-off, and then succeeds.
            let key = ServiceAccountTokenKey(
                plan: plan, serviceAccount: "default", token: PodReferences.Token(audience: "vault", expirationSeconds: 600))
            let firstSchedule = try #require(await tokens.schedule(of: key))
            #expect(firstSchedule.renew < firstSchedule.expires)
            server.faults.failNext(1, status: 500, matching: Self.tokenRequests)
            try await eventually("the token is renewed", timeout: .seconds(30)) { recorder.renewed.contains(key) }
            #expect(recorder.lines.contains { $0.contains("renewal failed") && $0.contains("audience vault") })
            #expect(server.faults.count(Self.tokenRequests) >= 4)
            let renewed = try #require(try await tokens.runtimeContent(for: plan, serviceAccount: "default")[vaultSource])
            #expect(renewed != first)
            #expect(try Self.claims(renewed)[path: ["kubernetes.io", "pod", "uid"]] == .string(uid))
            let secondSchedule = try #require(await tokens.schedule(of: key))
            #expect(secondSchedule.expires > firstSchedule.expires)

            // Forgotten with the pod: nothing is held or renewed any more (1.5 s covers a renewal period).
            await tokens.forget(podUID: uid)
            #expect(await tokens.heldTokens.isEmpty)
            let requests = server.faults.count(Self.tokenRequests)
            try await Task.sleep(for: .milliseconds(1500))
            #expect(server.faults.count(Self.tokenRequests) == requests)
            // Renewals reach the consumer a moment after their request: every one reported was asked for
            // before the pod was forgotten (the first two requests were the first tokens, not renewals).
            #expect(recorder.renewed.count <= requests - 2)
            await tokens.shutdown()
        }
    }

    @Test func failuresAreErrorsNotEmptyFiles() async throws {
        var options = KubeTestServer.Options()
        options.nodeAuthorization = true
        try await withCluster(node: "node-a", serverOptions: options) { server, _, nodeClient in
            try await server.create(.serviceAccounts, ["metadata": ["name": "default", "namespace": "default"]])
            let recorder = Recorder()
            let tokens = ServiceAccountTokens(
                client: nodeClient, clusterCAPEM: nodeClient.configuration.certificateAuthorityPEM,
                clock: Self.fastClock(), log: { recorder.log($0) })

            // A pod bound to another node: the server refuses its token.
            let theirs = try Self.plan(try await server.create(.pods, Self.podJSON("theirs", node: "node-b")))
            do throws(RuntimeContentError) {
                _ = try await tokens.runtimeContent(for: theirs, serviceAccount: "default")
                Issue.record("expected the token to be refused")
            } catch {
                guard case .tokenUnavailable(let key, let reason) = error else {
                    Issue.record("expected tokenUnavailable, got \(error)")
                    return
                }
                #expect(key.podName == "theirs")
                #expect(reason.contains("403"))
            }
            #expect(await tokens.heldTokens.isEmpty)

            // No CA known: the cluster CA cannot be given.
            let noCA = ServiceAccountTokens(client: nodeClient, clusterCAPEM: nil, log: { _ in })
            let mine = try Self.plan(try await server.create(.pods, Self.podJSON("mine", node: "node-a")))
            do throws(RuntimeContentError) {
                _ = try await noCA.runtimeContent(for: mine, serviceAccount: "default")
                Issue.record("expected noClusterCA")
            } catch {
                #expect(error == .noClusterCA(path: mine.podDirectory + "/containers/app/serviceaccount/ca.crt"))
            }

            // A source nobody knows.
            var odd = mine
            var file = try #require(mine.files.first)
            file.path = mine.podDirectory + "/x"
            file.content = .runtime(source: "kubeletMagic")
            odd.files = [file]
            do throws(RuntimeContentError) {
                _ = try await tokens.runtimeContent(for: odd, serviceAccount: "default")
                Issue.record("expected unknownSource")
            } catch {
                #expect(error == .unknownSource("kubeletMagic", path: mine.podDirectory + "/x"))
            }

            // A plan without runtime files needs nothing from the server.
            var plain = mine
            plain.files = []
            let before = server.faults.count(Self.tokenRequests)
            #expect(try await tokens.runtimeContent(for: plain, serviceAccount: "default").isEmpty)
            #expect(server.faults.count(Self.tokenRequests) == before)
            await tokens.shutdown()
            await noCA.shutdown()
        }
    }
}
