import Foundation
import Synchronization
import Testing

@testable import PodCompiler
@testable import SystemkRuntime

/// A scratch state directory under /tmp, removed (after unmounting anything left in it) at the end.
final class ScratchState {
    let root: String
    var stateDirectory: String { root + "/state" }
    var outside: String { root + "/outside" }

    init() throws {
        var template = Array("/tmp/systemk-apply-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw POSIXError(.EIO) }
        root = String(cString: made)
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
    }

    deinit {
        if let mounts = try? HostFileSystem().mounts() {
            for entry in mounts.reversed() where entry.mountPoint.hasPrefix(root + "/") {
                _ = umount2(entry.mountPoint, Int32(MNT_DETACH))
            }
        }
        try? FileManager.default.removeItem(atPath: root)
    }

    func podDirectory(_ uid: String = Fixtures.uid) -> String { stateDirectory + "/pods/" + uid }

    func materializer(fileSystem: any FileSystem = HostFileSystem()) -> PlanMaterializer {
        PlanMaterializer(stateDirectory: stateDirectory, fileSystem: fileSystem)
    }
}

enum Fixtures {
    static let uid = "3f1c2a8e-0d4b-4c55-9a57-6f7e1b2c9d10"

    static func directory(_ path: String, _ mode: String, owner: String = "0", group: String = "0", atomic: Bool = false)
        -> PlannedDirectory
    {
        PlannedDirectory(path: path, mode: mode, owner: owner, group: group, purpose: "test", atomicUpdates: atomic)
    }

    static func file(
        _ path: String, _ text: String, mode: String = "0644", owner: String = "0", group: String = "0", sensitive: Bool = false
    ) -> PlannedFile {
        PlannedFile(
            path: path, mode: mode, owner: owner, group: group, sensitive: sensitive, content: .bytes(Array(text.utf8)),
            purpose: "test")
    }

    /// A pod with a configMap volume (two keys, one in a subdirectory), a secret volume owned by
    /// uid 1000, an emptyDir with a subPath directory, and a secret environment file.
    static func pod(in state: ScratchState, config: String = "a=1\n") -> PodPlan {
        let pod = state.podDirectory()
        return PodPlan(
            namespace: "default", name: "web", uid: uid, podDirectory: pod, units: [],
            directories: [
                directory(pod, "0700"),
                directory(pod + "/containers", "0700"),
                directory(pod + "/containers/app", "0700"),
                directory(pod + "/containers/app/volumes", "0700"),
                directory(pod + "/containers/app/volumes/tls", "0500", owner: "1000", group: "2000", atomic: true),
                directory(pod + "/volumes", "0700"),
                directory(pod + "/volumes/config", "0755", atomic: true),
                directory(pod + "/volumes/config/conf.d", "0755"),
                directory(pod + "/volumes/scratch", "2777", group: "2000"),
                directory(pod + "/volumes/scratch/data", "0777"),
                directory(pod + "/volumes/scratch/data/app", "0777"),
            ],
            files: [
                file(pod + "/containers/app/environment", "PASSWORD=hunter2\n", mode: "0600", sensitive: true),
                file(pod + "/containers/app/volumes/tls/tls.crt", "CERT", mode: "0440", owner: "1000", group: "2000", sensitive: true),
                file(pod + "/containers/app/volumes/tls/tls.key", "KEY", mode: "0400", owner: "1000", group: "2000", sensitive: true),
                file(pod + "/volumes/config/app.conf", config, mode: "0640", group: "2000"),
                file(pod + "/volumes/config/conf.d/extra.conf", "extra\n"),
            ],
            tmpfsMounts: [], hostPathChecks: [], packages: [], probes: [])
    }
}

/// `lstat` of a host path.
func lstatus(_ path: String) -> FileStatus? {
    var st = stat()
    guard lstat(path, &st) == 0 else { return nil }
    return HostFileSystem.fileStatus(st)
}

func readLink(_ path: String) -> String? {
    try? FileManager.default.destinationOfSymbolicLink(atPath: path)
}

func contents(_ path: String) -> String? {
    FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) }
}

