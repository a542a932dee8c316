/// Writes the content of an `atomicUpdates` volume as the kubelet's AtomicWriter does, so that a
/// container reading it never sees half an update:
///
/// ```
/// volumes/config/
/// ├── ..3/              the current generation: the volume's files and directories
/// ├── ..data -> ..3     swapped with one rename(2) to publish a new generation
/// ├── app.conf -> ..data/app.conf
/// └── conf.d -> ..data/conf.d
/// ```
///
/// Generations are named `..<n>` with a counter (no clock needed). When the current generation
/// already holds exactly the planned entries, content, modes and owners, nothing is written;
/// otherwise a complete new generation is written and flushed, `..data_tmp -> ..<n+1>` is renamed over
/// `..data`, the top-level links are created, and entries no longer planned and the old
/// generation are removed.
struct AtomicVolumeWriter: Sendable {
    let fileSystem: any FileSystem

    static let dataLink = "..data"
    static let dataLinkTemporary = "..data_tmp"
    static let entryLinkTemporary = "..link_tmp"

    /// What one path inside a generation must be.
    enum Expected: Equatable {
        case directory(mode: UInt32, owner: UInt32, group: UInt32)
        case file(contents: [UInt8], mode: UInt32, owner: UInt32, group: UInt32)
    }

    func reconcile(
        volume: ResolvedDirectory, directories: [ResolvedDirectory], files: [ResolvedFile], report: inout ApplyReport
    ) throws(ApplyError) {
        let root = volume.path
        let depth = volume.relative.count
        var expected: [[String]: Expected] = [:]
        for directory in directories {
            expected[Array(directory.relative.dropFirst(depth))] = .directory(mode: directory.mode, owner: directory.owner, group: directory.group)
        }
        for file in files {
            let relative = Array(file.relative.dropFirst(depth))
            expected[relative] = .file(contents: file.contents, mode: file.mode, owner: file.owner, group: file.group)
            // Directories a plan leaves out get the volume's own mode and owner.
            for end in stride(from: relative.count - 1, to: 0, by: -1) where expected[Array(relative[0..<end])] == nil {
                expected[Array(relative[0..<end])] = .directory(mode: volume.mode, owner: volume.owner, group: volume.group)
            }
        }
        let topLevel = Set(expected.keys.compactMap(\.first))

        try asApplyError { () throws(FileSystemError) in
            let current = try currentGeneration(root)
            var generation = current
            var upToDate = false
            if let current { upToDate = try generationMatches(root.appending(current), volume: volume, expected: expected) }
            if !upToDate {
                let name = try nextGenerationName(root)
                try writeGeneration(root.appending(name), volume: volume, expected: expected)
                try fileSystem.removeRecursively(root.appending(Self.dataLinkTemporary))
                try fileSystem.makeSymlink(root.appending(Self.dataLinkTemporary), target: name)
                try fileSystem.rename(root.appending(Self.dataLinkTemporary), to: root.appending(Self.dataLink))
                report.changes.append(.newGeneration(volume: root.path, generation: name))
                generation = name
            }
            for name in topLevel.sorted() {
                try link(root.appending(name), target: Self.dataLink + "/" + name, report: &report)
            }
            for name in try fileSystem.list(root) where name != Self.dataLink && name != generation && !topLevel.contains(name) {
                try fileSystem.removeRecursively(root.appending(name))
                report.changes.append(.removed(root.path + "/" + name))
            }
        }
    }

    /// The generation `..data` points to, when it is one of ours and a directory.
    func currentGeneration(_ root: ConfinedPath) throws(FileSystemError) -> String? {
        let data = try root.appending(Self.dataLink)
        guard try fileSystem.status(data)?.type == .symlink else { return nil }
        let target = try fileSystem.readLink(data)
        guard Self.isGenerationName(target), try fileSystem.status(root.appending(target))?.type == .directory else { return nil }
        return target
    }

