import Foundation
import KubeClient

/// What systemk decides about its Node, as opposed to what it reads from the machine: flags and ports.
public struct NodeParameters: Sendable, Hashable {
    /// The Node's name (`--nodename`), also its `Hostname` address and `kubernetes.io/hostname` label.
    public var nodeName: String
    /// The InternalIP and ExternalIP addresses.
    public var addresses: NodeAddresses
    /// Whether the Node carries `virtual-kubelet.io/provider=systemk:NoSchedule` (false with `--disable-taint`).
    public var taint: Bool
    /// `pods` in capacity and allocatable.
    public var maxPods: Int
    /// Where the kubelet API listens (`daemonEndpoints.kubeletEndpoint.Port`).
    public var kubeletPort: Int

    /// Creates parameters with the kubelet's defaults for the rest.
    public init(nodeName: String, addresses: NodeAddresses, taint: Bool = true, maxPods: Int = 500, kubeletPort: Int = 10250) {
        self.nodeName = nodeName
        self.addresses = addresses
        self.taint = taint
        self.maxPods = maxPods
        self.kubeletPort = kubeletPort
    }
}

/// Whether the node can run pods now (systemd reachable, ...), for the Ready condition.
public struct NodeHealth: Sendable, Hashable {
    /// Ready or not.
    public var ready: Bool
    /// Why not, for the condition's message when not ready.
    public var message: String

    /// Creates a health reading.
    public init(ready: Bool, message: String = "") {
        self.ready = ready
        self.message = message
    }
}

/// The Node object for this machine, built from host facts and parameters. Pure: no I/O, and the time
/// is a parameter. Labels, conditions, reasons and messages are the kubelet's, so that tools that read
/// nodes (kubectl, the scheduler's TaintNodesByCondition, dashboards) understand a systemk node.
public enum NodeObject {
    /// The taint that keeps ordinary pods off a systemk node unless they tolerate it.
    public static let providerTaint = Taint(key: "virtual-kubelet.io/provider", value: "systemk", effect: "NoSchedule")
    /// The kubelet's default hard eviction threshold `memory.available<100Mi`: MemoryPressure below it,
    /// and taken off allocatable memory.
    public static let memoryEvictionBytes: Int64 = 100 * 1024 * 1024
    /// The kubelet's default `nodefs.available<10%`: DiskPressure below it, and taken off allocatable
    /// ephemeral storage. The same share of pid_max left is the PIDPressure threshold.
    public static let reservePercent: Int64 = 10

    /// The whole Node as `register` creates it.
    public static func node(facts: HostFacts, parameters: NodeParameters, health: NodeHealth, now: Date) -> Node {
        Node(
            metadata: ObjectMeta(
                name: parameters.nodeName, labels: labels(nodeName: parameters.nodeName, architecture: facts.architecture)),
            spec: NodeSpec(taints: taints(parameters)),
            status: status(facts: facts, parameters: parameters, health: health, now: now, previous: nil))
    }

    /// The labels systemk owns on its Node. Every one is allowed to a node identity by NodeRestriction
    /// (`kubernetes.io/hostname`, `kubernetes.io/os|arch`, `beta.kubernetes.io/*`,
    /// `node.kubernetes.io/instance-type`, and unprefixed keys).
    public static func labels(nodeName: String, architecture: String) -> [String: String] {
        [
            "node.kubernetes.io/instance-type": "systemk",
            "kubernetes.io/os": "linux",
            "kubernetes.io/arch": architecture,
            "kubernetes.io/hostname": nodeName,
            "beta.kubernetes.io/os": "linux",
            "beta.kubernetes.io/arch": architecture,
            "type": "virtual-kubelet",
        ]
    }

    /// `spec.taints`: the provider taint, or none with `--disable-taint`.
    public static func taints(_ parameters: NodeParameters) -> [Taint]? {
        parameters.taint ? [providerTaint] : nil
    }

