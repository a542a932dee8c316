import Foundation
import KubeTestServer
import Testing

@Suite("TLS authentication")
struct AuthenticationTests {
    @Test func clientCertificatesAndTokensAreAcceptedAndAnonymousGets401() async throws {
        try await withServer(tls: true, { $0.tokens = ["s3cret": "robot"] }) { server in
            #expect(server.url.hasPrefix("https://127.0.0.1:"))
            let admin = try RawClient(server)
            #expect(try await admin.get("/api/v1/nodes").status == 200)
            let nodeIdentity = try RawClient(server, identity: .node("n1"))
            #expect(try await nodeIdentity.get("/version").status == 200)
            let token = try RawClient(server, identity: .token("s3cret"))
            #expect(try await token.get("/api/v1/namespaces").status == 200)

            let anonymous = try await RawClient(server, identity: .anonymous).get("/api/v1/nodes")
            #expect(anonymous.status == 401)
            #expect(anonymous.body["reason"] == "Unauthorized")
            #expect(try await RawClient(server, identity: .token("wrong")).get("/api/v1/nodes").status == 401)
        }
    }

    @Test func certificateFromAnotherCAIsRefusedInTheHandshake() async throws {
        try await withServer(tls: true) { server in
            let stranger = try TestPKI.generate().issueClient(commonName: "admin", organizations: ["system:masters"])
            let client = TestHTTPClient(tls: try TestHTTPClient.tls(trusting: server.pki?.ca.certificatePEM, client: stranger))
            await #expect(throws: (any Error).self) {
                let response = try await client.send("GET", server.url + "/api/v1/nodes")
                _ = try await response.collect()
            }
        }
    }
}

@Suite("Fault injection and counters")
struct FaultTests {
    @Test func failNextAnswers500ThenRecovers() async throws {
        try await withServer { server in
            let client = try RawClient(server)
            server.faults.failNext(2, status: 500, matching: RequestMatch(verb: "list"))
            let a = try await client.get("/api/v1/nodes")
            #expect(a.status == 500)
            #expect(a.body["reason"] == "InternalError")
            #expect(try await client.get("/api/v1/nodes/none").status == 404)  // a get does not match
            #expect(try await client.get("/api/v1/nodes").status == 500)
            #expect(try await client.get("/api/v1/nodes").status == 200)
            #expect(server.faults.count(RequestMatch(verb: "list", pathContains: "/nodes")) == 3)
        }
    }

    @Test func tooManyRequestsCarriesRetryAfter() async throws {
        try await withServer { server in
            let client = try RawClient(server)
            server.faults.failNext(1, status: 429, retryAfter: 3, matching: RequestMatch(pathContains: "/pods"))
            let answer = try await client.get("/api/v1/pods")
            #expect(answer.status == 429)
            #expect(answer.header("Retry-After") == "3")
            #expect(answer.body["reason"] == "TooManyRequests")
            #expect(answer.body[path: ["details", "retryAfterSeconds"]] == 3)
            #expect(try await client.get("/api/v1/pods").status == 200)
        }
    }

    @Test func delayHoldsAnswersBack() async throws {
        try await withServer { server in
            let client = try RawClient(server)
            server.faults.delay(.milliseconds(300), matching: RequestMatch(verb: "get"))
            let clock = ContinuousClock()
            let start = clock.now
            #expect(try await client.get("/api/v1/namespaces/default").status == 200)
            #expect(clock.now - start >= .milliseconds(300))
            server.faults.delay(nil)
        }
    }

    @Test func droppedWatchesBreakMidStreamAndRestartExpiresOldVersions() async throws {
        try await withServer { server in
            let client = try RawClient(server)
            let created = try await client.post("/api/v1/namespaces/default/configmaps", ["metadata": ["name": "a"]])
            let rv = created.body.resourceVersion ?? ""
            let watch = try await client.watch("/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=\(rv)")
            #expect(server.faults.openWatchConnections == 1)
            #expect(await server.faults.dropWatches() == 1)
            // The connection is cut: an error, not a clean end of the chunked body.
            await #expect(throws: (any Error).self) { _ = try await watch.next() }
            #expect(server.faults.watchesOpened == 1)

            // The same resourceVersion still works after a drop...
            let again = try await client.watch("/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=\(rv)")
            _ = try await client.post("/api/v1/namespaces/default/configmaps", ["metadata": ["name": "b"]])
            #expect(try await again.next()?.name == "b")
            // ...but not after a restart that compacts history.
            await server.faults.restart(compact: true)
            await #expect(throws: (any Error).self) { _ = try await again.next() }
            let expired = try await client.watch("/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=\(rv)")
            let event = try await expired.next()
            #expect(event?.type == "ERROR")
            #expect(event?.object["code"] == 410)
            #expect(server.faults.watchesOpened == 3)
        }
    }

    @Test func testsCanAwaitAClientsWatches() async throws {
        try await withServer { server in
            let client = try RawClient(server)
            async let third: Void = server.faults.waitForWatch(RequestMatch(pathContains: "/configmaps"), count: 3)
            var readers: [WatchReader] = []
            for _ in 0..<3 { readers.append(try await client.watch("/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=1")) }
            _ = try await client.watch("/api/v1/pods?watch=true")
            await third
            #expect(server.faults.watchesOpened == 4)
            #expect(server.faults.count(RequestMatch(verb: "watch", pathContains: "/configmaps")) == 3)
            for reader in readers { reader.close() }
        }
    }
}
