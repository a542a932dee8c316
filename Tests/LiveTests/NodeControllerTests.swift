import Foundation
import KubeClient
import KubeTestServer
import Synchronization
import Testing

@testable import SystemkRuntime

/// Log lines a controller wrote, for assertions.
final class LogLines: Sendable {
    private let lines = Mutex<[String]>([])
    func append(_ line: String) { lines.withLock { $0.append(line) } }
    var all: [String] { lines.withLock { $0 } }
    func contains(_ text: String) -> Bool { all.contains { $0.contains(text) } }
}

/// A health input a test flips.
final class HealthSwitch: Sendable {
    private let state = Mutex<(ready: Bool, message: String)>((true, ""))
    func set(ready: Bool, message: String = "") { state.withLock { $0 = (ready, message) } }
    func read() -> (ready: Bool, message: String) { state.withLock { $0 } }
}

/// The wall clock moved ahead by whole minutes on demand, so that condition times (whole seconds) differ.
final class ShiftedClock: Sendable {
    private let offset = Mutex<TimeInterval>(0)
    func advance(_ seconds: TimeInterval) { offset.withLock { $0 += seconds } }
    func now() -> Date { Date().addingTimeInterval(offset.withLock { $0 }) }
}

@Suite struct NodeControllerTests {
    static let name = "node-a"

    static var serverOptions: KubeTestServer.Options {
        var options = KubeTestServer.Options()
        options.nodeAuthorization = true
        return options
    }

    static let fast = NodeController.Intervals(
        lease: .milliseconds(100), statusCheck: .milliseconds(100), statusReport: .seconds(3600))

    static func controller(
        _ client: KubeClient, parameters: NodeParameters = sampleParameters, intervals: NodeController.Intervals = fast,
        facts: HostFacts = sampleFacts(), health: HealthSwitch = HealthSwitch(), log: LogLines = LogLines(),
        clock: ShiftedClock = ShiftedClock()
    ) -> NodeController {
        NodeController(
            client: client, parameters: parameters, intervals: intervals, facts: { facts }, health: { health.read() },
            log: { log.append($0) }, now: { clock.now() })
    }

    /// The Node as stored, read past faults and authorization.
    static func stored(_ server: KubeTestServer) async throws -> Node? {
        guard let json = try? await server.get(.nodes, name: name) else { return nil }
        return try Node.decodeObject(from: json.data())
    }

    static func storedLease(_ server: KubeTestServer) async throws -> Lease? {
        guard let json = try? await server.get(.leases, name: name, namespace: KubeClient.nodeLeaseNamespace) else { return nil }
        return try JSONDecoder().decode(Lease.self, from: json.data())
    }

    static func ready(_ node: Node?) -> NodeCondition? {
        node?.status?.conditions?.first { $0.type == "Ready" }
    }

    /// Runs `controller.run()` while `body` runs, then cancels it and checks that it had not stopped on its own.
    static func running<T>(_ controller: NodeController, _ body: () async throws -> T) async throws -> T {
        let finished = LogLines()
        let task = Task {
            await controller.run()
            finished.append("run() returned")
        }
        do {
            let result = try await body()
            #expect(finished.all.isEmpty, "run() returned before it was cancelled")
            task.cancel()
            await task.value
            return result
        } catch {
            task.cancel()
            await task.value
            throw error
        }
    }

    @Test func registerCreatesTheNodeAsTheNodeIdentity() async throws {
        try await withCluster(node: Self.name, serverOptions: Self.serverOptions) { server, _, nodeClient in
            let registered = try await Self.controller(nodeClient).register()
            let uid = try #require(registered.metadata.uid)
            let node = try #require(try await Self.stored(server))
            #expect(node.metadata.uid == uid)
            #expect(node.metadata.labels?["type"] == "virtual-kubelet")
            #expect(node.metadata.labels?["kubernetes.io/hostname"] == Self.name)
            #expect(node.spec?.taints?.map(\.key) == ["virtual-kubelet.io/provider"])
            #expect(node.status?.capacity?["pods"] == "500")
            #expect(node.status?.nodeInfo?.kubeletVersion == SystemkVersion.kubeletVersion)
            #expect(Self.ready(node)?.status == "True")
            #expect(node.status?.addresses?.map(\.type) == ["InternalIP", "ExternalIP", "Hostname"])
            #expect(node.status?.daemonEndpoints?.kubeletEndpoint?.port == 10250)
        }
    }

