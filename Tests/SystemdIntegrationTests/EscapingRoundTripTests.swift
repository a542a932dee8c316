import SystemdTestSupport
import Foundation
import PodCompiler
import Testing

/// Hostile strings written with `SystemdEscaping` into real units, run by a real systemd 252: the
/// process must receive exactly those bytes.
@Suite(
    .serialized,
    .enabled(if: NamespacedSystemd.isAvailable, "needs root, unshare, nsenter, /lib/systemd/systemd and python3"))
struct EscapingRoundTripTests {
    static let hostile: [String] = [
        "", " ", "   ", "a b", "  leading", "trailing  ", " both ", "\t", "tab\there", "new\nline", "\n",
        "trailing newline\n", "cr\rlf\r\n", "'", "\"", "'single'", "\"double\"", "it's \"quoted\"",
        "\\", "\\\\", "back\\slash", "ends with backslash\\", "\\n is not a newline", "\\x41", "\\u00e9", "\\;",
        "$", "$$", "$$$", "${X}", "$X", "$PATH", "${PATH}", "a$b", "cost: $5", "$(cmd)", "`cmd`",
        "%", "%%", "%n", "%i", "100%", "%%n", "%{x}",
        ";", " ; ", "a;b", "&&", "|", "*", "?", "[a]", "~", "#comment", "; comment", "=", "a=b", "-", "--flag",
        "héllo ☃ 日本", "emoji 🙂", "\u{7F}", "\u{1}\u{2}\u{1B}[31m", "\u{85}", "\u{FEFF}bom", "\u{200B}",
        "mixed \"'$%\\;\t\n end",
        String(repeating: "0123456789abcdef", count: 6400),
        String(repeating: "a\"b'c$d%e\\f g\n;", count: 6800),
    ]

    /// `python3 -c SCRIPT OUT ARGS...`: writes argv (from /proc/self/cmdline) and the environment as hex.
    static let dumpScript = """
        import json, os, sys
        argv = open('/proc/self/cmdline', 'rb').read().split(b'\\0')[:-1]
        env = {k.hex(): v.hex() for k, v in os.environb.items()}
        json.dump({'argv': [a.hex() for a in argv], 'env': env, 'cwd': os.getcwd()}, open(sys.argv[1], 'w'))
        """

    struct Dump: Decodable {
        var argv: [String]
        var env: [String: String]
        var cwd: String

        var arguments: [[UInt8]] { argv.map(Self.bytes) }
        var environment: [String: [UInt8]] {
            Dictionary(uniqueKeysWithValues: env.map { (String(decoding: Self.bytes($0.key), as: UTF8.self), Self.bytes($0.value)) })
        }

        static func bytes(_ hex: String) -> [UInt8] {
            let digits = Array(hex.utf8)
            return stride(from: 0, to: digits.count, by: 2).map {
                UInt8(String(decoding: digits[$0..<$0 + 2], as: UTF8.self), radix: 16) ?? 0
            }
        }
    }

