import Foundation
import KubeTestServer
import Testing

@testable import KubeClient

/// Records the waits the client asks for and waits only a millisecond, so Retry-After can be checked
/// without the test taking that long.
final class SleepRecorder: @unchecked Sendable {
    private let lock = NSLock()
    private var recorded: [Duration] = []
    var waits: [Duration] { lock.withLock { recorded } }

    func options(_ base: KubeClientOptions = fastOptions()) -> KubeClientOptions {
        var options = base
        options.sleep = { [self] duration in
            lock.withLock { recorded.append(duration) }
            try await Task.sleep(for: .milliseconds(1))
        }
        return options
    }
}

@Suite("Requests through injected faults", .timeLimit(.minutes(1)))
struct FaultTests {
    @Test func getsAreRetriedThrough500s() async throws {
        let sleeps = SleepRecorder()
        try await withServer(options: sleeps.options()) { server, client in
            try await server.create(.nodes, ["metadata": ["name": "n1"]])
            server.faults.failNext(3, status: 500, matching: .init(verb: "get"))
            let node = try await client.getNode("n1")
            #expect(node.metadata.name == "n1")
            #expect(server.faults.count(.init(verb: "get", pathContains: "/nodes/n1")) == 4)
            #expect(sleeps.waits == [.milliseconds(6), .milliseconds(13), .milliseconds(25)], "jittered exponential back-off")
        }
    }

    @Test func everyFailedAttemptIsReportedToOnError() async throws {
        let seen = NSLock()
        nonisolated(unsafe) var errors: [String] = []
        var options = SleepRecorder().options()
        options.onError = { method, error in seen.withLock { errors.append("\(method) \(error.metricLabel)") } }
        try await withServer(options: options) { server, client in
            try await server.create(.nodes, ["metadata": ["name": "n1"]])
            server.faults.failNext(2, status: 500, matching: .init(verb: "get"))
            _ = try await client.getNode("n1")
            await #expect(throws: KubeError.self) { _ = try await client.getNode("missing") }
            #expect(seen.withLock { errors } == ["GET 500", "GET 500", "GET 404"])
        }
    }

    @Test func writesAreNotRetriedAfterA500() async throws {
        try await withServer { server, client in
            server.faults.failNext(1, status: 500, matching: .init(verb: "create"))
            do throws(KubeError) {
                _ = try await client.createNode(Node(metadata: ObjectMeta(name: "n1")))
                Issue.record("expected a server error")
            } catch {
                guard case .server(500, _) = error else {
                    Issue.record("expected server(500), got \(error)")
                    return
                }
                #expect(error.isTransient)
            }
            #expect(server.faults.count(.init(verb: "create")) == 1)
        }
    }

    @Test func tooManyRequestsHonoursRetryAfterForEveryVerb() async throws {
        let sleeps = SleepRecorder()
        try await withServer(options: sleeps.options()) { server, client in
            server.faults.failNext(2, status: 429, retryAfter: 1, matching: .init(verb: "create"))
            let node = try await client.createNode(Node(metadata: ObjectMeta(name: "n1")))
            #expect(node.metadata.name == "n1")
            #expect(sleeps.waits == [.seconds(1), .seconds(1)])
            #expect(server.faults.count(.init(verb: "create")) == 3)
        }
    }

    @Test func retriesGiveUpAfterMaxAttempts() async throws {
        var options = fastOptions()
        options.maxAttempts = 3
        try await withServer(options: options) { server, client in
            server.faults.failNext(10, status: 503, matching: .init(verb: "get"))
            do throws(KubeError) {
                _ = try await client.getNode("n1")
                Issue.record("expected an error")
            } catch {
                guard case .server(503, let failure) = error else {
                    Issue.record("expected server(503), got \(error)")
                    return
                }
                #expect(failure.reason == "ServiceUnavailable")
            }
            #expect(server.faults.count(.init(verb: "get")) == 3)
        }
    }

    @Test func slowAnswersWithinTheDeadlineSucceedAndBeyondItFail() async throws {
        var options = fastOptions()
        // Generous for a loaded machine (CI runs every suite at once): the fast answer must not miss the
        // deadline by accident. The connection is set up first so the deadline covers only the answer.
        options.requestTimeout = .seconds(15)
        options.maxAttempts = 1
        try await withServer(options: options) { server, client in
            _ = try await client.list(Node.self)
            server.faults.delay(.milliseconds(50))
            _ = try await client.list(Node.self)
            server.faults.delay(.seconds(25), matching: .init(verb: "create"))
            do throws(KubeError) {
                _ = try await client.createNode(Node(metadata: ObjectMeta(name: "slow")))
                Issue.record("expected a timeout")
            } catch {
                guard case .transport = error else {
                    Issue.record("expected a transport error, got \(error)")
                    return
                }
            }
            server.faults.delay(nil)
        }
    }
}