    @Test func registerFailsForAnotherNodesName() async throws {
        try await withCluster(node: Self.name, serverOptions: Self.serverOptions) { _, _, nodeClient in
            var parameters = sampleParameters
            parameters.nodeName = "node-b"
            await #expect(throws: KubeError.self, "the server enforces node authorization") {
                try await Self.controller(nodeClient, parameters: parameters).register()
            }
        }
    }

    @Test func registeringAgainKeepsLabelsOthersAddedAndLeavesTaints() async throws {
        try await withCluster(node: Self.name, serverOptions: Self.serverOptions) { server, admin, nodeClient in
            let first = try await Self.controller(nodeClient).register()
            _ = try await admin.patchNode(
                Self.name, patch: Data(#"{"metadata":{"labels":{"team":"infra","type":null}}}"#.utf8), type: .merge)
            let log = LogLines()
            var parameters = sampleParameters
            parameters.taint = false
            let again = try await Self.controller(nodeClient, parameters: parameters, log: log).register()
            #expect(again.metadata.uid == first.metadata.uid)
            let node = try #require(try await Self.stored(server))
            #expect(node.metadata.labels?["team"] == "infra")
            #expect(node.metadata.labels?["type"] == "virtual-kubelet", "systemk's own label is put back")
            #expect(node.spec?.taints?.map(\.key) == ["virtual-kubelet.io/provider"], "a node does not change taints")
            #expect(log.contains("has the taint virtual-kubelet.io/provider=systemk:NoSchedule"), "\(log.all)")
            #expect(Self.ready(node)?.status == "True")
        }
    }

    @Test func leaseIsRenewedAndOwnedByTheNode() async throws {
        try await withCluster(node: Self.name, serverOptions: Self.serverOptions) { server, _, nodeClient in
            let controller = Self.controller(nodeClient)
            let node = try await controller.register()
            try await Self.running(controller) {
                try await eventually("the Lease exists") { try await Self.storedLease(server)?.spec?.renewTime != nil }
                let first = try #require(try await Self.storedLease(server)?.spec?.renewTime)
                try await eventually("renewTime advances") {
                    (try await Self.storedLease(server)?.spec?.renewTime).map { $0 > first } ?? false
                }
                let lease = try #require(try await Self.storedLease(server))
                #expect(lease.spec?.holderIdentity == Self.name)
                #expect(lease.spec?.leaseDurationSeconds == 40)
                #expect(lease.metadata.ownerReferences?.map(\.uid) == [try #require(node.metadata.uid)])
                #expect(lease.metadata.ownerReferences?.first?.kind == "Node")
            }
        }
    }

    @Test func healthFlipsReadyWithNewTransitionTimes() async throws {
        try await withCluster(node: Self.name, serverOptions: Self.serverOptions) { server, _, nodeClient in
            let health = HealthSwitch()
            let clock = ShiftedClock()
            // Status checks only every minute: the flips below are reported because of healthChanged().
            let intervals = NodeController.Intervals(
                lease: .milliseconds(100), statusCheck: .seconds(60), statusReport: .seconds(3600))
            let controller = Self.controller(nodeClient, intervals: intervals, health: health, clock: clock)
            try await controller.register()
            try await Self.running(controller) {
                try await eventually("run() started") { try await Self.storedLease(server) != nil }
                let up = try #require(Self.ready(try await Self.stored(server)))
                clock.advance(60)
                health.set(ready: false, message: "systemd is not reachable: connection refused")
                await controller.healthChanged()
                try await eventually("Ready False") { Self.ready(try await Self.stored(server))?.status == "False" }
                let down = try #require(Self.ready(try await Self.stored(server)))
                #expect(down.reason == "KubeletNotReady")
                #expect(down.message == "systemd is not reachable: connection refused")
                let upTime = try #require(up.lastTransitionTime)
                let downTime = try #require(down.lastTransitionTime)
                #expect(downTime > upTime)
                clock.advance(60)
                health.set(ready: true)
                await controller.healthChanged()
                try await eventually("Ready True again") { Self.ready(try await Self.stored(server))?.status == "True" }
                let upAgain = try #require(Self.ready(try await Self.stored(server)))
                #expect(try #require(upAgain.lastTransitionTime) > downTime)
                let memory = try await Self.stored(server)?.status?.conditions?.first { $0.type == "MemoryPressure" }
                #expect(memory?.lastTransitionTime == up.lastTransitionTime, "unchanged conditions keep their time")
            }
        }
    }

    @Test func statusIsNotRewrittenWhenNothingChanged() async throws {
        try await withCluster(node: Self.name, serverOptions: Self.serverOptions) { server, _, nodeClient in
            let controller = Self.controller(nodeClient)
            try await controller.register()
            let after = await server.currentResourceVersion
            let reads = RequestMatch(verb: "get", pathContains: "/api/v1/nodes/\(Self.name)")
            let readsBefore = server.faults.count(reads)
            // Both loops run meanwhile (on a loaded machine one may get ahead of the other: wait for both).
            try await Self.running(controller) {
                try await eventually("five status checks and two lease renewals") {
                    let leaseWrites = await server.changes(after: after).filter { $0.resource == .leases }
                    return server.faults.count(reads) >= readsBefore + 5 && leaseWrites.count >= 2
                }
            }
            let nodeWrites = await server.changes(after: after).filter { $0.resource == .nodes }
            #expect(nodeWrites.isEmpty, "\(nodeWrites.map(\.object))")
        }
    }

    @Test func statusIsReportedWhenTheReportIntervalPassed() async throws {
        try await withCluster(node: Self.name, serverOptions: Self.serverOptions) { server, _, nodeClient in
            let clock = ShiftedClock()
            let intervals = NodeController.Intervals(
                lease: .milliseconds(100), statusCheck: .milliseconds(100), statusReport: .milliseconds(300))
            let controller = Self.controller(nodeClient, intervals: intervals, clock: clock)
            try await controller.register()
            let before = try #require(Self.ready(try await Self.stored(server)))
            let heartbeat = try #require(before.lastHeartbeatTime)
            clock.advance(60)
            try await Self.running(controller) {
                try await eventually("a new heartbeat although nothing changed") {
                    Self.ready(try await Self.stored(server))?.lastHeartbeatTime.map { $0 > heartbeat } ?? false
                }
            }
            let after = try #require(Self.ready(try await Self.stored(server)))
            #expect(after.lastTransitionTime == before.lastTransitionTime)
            #expect(after.status == "True")
        }
    }

    @Test func aDeletedNodeIsRegisteredAgain() async throws {
        try await withCluster(node: Self.name, serverOptions: Self.serverOptions) { server, _, nodeClient in
            let log = LogLines()
            let controller = Self.controller(nodeClient, log: log)
            try await Self.running(controller) {
                try await eventually("registered by run()") { try await Self.stored(server) != nil }
                let oldUID = try #require(try await Self.stored(server)?.metadata.uid)
                try await eventually("the Lease exists") { try await Self.storedLease(server) != nil }
                try await server.delete(.nodes, name: Self.name)
                try await eventually("registered again") {
                    let uid = try await Self.stored(server)?.metadata.uid
                    return uid != nil && uid != oldUID
                }
                let newUID = try #require(try await Self.stored(server)?.metadata.uid)
                try await eventually("the controller knows the new UID") { await controller.nodeUID == newUID }
                try await eventually("the Lease is owned by the new Node") {
                    try await Self.storedLease(server)?.metadata.ownerReferences?.map(\.uid) == [newUID]
                }
                #expect(log.contains("gone from the API server"), "\(log.all)")
            }
        }
    }

    @Test func serverErrorsDoNotStopTheController() async throws {
        try await withCluster(node: Self.name, serverOptions: Self.serverOptions) { server, _, nodeClient in
            let log = LogLines()
            let health = HealthSwitch()
            let controller = Self.controller(nodeClient, health: health, log: log)
            try await controller.register()
            try await Self.running(controller) {
                try await eventually("run() started") { try await Self.storedLease(server) != nil }
                server.faults.failNext(60, status: 500)
                health.set(ready: false, message: "systemd is not reachable")
                await controller.healthChanged()
                try await eventually("failures logged") {
                    log.contains("cannot renew lease") && log.contains("500")
                        && (log.contains("cannot read the Node") || log.contains("cannot update the Node's status"))
                }
                try await eventually("caught up: Ready False") {
                    Self.ready(try await Self.stored(server))?.status == "False"
                }
                let renewed = try #require(try await Self.storedLease(server)?.spec?.renewTime)
                try await eventually("the Lease is renewed again") {
                    (try await Self.storedLease(server)?.spec?.renewTime).map { $0 > renewed } ?? false
                }
                // The server stores the Lease before it answers; the line is logged once the answer is in.
                try await eventually("the recovery logged") { log.contains("lease renewed again after") }
            }
        }
    }
}
