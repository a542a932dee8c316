import PodCompiler

/// The checks of a plan's `hostPathChecks`, as the kubelet makes them for hostPath volumes: the
/// path is looked up following links (it is the host's), and
///
/// | type | requires |
/// | --- | --- |
/// | `Directory`, `File`, `Socket`, `CharDevice`, `BlockDevice` | the path exists with that type |
/// | `DirectoryOrCreate` | a directory; created (0755, with missing parents) when nothing is there |
/// | `FileOrCreate` | a regular file; created empty (0644, parents 0755) when nothing is there, never overwritten |
/// | `MountPoint` | the path exists (a container's mount point outside the sandbox's writable areas) |
struct HostPathChecker: Sendable {
    let fileSystem: any FileSystem
    /// Who owns what is created: the runtime's own user, as with the kubelet.
    let creator: (user: UInt32, group: UInt32)

    func check(_ check: HostPathCheck, report: inout ApplyReport) throws(ApplyError) {
        guard let names = PodLayout.cleanAbsoluteComponents(check.path), check.path == "/" + names.joined(separator: "/") else {
            throw .hostPathCheckFailed(
                path: check.path, volume: check.volume, type: check.type, reason: "is not an absolute path without ., .. or empty names")
        }
        let status = try asApplyError { () throws(FileSystemError) in try fileSystem.statusFollowingLinks(check.path) }
        func fail(_ reason: String) -> ApplyError {
            .hostPathCheckFailed(path: check.path, volume: check.volume, type: check.type, reason: reason)
        }
        func require(_ type: FileType) throws(ApplyError) {
            guard let status else { throw fail("does not exist") }
            guard status.type == type else { throw fail("is a \(status.type), not a \(type)") }
        }
        switch check.type {
        case "Directory": try require(.directory)
        case "File": try require(.regular)
        case "Socket": try require(.socket)
        case "CharDevice": try require(.characterDevice)
        case "BlockDevice": try require(.blockDevice)
        case "MountPoint":
            guard status != nil else { throw fail("does not exist on the host: systemd would create it there") }
        case "DirectoryOrCreate":
            if status == nil {
                _ = try makeDirectories(fileSystem, absolute: check.path, mode: 0o755)
                report.changes.append(.createdHostPath(check.path))
            } else {
                try require(.directory)
            }
        case "FileOrCreate":
            if status == nil {
                try createFile(check.path, names: names, report: &report)
            } else {
                try require(.regular)
            }
        default:
            throw fail("cannot be checked: unknown type")
        }
    }

    private func createFile(_ path: String, names: [String], report: inout ApplyReport) throws(ApplyError) {
        guard let name = names.last else {
            throw .hostPathCheckFailed(path: path, volume: "", type: "FileOrCreate", reason: "is not a file path")
        }
        let parent = "/" + names.dropLast().joined(separator: "/")
        _ = try makeDirectories(fileSystem, absolute: parent, mode: 0o755)
        do {
            let file = try ConfinedPath(root: parent, components: [name])
            try fileSystem.createFileExclusively(file, contents: [], mode: 0o644, owner: creator.user, group: creator.group)
            report.changes.append(.createdHostPath(path))
        } catch where error.kind == .exists {
            // Created meanwhile by someone else: never overwritten.
        } catch {
            throw .fileSystem(error)
        }
    }
}