    static func load(_ path: String) throws -> Dump {
        try JSONDecoder().decode(Dump.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// A oneshot unit running the dump script with `arguments` (already escaped words).
    static func unit(output: String, arguments: [String], extra: [(String, String)] = [], prefix: String = "")
        throws -> UnitFile
    {
        var unit = UnitFile()
        unit.append("Description", "escaping round trip", in: "Unit")
        unit.append("Type", "oneshot", in: "Service")
        for (key, value) in extra { unit.append(key, value, in: "Service") }
        let words = try [
            SystemdEscaping.execPath("/usr/bin/python3"), SystemdEscaping.execArgument("-c"),
            SystemdEscaping.execArgument(dumpScript), SystemdEscaping.execArgument(output),
        ] + arguments
        unit.append("ExecStart", prefix + words.joined(separator: " "), in: "Service")
        return unit
    }

    func start(_ systemd: NamespacedSystemd, _ units: [String: UnitFile]) throws {
        for (name, unit) in units {
            try systemd.writeUnit(name, unit.validatedSerialization())
        }
        let reload = try systemd.systemctl("daemon-reload")
        #expect(reload.status == 0, "\(reload)")
        let started = try systemd.run(["systemctl", "start"] + units.keys.sorted())
        #expect(started.status == 0, "\(started)\n\(units.keys.map(systemd.journal).joined(separator: "\n"))")
    }

    @Test func argumentsAndEnvironmentArriveByteForByte() async throws {
        try await NamespacedSystemd.with { systemd in
            let data = systemd.dataDirectory
            let strings = Self.hostile
            let rawBytes: [[UInt8]] = [[0xFF], [0xC3], [0x80, 0x41], [0xEF, 0xBF, 0xBE], [0xED, 0xA0, 0x80]]

            let argv = try Self.unit(
                output: "\(data)/argv.json",
                arguments: strings.map { try SystemdEscaping.execArgument($0) }
                    + rawBytes.map { try SystemdEscaping.execArgument(bytes: $0) })
            let literal = try Self.unit(
                output: "\(data)/literal.json",
                arguments: strings.prefix(60).map { try SystemdEscaping.execArgument($0, environmentExpansion: false) },
                prefix: ":")

            var environment = try Self.unit(output: "\(data)/env.json", arguments: [])
            var file = ""
            for (index, value) in strings.enumerated() {
                environment.append("Environment", try SystemdEscaping.environmentAssignment(name: "V_\(index)", value: value), in: "Service")
                file += try SystemdEscaping.environmentFileLine(name: "F_\(index)", value: value)
            }
            try Data(file.utf8).write(to: URL(fileURLWithPath: "\(data)/env file"))
            environment.append(
                "EnvironmentFile", try SystemdEscaping.pathValue("\(data)/env file", for: .environmentFile), in: "Service")

            try start(systemd, ["rt-argv.service": argv, "rt-literal.service": literal, "rt-env.service": environment])

            let expectedArguments = strings.map { Array($0.utf8) } + rawBytes
            let received = (try? Self.load("\(data)/argv.json").arguments) ?? []
            #expect(received.count == 4 + expectedArguments.count)
            for (index, expected) in expectedArguments.enumerated() where index + 4 < received.count {
                #expect(received[index + 4] == expected, "argument \(index): \(strings.indices.contains(index) ? strings[index].debugDescription : "\(expected)")")
            }
            let literalArguments = (try? Self.load("\(data)/literal.json").arguments) ?? []
            #expect(Array(literalArguments.dropFirst(4)) == strings.prefix(60).map { Array($0.utf8) })

            let env = (try? Self.load("\(data)/env.json").environment) ?? [:]
            for (index, value) in strings.enumerated() {
                #expect(env["V_\(index)"] == Array(value.utf8), "Environment= \(index): \(value.debugDescription.prefix(80))")
                #expect(env["F_\(index)"] == Array(value.utf8), "EnvironmentFile= \(index): \(value.debugDescription.prefix(80))")
            }

            // systemd-analyze verify exits 0 on bad assignments: its stderr is the signal.
            for (name, unit) in [("verify-argv.service", argv), ("verify-env.service", environment)] {
                let path = "\(data)/\(name)"
                try Data(try unit.validatedSerialization().utf8).write(to: URL(fileURLWithPath: path))
                let verify = try systemd.run(["systemd-analyze", "verify", "--man=no", path])
                #expect(verify.stderr.isEmpty, "\(name): \(verify)")
            }
        }
    }

    @Test func executablePathsArriveAsArgv0() async throws {
        try await NamespacedSystemd.with { systemd in
            let data = systemd.dataDirectory
            try FileManager.default.createDirectory(atPath: "\(data)/bin dir", withIntermediateDirectories: true)
            let names = ["py$x", "py%x", "py x ☃", "py;x", "py$"]
            var unit = try Self.unit(output: "\(data)/unused.json", arguments: [])
            unit.remove("ExecStart", in: "Service")
            var expected: [(output: String, argv0: String)] = []
            for (index, name) in (names + ["py$$x"]).enumerated() {
                let link = "\(data)/bin dir/\(name)"
                try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: "/usr/bin/python3")
                let output = "\(data)/path-\(index).json"
                let expand = names.contains(name)
                let words = try [
                    SystemdEscaping.execPath(link, environmentExpansion: expand), SystemdEscaping.execArgument("-c"),
                    SystemdEscaping.execArgument(Self.dumpScript), SystemdEscaping.execArgument(output, environmentExpansion: expand),
                ]
                unit.append("ExecStart", (expand ? "" : ":") + words.joined(separator: " "), in: "Service")
                expected.append((output, link))
            }
            try start(systemd, ["rt-paths.service": unit])
            for (output, argv0) in expected {
                let argv = (try? Self.load(output).arguments) ?? []
                #expect(argv.first == Array(argv0.utf8), "\(argv0)")
            }
        }
    }

    @Test func theParserAgreesWithSystemdOnContinuationsCommentsAndSemicolons() async throws {
        try await NamespacedSystemd.with { systemd in
            let data = systemd.dataDirectory
            let python = "/usr/bin/python3 -c " + (try SystemdEscaping.execArgument(Self.dumpScript))
            let text = [
                "[Unit]", "Description=parser agreement", "[Service]", "Type=oneshot",
                "Environment=A=1 \\", "# a comment inside the continuation", "  ; and another \\", "  B=\"two words\"",
                "ExecStart=\(python) \(data)/one.json a ; \(python) \(data)/two.json \\; \";\" c;d ;e \\",
                "   continued 'x y'",
            ].joined(separator: "\r\n") + "\r\n"
            let unit = try UnitFile.parse(text)
            try systemd.writeUnit("rt-agree.service", text)
            #expect(try systemd.systemctl("daemon-reload").status == 0)
            let started = try systemd.systemctl("start", "rt-agree.service")
            #expect(started.status == 0, "\(started)\n\(systemd.journal("rt-agree.service"))")

            let commands = try ExecCommand.parseList(try #require(unit.lastValue("ExecStart", in: "Service")))
            #expect(commands.count == 2)
            for (command, output) in zip(commands, ["one.json", "two.json"]) {
                let argv = (try? Self.load("\(data)/\(output)").arguments) ?? []
                #expect(argv == command.words.map(\.unquoted), "\(output)")
            }
            let env = (try? Self.load("\(data)/one.json").environment) ?? [:]
            #expect(unit.lastValue("Environment", in: "Service") == "A=1    B=\"two words\"")
            #expect(env["A"] == Array("1".utf8))
            #expect(env["B"] == Array("two words".utf8))
        }
    }

    @Test func theLineLengthLimitIsSystemds() async throws {
        try await NamespacedSystemd.with { systemd in
            for (name, length) in [("rt-long-ok.service", 1_048_575), ("rt-long-bad.service", 1_048_576)] {
                let head = "ExecStart=/bin/true "
                let text = "[Service]\nType=oneshot\n" + head + String(repeating: "x", count: length - head.utf8.count) + "\n"
                try systemd.writeUnit(name, text)
                #expect(((try? UnitFile.parse(text)) != nil) == (length < 1_048_576))
            }
            #expect(try systemd.systemctl("daemon-reload").status == 0)
            #expect(try systemd.systemctl("show", "-P", "LoadState", "rt-long-ok.service").stdout == "loaded\n")
            #expect(try systemd.systemctl("show", "-P", "LoadState", "rt-long-bad.service").stdout == "error\n")
        }
    }

    static let pathScript = """
        import json, os, sys
        out, dst, ro, readonly, tmp = sys.argv[1:6]
        listing = {name: sorted(os.listdir(d)) for name, d in (('dst', dst), ('ro', ro), ('tmp', tmp))}
        def writable(d):
            try:
                open(os.path.join(d, 'probe'), 'w').close()
                return True
            except OSError:
                return False
        result = dict(listing, cwd=os.getcwd(), G=os.environ.get('G'),
                      dstWritable=writable(dst), roWritable=writable(ro), readOnlyWritable=writable(readonly))
        json.dump(result, open(out, 'w'))
        """

    struct PathDump: Decodable, Equatable {
        var dst: [String]
        var ro: [String]
        var tmp: [String]
        var cwd: String
        var G: String?
        var dstWritable: Bool
        var roWritable: Bool
        var readOnlyWritable: Bool
    }

    @Test func hostilePathsReachTheirSettings() async throws {
        try await NamespacedSystemd.with { systemd in
            let base = systemd.dataDirectory + "/paths"
            let source = base + "/src :\"'%\\$[*] ☃"
            let destination = base + "/dst :\"'%\\ ☃"
            let readOnlyDestination = base + "/ro dst:'\"%"
            let workingDirectory = base + "/wd \"'%\\$ ☃ end"
            let readOnly = base + "/read only \"'%\\:"
            let temporary = base + "/tmp fs:\"'%\\ ☃"
            let environmentFile = base + "/env [1]*?\\ file"
            let manager = FileManager.default
            for directory in [source, destination, readOnlyDestination, workingDirectory, readOnly, temporary, base + "/unused"] {
                try manager.createDirectory(atPath: directory, withIntermediateDirectories: true)
            }
            #expect(manager.createFile(atPath: source + "/marker", contents: Data()))
            #expect(manager.createFile(atPath: temporary + "/hidden", contents: Data()))
            #expect(manager.createFile(atPath: environmentFile, contents: Data("G=glob ok\n".utf8)))

            var unit = UnitFile()
            unit.append("Type", "oneshot", in: "Service")
            unit.append("BindPaths", try SystemdEscaping.bindPath(source: source, destination: destination), in: "Service")
            unit.append("BindPaths", try SystemdEscaping.bindPath(
                source: base + "/missing: x", destination: base + "/unused", ignoreMissingSource: true), in: "Service")
            unit.append("BindReadOnlyPaths", try SystemdEscaping.bindPath(
                source: source, destination: readOnlyDestination, recursive: false), in: "Service")
            unit.append("WorkingDirectory", try SystemdEscaping.pathValue(workingDirectory, for: .workingDirectory), in: "Service")
            unit.append("ReadOnlyPaths", try SystemdEscaping.pathValue(readOnly, for: .pathList), in: "Service")
            unit.append("TemporaryFileSystem", try SystemdEscaping.pathValue(temporary, for: .temporaryFileSystem), in: "Service")
            unit.append("EnvironmentFile", try SystemdEscaping.pathValue(environmentFile, for: .environmentFile), in: "Service")
            let output = systemd.dataDirectory + "/paths.json"
            let command = try ExecCommand.make(
                executable: "/usr/bin/python3",
                arguments: ["-c", Self.pathScript, output, destination, readOnlyDestination, readOnly, temporary])
            unit.append("ExecStart", command.serialized, in: "Service")
            try start(systemd, ["rt-hostile-paths.service": unit])

            let dump = try? JSONDecoder().decode(PathDump.self, from: Data(contentsOf: URL(fileURLWithPath: output)))
            #expect(dump == PathDump(
                dst: ["marker"], ro: ["marker"], tmp: [], cwd: workingDirectory, G: "glob ok",
                dstWritable: true, roWritable: false, readOnlyWritable: false))

            let path = systemd.dataDirectory + "/verify-paths.service"
            try Data(try unit.validatedSerialization().utf8).write(to: URL(fileURLWithPath: path))
            let verify = try systemd.run(["systemd-analyze", "verify", "--man=no", path])
            #expect(verify.stderr.isEmpty, "\(verify)")
        }
    }
}
