import PodCompiler

/// Makes a pod plan's directories, files, tmpfs mounts and host paths true on disk, and removes a
/// pod's directory again.
///
/// - Every path of the plan except the host paths must lie inside the pod's directory,
///   `<stateDirectory>/pods/<uid>`; it is reached without following any link below `<stateDirectory>/pods`.
/// - Applying is idempotent: content and metadata are compared first, and only what differs is
///   written. The report lists every change.
/// - Modes are set exactly as planned (not narrowed by the umask). Files are written atomically and
///   get their owner and mode before their bytes, so a secret is never readable by anyone its final
///   mode does not allow, not even for an instant.
/// - Directories planned with `atomicUpdates` are written as the kubelet's AtomicWriter does (see
///   `AtomicVolumeWriter`).
/// - An owner or group of `""` means the runtime's own user (root for the system instance).
public struct PlanMaterializer: Sendable {
    /// Root of systemk's state; pods live in `<stateDirectory>/pods/<uid>`.
    public let stateDirectory: String
    let fileSystem: any FileSystem
    let users: any UserDatabase

    /// - Parameters:
    ///   - stateDirectory: the same state directory the plans were compiled for.
    ///   - fileSystem: the host's, or a double in tests.
    ///   - users: resolves owner and group names.
    public init(
        stateDirectory: String = "/var/lib/systemk", fileSystem: any FileSystem = HostFileSystem(),
        users: any UserDatabase = SystemUserDatabase()
    ) {
        self.stateDirectory = stateDirectory
        self.fileSystem = fileSystem
        self.users = users
    }

    /// Makes `plan` true on disk and returns what was changed.
    ///
    /// The whole plan is checked (paths, modes, owners, runtime contents) before anything is touched.
    ///
    /// - Parameters:
    ///   - plan: one pod's plan.
    ///   - runtimeContent: the bytes of files whose content only the runtime knows, by their
    ///     `runtimeSource` (`clusterCA`, `serviceAccountToken expirationSeconds=3607`).
    public func apply(_ plan: PodPlan, runtimeContent: [String: [UInt8]] = [:]) throws(ApplyError) -> ApplyReport {
        let layout = try PodLayout(plan: plan, stateDirectory: stateDirectory)
        let resolved = try ResolvedPlan(plan: plan, layout: layout, users: users, runtimeContent: runtimeContent)
        var report = ApplyReport()
        // The host's paths first: a pod whose mount point or hostPath is wrong gets nothing written.
        let checker = HostPathChecker(fileSystem: fileSystem, creator: users.processIDs)
        for check in plan.hostPathChecks {
            try checker.check(check, report: &report)
        }
        try ensurePodsRoot(layout)
        for directory in resolved.directories where directory.volume == nil {
            try ensureDirectory(directory, tmpfs: resolved.tmpfs[directory.path.path], report: &report)
        }
        for file in resolved.files where file.volume == nil {
            try ensureFile(file, report: &report)
        }
        let writer = AtomicVolumeWriter(fileSystem: fileSystem)
        for volume in resolved.directories where volume.atomicUpdates {
            let dirs = resolved.directories.filter { $0.volume == volume.path }
            let files = resolved.files.filter { $0.volume == volume.path }
            try writer.reconcile(volume: volume, directories: dirs, files: files, report: &report)
        }
        return report
    }

    /// Creates `<stateDirectory>/pods` (0700) and any missing directory above it (0755).
    func ensurePodsRoot(_ layout: PodLayout) throws(ApplyError) {
        let created = try makeDirectories(fileSystem, absolute: layout.podsRoot, mode: 0o755)
        if created.last == layout.podsRoot {
            try asApplyError { () throws(FileSystemError) in
                let names = layout.podsRoot.split(separator: "/").map(String.init)
                let pods = try ConfinedPath(root: "/" + names.dropLast().joined(separator: "/"), components: ["pods"])
                try fileSystem.setMode(pods, 0o700)
            }
        }
    }

