import Foundation
import Testing

@testable import PodCompiler
@testable import SystemkRuntime

/// Volumes planned with `atomicUpdates` are laid out as the kubelet's AtomicWriter lays them out,
/// and an update is one new generation of that volume only.
@Suite(needsRoot) struct AtomicVolumeTests {
    @Test func filesAreReachedThroughDataAndAGeneration() throws {
        let state = try ScratchState()
        _ = try state.materializer().apply(Fixtures.pod(in: state))
        let config = state.podDirectory() + "/volumes/config"
        #expect(readLink(config + "/..data") == "..1")
        #expect(readLink(config + "/app.conf") == "..data/app.conf")
        #expect(readLink(config + "/conf.d") == "..data/conf.d")
        #expect(contents(config + "/app.conf") == "a=1\n")
        #expect(contents(config + "/conf.d/extra.conf") == "extra\n")
        let names = try FileManager.default.contentsOfDirectory(atPath: config).sorted()
        #expect(names == ["..1", "..data", "app.conf", "conf.d"])
        let generation = try #require(lstatus(config + "/..1"))
        #expect(generation.mode == 0o755 && generation.owner == 0, "a generation has its volume's mode and owner")
        let file = try #require(lstatus(config + "/..1/app.conf"))
        #expect(file.mode == 0o640 && file.group == 2000)
    }

    @Test func secretVolumesKeepTheirOwnerAndOwnerOnlyModes() throws {
        let state = try ScratchState()
        _ = try state.materializer().apply(Fixtures.pod(in: state))
        let tls = state.podDirectory() + "/containers/app/volumes/tls"
        let generation = try #require(lstatus(tls + "/..1"))
        #expect(generation.mode == 0o500 && generation.owner == 1000 && generation.group == 2000)
        #expect(lstatus(tls + "/..1/tls.key").map { ($0.mode, $0.owner, $0.group) } ?? (0, 0, 0) == (0o400, 1000, 2000))
        #expect(contents(tls + "/tls.key") == "KEY")
    }

    @Test func anEditedKeyMakesOneNewGenerationOfThatVolumeOnly() throws {
        let state = try ScratchState()
        _ = try state.materializer().apply(Fixtures.pod(in: state))
        let pod = state.podDirectory()
        let tlsBefore = lstatus(pod + "/containers/app/volumes/tls/..1/tls.key")
        let report = try state.materializer().apply(Fixtures.pod(in: state, config: "a=2\n"))
        #expect(
            report.changes == [
                .newGeneration(volume: pod + "/volumes/config", generation: "..2"),
                .removed(pod + "/volumes/config/..1"),
            ])
        #expect(contents(pod + "/volumes/config/app.conf") == "a=2\n")
        #expect(contents(pod + "/volumes/config/conf.d/extra.conf") == "extra\n")
        #expect(readLink(pod + "/volumes/config/..data") == "..2")
        #expect(readLink(pod + "/containers/app/volumes/tls/..data") == "..1")
        #expect(lstatus(pod + "/containers/app/volumes/tls/..1/tls.key") == tlsBefore)
        #expect(try state.materializer().apply(Fixtures.pod(in: state, config: "a=2\n")).isEmpty)
    }

    @Test func aKeyNoLongerPlannedDisappearsWithItsLink() throws {
        let state = try ScratchState()
        var plan = Fixtures.pod(in: state)
        _ = try state.materializer().apply(plan)
        let config = state.podDirectory() + "/volumes/config"
        plan.files.removeAll { $0.path.hasSuffix("extra.conf") }
        plan.directories.removeAll { $0.path.hasSuffix("conf.d") }
        let report = try state.materializer().apply(plan)
        #expect(
            report.changes == [
                .newGeneration(volume: config, generation: "..2"), .removed(config + "/..1"), .removed(config + "/conf.d"),
            ])
        #expect(try FileManager.default.contentsOfDirectory(atPath: config).sorted() == ["..2", "..data", "app.conf"])
    }

    @Test func aChangedModeOrOwnerInsideAGenerationIsAnUpdate() throws {
        let state = try ScratchState()
        var plan = Fixtures.pod(in: state)
        _ = try state.materializer().apply(plan)
        let config = state.podDirectory() + "/volumes/config"
        plan.files[3].mode = "0644"
        #expect(try state.materializer().apply(plan).changes.first == .newGeneration(volume: config, generation: "..2"))
        chown(config + "/..2/app.conf", 7, 7)
        #expect(try state.materializer().apply(plan).changes.first == .newGeneration(volume: config, generation: "..3"))
        #expect(lstatus(config + "/..3/app.conf").map { ($0.mode, $0.owner) } ?? (0, 9) == (0o644, 0))
    }

    @Test func somethingAddedToAGenerationIsAnUpdate() throws {
        let state = try ScratchState()
        let plan = Fixtures.pod(in: state)
        _ = try state.materializer().apply(plan)
        let config = state.podDirectory() + "/volumes/config"
        writeText(config + "/..1/intruder", "x")
        #expect(try state.materializer().apply(plan).changes.first == .newGeneration(volume: config, generation: "..2"))
        #expect(lstatus(config + "/..2/intruder") == nil)
    }

    @Test func brokenLinksAndLeftoversAreRepairedWithoutANewGeneration() throws {
        let state = try ScratchState()
        let plan = Fixtures.pod(in: state)
        _ = try state.materializer().apply(plan)
        let config = state.podDirectory() + "/volumes/config"
        unlink(config + "/app.conf")
        symlink("/etc/passwd", config + "/conf.d")
        unlink(config + "/conf.d")
        try FileManager.default.createDirectory(atPath: config + "/conf.d", withIntermediateDirectories: false)
        symlink("..1", config + "/..data_tmp")
        let report = try state.materializer().apply(plan)
        #expect(
            report.changes == [
                .linkedEntry(config + "/app.conf"), .linkedEntry(config + "/conf.d"), .removed(config + "/..data_tmp"),
            ])
        #expect(readLink(config + "/conf.d") == "..data/conf.d")
        #expect(readLink(config + "/..data") == "..1")
    }

    @Test func aDataLinkPointingElsewhereIsReplaced() throws {
        let state = try ScratchState()
        let plan = Fixtures.pod(in: state)
        _ = try state.materializer().apply(plan)
        let config = state.podDirectory() + "/volumes/config"
        unlink(config + "/..data")
        symlink("/etc", config + "/..data")
        let report = try state.materializer().apply(plan)
        #expect(report.changes.first == .newGeneration(volume: config, generation: "..2"))
        #expect(readLink(config + "/..data") == "..2")
        #expect(contents(config + "/app.conf") == "a=1\n")
    }

    @Test func entriesStartingWithTwoDotsAreRefused() throws {
        let state = try ScratchState()
        var plan = Fixtures.pod(in: state)
        let path = state.podDirectory() + "/volumes/config/..data"
        plan.files.append(Fixtures.file(path, "x"))
        #expect(throws: ApplyError.invalidPlan(path: path, reason: "a volume's entries cannot start with .. (reserved for its generations)")) {
            try state.materializer().apply(plan)
        }
    }

    @Test func aVolumeInsideAnotherIsRefused() throws {
        let state = try ScratchState()
        var plan = Fixtures.pod(in: state)
        let inner = state.podDirectory() + "/volumes/config/inner"
        plan.directories.append(Fixtures.directory(inner, "0755", atomic: true))
        #expect(throws: ApplyError.self) { try state.materializer().apply(plan) }
    }
}
