import PodCompiler
import Testing

@Suite struct UnitFileEditingTests {
    let unit: UnitFile

    init() throws {
        unit = try UnitFile.parse(
            """
        [Service]
        ExecStartPre=/bin/a
        Environment=A=1
        ExecStartPre=
        [Unit]
        Description=x
        [Service]
        ExecStartPre=/bin/b
        ExecStartPre=/bin/c
        Restart=always
        Restart=
        """)
    }

    @Test func entriesListsEveryAssignmentAcrossSameNamedSections() {
        #expect(unit.entries("ExecStartPre", in: "Service") == ["/bin/a", "", "/bin/b", "/bin/c"])
        #expect(unit.entries("ExecStartPre", in: "Unit") == [])
        #expect(unit.entries("Missing", in: "Service") == [])
    }

    @Test func effectiveValuesResetAtAnEmptyAssignment() {
        #expect(unit.effectiveValues("ExecStartPre", in: "Service") == ["/bin/b", "/bin/c"])
        #expect(unit.effectiveValues("Restart", in: "Service") == [])
        #expect(unit.effectiveValues("Environment", in: "Service") == ["A=1"])
    }

    @Test func lastValueIsTheLastAssignmentEvenWhenEmpty() {
        #expect(unit.lastValue("Restart", in: "Service") == "")
        #expect(unit.lastValue("Description", in: "Unit") == "x")
        #expect(unit.lastValue("Description", in: "Service") == nil)
    }

    @Test func removeDropsTheKeyFromEverySameNamedSection() {
        var copy = unit
        copy.remove("ExecStartPre", in: "Service")
        #expect(copy.entries("ExecStartPre", in: "Service") == [])
        #expect(copy.sections.count == 3)
        #expect(copy.lastValue("Environment", in: "Service") == "A=1")
    }

    @Test func appendAddsToTheLastSameNamedSectionOrCreatesOneAtTheEnd() {
        var copy = unit
        copy.append("User", "nobody", in: "Service")
        #expect(copy.sections[2].entries.last == .init(key: "User", value: "nobody"))
        copy.append("WantedBy", "multi-user.target", in: "Install")
        #expect(copy.sections.map(\.name) == ["Service", "Unit", "Service", "Install"])
    }

    @Test func setReplacesEveryAssignment() {
        var copy = unit
        copy.set("ExecStartPre", "/bin/only", in: "Service")
        #expect(copy.entries("ExecStartPre", in: "Service") == ["/bin/only"])
        var empty = UnitFile()
        empty.set("Type", "oneshot", in: "Service")
        #expect(empty.serialized() == "[Service]\nType=oneshot\n")
    }
}
