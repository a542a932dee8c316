import Foundation
import Testing

@testable import SystemkRuntime

/// Unit files are written atomically and removed with their drop-ins.
struct UnitFileStoreTests {
    let root = "/var/tmp/systemk-tests/unit-files-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    var directory: String { root + "/system" }

    @Test func writesReplaceWholeFilesAndLeaveNothingBehind() throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        try UnitFileStore.makeDirectory(directory)
        try UnitFileStore.writeAtomically(Array("[Unit]\nDescription=one\n".utf8), name: "a.service", in: directory)
        try UnitFileStore.writeAtomically(Array("[Unit]\nDescription=two\n".utf8), name: "a.service", in: directory)
        #expect(try String(contentsOfFile: directory + "/a.service", encoding: .utf8) == "[Unit]\nDescription=two\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["a.service"])
        let attributes = try FileManager.default.attributesOfItem(atPath: directory + "/a.service")
        #expect((attributes[.posixPermissions] as? Int) == 0o644)
    }

    @Test func removalTakesDropInsAndToleratesMissingFiles() throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        try UnitFileStore.makeDirectory(directory + "/a.service.d")
        try UnitFileStore.writeAtomically([], name: "a.service", in: directory)
        try UnitFileStore.writeAtomically([], name: "10-x.conf", in: directory + "/a.service.d")
        try UnitFileStore.remove(name: "a.service", in: directory)
        try UnitFileStore.remove(name: "never-there.service", in: directory)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == [])
    }

    @Test func listingFindsOnlyRegularUnitFilesWithThePrefix() throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        #expect(try UnitFileStore.list(prefix: "systemk-", in: directory) == [])
        try UnitFileStore.makeDirectory(directory + "/systemk-a.service.d")
        try UnitFileStore.writeAtomically(Array("b".utf8), name: "systemk-b.service", in: directory)
        try UnitFileStore.writeAtomically(Array("a".utf8), name: "systemk-a.service", in: directory)
        try UnitFileStore.writeAtomically([], name: "other.service", in: directory)
        try UnitFileStore.writeAtomically([], name: ".systemk-c.service.tmp-x", in: directory)
        try UnitFileStore.writeAtomically([], name: "systemk-notes.txt", in: directory)
        try FileManager.default.createSymbolicLink(atPath: directory + "/systemk-masked.service", withDestinationPath: "/dev/null")
        #expect(
            try UnitFileStore.list(prefix: "systemk-", in: directory) == [
                UnitFileContents(name: "systemk-a.service", contents: "a"),
                UnitFileContents(name: "systemk-b.service", contents: "b"),
            ])
    }

    @Test func failuresNameThePath() throws {
        let missing = directory + "/not-created"
        let error = #expect(throws: SystemdError.self) {
            try UnitFileStore.writeAtomically([], name: "a.service", in: missing)
        }
        guard case .fileOperationFailed(let operation, let path, let code)? = error else {
            Issue.record("expected fileOperationFailed, got \(String(describing: error))")
            return
        }
        #expect(operation == "create" && path.hasPrefix(missing + "/.a.service.tmp-") && code == ENOENT)
        #expect(error?.description.contains("No such file or directory") == true)
    }
}
