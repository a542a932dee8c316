import Foundation
import KubeClient
import Testing

@testable import SystemkRuntime

/// Facts of an imaginary machine with round numbers, no pressure of any kind.
func sampleFacts(
    memoryAvailable: Int64? = 3 * 1024 * 1024 * 1024, diskTotal: Int64 = 100 * 1024 * 1024 * 1024,
    diskAvailable: Int64 = 50 * 1024 * 1024 * 1024, pidMax: Int? = 32768, processes: Int? = 200
) -> HostFacts {
    HostFacts(
        cpus: 4, memoryTotalBytes: 8 * 1024 * 1024 * 1024, memoryAvailableBytes: memoryAvailable,
        machineID: "3d1219c7c4c5404aaa1f6d2a48adfda4", systemUUID: "4c4c4544-0032-3510-8030-b4c04f4d4e32",
        bootID: "c51ac3f6-056d-4c0d-9e39-c0df0f778da7", kernelVersion: "6.1.0-18-amd64",
        osImage: "Debian GNU/Linux 12 (bookworm)", architecture: "arm64", systemdVersion: "252",
        stateFilesystem: FilesystemUsage(totalBytes: diskTotal, availableBytes: diskAvailable), pidMax: pidMax,
        processes: processes)
}

let sampleParameters = NodeParameters(
    nodeName: "node-a", addresses: NodeAddresses(internalIP: "10.0.0.5", externalIP: "203.0.113.7"))

@Suite struct NodeObjectTests {
    let t0 = Date(timeIntervalSince1970: 1_700_000_000)
    let ready = NodeHealth(ready: true)

    func condition(_ type: String, _ conditions: [NodeCondition]) -> NodeCondition? {
        conditions.first { $0.type == type }
    }

