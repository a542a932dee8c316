import Foundation
import Testing

@testable import SystemkRuntime

/// The host implementation never follows a link below a confined path's root, writes atomically,
/// and removes without following links or entering mounts.
@Suite(needsRoot) struct HostFileSystemTests {
    let fs = HostFileSystem()

    @Test func everyOperationRefusesALinkBelowTheRoot() throws {
        let state = try ScratchState()
        let root = state.root + "/root"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        symlink(state.outside, root + "/link")
        writeText(state.outside + "/file", "x")
        let through = try ConfinedPath(root: root, components: ["link", "file"])
        let new = try ConfinedPath(root: root, components: ["link", "new"])
        func refused(_ body: () throws -> Void) -> Bool {
            do {
                try body()
                return false
            } catch {
                let e = error as? FileSystemError
                return e?.kind == .symlinkInPath && e?.detail == root + "/link"
            }
        }
        #expect(refused { _ = try fs.status(through) })
        #expect(refused { _ = try fs.readFile(through, maxBytes: 10) })
        #expect(refused { _ = try fs.list(try ConfinedPath(root: root, components: ["link", "x"])) })
        #expect(refused { try fs.makeDirectory(new, mode: 0o777) })
        #expect(refused { try fs.writeAtomically(new, contents: [1], mode: 0o644, owner: 0, group: 0) })
        #expect(refused { try fs.createFileExclusively(new, contents: [1], mode: 0o644, owner: 0, group: 0) })
        #expect(refused { try fs.setMode(through, 0o777) })
        #expect(refused { try fs.setOwner(through, owner: 5, group: 5) })
        #expect(refused { try fs.makeSymlink(new, target: "/") })
        #expect(refused { try fs.removeRecursively(through) })
        #expect(refused { try fs.mountTmpfs(new, options: TmpfsOptions(sizeBytes: nil, mode: 0o755, owner: 0, group: 0), remount: false) })
        #expect(try FileManager.default.contentsOfDirectory(atPath: state.outside) == ["file"])
        #expect(lstatus(state.outside + "/file").map { ($0.mode, $0.owner) } ?? (0, 9) == (0o644, 0))
    }

    @Test func theLastNameIsNeverFollowedEither() throws {
        let state = try ScratchState()
        let root = state.root + "/root"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        writeText(state.outside + "/file", "x")
        chmod(state.outside + "/file", 0o644)
        symlink(state.outside + "/file", root + "/link")
        let link = try ConfinedPath(root: root, components: ["link"])
        #expect(try fs.status(link)?.type == .symlink)
        #expect(throws: FileSystemError.self) { try fs.setMode(link, 0o777) }
        try fs.setOwner(link, owner: 5, group: 5)
        #expect(lstatus(state.outside + "/file").map { ($0.mode, $0.owner) } ?? (0, 9) == (0o644, 0))
        #expect(throws: FileSystemError.self) { _ = try fs.readFile(link, maxBytes: 10) }
        try fs.removeRecursively(link)
        #expect(lstatus(root + "/link") == nil)
        #expect(contents(state.outside + "/file") == "x")
    }

    @Test func confinedPathsAreMadeOfPlainNames() throws {
        for names in [[""], ["."], [".."], ["a/b"], ["a\u{0}"], []] {
            #expect(throws: FileSystemError.self) { try ConfinedPath(root: "/tmp", components: names) }
        }
        #expect(throws: FileSystemError.self) { try ConfinedPath(root: "tmp", components: ["a"]) }
        #expect(try ConfinedPath(root: "/tmp/", components: ["a", "..b"]).path == "/tmp/a/..b")
    }

