import Foundation

/// Runs `systemd-analyze verify --man=no` on the units of one pod, inside a prepared root so that the
/// check does not depend on which packages this machine has installed.
///
/// verify reports a missing executable, an unknown key, a bad assignment or a reference to a unit it
/// cannot find on stderr, and still exits 0 for most of them: any stderr is a failure.
///
/// The root (`--root=`), made fresh for each pod:
/// - `etc/systemd/system/`: the pod's units and `systemk.slice`, as the runtime installs them. Units
///   of one pod are verified together, because they name each other in After=/Requires=/Wants=.
/// - `usr/lib/systemd/system/`: this machine's unit files (hard links, or copies), for the targets and
///   services that units depend on (sysinit.target, network-online.target, ...).
/// - an empty executable file for every command the units run, where that command exists: either on
///   this machine (`/bin/sh`, `sleep` looked up in systemd's search path, ...) or in one of the case's
///   package units under `units/` (the package would install it). A command that is neither stays
///   missing, and verify reports it.
struct UnitVerifier {
    /// Keys newer than some systemd a case may target, with the version that added them. verify on an
    /// older systemd reports them as unknown; that line is expected for a case whose node is newer.
    static let keysAddedIn: [String: Int] = ["RestartSteps": 254, "RestartMaxDelaySec": 254]

    static let execKeys: Set<String> = [
        "ExecStart", "ExecStartPre", "ExecStartPost", "ExecStop", "ExecStopPost", "ExecReload", "ExecCondition",
    ]

    /// systemd's fixed search path for bare command names (merged /usr: /sbin and /bin are links).
    static let searchPath = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]

    static let analyze = "/usr/bin/systemd-analyze"

    /// The slice every systemk unit runs in, as the runtime installs it.
    static let sliceName = "systemk.slice"
    static let sliceUnit = "[Unit]\nDescription=systemk pods\nBefore=slices.target\n"

    /// The systemd version of this machine (`systemd-analyze --version`).
    static let hostVersion: Int? = {
        guard let scratch = try? Subprocess.scratchDirectory("version") else { return nil }
        defer { try? FileManager.default.removeItem(at: scratch) }
        guard let r = try? Subprocess.run(analyze, ["--version"], scratch: scratch) else { return nil }
        let words = r.stdout.split(separator: "\n").first?.split(separator: " ") ?? []
        return words.count >= 2 && words[0] == "systemd" ? Int(words[1]) : nil
    }()

    /// Executables that a case's package units run: their packages would install them.
    var packageExecutables: Set<String>
    /// The systemd version the case's node runs.
    var nodeVersion: Int

    /// Verifies `units` (name → contents) together. Returns verify's complaints, one per line, with the
    /// ones expected for a newer node removed; empty when the units are clean.
    func verify(units: [String: String], scratch: URL) throws -> [String] {
        let fm = FileManager.default
        let root = scratch.appendingPathComponent("root", isDirectory: true)
        let unitDirectory = root.appendingPathComponent("etc/systemd/system", isDirectory: true)
        let vendorDirectory = root.appendingPathComponent("usr/lib/systemd/system", isDirectory: true)
        try fm.createDirectory(at: unitDirectory, withIntermediateDirectories: true)
        try fm.createDirectory(at: vendorDirectory, withIntermediateDirectories: true)
        for file in try fm.contentsOfDirectory(atPath: "/usr/lib/systemd/system") {
            let source = URL(fileURLWithPath: "/usr/lib/systemd/system").appendingPathComponent(file)
            guard !GoldenCase.isDirectory(source) else { continue }
            // A hard link is much cheaper than a copy; a copy where /var/tmp is another file system.
            let target = vendorDirectory.appendingPathComponent(file)
            do { try fm.linkItem(at: source, to: target) } catch { try fm.copyItem(at: source, to: target) }
        }
        try Data(Self.sliceUnit.utf8).write(to: unitDirectory.appendingPathComponent(Self.sliceName))
        for (name, contents) in units {
            try Data(contents.utf8).write(to: unitDirectory.appendingPathComponent(name))
            for command in Self.commands(in: contents) {
                guard let path = resolve(command) else { continue }
                let stub = root.appendingPathComponent(String(path.dropFirst()))
                try fm.createDirectory(at: stub.deletingLastPathComponent(), withIntermediateDirectories: true)
                guard fm.createFile(atPath: stub.path, contents: Data(), attributes: [.posixPermissions: 0o755]) else {
                    throw GoldenError("cannot create \(stub.path)")
                }
            }
        }
        let arguments =
            ["verify", "--man=no", "--root=\(root.path)"]
            + ([Self.sliceName] + units.keys.sorted()).map { "/etc/systemd/system/\($0)" }
        guard fm.isExecutableFile(atPath: Self.analyze) else {
            throw GoldenError("\(Self.analyze) is missing: install Debian's systemd package")
        }
        let result = try Subprocess.run(Self.analyze, arguments, scratch: scratch)
        let lines = result.stderr.split(separator: "\n")
            .map { $0.replacingOccurrences(of: root.path, with: "") }
            .filter { !isExpected($0) }
        return lines + (result.status != 0 && lines.isEmpty ? ["systemd-analyze verify exited \(result.status)"] : [])
    }

    /// Where `command` would be found on the node, or nil when it would not.
    private func resolve(_ command: String) -> String? {
        let fm = FileManager.default
        if command.hasPrefix("/") {
            return fm.isExecutableFile(atPath: command) || packageExecutables.contains(command) ? command : nil
        }
        for directory in Self.searchPath {
            let candidate = directory + "/" + command
            if fm.isExecutableFile(atPath: candidate) || packageExecutables.contains(candidate) { return candidate }
        }
        return packageExecutables.contains(command) ? "/usr/bin/" + command : nil
    }

    /// An unknown-key report for a key the case's node knows but this machine's systemd does not.
    private func isExpected(_ line: String) -> Bool {
        guard let host = Self.hostVersion else { return false }
        for (key, version) in Self.keysAddedIn where version > host && version <= nodeVersion {
            if line.contains("Unknown key '\(key)'") || line.contains("Unknown key name '\(key)'") { return true }
        }
        return false
    }

    /// The executables a unit file runs: the first word of every Exec*= line, unquoted, `%%` as `%`.
    static func commands(in unitText: String) -> [String] {
        var out: [String] = []
        for line in unitText.split(separator: "\n") {
            guard let eq = line.firstIndex(of: "="), execKeys.contains(String(line[..<eq])) else { continue }
            var value = line[line.index(after: eq)...].drop(while: { $0 == " " })
            value = value.drop(while: { "-@:+!|".contains($0) })
            var word = ""
            if value.first == "\"" {
                var escaped = false
                for ch in value.dropFirst() {
                    if escaped {
                        word.append(ch)
                        escaped = false
                    } else if ch == "\\" {
                        escaped = true
                    } else if ch == "\"" {
                        break
                    } else {
                        word.append(ch)
                    }
                }
            } else {
                word = String(value.prefix(while: { $0 != " " && $0 != "\t" }))
            }
            word = word.replacingOccurrences(of: "%%", with: "%")
            if !word.isEmpty { out.append(word) }
        }
        return out
    }
}