/// The host's file system, counting the calls that change something.
final class CountingFileSystem: FileSystem {
    let base = HostFileSystem()
    let changes = Mutex<[String]>([])

    private func record(_ operation: String, _ path: ConfinedPath) { changes.withLock { $0.append("\(operation) \(path.path)") } }

    func status(_ path: ConfinedPath) throws(FileSystemError) -> FileStatus? { try base.status(path) }
    func statusFollowingLinks(_ path: String) throws(FileSystemError) -> FileStatus? { try base.statusFollowingLinks(path) }
    func readFile(_ path: ConfinedPath, maxBytes: Int) throws(FileSystemError) -> [UInt8] { try base.readFile(path, maxBytes: maxBytes) }
    func readLink(_ path: ConfinedPath) throws(FileSystemError) -> String { try base.readLink(path) }
    func list(_ path: ConfinedPath) throws(FileSystemError) -> [String] { try base.list(path) }
    func mounts() throws(FileSystemError) -> [MountEntry] { try base.mounts() }
    func canonicalPath(_ path: String) throws(FileSystemError) -> String { try base.canonicalPath(path) }

    func makeDirectory(_ path: ConfinedPath, mode: UInt32) throws(FileSystemError) {
        record("mkdir", path)
        try base.makeDirectory(path, mode: mode)
    }
    func writeAtomically(_ path: ConfinedPath, contents: [UInt8], mode: UInt32, owner: UInt32, group: UInt32) throws(FileSystemError) {
        record("write", path)
        try base.writeAtomically(path, contents: contents, mode: mode, owner: owner, group: group)
    }
    func createFileExclusively(_ path: ConfinedPath, contents: [UInt8], mode: UInt32, owner: UInt32, group: UInt32)
        throws(FileSystemError)
    {
        record("create", path)
        try base.createFileExclusively(path, contents: contents, mode: mode, owner: owner, group: group)
    }
    func setMode(_ path: ConfinedPath, _ mode: UInt32) throws(FileSystemError) {
        record("chmod", path)
        try base.setMode(path, mode)
    }
    func setOwner(_ path: ConfinedPath, owner: UInt32, group: UInt32) throws(FileSystemError) {
        record("chown", path)
        try base.setOwner(path, owner: owner, group: group)
    }
    func makeSymlink(_ path: ConfinedPath, target: String) throws(FileSystemError) {
        record("symlink", path)
        try base.makeSymlink(path, target: target)
    }
    func rename(_ from: ConfinedPath, to: ConfinedPath) throws(FileSystemError) {
        record("rename", from)
        try base.rename(from, to: to)
    }
    func removeRecursively(_ path: ConfinedPath) throws(FileSystemError) {
        if (try? base.status(path)) != nil { record("remove", path) }
        try base.removeRecursively(path)
    }
    func mountTmpfs(_ path: ConfinedPath, options: TmpfsOptions, remount: Bool) throws(FileSystemError) {
        record(remount ? "remount" : "mount", path)
        try base.mountTmpfs(path, options: options, remount: remount)
    }
    func unmount(_ mountPoint: String) throws(FileSystemError) {
        changes.withLock { $0.append("umount \(mountPoint)") }
        try base.unmount(mountPoint)
    }
}

/// Writes a test file (as a container or an administrator would), failing the test when it cannot.
func writeText(_ path: String, _ text: String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(FileManager.default.createFile(atPath: path, contents: Data(text.utf8)), "could not write \(path)", sourceLocation: sourceLocation)
}

/// Tests that set owners, mount file systems or write policy-rc.d as root run only as root (as
/// scripts/test.sh runs the suite); as another user they are skipped.
let needsRoot = ConditionTrait.enabled(if: geteuid() == 0, "needs root: it sets owners, mounts file systems or writes root-owned files")