    @Test func writingAtomicallyReplacesTheFileAndSetsModeAndOwner() throws {
        let state = try ScratchState()
        let path = try ConfinedPath(root: state.outside, components: ["f"])
        try fs.writeAtomically(path, contents: Array("one".utf8), mode: 0o4755, owner: 1, group: 2)
        try fs.writeAtomically(path, contents: Array("two".utf8), mode: 0o2640, owner: 3, group: 4)
        #expect(contents(state.outside + "/f") == "two")
        #expect(lstatus(state.outside + "/f").map { ($0.mode, $0.owner, $0.group) } ?? (0, 0, 0) == (0o2640, 3, 4))
        #expect(try FileManager.default.contentsOfDirectory(atPath: state.outside) == ["f"])
    }

    @Test func aLeftoverTemporaryFileDoesNotStopAWrite() throws {
        let state = try ScratchState()
        writeText(state.outside + "/.systemk-tmp.f", "stale")
        try fs.writeAtomically(try ConfinedPath(root: state.outside, components: ["f"]), contents: [65], mode: 0o600, owner: 0, group: 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: state.outside) == ["f"])
    }

    @Test func creatingExclusivelyNeverOverwrites() throws {
        let state = try ScratchState()
        let path = try ConfinedPath(root: state.outside, components: ["f"])
        try fs.createFileExclusively(path, contents: Array("first".utf8), mode: 0o640, owner: 0, group: 0)
        #expect(throws: FileSystemError.self) { try fs.createFileExclusively(path, contents: [], mode: 0o644, owner: 0, group: 0) }
        #expect(contents(state.outside + "/f") == "first")
    }

    @Test func readingALargerFileThanExpectedFails() throws {
        let state = try ScratchState()
        writeText(state.outside + "/f", String(repeating: "0", count: 100))
        #expect(performing: { _ = try fs.readFile(try ConfinedPath(root: state.outside, components: ["f"]), maxBytes: 99) }, throws: {
            ($0 as? FileSystemError)?.kind == .tooLarge
        })
    }

    @Test func removalDoesNotEnterAnotherFileSystem() throws {
        let state = try ScratchState()
        let tree = state.root + "/tree"
        try FileManager.default.createDirectory(atPath: tree + "/mnt", withIntermediateDirectories: true)
        #expect(mount("tmpfs", tree + "/mnt", "tmpfs", 0, "size=1m") == 0)
        defer { umount2(tree + "/mnt", Int32(MNT_DETACH)) }
        writeText(tree + "/mnt/keep", "x")
        #expect(performing: { try fs.removeRecursively(try ConfinedPath(root: state.root, components: ["tree"])) }, throws: {
            ($0 as? FileSystemError)?.kind == .crossesMountPoint
        })
        #expect(contents(tree + "/mnt/keep") == "x")
    }

    @Test func removalHandlesNamesThatAreNotUTF8() throws {
        let state = try ScratchState()
        let tree = state.root + "/tree"
        try FileManager.default.createDirectory(atPath: tree, withIntermediateDirectories: true)
        var name: [CChar] = Array((tree + "/").utf8CString.dropLast()) + [CChar(bitPattern: 0xff), CChar(bitPattern: 0xfe), 0]
        let fd = open(&name, O_CREAT | O_WRONLY, 0o644)
        #expect(fd >= 0)
        close(fd)
        try fs.removeRecursively(try ConfinedPath(root: state.root, components: ["tree"]))
        #expect(lstatus(tree) == nil)
    }

    @Test func mountinfoEscapesAreDecoded() {
        let text = """
            36 35 98:0 /mnt1 /mnt/with\\040space rw,noatime master:1 - tmpfs tmpfs rw,size=65536k,mode=2777
            37 35 0:22 / /plain rw shared:2 master:3 - ext4 /dev/root rw
            garbage line
            """
        let entries = MountInfo.parse(text)
        #expect(entries.map(\.mountPoint) == ["/mnt/with space", "/plain"])
        #expect(entries[0].fileSystemType == "tmpfs" && entries[0].option("size") == "65536k")
        #expect(entries[1].device == MountInfo.device(major: 0, minor: 22))
        #expect(entries[0].device == (98 << 8))
    }
}
