import Foundation
import KubeClient

/// Registers this machine as a Node and keeps it alive, as the kubelet does: a Lease in
/// `kube-node-lease` renewed every lease interval (the heartbeat the node lifecycle controller watches),
/// and the Node's status recomputed from fresh host facts every status interval but written only when
/// something besides heartbeat times changed, or when the report interval has passed (kubelet's
/// `nodeStatusUpdateFrequency` and `nodeStatusReportFrequency`). API errors never stop it: each is
/// logged and the next tick tries again; a Node deleted behind its back is registered again.
public actor NodeController {
    /// How often the controller does what.
    public struct Intervals: Sendable, Hashable {
        /// Between Lease renewals (kubelet: a quarter of the lease duration).
        public var lease: Duration
        /// Between status checks (kubelet's `nodeStatusUpdateFrequency`).
        public var statusCheck: Duration
        /// The longest time without a status write (kubelet's `nodeStatusReportFrequency`).
        public var statusReport: Duration
        /// `Lease.spec.leaseDurationSeconds`: how long the node counts as alive after a renewal.
        public var leaseDurationSeconds: Int

        /// Creates intervals; the defaults are the kubelet's.
        public init(
            lease: Duration = .seconds(10), statusCheck: Duration = .seconds(10), statusReport: Duration = .seconds(300),
            leaseDurationSeconds: Int = 40
        ) {
            self.lease = lease
            self.statusCheck = statusCheck
            self.statusReport = statusReport
            self.leaseDurationSeconds = leaseDurationSeconds
        }
    }

    private let client: KubeClient
    private let parameters: NodeParameters
    private let intervals: Intervals
    private let readFacts: @Sendable () async -> HostFacts
    private let readHealth: @Sendable () async -> (ready: Bool, message: String)
    private let log: @Sendable (String) -> Void
    private let now: @Sendable () -> Date

    /// The Node as last read or written; nil until registered.
    private var node: Node?
    /// When the status was last written.
    private var lastReport: ContinuousClock.Instant?
    private var statusTick: AsyncStream<Void>.Continuation?
    private var loggedUnreadable: [String] = []
    private var leaseFailures = 0
    private var statusFailures = 0

    /// Creates a controller; nothing happens until `register()` or `run()`.
    /// - Parameters:
    ///   - client: a client with the node's identity (`system:node:NAME` in `system:nodes`).
    ///   - facts: reads the host, once per status check (usually `HostFacts.read(stateDirectory:systemdVersion:)`).
    ///   - health: whether the node can run pods (systemd reachable), and why not; drives Ready.
    ///   - log: one line per event worth an operator's attention (registration, failures, recoveries).
    ///   - now: the wall clock for condition and Lease timestamps.
    public init(
        client: KubeClient, parameters: NodeParameters, intervals: Intervals = Intervals(),
        facts: @escaping @Sendable () async -> HostFacts,
        health: @escaping @Sendable () async -> (ready: Bool, message: String),
        log: @escaping @Sendable (String) -> Void, now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.client = client
        self.parameters = parameters
        self.intervals = intervals
        self.readFacts = facts
        self.readHealth = health
        self.log = log
        self.now = now
    }

    private var name: String { parameters.nodeName }

    /// The registered Node's UID (the Lease's owner), nil before registration.
    public var nodeUID: String? { node?.metadata.uid }

    /// Creates the Node with labels, taint and status. When it already exists, adds systemk's labels
    /// (keeping labels others set), leaves its taints alone (a node identity may set taints only when it
    /// creates its Node; a difference is logged) and writes the status. Returns the Node as stored.
    @discardableResult
    public func register() async throws(KubeError) -> Node {
        let facts = await currentFacts()
        let health = await currentHealth()
        let desired = NodeObject.node(facts: facts, parameters: parameters, health: health, now: now())
        do throws(KubeError) {
            let created = try await client.createNode(desired)
            log("node \(name): registered (uid \(created.metadata.uid ?? "?"))")
            node = created
            lastReport = .now
            statusFailures = 0
            if !NodeObject.sameIgnoringHeartbeats(created.status, desired.status) {
                // The API server keeps a Node's status on create; write it where something dropped it.
                try await writeStatus(facts: facts, health: health, base: created)
            }
        } catch .alreadyExists {
            try await adopt(try await client.getNode(name), facts: facts, health: health)
        }
        guard let node else { throw .decoding(what: "Node \(name)", detail: "no Node after registration") }
        return node
    }

    /// Renews the Lease and checks the status at their intervals until the task is cancelled. Registers
    /// the Node first when `register()` was not called or failed.
    public func run() async {
        let (leaseTicks, leaseTick) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let (statusTicks, statusTick) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        self.statusTick = statusTick
        let intervals = intervals
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await Self.tick(every: intervals.lease, into: leaseTick) }
            group.addTask { await Self.tick(every: intervals.statusCheck, into: statusTick) }
            group.addTask { for await _ in leaseTicks { await self.renewLease() } }
            group.addTask { for await _ in statusTicks { await self.checkStatus() } }
        }
        self.statusTick = nil
    }

    /// Asks for a status check now rather than at the next interval: the agent calls it when health
    /// (systemd reachable or not) may have changed. Does nothing when `run()` is not running.
    public func healthChanged() {
        statusTick?.yield()
    }

    /// Yields at once, then after every `interval`, until cancelled.
    private static func tick(every interval: Duration, into ticks: AsyncStream<Void>.Continuation) async {
        defer { ticks.finish() }
        while !Task.isCancelled {
            ticks.yield()
            do { try await Task.sleep(for: interval) } catch { return }
        }
    }

    // MARK: Lease

    private func renewLease() async {
        guard let uid = node?.metadata.uid else { return }  // the status check registers first
        do throws(KubeError) {
            let lease = try await client.renewNodeLease(
                nodeName: name, nodeUID: uid, durationSeconds: intervals.leaseDurationSeconds, now: now())
            try await fixLeaseOwner(lease, uid: uid)
            if leaseFailures > 0 { log("node \(name): lease renewed again after \(leaseFailures) failed attempts") }
            leaseFailures = 0
        } catch {
            leaseFailures += 1
            log("node \(name): cannot renew lease \(KubeClient.nodeLeaseNamespace)/\(name): \(error); trying again in \(intervals.lease)")
        }
    }

    /// After the Node was registered again, the Lease still names the old Node as owner (the client sets
    /// an owner only on a Lease without one): point it at the new UID, or the garbage collector would
    /// delete the heartbeat of a live node.
    private func fixLeaseOwner(_ lease: Lease, uid: String) async throws(KubeError) {
        let owners = lease.metadata.ownerReferences ?? []
        let isNodeOwner = { (o: OwnerReference) in o.kind == "Node" && o.apiVersion == "v1" && o.name == self.name }
        guard owners.contains(where: isNodeOwner), !owners.contains(where: { isNodeOwner($0) && $0.uid == uid }) else { return }
        var fixed = lease
        fixed.metadata.ownerReferences = owners.filter { !isNodeOwner($0) }
            + [OwnerReference(apiVersion: "v1", kind: "Node", name: name, uid: uid)]
        _ = try await client.updateLease(fixed)
        log("node \(name): lease owner set to the Node's new uid \(uid)")
    }

    // MARK: Status

    private func checkStatus() async {
        guard let known = node else {
            await registerLogging(why: "not registered yet")
            return
        }
        let current: Node
        do throws(KubeError) {
            current = try await client.getNode(name)
        } catch .notFound {
            log("node \(name): the Node is gone from the API server; registering it again")
            node = nil
            await registerLogging(why: "it was deleted")
            return
        } catch {
            statusFailed("cannot read the Node for its status check: \(error)")
            return
        }
        let facts = await currentFacts()
        let health = await currentHealth()
        do throws(KubeError) {
            if current.metadata.uid != known.metadata.uid {
                log("node \(name): the Node was replaced (uid \(known.metadata.uid ?? "?") → \(current.metadata.uid ?? "?")); taking it over")
                try await adopt(current, facts: facts, health: health)
            } else {
                let due = lastReport.map { ContinuousClock.now - $0 >= intervals.statusReport } ?? true
                try await writeStatus(facts: facts, health: health, base: current, onlyIfChanged: !due)
            }
            if statusFailures > 0 { log("node \(name): status reported again after \(statusFailures) failed attempts") }
            statusFailures = 0
        } catch .notFound {
            log("node \(name): the Node was deleted during the status update; registering it again")
            node = nil
            await registerLogging(why: "it was deleted")
        } catch {
            statusFailed("cannot update the Node's status: \(error)")
        }
    }

    private func registerLogging(why: String) async {
        do {
            try await register()
        } catch {
            statusFailed("cannot register the Node (\(why)): \(error)")
        }
    }

    private func statusFailed(_ what: String) {
        statusFailures += 1
        log("node \(name): \(what); trying again in \(intervals.statusCheck)")
    }

    /// Takes over an existing Node: systemk's labels added, taints left as they are, status written.
    private func adopt(_ existing: Node, facts: HostFacts, health: NodeHealth) async throws(KubeError) {
        var current = existing
        let labels = current.metadata.labels ?? [:]
        let missing = NodeObject.labels(nodeName: name, architecture: facts.architecture).filter { labels[$0.key] != $0.value }
        if !missing.isEmpty {
            let patch: Data
            do {
                patch = try JSONEncoder().encode(["metadata": ["labels": missing]])
            } catch {
                throw .decoding(what: "label patch for Node \(name)", detail: "\(error)")
            }
            current = try await client.patchNode(name, patch: patch, type: .merge)
        }
        let provider = NodeObject.providerTaint
        let tainted = current.spec?.taints?.contains {
            $0.key == provider.key && $0.value == provider.value && $0.effect == provider.effect
        } ?? false
        if tainted != parameters.taint {
            let taint = "\(provider.key)=\(provider.value ?? ""):\(provider.effect)"
            log("node \(name): the existing Node \(tainted ? "has" : "lacks") the taint \(taint) although systemk runs "
                + (parameters.taint ? "without --disable-taint" : "with --disable-taint") + "; a node may set taints only "
                + "when it creates its Node, so they are left as they are (delete the Node to register it afresh)")
        }
        log("node \(name): the Node existed (uid \(current.metadata.uid ?? "?")); "
            + (missing.isEmpty ? "labels already set" : "labels set: \(missing.keys.sorted().joined(separator: ", "))"))
        node = current
        try await writeStatus(facts: facts, health: health, base: current)
    }

    /// Writes the status computed from `facts` and `health` onto `base` (the Node as last read), unless
    /// `onlyIfChanged` and it would change nothing but heartbeat times.
    private func writeStatus(
        facts: HostFacts, health: NodeHealth, base: Node, onlyIfChanged: Bool = false
    ) async throws(KubeError) {
        let ours = NodeObject.status(
            facts: facts, parameters: parameters, health: health, now: now(), previous: base.status?.conditions)
        let merged = NodeObject.merged(ours, into: base.status)
        if onlyIfChanged, NodeObject.sameIgnoringHeartbeats(merged, base.status) {
            node = base
            return
        }
        let updated = try await client.updateNodeStatus(name, from: base) { status in
            status = NodeObject.merged(ours, into: status)
        }
        let before = base.status?.conditions?.first { $0.type == "Ready" }
        let after = updated.status?.conditions?.first { $0.type == "Ready" }
        if before?.status != after?.status || before?.message != after?.message {
            log("node \(name): Ready \(after?.status ?? "?")" + (health.ready ? "" : ": \(health.message)"))
        }
        node = updated
        lastReport = .now
    }

    // MARK: Inputs

    private func currentFacts() async -> HostFacts {
        let facts = await readFacts()
        if facts.unreadable != loggedUnreadable {
            for line in facts.unreadable where !loggedUnreadable.contains(line) { log("node \(name): host: \(line)") }
            loggedUnreadable = facts.unreadable
        }
        return facts
    }

    private func currentHealth() async -> NodeHealth {
        let (ready, message) = await readHealth()
        return NodeHealth(ready: ready, message: message)
    }
}
