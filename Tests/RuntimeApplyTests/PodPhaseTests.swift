import Foundation
import KubeClient
import Testing

@testable import PodCompiler
@testable import SystemkRuntime

/// A pod's phase and conditions follow the kubelet's rules for restart policies, init containers
/// and sidecars.
@Suite struct PodPhaseTests {
    typealias F = StatusFixtures

    func pod(
        initContainers: [String] = [], containers: [String] = ["web"], policy: String = "Always", terminal: Bool = false,
        _ states: [String: UnitProperties], ready: [String: Bool] = [:], started: [String: Bool] = [:]
    ) throws -> PodStatus {
        let units = try F.units(initContainers: initContainers, containers: containers, restartPolicy: policy)
        let observed = try states.map { name, p in F.observe(try #require(units[name]), p, ready: ready[name], started: started[name]) }
        let mapping = PodStatusMapper.map(observed, terminalPods: terminal ? [F.uid] : [])
        #expect(mapping.problems == [])
        return try #require(mapping.pods.first?.status)
    }

    func condition(_ status: PodStatus, _ type: String) -> PodCondition? {
        status.conditions?.first { $0.type == type }
    }

    @Test func aRunningContainerMakesARunningReadyPod() throws {
        let s = try pod(["web": F.running()])
        #expect(s.podPhase == .running)
        #expect(
            s.conditions == [
                PodCondition(type: "Initialized", status: true), PodCondition(type: "Ready", status: true),
                PodCondition(type: "ContainersReady", status: true), PodCondition(type: "PodScheduled", status: true),
            ])
        #expect(s.initContainerStatuses == nil)
    }

    @Test func anUnreadyContainerMakesTheManyConditionsFalse() throws {
        let s = try pod(containers: ["web", "api"], ["web": F.running(), "api": F.running()], ready: ["web": false, "api": false])
        #expect(s.podPhase == .running)
        let expected = PodCondition(type: "Ready", status: false, reason: "ContainersNotReady", message: "containers with unready status: [api web]")
        #expect(condition(s, "Ready") == expected)
        #expect(condition(s, "ContainersReady")?.message == expected.message)
        #expect(s.containerStatuses?.map(\.name) == ["api", "web"], "sorted by name as the kubelet sorts them")
    }

    @Test func notYetStartedIsPending() throws {
        #expect(try pod(["web": F.notStarted]).podPhase == .pending)
        #expect(try pod(containers: ["web", "api"], ["web": F.running(), "api": F.notStarted]).podPhase == .pending)
    }

    @Test func underAlwaysAContainerBackingOffKeepsThePodRunning() throws {
        #expect(try pod(["web": F.autoRestart(exit: 1)]).podPhase == .running)
        #expect(try pod(["web": F.exited(0)]).podPhase == .running, "all stopped, Always: restarting")
    }

    @Test func underNeverTheExitDecides() throws {
        let done = try pod(policy: "Never", ["web": F.exited(0)])
        #expect(done.podPhase == .succeeded)
        #expect(condition(done, "Initialized") == PodCondition(type: "Initialized", status: true, reason: "PodCompleted"))
        #expect(condition(done, "Ready") == PodCondition(type: "Ready", status: false, reason: "PodCompleted"))
        #expect(condition(done, "ContainersReady") == PodCondition(type: "ContainersReady", status: false, reason: "PodCompleted"))
        let failed = try pod(containers: ["web", "api"], policy: "Never", ["web": F.exited(0), "api": F.exited(2)])
        #expect(failed.podPhase == .failed)
        #expect(condition(failed, "Ready") == PodCondition(type: "Ready", status: false, reason: "PodFailed"))
        #expect(try pod(containers: ["web", "api"], policy: "Never", ["web": F.running(), "api": F.exited(2)]).podPhase == .running)
    }

    @Test func underOnFailureOnlyFailuresAreRestarted() throws {
        #expect(try pod(policy: "OnFailure", ["web": F.exited(0)]).podPhase == .succeeded)
        #expect(try pod(policy: "OnFailure", ["web": F.autoRestart(exit: 1)]).podPhase == .running)
    }

    @Test func aTerminalPodIsSucceededOrFailedWhateverThePolicy() throws {
        var stopped = F.killed(15, result: "success")
        stopped.activeState = .inactive
        #expect(try pod(terminal: true, ["web": F.exited(0)]).podPhase == .succeeded)
        #expect(try pod(terminal: true, ["web": stopped]).podPhase == .failed, "143 is a failure, as with the kubelet")
        #expect(try pod(terminal: true, ["web": F.running()]).podPhase == .running, "still stopping")
    }

    @Test func whileInitContainersRunThePodIsPendingAndNotInitialized() throws {
        let s = try pod(initContainers: ["migrate", "seed"], ["migrate": F.initCompleted, "seed": F.initRunning, "web": F.notStarted])
        #expect(s.podPhase == .pending)
        #expect(
            condition(s, "Initialized")
                == PodCondition(type: "Initialized", status: false, reason: "ContainersNotInitialized", message: "containers with incomplete status: [seed]"))
        #expect(s.initContainerStatuses?.map(\.name) == ["migrate", "seed"])
        #expect(s.containerStatuses?.first?.state == .waiting("PodInitializing"))
    }

