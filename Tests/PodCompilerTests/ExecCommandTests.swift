import Testing

@testable import PodCompiler

@Suite struct ExecCommandTests {
    func raw(_ command: ExecCommand) -> [String] { command.words.map(\.raw) }
    func unquoted(_ command: ExecCommand) -> [String] { command.words.map { $0.unquotedString ?? "<bytes>" } }

    func error(_ value: String) -> UnitFileError? {
        do {
            _ = try ExecCommand.parseList(value, fileName: "web.service", line: 7)
            return nil
        } catch {
            return error
        }
    }

    @Test func wordsKeepTheirRawTextAndUnquotedForm() throws {
        let command = try ExecCommand.parse(#"/usr/bin/nginx -g "daemon off;" --name='a b' $OPTS ${X} %n"#)
        #expect(command.prefixes == [])
        #expect(raw(command) == ["/usr/bin/nginx", "-g", #""daemon off;""#, "--name='a b'", "$OPTS", "${X}", "%n"])
        #expect(unquoted(command) == ["/usr/bin/nginx", "-g", "daemon off;", "--name=a b", "$OPTS", "${X}", "%n"])
    }

    @Test func serializingGivesBackTheWordsAsWritten() throws {
        let value = #"-/usr/bin/env "a  b" 'c\td' \x41 $$ %% e\;f"#
        #expect(try ExecCommand.parse(value).serialized == value)
    }

    @Test func separatorsAreCollapsedToOneSpace() throws {
        #expect(try ExecCommand.parse("/bin/echo \t a   b").serialized == "/bin/echo a b")
    }

    @Test(arguments: [
        ("-/bin/true", [ExecCommand.Prefix.ignoreFailure]),
        ("@/bin/true true", [.customArgv0]),
        (":/bin/true", [.noEnvironmentExpansion]),
        ("+/bin/true", [.fullPrivileges]),
        ("!/bin/true", [.noSetuid]),
        ("!!/bin/true", [.ambientCapabilities]),
        ("-@:/bin/true x", [.ignoreFailure, .customArgv0, .noEnvironmentExpansion]),
        (":-+/bin/true", [.noEnvironmentExpansion, .ignoreFailure, .fullPrivileges]),
        ("!!-/bin/true", [.ambientCapabilities, .ignoreFailure]),
        ("-!!@/bin/true x", [.ignoreFailure, .ambientCapabilities, .customArgv0]),
    ])
    func prefixesInAnyOrder(_ value: String, _ prefixes: [ExecCommand.Prefix]) throws {
        let command = try ExecCommand.parse(value)
        #expect(command.prefixes == prefixes)
        #expect(command.words[0].raw == "/bin/true")
        #expect(command.serialized == value)
    }

    @Test(arguments: ["--/bin/true", "+!/bin/true", "!+/bin/true", "!!!/bin/true", "@@/bin/true x"])
    func aRepeatedOrConflictingPrefixBecomesPartOfTheExecutable(_ value: String) {
        #expect(error(value)?.message.hasPrefix("Neither a valid executable name nor an absolute path") == true)
    }

    @Test func prefixesInsideQuotesCountAsSystemdUnquotesFirst() throws {
        let command = try ExecCommand.parse(#""-/opt/my app/run" x"#)
        #expect(command.prefixes == [.ignoreFailure])
        #expect(command.words[0].unquotedString == "/opt/my app/run")
        #expect(try ExecCommand.parse(command.serialized) == command)
    }

    @Test func customArgv0TakesTheSecondWord() throws {
        let command = try ExecCommand.parse("@/bin/busybox sh -c true")
        #expect(unquoted(command) == ["/bin/busybox", "sh", "-c", "true"])
        #expect(error("@/bin/busybox")?.message.hasPrefix("Empty executable name or zeroeth argument") == true)
    }

    @Test func cEscapesAreDecodedInAndOutsideQuotes() throws {
        let command = try ExecCommand.parse(#"/bin/x "a\tb" 'c\nd' e\x41 \u00e9 "\"" '\'' \s"#)
        #expect(unquoted(command).dropFirst() == ["a\tb", "c\nd", "eA", "é", "\"", "'", " "])
        #expect(try ExecCommand.parse(#"/bin/x \xff"#).words[1].unquoted == [0xFF])
        #expect(try ExecCommand.parse(#"/bin/x \xff"#).words[1].unquotedString == nil)
    }

    @Test func unknownEscapesAreKeptVerbatimLikeSystemd() throws {
        #expect(unquoted(try ExecCommand.parse(#"/bin/x \d "a\qb" \x00 end\"#)).dropFirst() == [#"\d"#, #"a\qb"#, #"\x00"#, #"end\"#])
    }

    @Test func aLoneSemicolonSeparatesCommands() throws {
        let commands = try ExecCommand.parseList("/bin/a 1 ; -/bin/b 2 ;")
        #expect(commands.count == 2)
        #expect(unquoted(commands[0]) == ["/bin/a", "1"])
        #expect(commands[1].prefixes == [.ignoreFailure])
        #expect(ExecCommand.serialized(commands) == "/bin/a 1 ; -/bin/b 2")
        #expect(try ExecCommand.parseList(ExecCommand.serialized(commands)) == commands)
    }

    @Test func escapedQuotedOrAttachedSemicolonsAreArguments() throws {
        let command = try ExecCommand.parse(#"/bin/find . -exec rm {} \; ";" a;b ;c x;"#)
        #expect(unquoted(command).dropFirst(5) == [";", ";", "a;b", ";c", "x;"])
        #expect(raw(command)[5] == #"\;"#)
    }

    @Test func emptyCommandsBetweenSeparatorsAreSkipped() throws {
        #expect(try ExecCommand.parseList("; ; /bin/a ; ; /bin/b").count == 2)
        #expect(try ExecCommand.parseList(";").isEmpty)
        #expect(try ExecCommand.parseList("  ").isEmpty)
        #expect(throws: UnitFileError(fileName: "<value>", line: 0, message: "Empty command line")) {
            try ExecCommand.parse(";")
        }
    }

    @Test func parseRefusesSeveralCommands() {
        #expect(throws: UnitFileError.self) { try ExecCommand.parse("/bin/a ; /bin/b") }
    }

    @Test func unbalancedQuotesAreErrorsWithAColumn() {
        let unbalanced = error(#"/bin/echo "abc"#)
        #expect(unbalanced == UnitFileError(
            fileName: "web.service", line: 7, column: 11,
            message: "Unbalanced quoting (or a backslash at the end of a quoted word)"))
        #expect(error(#"/bin/echo "abc\"#) != nil)
        #expect(error(#"'/bin/echo"#) != nil)
    }

    @Test(arguments: [
        ("-", "Empty path in command line"),
        (#"/bin/a\"b"#, "Executable name contains special characters"),
        ("/bin/", "Executable path specifies a directory"),
        ("bin/true", "Neither a valid executable name nor an absolute path"),
        ("..", "Neither a valid executable name nor an absolute path"),
    ])
    func executablesSystemdRefuses(_ value: String, _ message: String) {
        #expect(error(value)?.message.hasPrefix(message) == true, "\(String(describing: error(value)))")
    }

    @Test func plainNamesAndSpecifiersAreAccepted() throws {
        #expect(try ExecCommand.parse("true").words[0].raw == "true")
        #expect(try ExecCommand.parse("%h/bin/app --x").words[0].raw == "%h/bin/app")
    }

    @Test func builtCommandsEscapeEveryArgument() throws {
        let command = try ExecCommand.make(executable: "/opt/my app/bin", arguments: ["", "100%", "$HOME", ";", "a\"b"])
        #expect(command.serialized == #""/opt/my app/bin" "" "100%%" "$$HOME" ";" "a\"b""#)
        let reparsed = try ExecCommand.parse(command.serialized)
        #expect(reparsed == command)
        #expect(unquoted(reparsed) == ["/opt/my app/bin", "", "100%%", "$$HOME", ";", "a\"b"])
        let literal = try ExecCommand.make(executable: "/bin/echo", arguments: ["$HOME"], prefixes: [.noEnvironmentExpansion])
        #expect(literal.serialized == #":/bin/echo "$HOME""#)
    }

    @Test func singleWordsCanBeParsedOrBuilt() throws {
        #expect(try ExecCommand.Word(raw: #""a b""#).unquotedString == "a b")
        #expect(try ExecCommand.Word(raw: #"\;"#).unquotedString == ";")
        #expect(throws: UnitFileError.self) { try ExecCommand.Word(raw: "a b") }
        #expect(throws: UnitFileError.self) { try ExecCommand.Word(raw: ";") }
        #expect(try ExecCommand.Word.argument("x y").raw == #""x y""#)
    }

    @Test func randomCommandsRoundTripThroughSerialization() throws {
        var random = SeededRandom(seed: 99)
        for _ in 0..<300 {
            let arguments = (0..<Int.random(in: 0...5, using: &random)).map { _ in random.string(maxLength: 12) }
            let command = try ExecCommand.make(executable: "/usr/bin/env", arguments: arguments)
            let reparsed = try ExecCommand.parse(command.serialized)
            #expect(reparsed == command)
            for (word, argument) in zip(reparsed.words.dropFirst(), arguments) {
                let expected = argument.utf8.flatMap { $0 == UInt8(ascii: "%") || $0 == UInt8(ascii: "$") ? [$0, $0] : [$0] }
                #expect(word.unquoted == expected)
            }
        }
    }
}
