import Foundation
import Testing

@testable import PodCompiler
@testable import SystemkRuntime

/// Removing a pod's directory only ever removes that directory, and never anything a link or a
/// mount inside it leads to.
@Suite(needsRoot) struct RemovePodTests {
    @Test(arguments: [
        "", "/", "STATE", "STATE/pods", "STATE/pods/", "STATE/pods/.", "STATE/pods/..", "STATE/pods/../pods/UID",
        "STATE/pods//UID", "STATE/pods/UID/", "STATE/pods/UID/volumes", "STATE/pods/a b", "STATE/pods/a_b", "STATE/pods/a.b",
        "STATE/other/UID", "STATE/podsX/UID", "pods/UID", "/var/lib/systemk/pods/UID", "STATE/pods/\u{0}",
    ])
    func anythingButStatePodsUIDIsRefused(_ template: String) throws {
        let state = try ScratchState()
        _ = try state.materializer().apply(Fixtures.pod(in: state))
        let path = template.replacingOccurrences(of: "STATE", with: state.stateDirectory).replacingOccurrences(of: "UID", with: Fixtures.uid)
        #expect(performing: { try state.materializer().removePod(directory: path) }, throws: {
            if case .refusedRemoval = $0 as? ApplyError { true } else { false }
        })
        #expect(lstatus(state.podDirectory() + "/containers/app/environment") != nil)
    }

    @Test func aStateDirectoryThatIsNotCleanRefusesEverything() throws {
        let state = try ScratchState()
        let materializer = PlanMaterializer(stateDirectory: "relative/state")
        #expect(throws: ApplyError.self) { try materializer.removePod(directory: "relative/state/pods/" + Fixtures.uid) }
        let root = PlanMaterializer(stateDirectory: state.stateDirectory + "/../state")
        #expect(throws: ApplyError.self) { try root.removePod(directory: state.podDirectory()) }
    }

    @Test func thePodDirectoryAndEverythingInItIsRemoved() throws {
        let state = try ScratchState()
        _ = try state.materializer().apply(Fixtures.pod(in: state))
        let report = try state.materializer().removePod(directory: state.podDirectory())
        #expect(report == RemovalReport(unmounted: [], removed: true))
        #expect(lstatus(state.podDirectory()) == nil)
        #expect(lstatus(state.stateDirectory + "/pods") != nil)
        #expect(try state.materializer().removePod(directory: state.podDirectory()) == RemovalReport(unmounted: [], removed: false))
    }

    @Test func aLinkToTheRootInsideThePodRemovesNothingOutside() throws {
        let state = try ScratchState()
        _ = try state.materializer().apply(Fixtures.pod(in: state))
        let pod = state.podDirectory()
        writeText(state.outside + "/sentinel", "x")
        symlink("/", pod + "/volumes/scratch/root")
        symlink(state.outside, pod + "/volumes/scratch/data/outside")
        symlink(state.outside + "/sentinel", pod + "/containers/app/sentinel")
        try state.materializer().removePod(directory: pod)
        #expect(lstatus(pod) == nil)
        #expect(contents(state.outside + "/sentinel") == "x")
        #expect(lstatus("/etc/hostname") != nil)
    }

    @Test func thePodDirectoryBeingALinkRemovesOnlyTheLink() throws {
        let state = try ScratchState()
        try FileManager.default.createDirectory(atPath: state.stateDirectory + "/pods", withIntermediateDirectories: true)
        writeText(state.outside + "/sentinel", "x")
        symlink(state.outside, state.podDirectory())
        #expect(try state.materializer().removePod(directory: state.podDirectory()).removed)
        #expect(lstatus(state.podDirectory()) == nil)
        #expect(contents(state.outside + "/sentinel") == "x")
    }

    @Test func mountsInsideAreUnmountedFirstAndWhatTheyShowIsKept() throws {
        let state = try ScratchState()
        var plan = Fixtures.pod(in: state)
        let shm = state.podDirectory() + "/volumes/shm"
        plan.directories.append(Fixtures.directory(shm, "0777"))
        plan.tmpfsMounts = [PlannedTmpfs(path: shm, sizeBytes: 1 << 20, mode: "0777", volume: "shm")]
        _ = try state.materializer().apply(plan)
        // A bind mount of a host directory inside the pod directory (as a mistake or an attack).
        writeText(state.outside + "/sentinel", "x")
        let bind = state.podDirectory() + "/volumes/scratch/data/app"
        #expect(mount(state.outside, bind, nil, UInt(MS_BIND), nil) == 0)
        let counting = CountingFileSystem()
        let report = try state.materializer(fileSystem: counting).removePod(directory: state.podDirectory())
        #expect(Set(report.unmounted) == [shm, bind])
        #expect(report.removed)
        #expect(contents(state.outside + "/sentinel") == "x")
        #expect(lstatus(state.podDirectory()) == nil)
        #expect(try HostFileSystem().mounts().allSatisfy { !$0.mountPoint.hasPrefix(state.podDirectory()) })
    }
}
