/// Keeps a package's own services from being started by its installation, the Debian way: while
/// dpkg runs, `/usr/sbin/policy-rc.d` exits 101 ("action forbidden"), which both `invoke-rc.d`
/// and `deb-systemd-invoke` (what maintainer scripts call to start services) obey. A policy-rc.d
/// already there is moved aside to `policy-rc.d.systemk-saved` and put back afterwards, also when
/// the install fails; one left over by an interrupted run is put back by the next.
struct ServiceStartBlocker: Sendable {
    let fileSystem: any FileSystem
    /// `/usr/sbin/policy-rc.d`.
    let path: String

    static let script = Array(
        """
        #!/bin/sh
        # Written by systemk while it installs a package for a pod: the package's own
        # services must not be started by the installation. systemk puts back the
        # previous policy-rc.d (kept as policy-rc.d.systemk-saved) when it is done.
        exit 101

        """.utf8)

    /// Runs `body` with services blocked.
    func run<T>(_ body: () async throws(PackageError) -> T) async throws(PackageError) -> T {
        try block()
        let result: Result<T, PackageError>
        do {
            result = .success(try await body())
        } catch {
            result = .failure(error)
        }
        do {
            try restore()
        } catch {
            if case .success = result { throw error }
        }
        return try result.get()
    }

    private var locations: (file: ConfinedPath, saved: ConfinedPath) {
        get throws(PackageError) {
            let names = path.split(separator: "/").map(String.init)
            guard let name = names.last, path.hasPrefix("/") else {
                throw .preparation(path: path, detail: "not an absolute path")
            }
            let directory = "/" + names.dropLast().joined(separator: "/")
            do {
                return (try ConfinedPath(root: directory, components: [name]), try ConfinedPath(root: directory, components: [name + ".systemk-saved"]))
            } catch {
                throw .preparation(path: path, detail: error.description)
            }
        }
    }

    func block() throws(PackageError) {
        let (file, saved) = try locations
        try prepare { () throws(FileSystemError) in
            let current = try fileSystem.status(file)
            if try fileSystem.status(saved) == nil, current != nil, try !isOurs(file) {
                try fileSystem.rename(file, to: saved)
            }
            try fileSystem.writeAtomically(file, contents: Self.script, mode: 0o755, owner: 0, group: 0)
        }
    }

    func restore() throws(PackageError) {
        let (file, saved) = try locations
        try prepare { () throws(FileSystemError) in
            if try fileSystem.status(saved) != nil {
                try fileSystem.rename(saved, to: file)
            } else if try isOurs(file) {
                try fileSystem.removeRecursively(file)
            }
        }
    }

    private func isOurs(_ file: ConfinedPath) throws(FileSystemError) -> Bool {
        guard try fileSystem.status(file)?.type == .regular else { return false }
        do {
            return try fileSystem.readFile(file, maxBytes: Self.script.count) == Self.script
        } catch where error.kind == .tooLarge {
            return false
        }
    }

    private func prepare(_ body: () throws(FileSystemError) -> Void) throws(PackageError) {
        do {
            try body()
        } catch {
            throw .preparation(path: error.path, detail: error.description)
        }
    }
}
