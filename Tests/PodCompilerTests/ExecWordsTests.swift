import Testing

@testable import PodCompiler

/// Command-line words for ExecStart= and hooks: each reaches the process byte for byte. The encoded
/// forms are pinned, and every one is read back with `SystemdDecoding` (systemd's rules).
struct ExecWordsTests {
    static let arguments: [(String, String)] = [
        ("plain", "plain"),
        ("--flag=a,b:c@d+e/f_g.h", "--flag=a,b:c@d+e/f_g.h"),
        ("", "\"\""),
        ("a b", "\"a b\""),
        ("%", "%%"),
        ("100%", "100%%"),
        ("%n", "%%n"),
        ("$HOME", "$$HOME"),
        ("$", "$$"),
        ("${X}", "\"$${X}\""),
        ("$(X)", "\"$$(X)\""),
        ("a\"b", "\"a\\\"b\""),
        ("back\\slash", "\"back\\\\slash\""),
        ("\\", "\"\\\\\""),
        ("line\nbreak", "\"line\\nbreak\""),
        ("tab\there", "\"tab\\there\""),
        ("cr\r", "\"cr\\r\""),
        ("\u{1}\u{1f}\u{7f}", "\"\\x01\\x1f\\x7f\""),
        ("é", "\"é\""),
        ("日本語 😀", "\"日本語 😀\""),
        (";", "\";\""),
        ("'", "\"'\""),
        ("'single'", "\"'single'\""),
        ("#comment", "\"#comment\""),
        ("a;b", "\"a;b\""),
        ("-", "-"),
        ("*?[]", "\"*?[]\""),
        ("{}", "\"{}\""),
    ]

    @Test(arguments: arguments)
    func argumentEncoding(_ c: (String, String)) throws {
        let encoded = try ExecWords.argument(c.0)
        #expect(encoded == c.1)
        #expect(try SystemdDecoding.argument(encoded) == Array(c.0.utf8))
    }

    @Test func bytesThatAreNotUTF8AreWrittenAsHexEscapes() throws {
        let bytes: [UInt8] = [0x61, 0xFF, 0xC3, 0x28, 0x25, 0x24, 0xE2, 0x82]
        let encoded = try ExecWords.argument([.literal(bytes)])
        #expect(encoded == "\"a\\xff\\xc3(%%$$\\xe2\\x82\"")
        #expect(try SystemdDecoding.argument(encoded) == bytes)
        // A valid character next to invalid bytes is escaped byte by byte too.
        let mixed: [UInt8] = Array("é".utf8) + [0x80]
        #expect(try SystemdDecoding.argument(try ExecWords.argument([.literal(mixed)])) == mixed)
    }

    @Test func aNULByteCannotBeCarried() {
        #expect(throws: ExecWords.WordError.nul) { try ExecWords.argument("a\u{0}b") }
        #expect(throws: ExecWords.WordError.nul) { try ExecWords.argument([.literal([0x61]), .literal([0])]) }
        #expect(throws: ExecWords.WordError.nul) { try ExecWords.executable("/bin/a\u{0}") }
    }

    @Test func referencesAreLeftForSystemdToExpandInTheSameWord() throws {
        let encoded = try ExecWords.argument([.literal(Array("--password=".utf8)), .reference("DB_PASSWORD"), .literal(Array(" $%".utf8))])
        #expect(encoded == "\"--password=${DB_PASSWORD} $$%%\"")
        let secret = Array("s3cr\"t $HOME %n".utf8)
        #expect(try SystemdDecoding.argument(encoded, env: ["DB_PASSWORD": secret]) == Array("--password=".utf8) + secret + Array(" $%".utf8))
        #expect(try ExecWords.argument([.reference("X")]) == "${X}")
        #expect(try ExecWords.argument([]) == "\"\"")
        #expect(try ExecWords.argument([.literal([])]) == "\"\"")
    }

    @Test func executables() throws {
        #expect(try ExecWords.executable("/usr/bin/app") == "/usr/bin/app")
        #expect(try ExecWords.executable("sh") == "sh")
        #expect(try ExecWords.executable("/opt/my app/run") == "\"/opt/my app/run\"")
        #expect(try ExecWords.executable("/opt/100%/run") == "/opt/100%%/run")
        #expect(try SystemdDecoding.commandLine(try ExecWords.executable("/opt/é x/r")).executable == "/opt/é x/r")
        // systemd 252 refuses quotes and backslashes in an executable, and would expand `$$` and `${`
        // in argv[0] but not in the path it runs (docs/unit-file-syntax.md).
        for refused in ["/opt/\"x\"/r", "/opt/a\\b", "/bin/$$x", "/bin/${x}", "$x"] {
            #expect(throws: ExecWords.WordError.self) { try ExecWords.executable(refused) }
        }
    }

    /// systemd reads `-@:+!` prefixes and the `;` separator from the unquoted first word, so quoting
    /// cannot carry them: `"+sh"` would run `sh` with full privileges, outside the sandbox.
    @Test(arguments: ["-x", "+sh", "!x", "!!x", "@x", ":x", ";"])
    func executablesSystemdWouldReadAsPrefixesAreRefused(_ name: String) {
        #expect(throws: ExecWords.WordError.self) { try ExecWords.executable(name) }
    }

    @Test func aPodCannotNameSuchAnExecutable() throws {
        let e = try #require(throws: CompileError.self) {
            try Fixtures.compile(Fixtures.pod(containers: [Fixtures.container(command: ["+sh", "-c", "id"])]))
        }
        #expect(e.code == .unrepresentable)
        #expect(e.path == "spec.containers[0].command[0]")
        #expect(!e.message.contains("$"), "\(e.message)")
    }

    @Test func commandLinesJoinWords() throws {
        let words = [try ExecWords.executable("/bin/sh"), try ExecWords.argument("-c"), try ExecWords.argument("echo \"$1\"; exit 100%")]
        let line = ExecWords.line(words)
        #expect(line == "/bin/sh -c \"echo \\\"$$1\\\"; exit 100%%\"")
        let decoded = try SystemdDecoding.commandLine(line)
        #expect(decoded.executable == "/bin/sh")
        #expect(decoded.arguments == [Array("-c".utf8), Array("echo \"$1\"; exit 100%".utf8)])
    }

    /// Many strings, every byte but NUL: each argument comes back unchanged.
    @Test func everyByteRoundTrips() throws {
        for b in UInt8(1)...UInt8(255) {
            for word in [[b], [0x61, b, 0x62], [b, b, 0x20, b]] {
                #expect(try SystemdDecoding.argument(try ExecWords.argument([.literal(word)])) == word, "byte \(b)")
            }
        }
        var state: UInt64 = 42
        for _ in 0..<2000 {
            var word: [UInt8] = []
            for _ in 0..<Int(state % 12) {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                word.append(UInt8(truncatingIfNeeded: state >> 59) == 0 ? 0x25 : max(1, UInt8(truncatingIfNeeded: state >> 56)))
            }
            state = state &* 6_364_136_223_846_793_005 &+ 1
            #expect(try SystemdDecoding.argument(try ExecWords.argument([.literal(word)])) == word, "\(word)")
        }
    }
}
