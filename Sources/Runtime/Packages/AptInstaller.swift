import PodCompiler

/// Debian packages with apt and dpkg: `image: nginx`, `nginx=1.22.1-9`, and downloaded `.deb` files.
struct AptInstaller: Sendable {
    let commands: PackageCommands
    let fileSystem: any FileSystem
    let blocker: ServiceStartBlocker
    /// Where downloaded `.deb` files are kept while they are installed.
    let cacheDirectory: String

    static let environment = [
        "DEBIAN_FRONTEND": "noninteractive", "APT_LISTCHANGES_FRONTEND": "none", "LC_ALL": "C",
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    ]

    func install(name: String, version: String?, reference: ImageReference) async throws(PackageError) -> InstalledPackage {
        let before = try await installedVersion(name)
        if let before, version == nil || version == before {
            return InstalledPackage(
                reference: reference, package: name, version: before, wasInstalledBefore: true, unitFile: try await unitFile(name),
                maskedUnit: nil)
        }
        let target = version.map { "\(name)=\($0)" } ?? name
        try await blocker.run { () async throws(PackageError) in try await aptInstall(target, package: name) }
        return try await installed(name, before: before, reference: reference)
    }

    func installDeb(url: String, package: String, reference: ImageReference) async throws(PackageError) -> InstalledPackage {
        let before = try await installedVersion(package)
        if let before, let wanted = Self.version(fromDebURL: url), wanted == before {
            return InstalledPackage(
                reference: reference, package: package, version: before, wasInstalledBefore: true,
                unitFile: try await unitFile(package), maskedUnit: nil)
        }
        let file = try await download(url, package: package)
        let result: Result<Void, PackageError>
        do throws(PackageError) {
            let fields = try await commands.run(
                Command("/usr/bin/dpkg-deb", ["--field", file.path, "Package"], environment: Self.environment), for: package)
            let found = fields.standardOutput.first?.trimmingCharacters(in: .whitespaces) ?? ""
            guard fields.succeeded else {
                throw PackageError.commandFailed(
                    package: package, command: "dpkg-deb --field", status: PackageCommands.status(fields),
                    detail: "\(url) is not a Debian package: " + PackageCommands.errorLine(fields.tail))
            }
            guard found == package else { throw PackageError.packageMismatch(url: url, expected: package, found: found) }
            try await blocker.run { () async throws(PackageError) in try await aptInstall(file.path, package: package) }
            result = .success(())
        } catch {
            result = .failure(error)
        }
        try? fileSystem.removeRecursively(file)
        try result.get()
        return try await installed(package, before: before, reference: reference)
    }

    /// What is installed after a successful `apt-get install`.
    private func installed(_ name: String, before: String?, reference: ImageReference) async throws(PackageError) -> InstalledPackage {
        guard let version = try await installedVersion(name) else {
            throw .commandFailed(package: name, command: "apt-get install", status: "exited with status 0", detail: "dpkg does not list \(name) as installed")
        }
        return InstalledPackage(
            reference: reference, package: name, version: version, wasInstalledBefore: before != nil, unitFile: try await unitFile(name),
            maskedUnit: nil)
    }

    /// The installed version, or nil when the package is not installed.
    func installedVersion(_ name: String) async throws(PackageError) -> String? {
        let result = try await commands.run(
            Command("/usr/bin/dpkg-query", ["--show", "--showformat=${db:Status-Status}\t${Version}\n", name], environment: Self.environment),
            for: name)
        guard result.succeeded, let line = result.standardOutput.first else { return nil }
        let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
        guard fields.count == 2, fields[0] == "installed" else { return nil }
        return String(fields[1])
    }