    /// The status part systemk reports: capacity, allocatable, conditions, addresses, daemon endpoint,
    /// node info. `previous` are the conditions on the server, for their transition times.
    public static func status(
        facts: HostFacts, parameters: NodeParameters, health: NodeHealth, now: Date, previous: [NodeCondition]?
    ) -> NodeStatus {
        NodeStatus(
            capacity: capacity(facts, maxPods: parameters.maxPods),
            allocatable: allocatable(facts, maxPods: parameters.maxPods),
            conditions: conditions(facts: facts, health: health, now: now, previous: previous),
            addresses: addresses(parameters),
            daemonEndpoints: NodeDaemonEndpoints(kubeletPort: parameters.kubeletPort),
            nodeInfo: nodeInfo(facts))
    }

    /// cpu, memory, pods and ephemeral-storage of the machine; a measurement that could not be read is left out.
    static func capacity(_ facts: HostFacts, maxPods: Int) -> [String: String] {
        var result = ["cpu": String(facts.cpus), "pods": String(maxPods)]
        if let memory = facts.memoryTotalBytes { result["memory"] = kibibytes(memory) }
        if let storage = facts.stateFilesystem?.totalBytes { result["ephemeral-storage"] = kibibytes(storage) }
        return result
    }

    /// Capacity less the kubelet's hard eviction thresholds: memory less 100Mi, ephemeral storage less 10%.
    static func allocatable(_ facts: HostFacts, maxPods: Int) -> [String: String] {
        var result = ["cpu": String(facts.cpus), "pods": String(maxPods)]
        if let memory = facts.memoryTotalBytes { result["memory"] = kibibytes(max(0, memory - memoryEvictionBytes)) }
        if let storage = facts.stateFilesystem?.totalBytes {
            result["ephemeral-storage"] = kibibytes(storage - reserve(of: storage))
        }
        return result
    }

    /// `reservePercent` of `value`, rounded down as the kubelet rounds its percentage thresholds.
    static func reserve(of value: Int64) -> Int64 {
        Int64(Int128(value) * Int128(reservePercent) / 100)
    }

    /// Whether `part` is less than `reservePercent` of `whole`, without rounding.
    static func belowReserve(_ part: Int64, of whole: Int64) -> Bool {
        Int128(part) * 100 < Int128(whole) * Int128(reservePercent)
    }

    /// Bytes as a Kubernetes quantity in whole kibibytes (`1024` → `1Ki`).
    static func kibibytes(_ bytes: Int64) -> String { "\(max(0, bytes) / 1024)Ki" }

    /// `status.nodeInfo`.
    static func nodeInfo(_ facts: HostFacts) -> NodeSystemInfo {
        NodeSystemInfo(
            machineID: facts.machineID, systemUUID: facts.systemUUID, bootID: facts.bootID,
            kernelVersion: facts.kernelVersion, osImage: facts.osImage,
            containerRuntimeVersion: "systemd://\(facts.systemdVersion)", kubeletVersion: SystemkVersion.kubeletVersion,
            kubeProxyVersion: "", operatingSystem: "linux", architecture: facts.architecture)
    }

    /// InternalIP, ExternalIP (both, also when they are the same address) and Hostname, each once.
    static func addresses(_ parameters: NodeParameters) -> [NodeAddress] {
        [
            NodeAddress(type: "InternalIP", address: parameters.addresses.internalIP),
            NodeAddress(type: "ExternalIP", address: parameters.addresses.externalIP),
            NodeAddress(type: "Hostname", address: parameters.nodeName),
        ]
    }
}

// MARK: Conditions