    func ensureDirectory(_ directory: ResolvedDirectory, tmpfs: PlannedTmpfs?, report: inout ApplyReport) throws(ApplyError) {
        let path = directory.path
        var created = false
        var current = try asApplyError { () throws(FileSystemError) in try fileSystem.status(path) }
        if current == nil {
            try ensureParents(of: path, report: &report)
            try asApplyError { () throws(FileSystemError) in try fileSystem.makeDirectory(path, mode: 0o700) }
            report.changes.append(.createdDirectory(path.path))
            created = true
            current = try asApplyError { () throws(FileSystemError) in try fileSystem.status(path) }
        }
        guard var status = current else { throw .fileSystem(FileSystemError(.notFound, operation: "mkdir", path: path.path)) }
        guard status.type == .directory else {
            throw .unexpectedFileType(path: path.path, expected: .directory, found: status.type)
        }
        if let tmpfs {
            if let mounted = try ensureTmpfs(directory, tmpfs: tmpfs, status: status, report: &report) { status = mounted }
        }
        try reconcileMetadata(path, status: status, mode: directory.mode, owner: directory.owner, group: directory.group, quiet: created, report: &report)
    }

    /// Mounts (or resizes) the tmpfs; returns the status of its root when it changed anything.
    func ensureTmpfs(_ directory: ResolvedDirectory, tmpfs: PlannedTmpfs, status: FileStatus, report: inout ApplyReport)
        throws(ApplyError) -> FileStatus?
    {
        let path = directory.path
        let options = TmpfsOptions(sizeBytes: tmpfs.sizeBytes, mode: directory.mode, owner: directory.owner, group: directory.group)
        let parentStatus = try asApplyError { () throws(FileSystemError) -> FileStatus? in
            guard let parent = path.parent else { return nil }
            return try fileSystem.status(parent)
        }
        let isMountPoint = parentStatus.map { $0.device != status.device } ?? false
        if isMountPoint {
            let entry = try asApplyError { () throws(FileSystemError) in try fileSystem.mounts().last { $0.device == status.device } }
            guard let entry, entry.fileSystemType == "tmpfs" else {
                throw .invalidPlan(path: path.path, reason: "another file system than a tmpfs is mounted there")
            }
            guard let size = tmpfs.sizeBytes, !Self.sizeMatches(planned: size, option: entry.option("size")) else { return nil }
            try asApplyError { () throws(FileSystemError) in try fileSystem.mountTmpfs(path, options: options, remount: true) }
            report.changes.append(.remountedTmpfs(path.path))
        } else {
            try asApplyError { () throws(FileSystemError) in try fileSystem.mountTmpfs(path, options: options, remount: false) }
            report.changes.append(.mountedTmpfs(path.path))
        }
        return try asApplyError { () throws(FileSystemError) in try fileSystem.status(path) }
    }

    /// tmpfs reports its size in KiB, rounded up to whole pages.
    static func sizeMatches(planned: Int64, option: String?) -> Bool {
        guard let option, option.hasSuffix("k"), let kib = Int64(option.dropLast()) else { return false }
        let actual = kib * 1024
        return [Int64(4096), 16384, 65536].contains { page in (planned + page - 1) / page * page == actual }
    }

    func ensureFile(_ file: ResolvedFile, report: inout ApplyReport) throws(ApplyError) {
        let path = file.path
        let current = try asApplyError { () throws(FileSystemError) in try fileSystem.status(path) }
        switch current?.type {
        case nil:
            try ensureParents(of: path, report: &report)
        case .regular?, .symlink?:
            if let current, try matches(file, status: current) { return }
        case let other?:
            throw .unexpectedFileType(path: path.path, expected: .regular, found: other)
        }
        try asApplyError { () throws(FileSystemError) in
            try fileSystem.writeAtomically(path, contents: file.contents, mode: file.mode, owner: file.owner, group: file.group)
        }
        report.changes.append(.wroteFile(path.path))
    }

