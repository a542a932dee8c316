import Testing

@testable import PodCompiler

/// The escaping helpers, checked against examples and against ports of the systemd 252 code that reads
/// each setting (the real systemd checks are in SystemdIntegrationTests/EscapingRoundTripTests).
@Suite struct SystemdEscapingTests {
    /// What `extract_first_word()` makes of `text` with `flags`, requiring exactly one word.
    func singleWord(_ text: String, flags: WordExtractor.Flags = [.unquote, .cunescape]) throws -> [UInt8] {
        var cursor: Int? = 0
        let word = try #require(try WordExtractor(Array(text.utf8)).next(&cursor, flags: flags))
        #expect(cursor == nil, "more than one word in \(text)")
        return word.bytes
    }

    func doubled(_ bytes: [UInt8], _ characters: String) -> [UInt8] {
        bytes.flatMap { characters.utf8.contains($0) ? [$0, $0] : [$0] }
    }

    func escapingError(_ body: () throws(SystemdEscapingError) -> String) -> SystemdEscapingError.Reason? {
        do {
            _ = try body()
            return nil
        } catch {
            return error.reason
        }
    }

    // MARK: execArgument

    @Test(arguments: [
        ("", #""""#), ("plain", #""plain""#), ("a b", #""a b""#), ("100%", #""100%%""#), ("$HOME", #""$$HOME""#),
        (";", #"";""#), ("a\"b", #""a\"b""#), ("a\\b", #""a\\b""#), ("it's", #""it's""#), ("x\ny", #""x\ny""#),
        ("\t\r", #""\t\r""#), ("\u{1}\u{7F}", #""\x01\x7f""#), ("héllo ☃ 日本", "\"héllo ☃ 日本\""),
        ("\u{FFFE}", #""\xef\xbf\xbe""#),
    ])
    func execArgumentExamples(_ value: String, _ expected: String) throws {
        #expect(try SystemdEscaping.execArgument(value) == expected)
    }

    @Test func execArgumentWithoutExpansionKeepsDollars() throws {
        #expect(try SystemdEscaping.execArgument("$A $$ %", environmentExpansion: false) == #""$A $$ %%""#)
    }

    @Test func execArgumentEscapesInvalidUTF8Bytes() throws {
        #expect(try SystemdEscaping.execArgument(bytes: [0x61, 0xFF, 0xC3, 0xA9, 0xC3]) == "\"a\\xffé\\xc3\"")
    }

    @Test func execArgumentRefusesNul() {
        #expect(escapingError { () throws(SystemdEscapingError) in try SystemdEscaping.execArgument("a\0b") } == .nulByte)
    }

    @Test func execArgumentsDecodeToTheInputWithSpecifiersAndVariablesDoubled() throws {
        var random = SeededRandom(seed: 1)
        for _ in 0..<2000 {
            let bytes = random.bytes(maxLength: 24)
            let word = try SystemdEscaping.execArgument(bytes: bytes)
            #expect(try singleWord(word) == doubled(bytes, "%$"), "\(word)")
            #expect(SystemdUTF8.isValid(Array(word.utf8)))
        }
    }

    // MARK: execPath

    @Test(arguments: [
        ("/usr/bin/python3", "/usr/bin/python3"), ("sleep", "sleep"), ("/opt/my app/run", #""/opt/my app/run""#),
        ("/opt/100%/x", "/opt/100%%/x"), ("/opt/a$b/x", "/opt/a$b/x"), ("/opt/end$", "/opt/end$"),
        ("/opt/é☃/x", "/opt/é☃/x"), ("/opt/a;b", "/opt/a;b"),
    ])
    func execPathExamples(_ path: String, _ expected: String) throws {
        #expect(try SystemdEscaping.execPath(path) == expected)
    }

    @Test(arguments: [
        ("", SystemdEscapingError.Reason.invalidPath), ("/bin/", .invalidPath), ("bin/x", .invalidPath), ("..", .invalidPath),
        ("/" + String(repeating: "x", count: 256), .invalidPath), ("/a\"b", .unrepresentable), ("/a'b", .unrepresentable),
        ("/a\\b", .unrepresentable), ("/a\nb", .unrepresentable), ("/a\tb", .unrepresentable), ("-x", .unrepresentable),
        ("@x", .unrepresentable), (";", .unrepresentable), ("/a$$b", .unrepresentable), ("/a${B}", .unrepresentable),
        ("$x", .unrepresentable), ("/a\0", .nulByte), ("/a\(nonCharacterFDD0)", .invalidUTF8),
    ])
    func execPathRefusals(_ path: String, _ reason: SystemdEscapingError.Reason) {
        #expect(escapingError { () throws(SystemdEscapingError) in try SystemdEscaping.execPath(path) } == reason)
    }

    @Test func execPathWithoutExpansionAllowsAnyDollar() throws {
        #expect(try SystemdEscaping.execPath("/a$${B}", environmentExpansion: false) == "/a$${B}")
    }

    // MARK: Environment

    @Test(arguments: [("A", true), ("_a1", true), ("PATH_2", true), ("", false), ("1A", false), ("A-B", false), ("A B", false), ("É", false), ("A=", false)])
    func environmentNames(_ name: String, _ valid: Bool) {
        #expect(SystemdEscaping.isValidEnvironmentName(name) == valid)
    }

    @Test(arguments: [
        ("va\"lue", #""NAME=va\"lue""#), ("", #""NAME=""#), ("50%", #""NAME=50%%""#), ("$HOME", #""NAME=$HOME""#),
        ("a\nb", #""NAME=a\nb""#), ("it's", #""NAME=it's""#), (" x ", #""NAME= x ""#), ("\\", #""NAME=\\""#),
    ])
    func environmentAssignmentExamples(_ value: String, _ expected: String) throws {
        #expect(try SystemdEscaping.environmentAssignment(name: "NAME", value: value) == expected)
    }

    @Test func environmentAssignmentRefusals() {
        #expect(escapingError { () throws(SystemdEscapingError) in try SystemdEscaping.environmentAssignment(name: "1X", value: "") } == .invalidName)
        #expect(escapingError { () throws(SystemdEscapingError) in try SystemdEscaping.environmentAssignment(name: "X", value: "a\0") } == .nulByte)
        #expect(escapingError { () throws(SystemdEscapingError) in try SystemdEscaping.environmentAssignment(name: "X", bytes: [0xFF]) } == .invalidUTF8)
        #expect(escapingError { () throws(SystemdEscapingError) in try SystemdEscaping.environmentAssignment(name: "X", value: "\u{FFFF}") } == .invalidUTF8)
        #expect(escapingError { () throws(SystemdEscapingError) in try SystemdEscaping.environmentFileLine(name: "X", bytes: [0xC3]) } == .invalidUTF8)
        #expect(escapingError { () throws(SystemdEscapingError) in try SystemdEscaping.environmentFileLine(name: "X-Y", value: "") } == .invalidName)
    }

    @Test func environmentAssignmentsDecodeToNameEqualsValue() throws {
        var random = SeededRandom(seed: 2)
        for _ in 0..<2000 {
            let value = random.string(maxLength: 24)
            let word = try SystemdEscaping.environmentAssignment(name: "V_1", value: value)
            #expect(try singleWord(word) == doubled(Array("V_1=\(value)".utf8), "%"), "\(word)")
        }
    }

    @Test(arguments: [
        ("plain", "A=\"plain\"\n"), ("", "A=\"\"\n"), ("$HOME `x` \"q\" \\", "A=\"\\$HOME \\`x\\` \\\"q\\\" \\\\\"\n"),
        ("multi\nline", "A=\"multi\nline\"\n"), ("'single'", "A=\"'single'\"\n"), ("50%", "A=\"50%\"\n"),
    ])
    func environmentFileLineExamples(_ value: String, _ expected: String) throws {
        #expect(try SystemdEscaping.environmentFileLine(name: "A", value: value) == expected)
    }

    @Test func environmentFilesDecodeToTheValues() throws {
        var random = SeededRandom(seed: 3)
        for _ in 0..<300 {
            let values = (0..<5).map { _ in random.string(maxLength: 20) }
            var file = "# generated\n"
            for (index, value) in values.enumerated() {
                file += try SystemdEscaping.environmentFileLine(name: "F\(index)", value: value)
            }
            let parsed = EnvironmentFileReader.parse(Array(file.utf8))
            #expect(parsed.map(\.key) == ["F0", "F1", "F2", "F3", "F4"])
            #expect(parsed.map(\.value) == values.map { Array($0.utf8) }, "\(file.debugDescription)")
        }
    }

    // MARK: Paths

    @Test(arguments: [
        ("/a", nil, false, true, "/a"), ("/a", "/b", false, true, "/a:/b"), ("/a b", "/c:d", false, true, #""/a b":"/c:d""#),
        ("/a", nil, true, false, "-/a:/a:norbind"), ("/100%", "/x\"y", false, true, #"/100%%:"/x\"y""#),
        ("/back\\slash", "/it's", true, true, #"-"/back\\slash":"/it's""#),
    ])
    func bindPathExamples(_ source: String, _ destination: String?, _ ignore: Bool, _ recursive: Bool, _ expected: String) throws {
        #expect(try SystemdEscaping.bindPath(source: source, destination: destination, ignoreMissingSource: ignore, recursive: recursive) == expected)
    }

    @Test(arguments: ["relative", "/a/../b", "/a\nb", "/a\0b", "/a\u{FFFE}"])
    func pathRefusals(_ path: String) {
        #expect(escapingError { () throws(SystemdEscapingError) in try SystemdEscaping.bindPath(source: path) } != nil)
        #expect(escapingError { () throws(SystemdEscapingError) in try SystemdEscaping.pathValue(path, for: .pathList) } != nil)
    }

    @Test func bindPathsDecodeLikeConfigParseBindPaths() throws {
        var random = SeededRandom(seed: 4)
        for _ in 0..<1000 {
            let source = "/" + random.string(maxLength: 12).replacingNewlines()
            let destination = "/" + random.string(maxLength: 12).replacingNewlines()
            let recursive = Bool.random(using: &random)
            guard let value = try? SystemdEscaping.bindPath(source: source, destination: destination, recursive: recursive) else { continue }
            let decoded = try #require(BindPathReader.parse(value))
            #expect(decoded.source == doubled(Array(source.utf8), "%"), "\(value)")
            #expect(decoded.destination == doubled(Array(destination.utf8), "%"), "\(value)")
            #expect(decoded.options == (recursive ? nil : "norbind"))
        }
    }

    @Test(arguments: [
        (SystemdEscaping.PathSetting.workingDirectory, "/srv/my app/100%", false, "/srv/my app/100%%"),
        (.workingDirectory, "/srv/\"q\"", true, "-/srv/\"q\""),
        (.pathList, "/srv/my app", true, #"-"/srv/my app""#), (.pathList, "/srv/plain", false, "/srv/plain"),
        (.environmentFile, "/etc/env [1]*?.conf", false, #"/etc/env \[1]\*\?.conf"#),
        (.environmentFile, "/etc/a\\b", true, #"-/etc/a\\b"#),
        (.temporaryFileSystem, "/var/a:b c", false, #""/var/a\\:b c""#),
    ])
    func pathValueExamples(_ setting: SystemdEscaping.PathSetting, _ path: String, _ ignore: Bool, _ expected: String) throws {
        #expect(try SystemdEscaping.pathValue(path, for: setting, ignoreIfMissing: ignore) == expected)
    }

    @Test func wholeValuePathsCannotEndInWhitespaceOrABackslash() throws {
        #expect(escapingError { () throws(SystemdEscapingError) in try SystemdEscaping.pathValue("/a ", for: .workingDirectory) } == .unrepresentable)
        #expect(escapingError { () throws(SystemdEscapingError) in try SystemdEscaping.pathValue("/a\\", for: .workingDirectory) } == .unrepresentable)
        #expect(try SystemdEscaping.pathValue("/a ", for: .pathList) == #""/a ""#)
        #expect(escapingError { () throws(SystemdEscapingError) in try SystemdEscaping.pathValue("/a", for: .temporaryFileSystem, ignoreIfMissing: true) } == .unrepresentable)
    }

    @Test func pathListWordsAndTemporaryFileSystemsDecodeToThePath() throws {
        var random = SeededRandom(seed: 5)
        for _ in 0..<1000 {
            let path = "/" + random.string(maxLength: 16).replacingNewlines()
            guard let word = try? SystemdEscaping.pathValue(path, for: .pathList) else { continue }
            #expect(try singleWord(word, flags: [.unquote]) == doubled(Array(path.utf8), "%"), "\(word)")

            let tmpfs = try SystemdEscaping.temporaryFileSystem(path, options: ["mode=0755", "size=1M"])
            var cursor: Int? = 0
            let outer = try singleWord(tmpfs, flags: [.unquote])
            let inner = try #require(try WordExtractor(outer).next(&cursor, separators: [UInt8(ascii: ":")], flags: [.dontCoalesceSeparators]))
            #expect(inner.bytes == doubled(Array(path.utf8), "%"), "\(tmpfs)")
            #expect(cursor.map { Array(outer[$0...]) } == Array("mode=0755,size=1M".utf8))
        }
    }
}

extension String {
    /// The string without line breaks, which no path setting can hold.
    func replacingNewlines() -> String {
        String(unicodeScalars.filter { $0 != "\n" && $0 != "\r" })
    }
}
