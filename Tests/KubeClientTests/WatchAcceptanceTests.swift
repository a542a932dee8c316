import Foundation
import KubeTestServer
import Testing

@testable import KubeClient

/// Issue 4's acceptance test: a watch survives 20 injected disconnects and one 410 without losing or
/// duplicating an event, checked against every event the server wrote on the wire.
@Suite("Watch acceptance")
struct WatchAcceptanceTests {
    struct Change: Hashable, CustomStringConvertible {
        var type: String
        var key: String
        var resourceVersion: String
        var description: String { "\(type) \(key)@\(resourceVersion)" }
    }

    @Test(.timeLimit(.minutes(1)))
    func twentyDisconnectsAndOneGoneLoseAndRepeatNothing() async throws {
        var informerOptions = InformerOptions()
        informerOptions.watchTimeoutSeconds = 60...60
        var serverOptions = KubeTestServer.Options()
        serverOptions.bookmarkInterval = .milliseconds(50)
        try await withServer(serverOptions: serverOptions) { server, client in
            for i in 0..<3 { try await server.create(.pods, podManifest("seed-\(i)", node: "n1")) }
            let sink = EventSink<Pod>()
            let task = EventSink.consume(client.podInformer(nodeName: "n1", options: informerOptions), into: sink)
            await sink.waitUntil { $0.events.contains(where: \.isSynced) }

            var dropped: [Int] = []
            var live: [String] = (0..<3).map { "seed-\($0)" }
            for round in 1...21 {
                // Changes: a new pod, a modified pod, a deleted pod, and noise on another node.
                var last = try await server.create(.pods, podManifest("p\(round)", node: "n1"))
                live.append("p\(round)")
                try await server.create(.pods, podManifest("elsewhere-\(round)", node: "n2"))
                if live.count > 2 {
                    let name = live[live.count - 2]
                    last = try await server.update(.pods, relabel(try await server.get(.pods, name: name), "round", "\(round)"))
                }
                if round % 3 == 0 {
                    let name = live.removeFirst()
                    try await server.delete(.pods, name: name, options: .init(gracePeriodSeconds: 0))
                    let gone = name
                    await sink.waitUntil { $0.state["default/\(gone)"] == nil }
                }
                let version = last.resourceVersion
                let key = "default/\(last.name ?? "")"
                await sink.waitUntil { $0.versions[key] == version }

                if round == 11 {
                    // The one 410: hold the consumer, change things with no watch open, compact the history.
                    await sink.close()
                    let marker = try await server.update(
                        .pods, relabel(try await server.get(.pods, name: live[0]), "marker", "1"))
                    let markerKey = "default/\(live[0])"
                    await sink.waitUntil { $0.versions[markerKey] == marker.resourceVersion }
                    await server.faults.restart(compact: false)
                    try await server.create(.pods, podManifest("during-gone", node: "n1"))
                    live.append("during-gone")
                    _ = try await server.update(.pods, relabel(try await server.get(.pods, name: live[1]), "gone", "1"))
                    let victim = live.remove(at: 2)
                    try await server.delete(.pods, name: victim, options: .init(gracePeriodSeconds: 0))
                    await server.faults.restart(compact: true)
                    await sink.open()
                    let target = await server.list(.pods).filter { $0[path: ["spec", "nodeName"]]?.stringValue == "n1" }
                    let expected = Dictionary(uniqueKeysWithValues: target.map { ("default/\($0.name ?? "")", $0.resourceVersion ?? "") })
                    await sink.waitUntil { $0.versions == expected }
                } else {
                    dropped.append(await server.faults.dropWatches())
                }
            }
            // One more change so that the client is known to be connected after the last drop.
            let final = try await server.create(.pods, podManifest("final", node: "n1"))
            await sink.waitUntil { $0.versions["default/final"] == final.resourceVersion }
            task.cancel()
            await task.value

            #expect(dropped.count == 20)
            #expect(dropped.allSatisfy { $0 == 1 }, "each drop cut the client's open watch: \(dropped)")

            let delivered = await sink.events
            let gone = delivered.filter {
                if case .interrupted(.gone, _) = $0 { return true }
                return false
            }
            #expect(gone.count == 1, "exactly one 410")
            #expect(server.faults.count(.init(verb: "list")) == 2, "the initial list and one re-list")

            // What the server wrote on the wire (ADDED/MODIFIED/DELETED of pods).
            let emitted = server.emittedEvents().filter { $0.resource == .pods && [.added, .modified, .deleted].contains($0.type) }
            let sent = Set(emitted.map { Change(type: $0.type.rawValue, key: "\($0.object.namespace ?? "")/\($0.object.name ?? "")", resourceVersion: $0.resourceVersion) })

            // What the client delivered.
            var fromWatch: [Change] = []
            var fromList: [Change] = []
            for event in delivered {
                switch event {
                case .added(let o, let origin), .modified(let o, let origin), .deleted(let o, let origin):
                    let type: String
                    switch event {
                    case .added: type = "ADDED"
                    case .modified: type = "MODIFIED"
                    default: type = "DELETED"
                    }
                    let change = Change(type: type, key: o.key, resourceVersion: o.metadata.resourceVersion ?? "")
                    if origin == .watch { fromWatch.append(change) } else { fromList.append(change) }
                case .synced, .interrupted:
                    break
                }
            }
            // Nothing delivered twice.
            #expect(Set(fromWatch).count == fromWatch.count, "duplicate watch events: \(fromWatch)")
            let watchVersions = Set(fromWatch.filter { $0.type != "DELETED" }.map { "\($0.key)@\($0.resourceVersion)" })
            for change in fromList where change.type != "DELETED" {
                #expect(!watchVersions.contains("\(change.key)@\(change.resourceVersion)"), "re-list repeated \(change)")
            }
            // Nothing invented and nothing lost: every event the server sent was delivered, and every
            // delivered watch event was sent.
            #expect(Set(fromWatch) == sent, "lost: \(sent.subtracting(fromWatch)), invented: \(Set(fromWatch).subtracting(sent))")
            // The synthetic events bring the consumer to exactly the server's state.
            let onNode = await server.list(.pods).filter { $0[path: ["spec", "nodeName"]]?.stringValue == "n1" }
            let serverState = Dictionary(uniqueKeysWithValues: onNode.map { ("default/\($0.name ?? "")", $0.resourceVersion ?? "") })
            #expect(await sink.versions() == serverState)
            #expect(!fromList.isEmpty, "the re-list delivered the changes made while the history was lost")
        }
    }
}
