import Foundation
import PodCompiler
import SystemkRuntime
import Testing

/// The prober's rules, as the kubelet's worker applies them, run by run.
@Suite struct ProbeWorkerTests {
    static func running(_ id: String = "run-1", since seconds: Int = 100, started: Bool = true) -> ProbeWorker.Container {
        ProbeWorker.Container(id: id, running: true, secondsSinceStart: seconds, started: started)
    }

    @Test func initialResultsAreTheKubelets() {
        #expect(ProbeWorker(kind: .readiness, initialDelaySeconds: 0, successThreshold: 1, failureThreshold: 3).result == false)
        #expect(ProbeWorker(kind: .liveness, initialDelaySeconds: 0, successThreshold: 1, failureThreshold: 3).result == true)
        #expect(ProbeWorker(kind: .startup, initialDelaySeconds: 0, successThreshold: 1, failureThreshold: 3).result == nil)
    }

    @Test func readinessNeedsSuccessThresholdInARowAndFailureThresholdToDrop() {
        var w = ProbeWorker(kind: .readiness, initialDelaySeconds: 0, successThreshold: 2, failureThreshold: 3)
        let r1 = w.shouldProbe(Self.running())
        #expect(r1)
        let r2 = w.record(success: true)
        #expect(r2 == .none)
        #expect(w.result == false)
        let r3 = w.record(success: true)
        #expect(r3 == .changed(true))
        let r4 = w.record(success: true)
        #expect(r4 == .none)
        // Two failures, a success in between: the run starts again.
        let r5 = w.record(success: false)
        #expect(r5 == .none)
        let r6 = w.record(success: false)
        #expect(r6 == .none)
        let r7 = w.record(success: true)
        #expect(r7 == .none)
        #expect(w.result == true)
        let r8 = w.record(success: false)
        #expect(r8 == .none)
        let r9 = w.record(success: false)
        #expect(r9 == .none)
        let r10 = w.record(success: false)
        #expect(r10 == .changed(false))
        #expect(w.result == false)
    }

    @Test func livenessFailureRestartsAndHoldsUntilTheNextRun() {
        var w = ProbeWorker(kind: .liveness, initialDelaySeconds: 0, successThreshold: 1, failureThreshold: 2)
        let r11 = w.shouldProbe(Self.running("run-1"))
        #expect(r11)
        let r12 = w.record(success: false)
        #expect(r12 == .none)
        let r13 = w.record(success: false)
        #expect(r13 == .restart)
        #expect(w.onHold)
        // Held: the same run is not probed again (the restart is under way)...
        let r14 = w.shouldProbe(Self.running("run-1"))
        #expect(!r14)
        // ...until the new run, which starts from the initial result.
        let r15 = w.shouldProbe(Self.running("run-2"))
        #expect(r15)
        #expect(!w.onHold)
        #expect(w.result == true)
        let r16 = w.record(success: false)
        #expect(r16 == .none, "the count starts again with the new run")
    }

    @Test func initialDelayAndStoppedContainersAreNotProbed() {
        var w = ProbeWorker(kind: .readiness, initialDelaySeconds: 15, successThreshold: 1, failureThreshold: 3)
        let r17 = w.shouldProbe(Self.running(since: 14))
        #expect(!r17)
        let r18 = w.shouldProbe(Self.running(since: 15))
        #expect(r18)
        let r19 = w.record(success: true)
        #expect(r19 == .changed(true))
        // The container stops: not ready, nothing probed.
        let r20 = w.shouldProbe(ProbeWorker.Container(id: "run-1", running: false, secondsSinceStart: 0, started: false))
        #expect(!r20)
        #expect(w.result == false)
    }

    @Test func theStartupProbeGatesTheOthersAndStopsOnceStarted() {
        var startup = ProbeWorker(kind: .startup, initialDelaySeconds: 0, successThreshold: 1, failureThreshold: 30)
        var readiness = ProbeWorker(kind: .readiness, initialDelaySeconds: 0, successThreshold: 1, failureThreshold: 3)
        var liveness = ProbeWorker(kind: .liveness, initialDelaySeconds: 0, successThreshold: 1, failureThreshold: 3)
        let starting = Self.running(started: false)
        let r21 = startup.shouldProbe(starting)
        #expect(r21)
        let r22 = readiness.shouldProbe(starting)
        #expect(!r22)
        let r23 = liveness.shouldProbe(starting)
        #expect(!r23)
        let r24 = startup.record(success: true)
        #expect(r24 == .changed(true))
        let started = Self.running(started: true)
        let again = startup.shouldProbe(started)
        #expect(!again, "a startup probe that succeeded is not run again in this run")
        let r25 = readiness.shouldProbe(started)
        #expect(r25)
        let r26 = liveness.shouldProbe(started)
        #expect(r26)
    }

    @Test func aStartupProbeThatNeverSucceedsRestarts() {
        var w = ProbeWorker(kind: .startup, initialDelaySeconds: 0, successThreshold: 1, failureThreshold: 3)
        let r27 = w.shouldProbe(Self.running(started: false))
        #expect(r27)
        let r28 = w.record(success: false)
        #expect(r28 == .none)
        let r29 = w.record(success: false)
        #expect(r29 == .none)
        let r30 = w.record(success: false)
        #expect(r30 == .restart)
        #expect(w.result == false)
    }

    @Test func plannedDefaultsAreUsed() throws {
        let planned = try JSONDecoder().decode(
            PlannedProbe.self,
            from: Data(#"{"container":"app","unit":"u.service","kind":"readiness","probe":{"tcpSocket":{"port":80},"initialDelaySeconds":5,"successThreshold":2,"failureThreshold":4}}"#.utf8))
        let w = ProbeWorker(planned)
        #expect(w.kind == .readiness)
        #expect(w.initialDelaySeconds == 5)
        #expect(w.successThreshold == 2)
        #expect(w.failureThreshold == 4)
    }
}