    @Test func initContainersAreListedInThePodsOrder() throws {
        let s = try pod(initContainers: ["zeta", "alpha"], ["zeta": F.initCompleted, "alpha": F.initRunning, "web": F.notStarted])
        #expect(s.initContainerStatuses?.map(\.name) == ["zeta", "alpha"])
    }

    @Test func aFailedInitContainerFailsThePodOnlyUnderNever() throws {
        #expect(try pod(initContainers: ["migrate"], policy: "Never", ["migrate": F.exited(1), "web": F.notStarted]).podPhase == .failed)
        let retrying = try pod(initContainers: ["migrate"], policy: "OnFailure", ["migrate": F.exited(1), "web": F.notStarted])
        #expect(retrying.podPhase == .pending)
        #expect(condition(retrying, "Initialized")?.status == "False")
    }

    @Test func afterInitializationThePodRuns() throws {
        let s = try pod(initContainers: ["migrate"], ["migrate": F.initCompleted, "web": F.running()])
        #expect(s.podPhase == .running)
        #expect(condition(s, "Initialized")?.status == "True")
        #expect(s.initContainerStatuses?.first?.ready == true)
    }

    @Test func aSidecarMustHaveStartedBeforeTheApp() throws {
        let waiting = try pod(initContainers: ["proxy:sidecar"], ["proxy": F.running(), "web": F.notStarted], started: ["proxy": false])
        #expect(waiting.podPhase == .pending)
        #expect(condition(waiting, "Initialized")?.message == "containers with incomplete status: [proxy]")
        let up = try pod(initContainers: ["proxy:sidecar"], ["proxy": F.running(), "web": F.running()])
        #expect(up.podPhase == .running && condition(up, "Ready")?.status == "True")
    }

    @Test func anUnreadySidecarMakesThePodUnready() throws {
        let s = try pod(initContainers: ["proxy:sidecar"], ["proxy": F.running(), "web": F.running()], ready: ["proxy": false])
        #expect(condition(s, "ContainersReady")?.message == "containers with unready status: [proxy]")
    }

    @Test func aRestartingSidecarDoesNotSendThePodBackToPending() throws {
        let s = try pod(initContainers: ["proxy:sidecar"], ["proxy": F.autoRestart(exit: 1), "web": F.running()])
        #expect(s.podPhase == .running)
        #expect(condition(s, "Initialized")?.status == "True")
        #expect(s.initContainerStatuses?.first?.state?.waiting?.reason == "CrashLoopBackOff")
    }

    @Test func sidecarsDoNotKeepACompletedPodRunning() throws {
        var sidecarStopped = F.killed(15, result: "success")
        sidecarStopped.activeState = .inactive
        let s = try pod(
            initContainers: ["proxy:sidecar"], policy: "Never", ["proxy": sidecarStopped, "web": F.exited(0)])
        #expect(s.podPhase == .succeeded)
    }
}
