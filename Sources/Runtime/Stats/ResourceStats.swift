import Foundation
import KubeClient
import PodCompiler

/// The kubelet's `/stats/summary` document (`k8s.io/kubelet/pkg/apis/stats/v1alpha1`), the parts a
/// systemk node fills: the node's and each pod's and container's CPU and memory.
public struct StatsSummary: Codable, Sendable, Equatable {
    public var node: NodeStats
    public var pods: [PodStats]
}

public struct NodeStats: Codable, Sendable, Equatable {
    public var nodeName: String
    public var startTime: String?
    public var cpu: CPUStats?
    public var memory: MemoryStats?
}

public struct PodStats: Codable, Sendable, Equatable {
    public var podRef: PodReference
    public var startTime: String?
    public var containers: [ContainerStats]
    public var cpu: CPUStats?
    public var memory: MemoryStats?
}

public struct PodReference: Codable, Sendable, Equatable {
    public var name: String
    public var namespace: String
    public var uid: String
}

public struct ContainerStats: Codable, Sendable, Equatable {
    public var name: String
    public var startTime: String?
    public var cpu: CPUStats?
    public var memory: MemoryStats?
}

public struct CPUStats: Codable, Sendable, Equatable {
    public init(time: String, usageNanoCores: UInt64? = nil, usageCoreNanoSeconds: UInt64? = nil) {
        self.time = time
        self.usageNanoCores = usageNanoCores
        self.usageCoreNanoSeconds = usageCoreNanoSeconds
    }

    public var time: String
    /// The rate over the interval since the previous sample, in nanocores (nil at the first sample).
    public var usageNanoCores: UInt64?
    /// Cumulative CPU time, in core-nanoseconds.
    public var usageCoreNanoSeconds: UInt64?
}

public struct MemoryStats: Codable, Sendable, Equatable {
    public init(time: String, availableBytes: UInt64? = nil, usageBytes: UInt64? = nil, workingSetBytes: UInt64? = nil) {
        self.time = time
        self.availableBytes = availableBytes
        self.usageBytes = usageBytes
        self.workingSetBytes = workingSetBytes
    }

    public var time: String
    public var availableBytes: UInt64?
    public var usageBytes: UInt64?
    /// Usage less inactive file pages: what the kubelet evicts on and `kubectl top` shows.
    public var workingSetBytes: UInt64?
}

/// Reads the host's counters: `/proc/stat`, `/proc/meminfo`, cgroup `memory.stat`.
public protocol HostCounters: Sendable {
    /// CPU time of the whole machine, in nanoseconds (busy time of all CPUs).
    func nodeCPUNanoseconds() -> UInt64?
    /// `MemTotal` and `MemAvailable`, in bytes.
    func nodeMemory() -> (total: UInt64, available: UInt64)?
    /// `inactive_file` of a cgroup (cgroup v2 `memory.stat`), in bytes.
    func inactiveFile(cgroup: String) -> UInt64?
    /// When the machine booted (seconds since the epoch).
    func bootTime() -> Double?
}

/// `/proc` and `/sys/fs/cgroup` of this machine.
public struct ProcHostCounters: HostCounters {
    let proc: String
    let cgroupRoot: String

    public init(proc: String = "/proc", cgroupRoot: String = "/sys/fs/cgroup") {
        self.proc = proc
        self.cgroupRoot = cgroupRoot
    }

    public func nodeCPUNanoseconds() -> UInt64? {
        guard let text = try? String(contentsOfFile: proc + "/stat", encoding: .utf8),
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix("cpu ") })
        else { return nil }
        // user nice system idle iowait irq softirq steal: busy is all but idle and iowait, in USER_HZ (100).
        let fields = line.split(separator: " ").dropFirst().compactMap { UInt64($0) }
        guard fields.count >= 8 else { return nil }
        let busy = fields[0] + fields[1] + fields[2] + fields[5] + fields[6] + fields[7]
        return busy * 10_000_000
    }

    public func nodeMemory() -> (total: UInt64, available: UInt64)? {
        guard let text = try? String(contentsOfFile: proc + "/meminfo", encoding: .utf8) else { return nil }
        var total: UInt64?
        var available: UInt64?
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count >= 2, let kib = UInt64(fields[1]) else { continue }
            if fields[0] == "MemTotal:" { total = kib * 1024 }
            if fields[0] == "MemAvailable:" { available = kib * 1024 }
        }
        guard let total, let available else { return nil }
        return (total, available)
    }

    /// cgroup v2 (`memory.stat` in the unit's cgroup, `inactive_file`) or v1 (the memory hierarchy's,
    /// `total_inactive_file`).
    public func inactiveFile(cgroup: String) -> UInt64? {
        guard !cgroup.isEmpty, !cgroup.contains("..") else { return nil }
        for (path, key) in [(cgroupRoot + cgroup, "inactive_file "), (cgroupRoot + "/memory" + cgroup, "total_inactive_file ")] {
            guard let text = try? String(contentsOfFile: path + "/memory.stat", encoding: .utf8) else { continue }
            for line in text.split(separator: "\n") where line.hasPrefix(key) {
                return UInt64(line.dropFirst(key.count))
            }
        }
        return nil
    }

    public func bootTime() -> Double? {
        guard let text = try? String(contentsOfFile: proc + "/stat", encoding: .utf8),
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix("btime ") })
        else { return nil }
        return Double(line.dropFirst("btime ".count))
    }
}

