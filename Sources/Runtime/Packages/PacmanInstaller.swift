import PodCompiler

/// Packages with pacman (Arch Linux), which never starts a package's services on install.
struct PacmanInstaller: Sendable {
    let commands: PackageCommands

    static let environment = ["LC_ALL": "C", "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]

    func install(name: String, version: String?, reference: ImageReference) async throws(PackageError) -> InstalledPackage {
        let before = try await installedVersion(name)
        if let before, version == nil || version == before {
            return InstalledPackage(
                reference: reference, package: name, version: before, wasInstalledBefore: true, unitFile: try await unitFile(name),
                maskedUnit: nil)
        }
        let target = version.map { "\(name)=\($0)" } ?? name
        let result = try await commands.run(
            Command("/usr/bin/pacman", ["-S", "--noconfirm", "--needed", target], environment: Self.environment, timeout: .seconds(900)),
            for: name)
        guard result.succeeded else {
            let detail = PackageCommands.errorLine(result.tail)
            if result.tail.contains(where: { $0.contains("target not found") }) { throw .notFound(package: target, detail: detail) }
            throw .commandFailed(package: target, command: "pacman -S", status: PackageCommands.status(result), detail: detail)
        }
        guard let version = try await installedVersion(name) else {
            throw .commandFailed(package: name, command: "pacman -S", status: "exited with status 0", detail: "pacman does not list \(name) as installed")
        }
        return InstalledPackage(
            reference: reference, package: name, version: version, wasInstalledBefore: before != nil, unitFile: try await unitFile(name),
            maskedUnit: nil)
    }

    /// `pacman -Q NAME` prints `NAME VERSION`, or fails when it is not installed.
    func installedVersion(_ name: String) async throws(PackageError) -> String? {
        let result = try await commands.run(Command("/usr/bin/pacman", ["-Q", name], environment: Self.environment), for: name)
        guard result.succeeded, let line = result.standardOutput.first else { return nil }
        let fields = line.split(separator: " ")
        guard fields.count == 2, fields[0] == name else { return nil }
        return String(fields[1])
    }

    /// `pacman -Ql NAME` prints `NAME PATH` lines.
    func unitFile(_ name: String) async throws(PackageError) -> String? {
        let result = try await commands.run(Command("/usr/bin/pacman", ["-Ql", name], environment: Self.environment), for: name)
        guard result.succeeded else { return nil }
        let files = result.standardOutput.compactMap { line -> String? in
            guard line.hasPrefix(name + " ") else { return nil }
            return String(line.dropFirst(name.count + 1))
        }
        return PackageUnitFinder.serviceFile(package: name, files: files)
    }
}
