import Foundation
import Synchronization
import Testing

@testable import PodCompiler
@testable import SystemkRuntime

/// Nothing outside the pod's directory is ever written through a plan's paths or a link planted in
/// the pod's directory, and secrets are never readable by others.
@Suite(needsRoot) struct ApplySafetyTests {
    @Test(arguments: [
        "/etc/passwd",
        "/tmp/elsewhere",
        "PODDIR/../other/file",
        "PODDIR/./file",
        "PODDIR//file",
        "PODDIR/file/",
        "PODDIR-evil/file",
        "relative/file",
    ])
    func pathsOutsideThePodDirectoryAreRefused(_ template: String) throws {
        let state = try ScratchState()
        var plan = Fixtures.pod(in: state)
        let path = template.replacingOccurrences(of: "PODDIR", with: state.podDirectory())
        plan.files.append(Fixtures.file(path, "x"))
        #expect(throws: ApplyError.pathOutsidePod(path: path, podDirectory: state.podDirectory())) {
            try state.materializer().apply(plan)
        }
        #expect(lstatus(state.podDirectory()) == nil)
    }

    @Test func aPodDirectoryThatIsNotStatePodsUIDIsRefused() throws {
        let state = try ScratchState()
        var plan = Fixtures.pod(in: state)
        plan.podDirectory = state.stateDirectory + "/pods"
        #expect(throws: ApplyError.self) { try state.materializer().apply(plan) }
        plan = Fixtures.pod(in: state)
        plan.uid = "../x"
        #expect(throws: ApplyError.self) { try state.materializer().apply(plan) }
        plan = Fixtures.pod(in: state)
        plan.uid = ""
        plan.podDirectory = state.stateDirectory + "/pods/"
        #expect(throws: ApplyError.self) { try state.materializer().apply(plan) }
    }

    @Test func aLinkPlantedInAnEmptyDirIsNeverFollowed() throws {
        let state = try ScratchState()
        let plan = Fixtures.pod(in: state)
        _ = try state.materializer().apply(plan)
        let pod = state.podDirectory()
        // A container replaces a subPath directory of its emptyDir with a link to the host.
        try FileManager.default.removeItem(atPath: pod + "/volumes/scratch/data")
        symlink(state.outside, pod + "/volumes/scratch/data")
        #expect(throws: ApplyError.unexpectedFileType(path: pod + "/volumes/scratch/data", expected: .directory, found: .symlink)) {
            try state.materializer().apply(plan)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: state.outside) == [], "nothing was created outside")
        #expect(lstatus(state.outside)?.mode == 0o755, "the outside directory's mode was not changed")
    }

    @Test func aLinkWhereAFileIsPlannedIsReplacedNotFollowed() throws {
        let state = try ScratchState()
        let plan = Fixtures.pod(in: state)
        _ = try state.materializer().apply(plan)
        let pod = state.podDirectory()
        let victim = state.outside + "/victim"
        writeText(victim, "original")
        chmod(victim, 0o644)
        unlink(pod + "/containers/app/environment")
        symlink(victim, pod + "/containers/app/environment")
        let report = try state.materializer().apply(plan)
        #expect(report.changes == [.wroteFile(pod + "/containers/app/environment")])
        #expect(contents(victim) == "original")
        #expect(lstatus(victim)?.mode == 0o644)
        #expect(lstatus(pod + "/containers/app/environment")?.type == .regular)
    }

    @Test func aLinkWhereADirectoryIsPlannedIsAnError() throws {
        let state = try ScratchState()
        let plan = Fixtures.pod(in: state)
        _ = try state.materializer().apply(plan)
        let pod = state.podDirectory()
        try FileManager.default.removeItem(atPath: pod + "/volumes/scratch/data/app")
        symlink(state.outside, pod + "/volumes/scratch/data/app")
        #expect(throws: ApplyError.unexpectedFileType(path: pod + "/volumes/scratch/data/app", expected: .directory, found: .symlink)) {
            try state.materializer().apply(plan)
        }
        #expect(lstatus(state.outside)?.mode == 0o755)
    }

    @Test func aSensitiveFilePlannedReadableByAllIsRefused() throws {
        let state = try ScratchState()
        var plan = Fixtures.pod(in: state)
        let path = state.podDirectory() + "/containers/app/leak"
        plan.files.append(Fixtures.file(path, "secret", mode: "0644", sensitive: true))
        #expect(throws: ApplyError.invalidPlan(path: path, reason: "a sensitive file must not be accessible to every user (mode 0644)")) {
            try state.materializer().apply(plan)
        }
    }

    @Test func badModesAreRefused() throws {
        let state = try ScratchState()
        for mode in ["", "0x644", "0800", "17777", "-1", "rw-r--r--"] {
            var plan = Fixtures.pod(in: state)
            plan.files[4].mode = mode
            #expect(throws: ApplyError.invalidPlan(path: plan.files[4].path, reason: "\"\(mode)\" is not an octal mode")) {
                try state.materializer().apply(plan)
            }
        }
    }

    /// Watches the directory while secrets are written over and over: no entry holding bytes is ever
    /// readable by anyone but its planned owner, temporary files included.
    @Test func secretBytesAreNeverVisibleWithAWiderMode() throws {
        let state = try ScratchState()
        let pod = state.podDirectory()
        var plan = Fixtures.pod(in: state)
        plan.directories = [Fixtures.directory(pod, "0700"), Fixtures.directory(pod + "/s", "0755")]
        let secret = String(repeating: "s", count: 1 << 20)
        plan.files = [Fixtures.file(pod + "/s/key", secret, mode: "0400", owner: "1000", group: "1000", sensitive: true)]
        _ = try state.materializer().apply(plan)

        let stop = Atomic<Bool>(false)
        let violations = Mutex<[String]>([])
        let watcher = Thread {
            while !stop.load(ordering: .relaxed) {
                for name in (try? FileManager.default.contentsOfDirectory(atPath: pod + "/s")) ?? [] {
                    guard let st = lstatus(pod + "/s/" + name), st.size > 0 else { continue }
                    if st.mode & 0o077 != 0 || st.owner != 1000 {
                        violations.withLock { $0.append("\(name) \(modeText(st.mode)) uid \(st.owner)") }
                    }
                }
            }
        }
        watcher.start()
        for round in 0..<20 {
            plan.files[0] = Fixtures.file(pod + "/s/key", secret + String(round), mode: "0400", owner: "1000", group: "1000", sensitive: true)
            _ = try state.materializer().apply(plan)
        }
        stop.store(true, ordering: .relaxed)
        Thread.sleep(forTimeInterval: 0.05)
        #expect(violations.withLock { $0 } == [])
    }
}
