extension PlanMaterializer {
    /// Removes a pod's directory and everything in it, after unmounting whatever is mounted below
    /// it (its tmpfs volumes), deepest first.
    ///
    /// Refuses any path that is not exactly `<stateDirectory>/pods/<uid>` with a UID-shaped last
    /// name (letters, digits and `-`): an empty or hostile UID can never make this remove a system
    /// directory. Links inside are removed, never followed, and removal never enters another file
    /// system, so nothing outside the pod's directory is touched. A missing directory is not an error.
    ///
    /// - Parameter directory: the pod's directory, `PodPlan.podDirectory`.
    @discardableResult
    public func removePod(directory: String) throws(ApplyError) -> RemovalReport {
        let podsRoot: String
        do {
            podsRoot = try PodLayout.podsRoot(stateDirectory: stateDirectory)
        } catch {
            throw .refusedRemoval(path: directory, reason: "the state directory \(stateDirectory) is not a clean absolute path")
        }
        guard let names = PodLayout.cleanAbsoluteComponents(directory), directory == "/" + names.joined(separator: "/") else {
            throw .refusedRemoval(path: directory, reason: "not an absolute path without ., .., empty names or a trailing /")
        }
        guard let uid = names.last, directory == podsRoot + "/" + uid else {
            throw .refusedRemoval(path: directory, reason: "not directly inside \(podsRoot)")
        }
        guard PodLayout.isUID(uid) else {
            throw .refusedRemoval(path: directory, reason: "\"\(uid)\" is not a pod UID (letters, digits and -)")
        }
        let path = try asApplyError { () throws(FileSystemError) in try ConfinedPath(root: podsRoot, components: [uid]) }
        guard let status = try asApplyError({ () throws(FileSystemError) in try fileSystem.status(path) }) else {
            return RemovalReport(unmounted: [], removed: false)
        }

        var unmounted: [String] = []
        if status.type == .directory {
            // Mount points are listed with links resolved; the state directory may be reached through one.
            let canonical = try asApplyError { () throws(FileSystemError) in try fileSystem.canonicalPath(directory) }
            func isInside(_ entry: MountEntry) -> Bool {
                [directory, canonical].contains { entry.mountPoint == $0 || entry.mountPoint.hasPrefix($0 + "/") }
            }
            let mounted = try asApplyError { () throws(FileSystemError) in try fileSystem.mounts() }.filter(isInside)
            for entry in mounted.reversed().sorted(by: { $0.mountPoint.count > $1.mountPoint.count }) {
                try asApplyError { () throws(FileSystemError) in try fileSystem.unmount(entry.mountPoint) }
                unmounted.append(entry.mountPoint)
            }
            let remaining = try asApplyError { () throws(FileSystemError) in try fileSystem.mounts() }.filter(isInside)
            if let first = remaining.first {
                throw .refusedRemoval(path: directory, reason: "\(first.mountPoint) is still mounted")
            }
        }
        try asApplyError { () throws(FileSystemError) in try fileSystem.removeRecursively(path) }
        return RemovalReport(unmounted: unmounted, removed: true)
    }
}
