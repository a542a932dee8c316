import Testing

@testable import PodCompiler

@Suite struct UnitFileParserTests {
    func parse(_ text: String) throws -> UnitFile {
        try UnitFile.parse(text, fileName: "test.service")
    }

    func parseError(_ text: String) -> UnitFileError? {
        do {
            _ = try UnitFile.parse(text, fileName: "test.service")
            return nil
        } catch {
            return error
        }
    }

    @Test func sectionsAndEntriesInOrder() throws {
        let unit = try parse("[Unit]\nDescription=web\n\n[Service]\nExecStart=/bin/true\nUser=nobody\n")
        #expect(unit.sections.map(\.name) == ["Unit", "Service"])
        #expect(unit.sections[1].entries == [.init(key: "ExecStart", value: "/bin/true"), .init(key: "User", value: "nobody")])
    }

    @Test func whitespaceAroundKeyEqualsAndValueIsStripped() throws {
        let unit = try parse("  [Service]  \n \t Key \t=  a  b \t\nOther=\n")
        #expect(unit.sections[0].name == "Service")
        #expect(unit.sections[0].entries == [.init(key: "Key", value: "a  b"), .init(key: "Other", value: "")])
    }

    @Test func onlyTheFirstEqualsSplits() throws {
        #expect(try parse("[S]\nEnvironment=A=b=c\n").lastValue("Environment", in: "S") == "A=b=c")
    }

    @Test func valuesStayRaw() throws {
        let raw = #"/bin/sh -c "echo 'hi' \"there\" $HOME %n \\" ; # not a comment"#
        #expect(try parse("[S]\nExecStart=\(raw)\n").lastValue("ExecStart", in: "S") == raw)
    }

    @Test func keysAreCaseSensitive() throws {
        let unit = try parse("[S]\nUser=a\nuser=b\n")
        #expect(unit.lastValue("User", in: "S") == "a")
        #expect(unit.lastValue("user", in: "S") == "b")
    }

    @Test func commentLinesAreSkipped() throws {
        let unit = try parse("# top\n; also\n[S]\n  # indented\n\t;tab\nA=1 # kept\n")
        #expect(unit == UnitFile(sections: [.init(name: "S", entries: [.init(key: "A", value: "1 # kept")])]))
    }

    @Test(arguments: ["\n", "\r\n", "\r", "\n\r", "\0", "\r\n\0"])
    func lineEndingsOfReadLine(_ end: String) throws {
        let unit = try parse("[S]" + end + "A=1" + end + "B=2" + end)
        #expect(unit.sections[0].entries.map(\.value) == ["1", "2"])
    }

    @Test func repeatedMarkersAreSeparateLines() throws {
        // "\n\n" and "\r\r" are two line ends; a line number counts each.
        #expect(parseError("[S]\r\r\rbad\n")?.line == 4)
        #expect(parseError("[S]\r\n\r\nbad\n")?.line == 3)
        #expect(parseError("[S]\n\r\n\rbad\n")?.line == 3)
    }

    @Test func continuationJoinsWithASpaceAndKeepsIndentation() throws {
        let unit = try parse("[S]\nExecStart=/bin/echo a \\\n    b\\\nc\n")
        #expect(unit.lastValue("ExecStart", in: "S") == "/bin/echo a      b c")
    }

    @Test func commentsInsideAContinuationAreSkipped() throws {
        let unit = try parse("[S]\nEnvironment=A=1 \\\n# comment\n  ; another \\\n B=2\nC=3\n")
        #expect(unit.entries("Environment", in: "S") == ["A=1   B=2"])
        #expect(unit.lastValue("C", in: "S") == "3")
    }

    @Test func aCommentEndingInABackslashDoesNotContinue() throws {
        #expect(try parse("[S]\n# comment \\\nA=1\n").lastValue("A", in: "S") == "1")
    }

    @Test func evenBackslashesDoNotContinue() throws {
        let unit = try parse("[S]\nA=x\\\\\nB=y\\\\\\\nz\n")
        #expect(unit.lastValue("A", in: "S") == #"x\\"#)
        #expect(unit.lastValue("B", in: "S") == #"y\\ z"#)
    }

    @Test func anEmptyLineEndsAContinuation() throws {
        let unit = try parse("[S]\nA=1\\\n\nB=2\n")
        #expect(unit.lastValue("A", in: "S") == "1")
        #expect(unit.lastValue("B", in: "S") == "2")
    }

    @Test func aContinuationAtTheEndOfTheFileIsStillParsed() throws {
        #expect(try parse("[S]\nA=1 \\").lastValue("A", in: "S") == "1")
    }

    @Test func sectionsMayRepeatAndKeepTheirOrder() throws {
        let unit = try parse("[A]\nx=1\n[B]\n[A]\nx=2\n")
        #expect(unit.sections.map(\.name) == ["A", "B", "A"])
        #expect(unit.entries("x", in: "A") == ["1", "2"])
    }

