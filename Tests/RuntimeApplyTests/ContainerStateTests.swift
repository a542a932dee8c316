import Foundation
import KubeClient
import Testing

@testable import PodCompiler
@testable import SystemkRuntime

/// Each systemd state of a container's unit becomes the Kubernetes container state the kubelet
/// would report.
@Suite struct ContainerStateTests {
    typealias F = StatusFixtures
    static let unit = "systemk.default.shop.web.service"
    static let t0 = Timestamp(rfc3339: "2024-05-01T12:00:00Z")!
    static let t5 = Timestamp(rfc3339: "2024-05-01T12:00:05Z")!

    func status(
        _ properties: UnitProperties, policy: String = "Always", ready: Bool? = nil, started: Bool? = nil,
        lastTermination: ContainerState.Terminated? = nil
    ) throws -> ContainerStatus {
        let units = try F.units(restartPolicy: policy)
        let web = try #require(units["web"])
        let mapping = PodStatusMapper.map([F.observe(web, properties, ready: ready, started: started, lastTermination: lastTermination)])
        #expect(mapping.problems == [])
        return try #require(mapping.pods.first?.status.containerStatuses?.first)
    }

    func terminated(_ code: Int32, signal: Int32? = nil, reason: String, message: String? = nil) -> ContainerState.Terminated {
        ContainerState.Terminated(
            exitCode: code, signal: signal, reason: reason, message: message, startedAt: Self.t0, finishedAt: Self.t5,
            containerID: "systemd://" + F.invocation)
    }

