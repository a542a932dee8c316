import PodCompiler

/// Installs images with the node's package manager, one at a time (apt and pacman each hold a
/// lock, and a pod's failure must name its own package): calls wait their turn in order.
///
/// - `package` images: apt (`apt-get install -y --no-install-recommends`, `DEBIAN_FRONTEND=noninteractive`,
///   with `policy-rc.d` forbidding service starts, see `ServiceStartBlocker`) or pacman.
/// - `deb` images: downloaded with curl to the cache directory, checked to be the package the URL
///   names, and installed with `apt-get install ./file.deb` (apt only).
/// - `path` images: nothing is installed; the path must be an executable file.
///
/// When systemk installed a package (it was not on the node before), the package's own service,
/// if any, is masked; a service that was there before is left alone.
public actor NodePackageManager: PackageManager {
    /// Which package manager the node has.
    public enum Backend: Sendable, Equatable {
        case apt
        case pacman
    }

    public let backend: Backend
    let fileSystem: any FileSystem
    let masker: any ServiceMasker
    let apt: AptInstaller
    let pacman: PacmanInstaller
    private var busy = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    /// - Parameters:
    ///   - backend: the node's package manager (`detectBackend()`).
    ///   - runner: runs apt-get, dpkg, pacman and curl.
    ///   - masker: masks the service of a package systemk installed.
    ///   - cacheDirectory: where `.deb` files are downloaded.
    ///   - policyRcD: Debian's `/usr/sbin/policy-rc.d`.
    ///   - log: receives every line the commands write, prefixed with the command's name.
    public init(
        backend: Backend, runner: any CommandRunner = ProcessCommandRunner(), fileSystem: any FileSystem = HostFileSystem(),
        masker: any ServiceMasker, cacheDirectory: String = "/var/cache/systemk", policyRcD: String = "/usr/sbin/policy-rc.d",
        log: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.backend = backend
        self.fileSystem = fileSystem
        self.masker = masker
        let commands = PackageCommands(runner: runner, log: log)
        apt = AptInstaller(
            commands: commands, fileSystem: fileSystem, blocker: ServiceStartBlocker(fileSystem: fileSystem, path: policyRcD),
            cacheDirectory: cacheDirectory)
        pacman = PacmanInstaller(commands: commands)
    }

    /// apt when `/usr/bin/apt-get` exists, else pacman when `/usr/bin/pacman` does, else nil.
    public static func detectBackend(fileSystem: any FileSystem = HostFileSystem()) -> Backend? {
        if (try? fileSystem.statusFollowingLinks("/usr/bin/apt-get"))??.type == .regular { return .apt }
        if (try? fileSystem.statusFollowingLinks("/usr/bin/pacman"))??.type == .regular { return .pacman }
        return nil
    }

    public func install(_ reference: ImageReference) async throws(PackageError) -> InstalledPackage {
        await acquire()
        defer { release() }
        var installed: InstalledPackage
        switch reference {
        case let .path(path):
            return try checkExecutable(path, reference: reference)
        case let .package(name, version):
            switch backend {
            case .apt: installed = try await apt.install(name: name, version: version, reference: reference)
            case .pacman: installed = try await pacman.install(name: name, version: version, reference: reference)
            }
        case let .deb(url, package):
            guard backend == .apt else {
                throw .unsupported(reference: url, reason: "a .deb needs apt, and this node has pacman")
            }
            installed = try await apt.installDeb(url: url, package: package, reference: reference)
        }
        if !installed.wasInstalledBefore, let unitFile = installed.unitFile {
            let unit = unitFile.split(separator: "/").last.map(String.init) ?? unitFile
            do {
                try await masker.mask(unit: unit)
            } catch {
                throw .maskFailed(unit: unit, detail: "\(error)")
            }
            installed.maskedUnit = unit
        }
        return installed
    }

    /// A `/path` image: a regular file (links followed) with an execute bit.
    func checkExecutable(_ path: String, reference: ImageReference) throws(PackageError) -> InstalledPackage {
        let status: FileStatus?
        do {
            status = try fileSystem.statusFollowingLinks(path)
        } catch {
            throw .notExecutable(path: path, reason: "cannot be checked: \(error.description)")
        }
        guard let status else { throw .notExecutable(path: path, reason: "does not exist") }
        guard status.type == .regular else { throw .notExecutable(path: path, reason: "is a \(status.type), not an executable file") }
        guard status.mode & 0o111 != 0 else {
            throw .notExecutable(path: path, reason: "is not executable (mode \(modeText(status.mode)))")
        }
        return InstalledPackage(reference: reference, package: nil, version: nil, wasInstalledBefore: true, unitFile: nil, maskedUnit: nil)
    }

    private func acquire() async {
        if busy {
            await withCheckedContinuation { waiting.append($0) }
        } else {
            busy = true
        }
    }

    private func release() {
        if waiting.isEmpty {
            busy = false
        } else {
            waiting.removeFirst().resume()
        }
    }
}