    @Test func labelsNameTheNodeItsArchitectureAndProvider() {
        let node = NodeObject.node(facts: sampleFacts(), parameters: sampleParameters, health: ready, now: t0)
        #expect(node.metadata.name == "node-a")
        #expect(
            node.metadata.labels == [
                "node.kubernetes.io/instance-type": "systemk", "kubernetes.io/os": "linux", "kubernetes.io/arch": "arm64",
                "kubernetes.io/hostname": "node-a", "type": "virtual-kubelet", "beta.kubernetes.io/os": "linux",
                "beta.kubernetes.io/arch": "arm64",
            ])
    }

    @Test func providerTaintUnlessDisabled() {
        let tainted = NodeObject.node(facts: sampleFacts(), parameters: sampleParameters, health: ready, now: t0)
        #expect(tainted.spec?.taints == [Taint(key: "virtual-kubelet.io/provider", value: "systemk", effect: "NoSchedule")])
        var parameters = sampleParameters
        parameters.taint = false
        let untainted = NodeObject.node(facts: sampleFacts(), parameters: parameters, health: ready, now: t0)
        #expect(untainted.spec?.taints == nil)
    }

    @Test func capacityAndAllocatable() {
        var parameters = sampleParameters
        parameters.maxPods = 110
        let status = NodeObject.status(facts: sampleFacts(diskTotal: 1_000_000_000), parameters: parameters,
                                       health: ready, now: t0, previous: nil)
        #expect(status.capacity == ["cpu": "4", "memory": "8388608Ki", "pods": "110", "ephemeral-storage": "976562Ki"])
        // memory: 8 GiB - 100 MiB; storage: 1e9 - 1e8 bytes = 900000000 B = 878906 Ki (rounded down).
        #expect(status.allocatable == ["cpu": "4", "memory": "8286208Ki", "pods": "110", "ephemeral-storage": "878906Ki"])
    }

    @Test func defaultMaxPodsIs500() {
        let status = NodeObject.status(facts: sampleFacts(), parameters: sampleParameters, health: ready, now: t0, previous: nil)
        #expect(status.capacity?["pods"] == "500")
        #expect(status.allocatable?["pods"] == "500")
    }

    @Test func unreadableMeasurementsAreLeftOutNotGuessed() {
        var facts = sampleFacts()
        facts.memoryTotalBytes = nil
        facts.memoryAvailableBytes = nil
        facts.stateFilesystem = nil
        facts.pidMax = nil
        let status = NodeObject.status(facts: facts, parameters: sampleParameters, health: ready, now: t0, previous: nil)
        #expect(status.capacity == ["cpu": "4", "pods": "500"])
        for type in ["MemoryPressure", "DiskPressure", "PIDPressure"] {
            #expect(condition(type, status.conditions ?? [])?.status == "Unknown", "\(type)")
        }
    }

    @Test func nodeInfo() {
        let info = NodeObject.status(facts: sampleFacts(), parameters: sampleParameters, health: ready, now: t0, previous: nil).nodeInfo
        #expect(
            info == NodeSystemInfo(
                machineID: "3d1219c7c4c5404aaa1f6d2a48adfda4", systemUUID: "4c4c4544-0032-3510-8030-b4c04f4d4e32",
                bootID: "c51ac3f6-056d-4c0d-9e39-c0df0f778da7", kernelVersion: "6.1.0-18-amd64",
                osImage: "Debian GNU/Linux 12 (bookworm)", containerRuntimeVersion: "systemd://252",
                kubeletVersion: "v1.32.0-systemk.0.5.0", kubeProxyVersion: "", operatingSystem: "linux",
                architecture: "arm64"))
    }

    @Test func kubeletVersionIsGoSemver() throws {
        // The grammar of k8s.io/apimachinery's ParseSemantic (with the leading v) and golang.org/x/mod/semver.
        let identifier = "(0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)"
        let semver = try Regex("^v(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)(-\(identifier)(\\.\(identifier))*)?$")
        #expect(SystemkVersion.kubeletVersion.wholeMatch(of: semver) != nil)
        #expect(SystemkVersion.kubeletVersion == "v1.32.0-systemk.\(SystemkVersion.version)")
    }

    @Test(arguments: [("10.0.0.5", "203.0.113.7"), ("10.0.0.5", "10.0.0.5"), ("fd00::5", "2001:db8::7")])
    func addressesEachOnce(internalIP: String, externalIP: String) {
        var parameters = sampleParameters
        parameters.addresses = NodeAddresses(internalIP: internalIP, externalIP: externalIP)
        let status = NodeObject.status(facts: sampleFacts(), parameters: parameters, health: ready, now: t0, previous: nil)
        #expect(
            status.addresses == [
                NodeAddress(type: "InternalIP", address: internalIP), NodeAddress(type: "ExternalIP", address: externalIP),
                NodeAddress(type: "Hostname", address: "node-a"),
            ])
    }

    @Test func daemonEndpointIsTheKubeletPort() {
        var parameters = sampleParameters
        let byDefault = NodeObject.status(facts: sampleFacts(), parameters: parameters, health: ready, now: t0, previous: nil)
        #expect(byDefault.daemonEndpoints?.kubeletEndpoint?.port == 10250)
        parameters.kubeletPort = 10_350
        let moved = NodeObject.status(facts: sampleFacts(), parameters: parameters, health: ready, now: t0, previous: nil)
        #expect(moved.daemonEndpoints?.kubeletEndpoint?.port == 10_350)
    }

    @Test func readyFollowsHealth() throws {
        let up = NodeObject.conditions(facts: sampleFacts(), health: ready, now: t0, previous: nil)
        #expect(up.map(\.type) == ["MemoryPressure", "DiskPressure", "PIDPressure", "Ready"])
        let readyUp = try #require(condition("Ready", up))
        #expect(readyUp.status == "True")
        #expect(readyUp.reason == "KubeletReady")
        #expect(readyUp.message == "kubelet is posting ready status")
        let down = NodeObject.conditions(
            facts: sampleFacts(), health: NodeHealth(ready: false, message: "systemd is not reachable: connection refused"),
            now: t0, previous: nil)
        let readyDown = try #require(condition("Ready", down))
        #expect(readyDown.status == "False")
        #expect(readyDown.reason == "KubeletNotReady")
        #expect(readyDown.message == "systemd is not reachable: connection refused")
    }

    @Test func memoryPressureBelow100Mi() throws {
        let mi = Int64(1024 * 1024)
        let enough = try #require(condition("MemoryPressure", NodeObject.conditions(
            facts: sampleFacts(memoryAvailable: 100 * mi), health: ready, now: t0, previous: nil)))
        #expect(enough.status == "False")
        #expect(enough.reason == "KubeletHasSufficientMemory")
        let short = try #require(condition("MemoryPressure", NodeObject.conditions(
            facts: sampleFacts(memoryAvailable: 100 * mi - 1), health: ready, now: t0, previous: nil)))
        #expect(short.status == "True")
        #expect(short.reason == "KubeletHasInsufficientMemory")
    }

    @Test func diskPressureBelowTenPercent() throws {
        let enough = try #require(condition("DiskPressure", NodeObject.conditions(
            facts: sampleFacts(diskTotal: 1000, diskAvailable: 100), health: ready, now: t0, previous: nil)))
        #expect(enough.status == "False")
        #expect(enough.reason == "KubeletHasNoDiskPressure")
        let short = try #require(condition("DiskPressure", NodeObject.conditions(
            facts: sampleFacts(diskTotal: 1000, diskAvailable: 99), health: ready, now: t0, previous: nil)))
        #expect(short.status == "True")
        #expect(short.reason == "KubeletHasDiskPressure")
        // No rounding: 9 of 95 bytes is 9.47 %.
        let rounded = try #require(condition("DiskPressure", NodeObject.conditions(
            facts: sampleFacts(diskTotal: 95, diskAvailable: 9), health: ready, now: t0, previous: nil)))
        #expect(rounded.status == "True")
    }

    @Test func pidPressureWhenLessThanTenPercentOfPidMaxRemain() throws {
        let enough = try #require(condition("PIDPressure", NodeObject.conditions(
            facts: sampleFacts(pidMax: 1000, processes: 900), health: ready, now: t0, previous: nil)))
        #expect(enough.status == "False")
        #expect(enough.reason == "KubeletHasSufficientPID")
        let short = try #require(condition("PIDPressure", NodeObject.conditions(
            facts: sampleFacts(pidMax: 1000, processes: 901), health: ready, now: t0, previous: nil)))
        #expect(short.status == "True")
        #expect(short.reason == "KubeletHasInsufficientPID")
    }

    @Test func transitionTimeKeptWhileTheStatusStays() throws {
        let first = NodeObject.conditions(facts: sampleFacts(), health: ready, now: t0, previous: nil)
        let t1 = t0.addingTimeInterval(60.7)
        let second = NodeObject.conditions(facts: sampleFacts(), health: ready, now: t1, previous: first)
        let readyAgain = try #require(condition("Ready", second))
        #expect(readyAgain.lastTransitionTime == Timestamp(t0))
        #expect(readyAgain.lastHeartbeatTime == Timestamp(t0.addingTimeInterval(60)), "whole seconds, as the API stores them")
        let t2 = t0.addingTimeInterval(120)
        let third = NodeObject.conditions(
            facts: sampleFacts(memoryAvailable: 0), health: NodeHealth(ready: false, message: "down"), now: t2, previous: second)
        #expect(condition("Ready", third)?.lastTransitionTime == Timestamp(t2))
        #expect(condition("MemoryPressure", third)?.lastTransitionTime == Timestamp(t2))
        #expect(condition("DiskPressure", third)?.lastTransitionTime == Timestamp(t0), "unchanged conditions keep theirs")
    }

    @Test func mergeKeepsOtherControllersConditionsAndExtendedResources() {
        let ours = NodeObject.status(facts: sampleFacts(), parameters: sampleParameters, health: ready, now: t0, previous: nil)
        var theirs = NodeStatus(
            capacity: ["example.com/dongle": "2", "memory": "1Ki"], allocatable: ["example.com/dongle": "1"],
            conditions: [NodeCondition(type: "NetworkUnavailable", status: "False", reason: "RouteCreated"),
                         NodeCondition(type: "Ready", status: "Unknown", reason: "NodeStatusUnknown")])
        theirs.phase = "Running"
        let merged = NodeObject.merged(ours, into: theirs)
        #expect(merged.capacity?["example.com/dongle"] == "2")
        #expect(merged.capacity?["memory"] == "8388608Ki")
        #expect(merged.allocatable?["example.com/dongle"] == "1")
        #expect(merged.conditions?.map(\.type) == ["NetworkUnavailable", "Ready", "MemoryPressure", "DiskPressure", "PIDPressure"])
        #expect(merged.conditions?.first { $0.type == "Ready" }?.status == "True")
        #expect(merged.phase == "Running")
        #expect(NodeObject.sameIgnoringHeartbeats(merged, NodeObject.merged(ours, into: merged)))
    }

    @Test func heartbeatsAloneAreNoChange() {
        let first = NodeObject.status(facts: sampleFacts(), parameters: sampleParameters, health: ready, now: t0, previous: nil)
        let later = NodeObject.status(
            facts: sampleFacts(), parameters: sampleParameters, health: ready, now: t0.addingTimeInterval(10),
            previous: first.conditions)
        #expect(first != later)
        #expect(NodeObject.sameIgnoringHeartbeats(first, later))
        let down = NodeObject.status(
            facts: sampleFacts(), parameters: sampleParameters, health: NodeHealth(ready: false, message: "x"),
            now: t0.addingTimeInterval(10), previous: first.conditions)
        #expect(!NodeObject.sameIgnoringHeartbeats(first, down))
    }
}
