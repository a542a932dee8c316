import Testing

@testable import PodCompiler

@Suite struct UnitFileSerializerTests {
    @Test func writesSectionsEntriesAndABlankLineBetweenSections() {
        let unit = UnitFile(sections: [
            .init(name: "Unit", entries: [.init(key: "Description", value: "web server")]),
            .init(name: "Service", entries: [.init(key: "ExecStart", value: "/bin/true"), .init(key: "Environment", value: "")]),
            .init(name: "Install"),
        ])
        #expect(unit.serialized() == "[Unit]\nDescription=web server\n\n[Service]\nExecStart=/bin/true\nEnvironment=\n\n[Install]\n")
    }

    @Test func anEmptyModelIsAnEmptyText() {
        #expect(UnitFile().serialized() == "")
    }

    @Test func serializedTextParsesBackToTheSameModel() throws {
        var random = SeededRandom(seed: 252)
        let keyAlphabet = Array("ABCxyz019_-.@ ")
        for _ in 0..<500 {
            var unit = UnitFile()
            for _ in 0..<Int.random(in: 0...4, using: &random) {
                var section = UnitFile.Section(name: random.string(maxLength: 8, from: Array("UnitServic-X ]")))
                for _ in 0..<Int.random(in: 0...6, using: &random) {
                    let key = "K" + random.string(maxLength: 6, from: keyAlphabet) + "k"
                    var value = random.string(maxLength: 40)
                    value = String(value.unicodeScalars.filter { !"\n\r".unicodeScalars.contains($0) })
                    value = value.trimmingWhitespace()
                    if value.hasSuffix("\\") { value += "x" }
                    section.entries.append(.init(key: key, value: value))
                }
                unit.sections.append(section)
            }
            guard (try? unit.validateRepresentable()) != nil else { continue }
            let text = unit.serialized()
            #expect(try UnitFile.parse(text) == unit, "\(text.debugDescription)")
        }
    }

    @Test func validationAcceptsWhatTheParserProduces() throws {
        let unit = try UnitFile.parse("[S]\nA=  x \\\n y\\\\\nB=\"quoted\" 'single' # ; = [x]\n")
        try unit.validateRepresentable()
        #expect(try UnitFile.parse(unit.serialized()) == unit)
    }

    @Test(arguments: [
        ("new\nline", "line break"), ("cr\rhere", "line break"), ("nul\0", "line break"),
        (" leading", "whitespace"), ("trailing\t", "whitespace"), ("ends\\", "backslash"),
        ("three\\\\\\", "backslash"), ("bad\u{FFFF}", "U+FFFF"),
    ])
    func unrepresentableValuesAreRefused(_ value: String, _ reason: String) {
        var unit = UnitFile()
        unit.append("Description", "ok", in: "Unit")
        unit.append("Bad", value, in: "Service")
        #expect(throws: UnitFileError.self) { try unit.validateRepresentable() }
        do {
            try unit.validateRepresentable()
        } catch {
            #expect(error.line == 5, "[Unit], Description, blank, [Service], Bad")
            #expect(error.message.contains(reason), "\(error.message)")
        }
        #expect(throws: UnitFileError.self) { try unit.validatedSerialization() }
    }

    @Test func anEvenRunOfTrailingBackslashesIsFine() throws {
        var unit = UnitFile()
        unit.append("A", #"x\\"#, in: "S")
        try unit.validateRepresentable()
        #expect(try UnitFile.parse(unit.serialized()) == unit)
    }

    @Test(arguments: ["", " K", "K ", "K=V", "#K", ";K", "[K", ".include", "K\nL", "\u{FEFF}K", "K\(nonCharacterFDD0)"])
    func unrepresentableKeysAreRefused(_ key: String) {
        var unit = UnitFile()
        unit.append(key, "v", in: "S")
        #expect(throws: UnitFileError.self) { try unit.validateRepresentable() }
    }

    @Test(arguments: ["Un\"it", "Un'it", "Un\\it", "Un\nit", "Un\u{7F}it", "Un\u{FFFE}it"])
    func unrepresentableSectionNamesAreRefused(_ name: String) {
        #expect(throws: UnitFileError.self) { try UnitFile(sections: [.init(name: name)]).validateRepresentable() }
    }

    @Test func linesUpToOneByteUnderAMebibyteAreAccepted() throws {
        var unit = UnitFile()
        unit.append("ExecStart", String(repeating: "x", count: 1_048_575 - 10), in: "Service")
        let text = try unit.validatedSerialization()
        #expect(try UnitFile.parse(text) == unit)
        unit.set("ExecStart", String(repeating: "x", count: 1_048_576 - 10), in: "Service")
        #expect(throws: UnitFileError.self) { try unit.validateRepresentable() }
    }

    @Test func valuesFromTheEscapingHelpersAreAlwaysRepresentable() throws {
        var random = SeededRandom(seed: 7)
        for _ in 0..<300 {
            let value = random.string(maxLength: 30)
            var unit = UnitFile()
            unit.append("ExecStart", "/bin/echo " + (try SystemdEscaping.execArgument(value)), in: "Service")
            unit.append("Environment", try SystemdEscaping.environmentAssignment(name: "V", value: value), in: "Service")
            try unit.validateRepresentable()
        }
    }
}

extension String {
    /// Drops systemd's whitespace (space, tab, CR, LF) at both ends.
    func trimmingWhitespace() -> String {
        SystemdText.string(SystemdText.strip(Array(utf8)[...]))
    }
}