    /// `apt-get install` of one target (a package, `name=version`, or a `.deb` path), waiting up to
    /// 5 minutes for dpkg's lock (unattended-upgrades may hold it); when apt's lists do not know
    /// the target, they are updated once and the install is tried again.
    func aptInstall(_ target: String, package: String) async throws(PackageError) {
        let install = Command(
            "/usr/bin/apt-get",
            ["install", "-y", "--no-install-recommends", "-o", "DPkg::Lock::Timeout=300", "-o", "Dpkg::Options::=--force-confdef", "-o",
             "Dpkg::Options::=--force-confold", target],
            environment: Self.environment, timeout: .seconds(900))
        var result = try await commands.run(install, for: package)
        if !result.succeeded && Self.listsAreStale(result.tail) {
            let update = try await commands.run(
                Command("/usr/bin/apt-get", ["update", "-o", "DPkg::Lock::Timeout=300"], environment: Self.environment, timeout: .seconds(600)), for: package)
            guard update.succeeded else {
                throw .commandFailed(
                    package: package, command: "apt-get update", status: PackageCommands.status(update), detail: PackageCommands.errorLine(update.tail))
            }
            result = try await commands.run(install, for: package)
        }
        guard result.succeeded else {
            let detail = PackageCommands.errorLine(result.tail)
            if Self.isUnknownPackage(result.tail) { throw .notFound(package: target, detail: detail) }
            throw .commandFailed(package: target, command: "apt-get install", status: PackageCommands.status(result), detail: detail)
        }
    }

    /// apt's messages when its package lists lack a package or a version, or point to removed files.
    static func listsAreStale(_ lines: [String]) -> Bool {
        isUnknownPackage(lines) || lines.contains { $0.contains("404  Not Found") || $0.contains("404 Not Found") }
    }

    static func isUnknownPackage(_ lines: [String]) -> Bool {
        lines.contains {
            $0.contains("Unable to locate package") || $0.contains("has no installation candidate")
                || ($0.hasPrefix("E: Version '") && $0.contains("was not found"))
        }
    }

    /// The unit file the package installed for its service, if any.
    func unitFile(_ name: String) async throws(PackageError) -> String? {
        let result = try await commands.run(Command("/usr/bin/dpkg-query", ["--listfiles", name], environment: Self.environment), for: name)
        guard result.succeeded else { return nil }
        return PackageUnitFinder.serviceFile(package: name, files: result.standardOutput)
    }

    /// Downloads a `.deb` with curl (https only, also for redirects) to `<cache>/<package>.deb`.
    func download(_ url: String, package: String) async throws(PackageError) -> ConfinedPath {
        do {
            _ = try makeDirectories(fileSystem, absolute: cacheDirectory, mode: 0o755)
        } catch {
            throw .preparation(path: cacheDirectory, detail: error.description)
        }
        let partial: ConfinedPath
        let complete: ConfinedPath
        do {
            partial = try ConfinedPath(root: cacheDirectory, components: [package + ".deb.part"])
            complete = try ConfinedPath(root: cacheDirectory, components: [package + ".deb"])
            try fileSystem.removeRecursively(partial)
            try fileSystem.removeRecursively(complete)
        } catch {
            throw .preparation(path: cacheDirectory, detail: error.description)
        }
        let result = try await commands.run(
            Command(
                "/usr/bin/curl",
                ["--fail", "--silent", "--show-error", "--location", "--proto", "=https", "--proto-redir", "=https", "--max-time", "600",
                 "--output", partial.path, url],
                timeout: .seconds(660)), for: package)
        guard result.succeeded else {
            try? fileSystem.removeRecursively(partial)
            throw .commandFailed(
                package: package, command: "downloading \(url)", status: PackageCommands.status(result), detail: PackageCommands.errorLine(result.tail))
        }
        do {
            try fileSystem.rename(partial, to: complete)
        } catch {
            throw .preparation(path: complete.path, detail: error.description)
        }
        return complete
    }

    /// `hello_2.10-3_amd64.deb` → `2.10-3` (`%3a` decoded: epochs are written `1%3a2.0-1`).
    static func version(fromDebURL url: String) -> String? {
        let path = url.split(separator: "?", maxSplits: 1).first.map(String.init) ?? url
        guard let file = path.split(separator: "/").last, file.hasSuffix(".deb") else { return nil }
        let parts = file.dropLast(4).split(separator: "_")
        guard parts.count == 3 else { return nil }
        return String(parts[1]).removingPercentEncoding
    }
}