    /// Whether a regular file already has the planned content and metadata.
    func matches(_ file: ResolvedFile, status: FileStatus) throws(ApplyError) -> Bool {
        guard status.type == .regular, status.mode == file.mode, status.owner == file.owner, status.group == file.group,
            status.size == Int64(file.contents.count)
        else { return false }
        do {
            return try fileSystem.readFile(file.path, maxBytes: file.contents.count) == file.contents
        } catch where error.kind == .tooLarge {
            return false
        } catch {
            throw .fileSystem(error)
        }
    }

    /// Sets owner, then mode, where they differ. `quiet`: the directory was just created, and that
    /// is the change reported.
    func reconcileMetadata(
        _ path: ConfinedPath, status: FileStatus, mode: UInt32, owner: UInt32, group: UInt32, quiet: Bool,
        report: inout ApplyReport
    ) throws(ApplyError) {
        let ownerDiffers = status.owner != owner || status.group != group
        if ownerDiffers {
            try asApplyError { () throws(FileSystemError) in try fileSystem.setOwner(path, owner: owner, group: group) }
            if !quiet { report.changes.append(.changedOwner(path: path.path, from: "\(status.owner):\(status.group)", to: "\(owner):\(group)")) }
        }
        if ownerDiffers || status.mode != mode {
            try asApplyError { () throws(FileSystemError) in try fileSystem.setMode(path, mode) }
            if !quiet && status.mode != mode { report.changes.append(.changedMode(path: path.path, from: status.mode, to: mode)) }
        }
    }

    /// Creates missing directories between the pod's directory and `path` (0700, the runtime's
    /// user): a plan normally lists them all.
    func ensureParents(of path: ConfinedPath, report: inout ApplyReport) throws(ApplyError) {
        var missing: [ConfinedPath] = []
        var cursor = path.parent
        while let directory = cursor {
            let status = try asApplyError { () throws(FileSystemError) in try fileSystem.status(directory) }
            if let status {
                guard status.type == .directory else {
                    throw .unexpectedFileType(path: directory.path, expected: .directory, found: status.type)
                }
                break
            }
            missing.append(directory)
            cursor = directory.parent
        }
        for directory in missing.reversed() {
            try asApplyError { () throws(FileSystemError) in
                try fileSystem.makeDirectory(directory, mode: 0o700)
                try fileSystem.setMode(directory, 0o700)
            }
            report.changes.append(.createdDirectory(directory.path))
        }
    }
}

/// Runs a file-system operation, turning its error into an `ApplyError`.
func asApplyError<T>(_ body: () throws(FileSystemError) -> T) throws(ApplyError) -> T {
    do {
        return try body()
    } catch {
        throw .fileSystem(error)
    }
}

/// Creates the missing directories of an absolute path, each with exactly `mode`; links above the
/// first missing one are followed (they are the host's). Returns the paths created, top first.
func makeDirectories(_ fileSystem: any FileSystem, absolute path: String, mode: UInt32) throws(ApplyError) -> [String] {
    guard let names = PodLayout.cleanAbsoluteComponents(path) else {
        throw .invalidPlan(path: path, reason: "not an absolute path without ., .. or empty names")
    }
    var existing = names.count
    while existing > 0 {
        let prefix = "/" + names[0..<existing].joined(separator: "/")
        let status = try asApplyError { () throws(FileSystemError) in try fileSystem.statusFollowingLinks(prefix) }
        if let status {
            guard status.type == .directory else {
                throw .unexpectedFileType(path: prefix, expected: .directory, found: status.type)
            }
            break
        }
        existing -= 1
    }
    let base = "/" + names[0..<existing].joined(separator: "/")
    var created: [String] = []
    guard existing < names.count else { return [] }
    for end in (existing + 1)...names.count {
        try asApplyError { () throws(FileSystemError) in
            let directory = try ConfinedPath(root: base, components: Array(names[existing..<end]))
            try fileSystem.makeDirectory(directory, mode: mode)
            try fileSystem.setMode(directory, mode)
            created.append(directory.path)
        }
    }
    return created
}