    @Test func aRunningServiceIsRunningReadyAndStarted() throws {
        let s = try status(F.running())
        #expect(
            s == ContainerStatus(
                name: "web", state: ContainerState(running: ContainerState.Running(startedAt: Self.t0)), lastState: ContainerState(),
                ready: true, started: true,
                restartCount: 0, image: "/bin/true", containerID: "systemd://" + F.invocation))
    }

    @Test func readinessAndStartupComeFromTheProber() throws {
        #expect(try status(F.running(), ready: false).ready == false)
        let notStarted = try status(F.running(), ready: true, started: false)
        #expect(notStarted.ready == false && notStarted.started == false, "not ready before the startup probe passed")
    }

    @Test func waitingToRestartIsCrashLoopBackOffWithTheLastRunAsLastState() throws {
        let s = try status(F.autoRestart(exit: 1, restarts: 3))
        #expect(s.state?.waiting?.reason == "CrashLoopBackOff")
        #expect(s.state?.waiting?.message == "back-off restarting failed container=web pod=shop_default(\(F.uid))")
        #expect(s.lastState?.terminated == terminated(1, reason: "Error"))
        #expect(s.restartCount == 3)
        #expect(s.ready == false && s.started == false)
    }

    @Test func aCleanExitUnderAlwaysAlsoBacksOff() throws {
        let s = try status(F.autoRestart(exit: 0))
        #expect(s.state?.waiting?.reason == "CrashLoopBackOff")
        #expect(s.lastState?.terminated == terminated(0, reason: "Completed"))
    }

    @Test func systemd254sRestartStatesBackOffToo() throws {
        for (active, sub) in [("failed", "failed-before-auto-restart"), ("inactive", "dead-before-auto-restart"), ("activating", "auto-restart-queued")] {
            var p = F.autoRestart(exit: 2)
            p.activeState = ActiveState(active)
            p.subState = sub
            let s = try status(p)
            #expect(s.state?.waiting?.reason == "CrashLoopBackOff", "\(active)/\(sub)")
            #expect(s.lastState?.terminated?.exitCode == 2)
        }
    }

    @Test func exitStatusesAreKeptAndZeroIsCompleted() throws {
        #expect(try status(F.exited(0), policy: "Never").state?.terminated == terminated(0, reason: "Completed"))
        #expect(try status(F.exited(3), policy: "Never").state?.terminated == terminated(3, reason: "Error"))
    }

    @Test func aSignalIs128PlusItsNumber() throws {
        #expect(try status(F.killed(15), policy: "Never").state?.terminated == terminated(143, signal: 15, reason: "Error"))
        #expect(
            try status(F.killed(11, result: "core-dump", dumped: true), policy: "Never").state?.terminated
                == terminated(139, signal: 11, reason: "Error", message: "it dumped core"))
    }

    @Test func theOOMKillerIsOOMKilled() throws {
        #expect(try status(F.killed(9, result: "oom-kill"), policy: "Never").state?.terminated == terminated(137, signal: 9, reason: "OOMKilled"))
        var afterOOM = F.autoRestart(exit: 1)
        afterOOM.result = "oom-kill"
        #expect(try status(afterOOM).lastState?.terminated?.reason == "OOMKilled")
    }

    @Test func systemdsOwnExitStatusesAreExplained() throws {
        let s = try status(F.exited(203), policy: "Never")
        #expect(s.state?.terminated?.reason == "Error")
        #expect(s.state?.terminated?.message == "exit status 203 is systemd's EXEC: it could not set up or run the process")
        #expect(try status(F.exited(217), policy: "Never").state?.terminated?.message?.contains("USER") == true)
    }

    @Test func aTimeoutIsExplained() throws {
        var p = F.killed(15, result: "timeout")
        p.activeState = .failed
        #expect(try status(p, policy: "Never").state?.terminated?.message == "systemd stopped it after a timeout (Result=timeout)")
    }

    @Test func aUnitThatFailedBeforeItsProcessRanIsAStartError() throws {
        // A run was attempted (so it has an invocation ID), but no process ever ran.
        let p = F.props(activeState: "failed", subState: "failed", result: "resources", invocationID: F.invocation)
        #expect(
            try status(p, policy: "Never").state?.terminated
                == ContainerState.Terminated(
                    exitCode: 128, reason: "StartError", message: "systemd could not start the unit (Result=resources)",
                    containerID: "systemd://" + F.invocation))
    }

    @Test func notYetStartedIsContainerCreating() throws {
        #expect(try status(F.notStarted).state == .waiting("ContainerCreating"))
        for sub in ["condition", "start-pre"] {
            #expect(try status(F.props(activeState: "activating", subState: sub)).state == .waiting("ContainerCreating"))
        }
        let starting = F.props(activeState: "activating", subState: "start-post", execMainPID: 5, execMainStartTimestamp: F.t0)
        #expect(try status(starting).state?.running != nil, "postStart runs while the container runs")
    }

    @Test func stoppingIsRunningUntilTheProcessHasEnded() throws {
        let stopping = F.props(activeState: "deactivating", subState: "stop-sigterm", execMainPID: 5, execMainStartTimestamp: F.t0)
        #expect(try status(stopping).state?.running?.startedAt == Self.t0)
        let postStop = F.props(
            activeState: "deactivating", subState: "stop-post", execMainCode: F.killed, execMainStatus: 15,
            execMainStartTimestamp: F.t0, execMainExitTimestamp: F.t0 + 5_000_000, invocationID: F.invocation)
        #expect(try status(postStop).state?.terminated == terminated(143, signal: 15, reason: "Error"))
    }

    @Test func stoppedByTheRuntimeIsTerminated() throws {
        var p = F.killed(15, result: "success")
        p.activeState = .inactive
        p.subState = "dead"
        #expect(try status(p).state?.terminated == terminated(143, signal: 15, reason: "Error"))
    }

    @Test func anEndWithoutARecordedStatusIsUnknown() throws {
        let p = F.props(activeState: "inactive", subState: "dead", execMainStartTimestamp: F.t0)
        let s = try status(p, policy: "Never")
        #expect(s.state?.terminated?.reason == "ContainerStatusUnknown" && s.state?.terminated?.exitCode == 137)
    }

    @Test func unitsSystemdDidNotLoadAreWaitingWithAReason() throws {
        var p = F.notStarted
        p.loadState = "not-found"
        #expect(try status(p).state == .waiting("ContainerCreating", "systemd has not loaded the unit (LoadState=not-found)"))
        p.loadState = "masked"
        #expect(try status(p).state == .waiting("CreateContainerError", "the unit \(Self.unit) is masked"))
        p.loadState = "bad-setting"
        #expect(try status(p).state == .waiting("CreateContainerConfigError", "systemd refused the unit file (LoadState=bad-setting)"))
        p.loadState = "error"
        #expect(try status(p).state?.waiting?.reason == "CreateContainerConfigError")
    }

    @Test func aRememberedPreviousRunIsLastState() throws {
        let previous = terminated(1, reason: "Error")
        let s = try status(F.running(restarts: 1), lastTermination: previous)
        #expect(s.lastState?.terminated == previous && s.restartCount == 1 && s.state?.running != nil)
        #expect(try status(F.running(restarts: 1)).lastState == ContainerState(), "unknown: left empty")
    }

    @Test func restartsTheRuntimeMadeAreCounted() throws {
        let units = try F.units(initContainers: ["migrate"])
        var observed = F.observe(try #require(units["migrate"]), F.initRunning)
        observed.properties.restarts = 1
        observed.additionalRestarts = 2
        let mapping = PodStatusMapper.map([observed])
        #expect(mapping.pods.first?.status.initContainerStatuses?.first?.restartCount == 3)
    }

    @Test func anAppContainerIsStartedAndReadyOnlyOnceItsUnitIsActive() throws {
        let web = try #require(try F.units()["web"])
        func status(_ p: UnitProperties) -> ContainerStatus? {
            PodStatusMapper.map([F.observe(web, p)]).pods.first?.status.containerStatuses?.first
        }
        // A Type=notify service before READY=1 (or Type=exec before its command was executed): its
        // process runs, systemd does not call it started yet.
        var starting = F.running()
        starting.activeState = .activating
        starting.subState = "start"
        let early = try #require(status(starting))
        #expect(early.state?.running != nil && early.started == false && early.ready == false)
        let up = try #require(status(F.running()))
        #expect(up.state?.running != nil && up.started == true && up.ready == true)
    }

    @Test func initContainersAreReadyOnlyOnceCompleted() throws {
        let units = try F.units(initContainers: ["migrate"])
        let migrate = try #require(units["migrate"])
        func initStatus(_ p: UnitProperties) -> ContainerStatus? {
            PodStatusMapper.map([F.observe(migrate, p)]).pods.first?.status.initContainerStatuses?.first
        }
        let running = try #require(initStatus(F.initRunning))
        #expect(running.state?.running != nil && running.ready == false && running.started == true)
        let done = try #require(initStatus(F.initCompleted))
        #expect(done.state?.terminated?.reason == "Completed" && done.ready == true && done.started == false)
        #expect(initStatus(F.notStarted)?.state == .waiting("PodInitializing"))
    }

    @Test func aFailedInitContainerBacksOffUnlessThePolicyIsNever() throws {
        for (policy, backsOff) in [("Always", true), ("OnFailure", true), ("Never", false)] {
            let migrate = try #require(try F.units(initContainers: ["migrate"], restartPolicy: policy)["migrate"])
            let s = try #require(PodStatusMapper.map([F.observe(migrate, F.exited(1))]).pods.first?.status.initContainerStatuses?.first)
            if backsOff {
                #expect(s.state?.waiting?.reason == "CrashLoopBackOff", "\(policy)")
                #expect(s.lastState?.terminated?.exitCode == 1)
            } else {
                #expect(s.state?.terminated?.exitCode == 1, "\(policy)")
            }
        }
    }
}

/// The container ID is the run's: none before the first start, a new one at each start.
@Suite struct ContainerIDTests {
    typealias F = StatusFixtures

    func containerID(_ properties: UnitProperties) throws -> String? {
        let units = try F.units()
        let mapping = PodStatusMapper.map([F.observe(try #require(units["web"]), properties)])
        let status = try #require(mapping.pods.first?.status.containerStatuses?.first)
        return status.containerID
    }

    @Test func noRunNoID() throws {
        #expect(try containerID(F.notStarted) == nil)
    }

    @Test func eachRunHasItsOwnID() throws {
        var first = F.running()
        first.invocationID = "11111111111111111111111111111111"
        var second = F.running(restarts: 1)
        second.invocationID = "22222222222222222222222222222222"
        #expect(try containerID(first) == "systemd://11111111111111111111111111111111")
        #expect(try containerID(second) == "systemd://22222222222222222222222222222222")
    }
}
