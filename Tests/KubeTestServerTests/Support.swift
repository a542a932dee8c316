import Foundation
import KubeTestServer
import Testing

/// A raw API client for tests: one identity, JSON in and out.
struct RawClient {
    let server: KubeTestServer
    let http: TestHTTPClient
    var token: String?

    init(_ server: KubeTestServer, identity: TestIdentity = .admin) throws {
        self.server = server
        switch identity {
        case .certificate(let cn, let orgs):
            let credential = try server.pki.map { try $0.issueClient(commonName: cn, organizations: orgs) }
            http = TestHTTPClient(tls: try TestHTTPClient.tls(trusting: server.pki?.ca.certificatePEM, client: credential))
        case .token(let t):
            token = t
            http = TestHTTPClient(tls: try TestHTTPClient.tls(trusting: server.pki?.ca.certificatePEM))
        case .anonymous:
            http = TestHTTPClient(tls: try TestHTTPClient.tls(trusting: server.pki?.ca.certificatePEM))
        }
    }

    struct Answer {
        var status: Int
        var body: JSONValue
        var headers: [(String, String)]

        func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
    }

    func send(_ method: String, _ path: String, _ body: JSONValue? = nil, contentType: String = "application/json",
              accept: String? = nil) async throws -> Answer {
        var headers: [(String, String)] = []
        if body != nil { headers.append(("Content-Type", contentType)) }
        if let accept { headers.append(("Accept", accept)) }
        if let token { headers.append(("Authorization", "Bearer \(token)")) }
        let response = try await http.send(method, server.url + path, headers: headers, body: body.map { $0.data() })
        let data = try await response.collect()
        let json = (try? JSONValue(data: data)) ?? .string(String(decoding: data, as: UTF8.self))
        return Answer(status: response.status, body: json, headers: response.headers)
    }

    func get(_ path: String, accept: String? = nil) async throws -> Answer { try await send("GET", path, accept: accept) }
    func post(_ path: String, _ body: JSONValue) async throws -> Answer { try await send("POST", path, body) }
    func put(_ path: String, _ body: JSONValue) async throws -> Answer { try await send("PUT", path, body) }
    func delete(_ path: String, _ body: JSONValue? = nil) async throws -> Answer { try await send("DELETE", path, body) }
    func patch(_ path: String, _ body: JSONValue, type: String = "application/merge-patch+json") async throws -> Answer {
        try await send("PATCH", path, body, contentType: type)
    }

    /// Opens a watch and returns its event stream (each line parsed).
    func watch(_ path: String) async throws -> WatchReader {
        var headers: [(String, String)] = []
        if let token { headers.append(("Authorization", "Bearer \(token)")) }
        let response = try await http.send("GET", server.url + path, headers: headers)
        return WatchReader(response: response)
    }
}

/// Reads watch events one at a time.
final class WatchReader: @unchecked Sendable {
    let response: TestHTTPResponse
    private var iterator: AsyncThrowingStream<String, any Error>.AsyncIterator

    init(response: TestHTTPResponse) {
        self.response = response
        iterator = response.lines.makeAsyncIterator()
    }

    struct Event: Equatable {
        var type: String
        var object: JSONValue
        var name: String? { object.name }
        var resourceVersion: String? { object.resourceVersion }
    }

    /// The next event; nil when the stream ended cleanly; throws when the connection broke.
    func next() async throws -> Event? {
        while let line = try await iterator.next() {
            if line.isEmpty { continue }
            let json = try JSONValue(json: line)
            return Event(type: json["type"]?.stringValue ?? "", object: json["object"] ?? .null)
        }
        return nil
    }

    /// The next event that is not a BOOKMARK.
    func nextChange() async throws -> Event? {
        while let event = try await next() {
            if event.type != "BOOKMARK" { return event }
        }
        return nil
    }

    func close() { response.close() }
}

func pod(_ name: String, node: String? = nil, labels: [String: String] = [:], containers: [String] = ["app"]) -> JSONValue {
    var pod: JSONValue = [
        "apiVersion": "v1", "kind": "Pod",
        "metadata": ["name": .string(name), "labels": .object(labels.mapValues { .string($0) })],
        "spec": ["containers": .array(containers.map { ["name": .string($0), "image": "busybox:1.36"] })],
    ]
    if let node { pod[path: ["spec", "nodeName"]] = .string(node) }
    return pod
}

func node(_ name: String, kubeletPort: Int = 10250, ready: Bool = true) -> JSONValue {
    [
        "apiVersion": "v1", "kind": "Node",
        "metadata": ["name": .string(name), "labels": ["node-role.kubernetes.io/agent": "", "kubernetes.io/hostname": .string(name)]],
        "status": [
            "addresses": [["type": "InternalIP", "address": "127.0.0.1"], ["type": "Hostname", "address": .string(name)]],
            "daemonEndpoints": ["kubeletEndpoint": ["Port": .int(Int64(kubeletPort))]],
            "conditions": [["type": "Ready", "status": .string(ready ? "True" : "False"), "reason": "KubeletReady"]],
            "nodeInfo": ["kubeletVersion": "v1.32.0-systemk", "osImage": "Debian GNU/Linux 12", "kernelVersion": "6.1.0",
                         "containerRuntimeVersion": "systemd://252"],
        ],
    ]
}

/// Runs `body` with a started server and always shuts it down.
func withServer<T>(tls: Bool = false, _ configure: (inout KubeTestServer.Options) -> Void = { _ in },
                   _ body: (KubeTestServer) async throws -> T) async throws -> T {
    var options = KubeTestServer.Options()
    options.tls = tls
    configure(&options)
    let server = try await KubeTestServer.start(options)
    do {
        let result = try await body(server)
        try await server.shutdown()
        return result
    } catch {
        try? await server.shutdown()
        throw error
    }
}
