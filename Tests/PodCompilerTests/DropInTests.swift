import PodCompiler
import Testing

@Suite struct DropInTests {
    func names(_ files: [(directoryPriority: Int, name: String)]) -> [String] {
        UnitFile.orderDropIns(files).map { "\($0.directoryPriority):\($0.name)" }
    }

    @Test func dropInsAreSortedByNameAcrossDirectories() {
        #expect(names([(3, "20-b.conf"), (1, "10-a.conf"), (2, "30-c.conf")]) == ["1:10-a.conf", "3:20-b.conf", "2:30-c.conf"])
    }

    @Test func theSameNameInAHigherPriorityDirectoryMasksTheLowerOne() {
        #expect(names([(1, "override.conf"), (3, "override.conf"), (2, "override.conf")]) == ["3:override.conf"])
        #expect(names([(3, "a.conf"), (1, "a.conf"), (1, "b.conf")]) == ["3:a.conf", "1:b.conf"])
    }

    @Test func betweenEqualPrioritiesTheFirstGivenWins() {
        let ordered = UnitFile.orderDropIns([(2, "x.conf"), (2, "x.conf")])
        #expect(ordered.count == 1)
    }

    @Test func onlyVisibleConfFilesCount() {
        #expect(names([(1, "a.conf"), (1, "b.conf~"), (1, "c.txt"), (1, ".hidden.conf"), (1, "conf"), (1, "d.conf.dpkg-old")]) == ["1:a.conf"])
    }

    @Test func orderIsByteOrderNotNumericOrLocale() {
        #expect(UnitFile.orderDropIns([(1, "b.conf"), (1, "9-x.conf"), (1, "10-x.conf"), (1, "B.conf"), (1, "é.conf"), (1, "_.conf")]).map(\.name)
            == ["10-x.conf", "9-x.conf", "B.conf", "_.conf", "b.conf", "é.conf"])
    }

    @Test func mergedAppendsDropInEntriesToTheMatchingSection() throws {
        let base = try UnitFile.parse("[Unit]\nDescription=base\n[Service]\nExecStart=/bin/base\nEnvironment=A=1\n")
        let first = try UnitFile.parse("[Service]\nExecStart=\nExecStart=/bin/override\n")
        let second = try UnitFile.parse("[Service]\nEnvironment=B=2\n[Install]\nWantedBy=multi-user.target\n")
        let merged = UnitFile.merged(base: base, dropIns: [first, second])
        #expect(merged.sections.map(\.name) == ["Unit", "Service", "Install"])
        #expect(merged.effectiveValues("ExecStart", in: "Service") == ["/bin/override"])
        #expect(merged.entries("Environment", in: "Service") == ["A=1", "B=2"])
        #expect(merged.lastValue("WantedBy", in: "Install") == "multi-user.target")
    }

    @Test func laterDropInsWinForSingleValuedSettings() throws {
        let base = try UnitFile.parse("[Service]\nRestart=no\n")
        let dropIns = try ["[Service]\nRestart=always\n", "[Service]\nRestart=on-failure\n"].map { try UnitFile.parse($0) }
        #expect(UnitFile.merged(base: base, dropIns: dropIns).lastValue("Restart", in: "Service") == "on-failure")
    }

    @Test func anEmptyDropInChangesNothing() throws {
        let base = try UnitFile.parse("[Service]\nRestart=no\n")
        #expect(UnitFile.merged(base: base, dropIns: [UnitFile()]) == base)
    }
}