    static func isGenerationName(_ name: String) -> Bool {
        name.hasPrefix("..") && name != dataLink && name != dataLinkTemporary && name != entryLinkTemporary
            && ConfinedPath.isPlainName(name)
    }

    /// `..<n>` with `n` one more than any numbered generation present.
    func nextGenerationName(_ root: ConfinedPath) throws(FileSystemError) -> String {
        let numbers = try fileSystem.list(root).compactMap { name -> Int? in
            guard name.hasPrefix(".."), name.count > 2, name.dropFirst(2).allSatisfy(\.isASCII) else { return nil }
            return Int(name.dropFirst(2))
        }
        return "..\((numbers.max() ?? 0) + 1)"
    }

    /// Whether the generation directory holds exactly the expected entries, with their content,
    /// modes and owners, and has the volume's own mode and owner.
    func generationMatches(_ generation: ConfinedPath, volume: ResolvedDirectory, expected: [[String]: Expected])
        throws(FileSystemError) -> Bool
    {
        guard let status = try fileSystem.status(generation), status.type == .directory, status.mode == volume.mode,
            status.owner == volume.owner, status.group == volume.group
        else { return false }
        var seen = 0
        var pending: [[String]] = [[]]
        while let directory = pending.popLast() {
            let listing = directory.isEmpty ? generation : try generation.appending(components: directory)
            for name in try fileSystem.list(listing) {
                let relative = directory + [name]
                guard let want = expected[relative], let have = try fileSystem.status(generation.appending(components: relative))
                else { return false }
                switch want {
                case let .directory(mode, owner, group):
                    guard have.type == .directory, have.mode == mode, have.owner == owner, have.group == group else { return false }
                    pending.append(relative)
                case let .file(contents, mode, owner, group):
                    guard have.type == .regular, have.mode == mode, have.owner == owner, have.group == group,
                        have.size == Int64(contents.count)
                    else { return false }
                    let bytes: [UInt8]
                    do {
                        bytes = try fileSystem.readFile(generation.appending(components: relative), maxBytes: contents.count)
                    } catch where error.kind == .tooLarge {
                        return false
                    }
                    guard bytes == contents else { return false }
                }
                seen += 1
            }
        }
        return seen == expected.count
    }

    /// Writes a complete generation: created root-only, filled, then given the volume's mode and owner.
    func writeGeneration(_ generation: ConfinedPath, volume: ResolvedDirectory, expected: [[String]: Expected]) throws(FileSystemError) {
        try fileSystem.removeRecursively(generation)
        try fileSystem.makeDirectory(generation, mode: 0o700)
        try fileSystem.setMode(generation, 0o700)
        for (relative, want) in expected.sorted(by: { ($0.key.count, $0.key.joined(separator: "/")) < ($1.key.count, $1.key.joined(separator: "/")) }) {
            let path = try generation.appending(components: relative)
            switch want {
            case let .directory(mode, owner, group):
                try fileSystem.makeDirectory(path, mode: 0o700)
                try fileSystem.setOwner(path, owner: owner, group: group)
                try fileSystem.setMode(path, mode)
            case let .file(contents, mode, owner, group):
                try fileSystem.createFileExclusively(path, contents: contents, mode: mode, owner: owner, group: group)
            }
        }
        try fileSystem.setOwner(generation, owner: volume.owner, group: volume.group)
        try fileSystem.setMode(generation, volume.mode)
    }

    /// Makes `path` a link to `target`, replacing whatever else is there in one rename.
    func link(_ path: ConfinedPath, target: String, report: inout ApplyReport) throws(FileSystemError) {
        let status = try fileSystem.status(path)
        if status?.type == .symlink, try fileSystem.readLink(path) == target { return }
        guard let parent = path.parent else { return }
        let temporary = try parent.appending(Self.entryLinkTemporary)
        try fileSystem.removeRecursively(temporary)
        try fileSystem.makeSymlink(temporary, target: target)
        if status?.type == .directory { try fileSystem.removeRecursively(path) }
        try fileSystem.rename(temporary, to: path)
        report.changes.append(.linkedEntry(path.path))
    }
}