/// CPU and memory of the node and of every systemk pod and container, from each unit's cgroup accounting
/// as systemd reports it (`CPUUsageNSec`, `MemoryCurrent`) and the cgroup's `memory.stat`; served as the
/// kubelet's `/stats/summary` and `/metrics/resource` (what metrics-server reads for `kubectl top`).
///
/// A pod's figures are the sums of its containers' (systemk gives pods no slice of their own). CPU
/// rates (`usageNanoCores`) are over the interval since the previous read of the same unit.
public actor ResourceStats {
    let systemd: any SystemdManager
    let nodeName: String
    let host: any HostCounters
    let now: @Sendable () -> Date
    var previous: [String: (cpu: UInt64, at: Date)] = [:]

    public init(
        systemd: any SystemdManager, nodeName: String, host: any HostCounters = ProcHostCounters(),
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.systemd = systemd
        self.nodeName = nodeName
        self.host = host
        self.now = now
    }

    /// One container's figures.
    public struct Sample: Sendable, Equatable {
        public var section: KubernetesUnitSection
        public var properties: UnitProperties
        public var workingSet: UInt64?
    }

    /// The running systemk containers, with their accounting.
    func samples() async -> [Sample] {
        let listed = (try? await systemd.listUnits(matching: UnitNaming.prefix + "*" + UnitNaming.suffix)) ?? []
        let names = Set(listed.filter { $0.activeState == .active || $0.activeState == .reloading }.map(\.name))
        let properties = await systemd.properties(of: names)
        var out: [Sample] = []
        for name in names.sorted() {
            guard let p = properties[name], p.mainPID > 0 || p.memoryCurrent != nil,
                let text = try? String(contentsOfFile: systemd.unitDirectory + "/" + name, encoding: .utf8),
                case .success(let section) = KubernetesUnitSection.parse(unitName: name, unitFileText: text)
            else { continue }
            let inactive = host.inactiveFile(cgroup: p.controlGroup) ?? 0
            let workingSet = p.memoryCurrent.map { $0 > inactive ? $0 - inactive : 0 }
            out.append(Sample(section: section, properties: p, workingSet: workingSet))
        }
        return out
    }

    func rate(_ key: String, cpu: UInt64?, at time: Date) -> UInt64? {
        guard let cpu else { return nil }
        defer { previous[key] = (cpu, time) }
        guard let before = previous[key], cpu >= before.cpu else { return nil }
        let seconds = time.timeIntervalSince(before.at)
        guard seconds > 0 else { return nil }
        return UInt64(Double(cpu - before.cpu) / seconds)
    }

    /// `/stats/summary` as JSON.
    public func summaryJSON() async -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Array((try? encoder.encode(await summary())) ?? Data("{}".utf8))
    }

    /// `/stats/summary`.
    public func summary() async -> StatsSummary {
        let samples = await samples()
        let time = now()
        // Units that are gone keep no sample (a new run of the same name starts over).
        let current = Set(samples.map(\.properties.name)).union(["node"])
        previous = previous.filter { current.contains($0.key) }
        let stamp = Timestamp(time).description
        func start(_ micros: UInt64) -> String? { KubernetesTime.timestamp(microseconds: micros)?.description }
        var pods: [String: PodStats] = [:]
        for sample in samples {
            let s = sample.section
            let p = sample.properties
            let container = ContainerStats(
                name: s.container, startTime: start(p.mainStartTimestamp),
                cpu: CPUStats(time: stamp, usageNanoCores: rate(sample.properties.name, cpu: p.cpuUsageNanoseconds, at: time),
                              usageCoreNanoSeconds: p.cpuUsageNanoseconds),
                memory: MemoryStats(time: stamp, availableBytes: nil, usageBytes: p.memoryCurrent, workingSetBytes: sample.workingSet))
            var pod = pods[s.podUID] ?? PodStats(
                podRef: PodReference(name: s.pod, namespace: s.namespace, uid: s.podUID), startTime: nil, containers: [],
                cpu: CPUStats(time: stamp, usageNanoCores: nil, usageCoreNanoSeconds: nil),
                memory: MemoryStats(time: stamp, availableBytes: nil, usageBytes: nil, workingSetBytes: nil))
            pod.containers.append(container)
            pod.startTime = [pod.startTime, container.startTime].compactMap { $0 }.min()
            var cpu = pod.cpu ?? CPUStats(time: stamp)
            cpu.usageCoreNanoSeconds = Self.add(cpu.usageCoreNanoSeconds, p.cpuUsageNanoseconds)
            cpu.usageNanoCores = Self.add(cpu.usageNanoCores, container.cpu?.usageNanoCores)
            pod.cpu = cpu
            var memory = pod.memory ?? MemoryStats(time: stamp)
            memory.usageBytes = Self.add(memory.usageBytes, p.memoryCurrent)
            memory.workingSetBytes = Self.add(memory.workingSetBytes, sample.workingSet)
            pod.memory = memory
            pods[s.podUID] = pod
        }
        let nodeCPU = host.nodeCPUNanoseconds()
        let memory = host.nodeMemory()
        let node = NodeStats(
            nodeName: nodeName, startTime: host.bootTime().map { Timestamp(Date(timeIntervalSince1970: $0)).description },
            cpu: CPUStats(time: stamp, usageNanoCores: rate("node", cpu: nodeCPU, at: time), usageCoreNanoSeconds: nodeCPU),
            memory: memory.map {
                MemoryStats(time: stamp, availableBytes: $0.available, usageBytes: $0.total - $0.available, workingSetBytes: $0.total - $0.available)
            })
        return StatsSummary(
            node: node,
            pods: pods.values.sorted { ($0.podRef.namespace, $0.podRef.name) < ($1.podRef.namespace, $1.podRef.name) })
    }

    static func add(_ a: UInt64?, _ b: UInt64?) -> UInt64? {
        switch (a, b) {
        case (nil, nil): nil
        case (let x?, nil), (nil, let x?): x
        case (let x?, let y?): x &+ y
        }
    }

    /// `/metrics/resource`: the same in Prometheus' text format, as the kubelet serves it for
    /// metrics-server (cumulative CPU seconds and working-set bytes, with a timestamp in ms).
    public func resourceMetrics() async -> String {
        let summary = await summary()
        let ms = Int64(now().timeIntervalSince1970 * 1000)
        var out = ""
        func family(_ name: String, _ type: String, _ help: String, _ samples: [(labels: String, value: String)]) {
            out += "# HELP \(name) [STABLE] \(help)\n# TYPE \(name) \(type)\n"
            for s in samples { out += "\(name)\(s.labels) \(s.value) \(ms)\n" }
        }
        func seconds(_ ns: UInt64?) -> String? { ns.map { Self.number(Double($0) / 1e9) } }
        func label(_ pairs: [(String, String)]) -> String {
            "{" + pairs.map { "\($0.0)=\"\(Self.escape($0.1))\"" }.joined(separator: ",") + "}"
        }
        var cpu: [(String, String)] = [], memory: [(String, String)] = [], started: [(String, String)] = []
        var podCPU: [(String, String)] = [], podMemory: [(String, String)] = []
        for pod in summary.pods {
            let p = [("namespace", pod.podRef.namespace), ("pod", pod.podRef.name)]
            for c in pod.containers {
                let labels = label([("container", c.name)] + p)
                if let v = seconds(c.cpu?.usageCoreNanoSeconds) { cpu.append((labels, v)) }
                if let v = c.memory?.workingSetBytes { memory.append((labels, String(v))) }
                if let t = c.startTime, let date = ISO8601DateFormatter().date(from: t) { started.append((labels, Self.number(date.timeIntervalSince1970))) }
            }
            if let v = seconds(pod.cpu?.usageCoreNanoSeconds) { podCPU.append((label(p), v)) }
            if let v = pod.memory?.workingSetBytes { podMemory.append((label(p), String(v))) }
        }
        family("container_cpu_usage_seconds_total", "counter", "Cumulative cpu time consumed by the container in core-seconds", cpu)
        family("container_memory_working_set_bytes", "gauge", "Current working set of the container in bytes", memory)
        family("container_start_time_seconds", "gauge", "Start time of the container since unix epoch in seconds", started)
        family("node_cpu_usage_seconds_total", "counter", "Cumulative cpu time consumed by the node in core-seconds",
               seconds(summary.node.cpu?.usageCoreNanoSeconds).map { [("", $0)] } ?? [])
        family("node_memory_working_set_bytes", "gauge", "Current working set of the node in bytes",
               summary.node.memory?.workingSetBytes.map { [("", String($0))] } ?? [])
        family("pod_cpu_usage_seconds_total", "counter", "Cumulative cpu time consumed by the pod in core-seconds", podCPU)
        family("pod_memory_working_set_bytes", "gauge", "Current working set of the pod in bytes", podMemory)
        out += "# HELP scrape_error [ALPHA] 1 if there was an error while getting container metrics, 0 otherwise\n# TYPE scrape_error gauge\nscrape_error 0\n"
        return out
    }

    static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }
}
