import Foundation
import Testing

@testable import PodCompiler
@testable import SystemkRuntime

/// emptyDir volumes with `medium: Memory` become tmpfs mounts; hostPath volumes are checked (and
/// created) as the kubelet does.
@Suite(needsRoot) struct TmpfsAndHostPathTests {
    func tmpfsPlan(_ state: ScratchState, size: Int64? = 1 << 20) -> PodPlan {
        var plan = Fixtures.pod(in: state)
        let shm = state.podDirectory() + "/volumes/shm"
        plan.directories.append(Fixtures.directory(shm, "2777", group: "2000"))
        plan.directories.append(Fixtures.directory(shm + "/sub", "0777"))
        plan.tmpfsMounts = [PlannedTmpfs(path: shm, sizeBytes: size, mode: "2777", volume: "shm")]
        return plan
    }

    func mount(at path: String) throws -> MountEntry? {
        try HostFileSystem().mounts().last { $0.mountPoint == path }
    }

    @Test func aMemoryEmptyDirIsATmpfsWithItsSizeModeAndGroup() throws {
        let state = try ScratchState()
        let shm = state.podDirectory() + "/volumes/shm"
        let report = try state.materializer().apply(tmpfsPlan(state))
        #expect(report.changes.contains(.mountedTmpfs(shm)))
        let entry = try #require(try mount(at: shm))
        #expect(entry.fileSystemType == "tmpfs")
        #expect(entry.option("size") == "1024k")
        #expect(lstatus(shm).map { ($0.mode, $0.owner, $0.group) } ?? (0, 9, 9) == (0o2777, 0, 2000))
        #expect(lstatus(shm + "/sub")?.device == lstatus(shm)?.device, "its subdirectories are made on the tmpfs")
        #expect(try state.materializer().apply(tmpfsPlan(state)).isEmpty, "a second apply mounts nothing")
        #expect(try HostFileSystem().mounts().filter { $0.mountPoint == shm }.count == 1)
        try state.materializer().removePod(directory: state.podDirectory())
    }

    @Test func aNewSizeRemountsAndKeepsTheContent() throws {
        let state = try ScratchState()
        let shm = state.podDirectory() + "/volumes/shm"
        _ = try state.materializer().apply(tmpfsPlan(state))
        writeText(shm + "/data", "kept")
        let report = try state.materializer().apply(tmpfsPlan(state, size: 2 << 20))
        #expect(report.changes == [.remountedTmpfs(shm)])
        #expect(try mount(at: shm)?.option("size") == "2048k")
        #expect(contents(shm + "/data") == "kept")
        try state.materializer().removePod(directory: state.podDirectory())
    }

    @Test func sizesAreComparedAsTheKernelRoundsThem() {
        #expect(PlanMaterializer.sizeMatches(planned: 67_108_864, option: "65536k"))
        #expect(PlanMaterializer.sizeMatches(planned: 1000, option: "4k"))
        #expect(!PlanMaterializer.sizeMatches(planned: 1 << 20, option: "2048k"))
        #expect(!PlanMaterializer.sizeMatches(planned: 1 << 20, option: nil))
    }

    func check(_ state: ScratchState, _ path: String, _ type: String) throws -> ApplyReport {
        var plan = Fixtures.pod(in: state)
        plan.hostPathChecks = [HostPathCheck(path: path, type: type, volume: "host")]
        return try state.materializer().apply(plan)
    }

    @Test(arguments: [
        ("/dev/null", "CharDevice"), ("/dev/loop0", "BlockDevice"), ("/etc", "Directory"), ("/etc/hostname", "File"),
        ("/etc", "MountPoint"), ("/dev/null", "MountPoint"), ("/etc", "DirectoryOrCreate"), ("/etc/hostname", "FileOrCreate"),
    ])
    func existingPathsOfTheRightTypePass(_ path: String, _ type: String) throws {
        guard lstatus(path) != nil else { return }  // not every machine has a loop device
        let state = try ScratchState()
        #expect(!(try check(state, path, type).changes.contains { if case .createdHostPath = $0 { true } else { false } }))
    }

    @Test(arguments: [
        ("/etc", "File", "is a directory, not a file"), ("/etc/hostname", "Directory", "is a file, not a directory"),
        ("/dev/null", "BlockDevice", "is a character device, not a block device"), ("/etc", "Socket", "is a directory, not a socket"),
        ("/no/such/path", "Directory", "does not exist"), ("/no/such/path", "MountPoint", "does not exist on the host: systemd would create it there"),
        ("/etc/hostname", "DirectoryOrCreate", "is a file, not a directory"), ("/etc", "FileOrCreate", "is a directory, not a file"),
        ("/etc", "Fifo", "cannot be checked: unknown type"), ("/etc/../tmp", "Directory", "is not an absolute path without ., .. or empty names"),
    ])
    func wrongOrMissingPathsFail(_ path: String, _ type: String, _ reason: String) throws {
        let state = try ScratchState()
        #expect(throws: ApplyError.hostPathCheckFailed(path: path, volume: "host", type: type, reason: reason)) {
            try check(state, path, type)
        }
    }

    @Test func aSocketIsRecognised() throws {
        let state = try ScratchState()
        let path = state.outside + "/s.sock"
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, byte) in path.utf8.enumerated() { raw[i] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        #expect(bound == 0)
        _ = try check(state, path, "Socket")
    }

    @Test func directoryOrCreateMakesTheDirectoryAndItsParents() throws {
        let state = try ScratchState()
        let path = state.outside + "/a/b/c"
        #expect(try check(state, path, "DirectoryOrCreate").changes.first == .createdHostPath(path), "the host path is checked (and made) before the pod's files")
        for p in [state.outside + "/a", state.outside + "/a/b", path] {
            #expect(lstatus(p).map { ($0.type, $0.mode) } ?? (.unknown, 0) == (.directory, 0o755))
        }
        #expect(try check(state, path, "DirectoryOrCreate").isEmpty)
    }

    @Test func fileOrCreateMakesAnEmptyFileAndNeverOverwritesOne() throws {
        let state = try ScratchState()
        let path = state.outside + "/x/state.db"
        #expect(try check(state, path, "FileOrCreate").changes.first == .createdHostPath(path))
        #expect(lstatus(path).map { ($0.type, $0.mode, $0.size) } ?? (.unknown, 0, 9) == (.regular, 0o644, 0))
        #expect(lstatus(state.outside + "/x")?.mode == 0o755)
        writeText(path, "precious")
        #expect(try check(state, path, "FileOrCreate").isEmpty)
        #expect(contents(path) == "precious")
    }

    @Test func hostPathsAreCheckedThroughLinksAsTheKubeletDoes() throws {
        let state = try ScratchState()
        symlink("/etc", state.outside + "/etc-link")
        _ = try check(state, state.outside + "/etc-link", "Directory")
    }
}
