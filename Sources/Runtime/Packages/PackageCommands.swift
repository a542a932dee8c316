import Foundation

/// Runs a package manager's commands through a `CommandRunner`, logging every output line and
/// turning failures into `PackageError`s about the package.
struct PackageCommands: Sendable {
    let runner: any CommandRunner
    let log: @Sendable (String) -> Void

    func run(_ command: Command, for package: String) async throws(PackageError) -> CommandResult {
        let tool = command.executable.split(separator: "/").last.map(String.init) ?? command.executable
        let log = self.log
        log("\(tool): running \(command)")
        do {
            return try await runner.run(command) { line in log("\(tool): \(line.text)") }
        } catch {
            throw .command(package: package, error)
        }
    }

    /// `exited with status 100`, `was killed by signal 9`.
    static func status(_ result: CommandResult) -> String {
        switch result.termination {
        case let .exited(code): return "exited with status \(code)"
        case let .signaled(signal): return "was killed by signal \(signal)"
        }
    }

    /// The line that says what went wrong: apt's last `E: ` line, pacman's last `error: ` line,
    /// else the last line written; at most 300 characters.
    static func errorLine(_ lines: [String]) -> String {
        let trimmed = lines.map { $0.trimmingCharacters(in: .whitespaces) }
        let line =
            trimmed.last { $0.hasPrefix("E: ") }.map { String($0.dropFirst(3)) }
            ?? trimmed.last { $0.hasPrefix("error: ") }.map { String($0.dropFirst(7)) }
            ?? trimmed.last { !$0.isEmpty } ?? ""
        return line.count > 300 ? String(line.prefix(299)) + "…" : line
    }
}

/// Finds a package's own service among the files it installed.
enum PackageUnitFinder {
    /// Where packages put unit files (Debian still ships most in /lib).
    static let unitDirectories: Set<String> = ["/lib/systemd/system", "/usr/lib/systemd/system", "/etc/systemd/system"]

    /// `<package>.service` directly in a unit directory; else the only `.service` there (templates,
    /// `name@.service`, do not count); else nil.
    static func serviceFile(package: String, files: [String]) -> String? {
        let services = files.filter { path in
            guard let slash = path.lastIndex(of: "/") else { return false }
            let name = path[path.index(after: slash)...]
            return unitDirectories.contains(String(path[..<slash])) && name.hasSuffix(".service") && !name.hasSuffix("@.service")
                && name != ".service"
        }
        if let own = services.first(where: { $0.hasSuffix("/" + package + ".service") }) { return own }
        let names = Set(services.map { $0.split(separator: "/").last.map(String.init) ?? $0 })
        return names.count == 1 ? services.first : nil
    }
}
