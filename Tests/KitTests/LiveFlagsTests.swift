import Foundation
import PodCompiler
import Testing

/// The flags of `systemk` in live mode, as the agent defines them. The kit's unit, scripts and docs may
/// pass only these: a renamed flag must be renamed there too, or these tests fail.
enum LiveFlags {
    static let allowed: Set<String> = [
        "--kubeconfig", "--nodename", "--node-ip", "--node-external-ip", "--disable-taint", "-u", "--user",
        "--override-root-uid", "--certfile", "--keyfile", "--client-ca-file", "--port", "--dry-run", "--manifests",
        "--state-dir", "--log-level", "--max-pods",
    ]

    /// Every flag given to a `systemk` command in `text`: commands in shell lines, code blocks and unit
    /// files (a line ending in `\` continues), up to a shell separator; and, in Markdown tables, the
    /// flags in the first cell of rows under a header naming systemk's flags.
    static func passed(in text: String) -> Set<String> {
        var flags: Set<String> = []
        var logical: [String] = []
        var pending = ""
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if line.hasSuffix("\\") {
                pending += line.dropLast() + " "
            } else {
                logical.append(pending + line)
                pending = ""
            }
        }
        if !pending.isEmpty { logical.append(pending) }
        let command = /systemk[ \t]+(-[^|;&`)<>]*)/
        for line in logical {
            for match in line.matches(of: command) {
                // systemk the command (after a blank, a path, `ExecStart=`, a quote), not the argument of
                // another command's option (`journalctl -u systemk -f`) or part of a longer name.
                let before = line[..<match.range.lowerBound]
                if let last = before.last, !" \t/`'\"(=".contains(last) { continue }
                if let previous = before.split(whereSeparator: { $0 == " " || $0 == "\t" }).last, previous.hasPrefix("-"),
                    before.last == " " || before.last == "\t"
                {
                    continue
                }
                for word in match.output.1.split(whereSeparator: { $0 == " " || $0 == "\t" }) {
                    let token = word.trimmingCharacters(in: CharacterSet(charactersIn: "[],"))
                    guard token.hasPrefix("-"), token.count > 1 else { continue }
                    // `--flag=value`, and flags named together as in `--certfile/--keyfile`.
                    let name = token.split(separator: "=", maxSplits: 1)[0]
                    for part in name.split(whereSeparator: { $0 == "/" || $0 == "," }) where part.hasPrefix("-") {
                        flags.insert(String(part))
                    }
                }
            }
        }
        var inFlagTable = false
        for line in text.split(separator: "\n").map(String.init) {
            guard line.hasPrefix("|") else {
                inFlagTable = false
                continue
            }
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let first = cells.first else { continue }
            if first.lowercased() == "systemk flag" {
                inFlagTable = true
                continue
            }
            guard inFlagTable else { continue }
            for match in first.matches(of: /`(-{1,2}[a-z][a-z0-9-]*)/) { flags.insert(String(match.output.1)) }
        }
        return flags
    }
}

/// The `systemk` executable SwiftPM built beside the test bundle, if any.
enum SystemkExecutable {
    static let path: String? = {
        var directory = Bundle.main.bundleURL
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("systemk").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        return nil
    }()

    /// The flags `systemk --help` lists.
    static func flags() throws -> Set<String> {
        let r = try run(path ?? "systemk", ["--help"])
        guard r.status == 0 else { throw KitTestError("systemk --help: \(r)") }
        var flags: Set<String> = []
        for line in r.stdout.split(separator: "\n") where line.hasPrefix("  -") {
            for match in line.matches(of: /(?:^|[\s,])(-{1,2}[a-z][a-z0-9-]*)/) { flags.insert(String(match.output.1)) }
        }
        return flags
    }
}

@Suite struct LiveFlagsTests {
    /// The list is the agent's real one: every flag in it is one `systemk --help` shows.
    @Test(.enabled(if: SystemkExecutable.path != nil, "the systemk executable was not built (swift build --build-tests)"))
    func theListIsWhatSystemkAccepts() throws {
        let real = try SystemkExecutable.flags()
        #expect(real.contains("--kubeconfig"), "\(real)")
        let missing = LiveFlags.allowed.subtracting(real)
        #expect(missing.isEmpty, "systemk --help does not list \(missing.sorted())")
    }

    static let sources = [KitPaths.liveUnit, KitPaths.liveDoc, KitPaths.root + "/README.md"] + KitPaths.kitFiles(suffix: ".sh")
        + KitPaths.kitFiles(suffix: ".sh", in: "lib")

    @Test func theFinderFindsFlagsItDoesNotKnow() {
        let text = """
            ExecStart=/usr/local/bin/systemk \\
                --kubeconfig /etc/systemk/kubeconfig --bogus=1 \\
                -x
            sudo systemk --manifests DIR [--dry-run] | tee log --not-this
            journalctl -u systemk -f; systemk-render --check x
            (systemk --certfile/--keyfile)
            | systemk flag | meaning |
            | `--max-pods N` | ... |
            | `-u`, `--user` | ... |
            """
        #expect(LiveFlags.passed(in: text) == ["--kubeconfig", "--bogus", "-x", "--manifests", "--dry-run", "--certfile",
                                              "--keyfile", "--max-pods", "-u", "--user"])
    }

    @Test(arguments: sources)
    func passesOnlyFlagsSystemkHas(_ file: String) throws {
        let text = try String(contentsOfFile: file, encoding: .utf8)
        let unknown = LiveFlags.passed(in: text).subtracting(LiveFlags.allowed)
        #expect(unknown.isEmpty, "\(file) passes systemk flags it does not have: \(unknown.sorted())")
    }

    /// The unit, the docs and node-credentials.sh's advice all give the node its identity and the kubelet
    /// API its certificates: the finder must see those flags there, or it finds nothing at all.
    @Test(arguments: [KitPaths.liveUnit, KitPaths.liveDoc, KitPaths.nodeCredentials])
    func passesTheFlagsOfANodeIdentity(_ file: String) throws {
        let found = LiveFlags.passed(in: try String(contentsOfFile: file, encoding: .utf8))
        for flag in ["--kubeconfig", "--nodename", "--node-ip", "--certfile", "--keyfile", "--client-ca-file"] {
            #expect(found.contains(flag), "\(file) does not pass \(flag)")
        }
    }
}

/// examples/systemk-live.service: what systemd reads, and the files it names.
@Suite struct LiveUnitTests {
    static func unit() throws -> UnitFile {
        try UnitFile.parse(String(contentsOfFile: KitPaths.liveUnit, encoding: .utf8), fileName: KitPaths.liveUnit)
    }

    @Test func isANotifyServiceWithAWatchdogThatRestarts() throws {
        let unit = try Self.unit()
        #expect(unit.lastValue("Type", in: "Service") == "notify")
        #expect(unit.lastValue("WatchdogSec", in: "Service") != nil)
        #expect(unit.lastValue("Restart", in: "Service") == "always")
        #expect(unit.lastValue("WantedBy", in: "Install") == "multi-user.target")
        #expect(unit.lastValue("EnvironmentFile", in: "Service") == "/etc/systemk/node.env")
        let execStart = try #require(unit.lastValue("ExecStart", in: "Service"))
        #expect(execStart.hasPrefix("/usr/local/bin/systemk "))
        #expect(execStart.contains("--nodename ${NODE_NAME}") && execStart.contains("--node-ip ${NODE_IP}"),
                "the node's name and address come from node.env, written with its certificates")
    }

    /// Every /etc/systemk/ file the unit names is one node-credentials.sh writes and install-node.sh places.
    @Test func namesOnlyFilesTheKitWrites() throws {
        let text = try String(contentsOfFile: KitPaths.liveUnit, encoding: .utf8)
        let unit = try Self.unit()
        let serviceValues = unit.sections.filter { $0.name == "Service" }.flatMap(\.entries).map(\.value).joined(separator: " ")
        let named = Set(serviceValues.matches(of: /\/etc\/systemk\/([A-Za-z0-9._-]+)/).map { String($0.output.1) })
        let written: Set<String> = ["kubeconfig", "client-kubelet.crt", "client-kubelet.key", "serving-kubelet.crt",
                                    "serving-kubelet.key", "client-ca.crt", "server-ca.crt", "node.env"]
        #expect(!named.isEmpty)
        #expect(named.isSubset(of: written), "\(named.subtracting(written)) in \(text)")
        let installer = try String(contentsOfFile: KitPaths.installNode, encoding: .utf8)
        for file in named { #expect(installer.contains(file), "install-node.sh does not place \(file)") }
    }

    /// systemd's own check, with the executable and the environment file pointed at ones that exist
    /// here; any output counts as a failure (systemd-analyze exits 0 on many mistakes).
    @Test(.enabled(if: Tools.systemdAnalyze != nil, "systemd-analyze is not installed (Debian package systemd)"))
    func systemdAnalyzeVerifiesIt() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        try scratch.write("node.env", "NODE_NAME=n1\nNODE_IP=10.0.0.5\n")
        let text = try String(contentsOfFile: KitPaths.liveUnit, encoding: .utf8)
            .replacingOccurrences(of: "/usr/local/bin/systemk", with: "/bin/echo")
            .replacingOccurrences(of: "/etc/systemk/node.env", with: scratch.path + "/node.env")
        let unit = try scratch.write("systemk.service", text)
        let r = try run(Tools.systemdAnalyze ?? "systemd-analyze", ["verify", unit])
        #expect(r.status == 0, "\(r)")
        #expect(r.stderr.isEmpty && r.stdout.isEmpty, "\(r)")
    }
}