    @Test func unusualSectionNamesAreKeptAsWritten() throws {
        #expect(try parse("[X-Kubernetes]\n[ Spaced ]\n[a]b]\n[]\n").sections.map(\.name) == ["X-Kubernetes", " Spaced ", "a]b", ""])
    }

    @Test func assignmentsBeforeTheFirstSectionAreIgnoredLikeSystemd() throws {
        #expect(try parse("Orphan=1\nno equals here\n[S]\nA=1\n") == UnitFile(sections: [.init(name: "S", entries: [.init(key: "A", value: "1")])]))
    }

    @Test func aByteOrderMarkIsDropped() throws {
        #expect(try parse("\u{FEFF}[Unit]\nA=1\n").sections.map(\.name) == ["Unit"])
    }

    @Test func crlfFilesParse() throws {
        let unit = try parse("[Unit]\r\nDescription=x\r\nAfter=a \\\r\n b\r\n")
        #expect(unit.lastValue("Description", in: "Unit") == "x")
        #expect(unit.lastValue("After", in: "Unit") == "a   b")
    }

    @Test func aLineOfOneByteUnderAMebibyteWorks() throws {
        let value = String(repeating: "x", count: 1_048_575 - "ExecStart=".utf8.count)
        let unit = try parse("[Service]\nExecStart=\(value)\n")
        #expect(unit.lastValue("ExecStart", in: "Service")?.utf8.count == value.utf8.count)
    }

    @Test func aLineOfAMebibyteIsRefusedLikeSystemd() {
        let value = String(repeating: "x", count: 1_048_576 - "ExecStart=".utf8.count)
        let error = parseError("[Service]\nExecStart=\(value)\n")
        #expect(error?.line == 2)
        #expect(error?.message.contains("1048575") == true)
    }

    @Test func aContinuedLineMayNotExceedAMebibyte() {
        let half = String(repeating: "y", count: 600_000)
        let error = parseError("[S]\nA=\(half)\\\n\(half)\n")
        #expect(error?.line == 2)
        #expect(error?.message.contains("Continued line") == true)
    }

    @Test func textAfterTheClosingBracketIsAnErrorWithLineAndColumn() {
        let error = parseError("[Unit]\nA=1\n  [Service] # comment\n")
        #expect(error == UnitFileError(
            fileName: "test.service", line: 3, column: 12,
            message: "Invalid section header '[Service] # comment': text after ']'"))
        #expect(error?.description == "test.service:3:12: Invalid section header '[Service] # comment': text after ']'")
    }

    @Test func aMissingClosingBracketIsAnError() {
        #expect(parseError("[Unit\n")?.message == "Invalid section header '[Unit': missing ']'")
        #expect(parseError("[\n")?.line == 1)
    }

    @Test(arguments: ["[Un\"it]", "[Un'it]", "[Un\\it]", "[Un\u{7F}it]", "[Un\u{1}it]"])
    func quotesBackslashesAndControlCharactersInSectionNamesAreErrors(_ header: String) {
        let error = parseError("\(header)\n")
        #expect(error?.message.hasPrefix("Bad characters in section header") == true)
        #expect(error?.column == 4)
    }

    @Test func aLineWithoutEqualsIsAnErrorWithItsLineNumber() {
        let error = parseError("[Unit]\nDescription=x\n\nExecStart /bin/true\n")
        #expect(error == UnitFileError(fileName: "test.service", line: 4, message: "Missing '=' in 'ExecStart /bin/true'"))
        #expect(error?.description == "test.service:4: Missing '=' in 'ExecStart /bin/true'")
    }

    @Test func anEmptyKeyIsAnError() {
        let error = parseError("[S]\n  =value\n")
        #expect(error?.message == "Missing key name before '='")
        #expect(error?.column == 3)
    }

    @Test func errorsInAContinuedLineNameItsFirstLine() {
        #expect(parseError("[S]\nfirst \\\nsecond \\\nthird\n")?.line == 2)
    }

    @Test func includeIsAnError() {
        #expect(parseError("[Unit]\n.include /etc/other.service\n")?.message.hasPrefix(".include is not supported") == true)
        #expect(parseError(".include /x\n[Unit]\n")?.line == 1)
    }

    @Test func noncharactersAreErrorsAsSystemdRejectsTheFile() {
        let error = parseError("[S]\nA=x\u{FFFE}\n")
        #expect(error?.line == 2)
        #expect(error?.column == 4)
        #expect(parseError("[S]\nA=\(nonCharacterFDD0)\n") != nil)
        #expect(parseError("[S]\nA=\u{10FFFF}\n") != nil)
    }

    @Test func emptyAndCommentOnlyTextsHaveNoSections() throws {
        #expect(try parse("").sections.isEmpty)
        #expect(try parse("\n\n# nothing\n").sections.isEmpty)
    }
}
