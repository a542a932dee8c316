import Foundation
import KubeTestServer
import Testing

@testable import KubeClient

/// kube-apiserver and k3s speak HTTP/2: a node's many watches (one per ConfigMap and Secret its pods
/// reference, by name) then share a few connections instead of holding one TLS connection each.
@Suite("HTTP/2 to the API server", .timeLimit(.minutes(1)))
struct HTTP2Tests {
    @Test func manyWatchesShareFewConnectionsAndStillSeeTheirChanges() async throws {
        var serverOptions = KubeTestServer.Options()
        serverOptions.http2 = true
        // A node identity: its client certificate is read from the stream's parent connection.
        try await withServer(identity: .node("node-a"), serverOptions: serverOptions) { server, client in
            let count = 24
            for i in 0..<count {
                try await server.create(.configMaps, ["metadata": ["name": .string("c\(i)"), "namespace": "default"], "data": ["v": "0"]])
            }
            // The first request settles the protocol; then every informer starts at once.
            _ = try await client.list(Node.self)
            let sinks = (0..<count).map { _ in EventSink<ConfigMap>() }
            let tasks = (0..<count).map { i in
                EventSink.consume(client.configMapInformer(namespace: "default", name: "c\(i)"), into: sinks[i])
            }
            for sink in sinks { await sink.waitUntil { $0.events.contains(where: \.isSynced) } }
            // The server counts a watch once its handler runs, a moment after the client's informer syncs.
            var waited = 0
            while server.faults.openWatchConnections < count, waited < 500 {
                try await Task.sleep(for: .milliseconds(20))
                waited += 1
            }
            #expect(server.faults.openWatchConnections == count)
            #expect(server.faults.openWatchTransports <= 2, "\(count) watches over \(server.faults.openWatchTransports) connections")

            for i in [0, count - 1] {
                var object = try await server.get(.configMaps, name: "c\(i)")
                object["data"] = ["v": "1"]
                let updated = try await server.update(.configMaps, object)
                await sinks[i].waitUntil { $0.versions["default/c\(i)"] == updated.resourceVersion }
            }
            for task in tasks { task.cancel() }
            for task in tasks { await task.value }
        }
    }
}