extension NodeObject {
    /// MemoryPressure, DiskPressure, PIDPressure and Ready, in the kubelet's order, with the kubelet's
    /// reasons and messages. `lastHeartbeatTime` is `now`; `lastTransitionTime` is kept from the
    /// condition of the same type in `previous` when its status is the same, else `now`. A pressure whose
    /// measurement could not be read is `Unknown`.
    public static func conditions(
        facts: HostFacts, health: NodeHealth, now: Date, previous: [NodeCondition]?
    ) -> [NodeCondition] {
        let memory = facts.memoryAvailableBytes.map { $0 < memoryEvictionBytes }
        let disk = facts.stateFilesystem.map { belowReserve($0.availableBytes, of: $0.totalBytes) }
        let pids = facts.pidMax.flatMap { pidMax in
            facts.processes.map { belowReserve(Int64(pidMax) - Int64($0), of: Int64(pidMax)) }
        }
        let fresh = [
            pressure(
                "MemoryPressure", memory, yes: ("KubeletHasInsufficientMemory", "kubelet has insufficient memory available"),
                no: ("KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                unknown: ("KubeletCannotReadMemory", "kubelet cannot read MemAvailable from /proc/meminfo")),
            pressure(
                "DiskPressure", disk, yes: ("KubeletHasDiskPressure", "kubelet has disk pressure"),
                no: ("KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                unknown: ("KubeletCannotReadDisk", "kubelet cannot measure the filesystem of its state directory")),
            pressure(
                "PIDPressure", pids, yes: ("KubeletHasInsufficientPID", "kubelet has insufficient PID available"),
                no: ("KubeletHasSufficientPID", "kubelet has sufficient PID available"),
                unknown: ("KubeletCannotReadPID", "kubelet cannot read pid_max or the number of processes")),
            health.ready
                ? NodeCondition(type: "Ready", status: "True", reason: "KubeletReady", message: "kubelet is posting ready status")
                : NodeCondition(
                    type: "Ready", status: "False", reason: "KubeletNotReady",
                    message: health.message.isEmpty ? "systemk is not ready" : health.message),
        ]
        let stamp = Timestamp(Date(timeIntervalSince1970: now.timeIntervalSince1970.rounded(.down)))
        return fresh.map { condition in
            var condition = condition
            condition.lastHeartbeatTime = stamp
            let before = previous?.first { $0.type == condition.type }
            condition.lastTransitionTime =
                before?.status == condition.status ? (before?.lastTransitionTime ?? stamp) : stamp
            return condition
        }
    }

    private static func pressure(
        _ type: String, _ under: Bool?, yes: (String, String), no: (String, String), unknown: (String, String)
    ) -> NodeCondition {
        let (status, words) = under.map { $0 ? ("True", yes) : ("False", no) } ?? ("Unknown", unknown)
        return NodeCondition(type: type, status: status, reason: words.0, message: words.1)
    }

    /// The keys of capacity and allocatable systemk reports; others (extended resources) are left alone.
    static let reportedResources: Set<String> = ["cpu", "memory", "pods", "ephemeral-storage"]

    /// `ours` laid over the status on the server: systemk's resources, conditions, addresses, endpoint
    /// and node info replace what was there; extended resources and conditions of other types (set by
    /// other controllers, such as NetworkUnavailable) are kept, as the kubelet keeps them.
    public static func merged(_ ours: NodeStatus, into existing: NodeStatus?) -> NodeStatus {
        var result = existing ?? NodeStatus()
        func resources(_ mine: [String: String]?, over theirs: [String: String]?) -> [String: String] {
            (theirs ?? [:]).filter { !reportedResources.contains($0.key) }.merging(mine ?? [:]) { $1 }
        }
        result.capacity = resources(ours.capacity, over: result.capacity)
        result.allocatable = resources(ours.allocatable, over: result.allocatable)
        var conditions = result.conditions ?? []
        for condition in ours.conditions ?? [] {
            if let index = conditions.firstIndex(where: { $0.type == condition.type }) {
                conditions[index] = condition
            } else {
                conditions.append(condition)
            }
        }
        result.conditions = conditions
        result.addresses = ours.addresses
        result.daemonEndpoints = ours.daemonEndpoints
        result.nodeInfo = ours.nodeInfo
        return result
    }

    /// Whether two statuses say the same apart from heartbeat times (and the order of conditions): the
    /// test for whether a status check has anything to report.
    public static func sameIgnoringHeartbeats(_ a: NodeStatus?, _ b: NodeStatus?) -> Bool {
        func normalized(_ status: NodeStatus?) -> NodeStatus? {
            guard var status else { return nil }
            status.conditions = status.conditions?
                .map { condition in
                    var condition = condition
                    condition.lastHeartbeatTime = nil
                    return condition
                }
                .sorted { $0.type < $1.type }
            return status
        }
        return normalized(a) == normalized(b)
    }
}
