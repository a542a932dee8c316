import Foundation
import PodCompiler
import Testing

/// Golden tests: each folder under `cases/` holds input manifests and, under `expected/`, every file
/// the compiler must produce for them. Layout, adding a case and reviewing a change:
/// docs/golden-tests.md.
///
/// `UPDATE_GOLDEN=1 swift test --filter GoldenTests` rewrites `expected/` from the compiler's output
/// (and removes files it no longer produces); read the resulting `git diff` before committing it.
@Suite struct GoldenTests {
    static let updating = ProcessInfo.processInfo.environment["UPDATE_GOLDEN"] == "1"

    /// The compiler's output for the case equals `expected/`, file for file and byte for byte.
    @Test(arguments: GoldenCase.allNames())
    func output(_ caseName: String) throws {
        let golden = GoldenCase(name: caseName)
        let actual = try golden.render().files
        if Self.updating {
            try golden.overwriteExpected(with: actual)
            return
        }
        let expected = try golden.expectedFiles()
        let scratch = try Subprocess.scratchDirectory("diff")
        defer { try? FileManager.default.removeItem(at: scratch) }
        for file in Set(expected.keys).union(actual.keys).sorted() where expected[file] != actual[file] {
            let diff = try GoldenDiff.unified(file: file, expected: expected[file], actual: actual[file], scratch: scratch)
            let what =
                expected[file] == nil ? "is produced but not expected"
                : actual[file] == nil ? "is expected but no longer produced" : "differs"
            Issue.record(
                "golden case \(caseName): expected/\(file) \(what) (UPDATE_GOLDEN=1 rewrites it):\n\(diff)")
        }
    }

    /// Every unit the case compiles to passes `systemd-analyze verify` without a word on stderr,
    /// pod by pod.
    @Test(arguments: GoldenCase.allNames())
    func unitsPassSystemdVerify(_ caseName: String) throws {
        let golden = GoldenCase(name: caseName)
        guard let plan = try golden.render().plan else { return }  // an error case: no units
        let packageExecutables = Set(try golden.packageUnitFiles().flatMap { UnitVerifier.commands(in: $0.text) })
        let verifier = UnitVerifier(packageExecutables: packageExecutables, nodeVersion: try golden.node().systemdVersion)
        for pod in plan.pods {
            let scratch = try Subprocess.scratchDirectory("verify")
            defer { try? FileManager.default.removeItem(at: scratch) }
            let units = Dictionary(uniqueKeysWithValues: pod.units.map { ($0.name, $0.contents) })
            let complaints = try verifier.verify(units: units, scratch: scratch)
            if !complaints.isEmpty {
                let report = complaints.joined(separator: "\n")
                Issue.record("golden case \(caseName): systemd-analyze verify of pod \(pod.namespace)/\(pod.name):\n\(report)")
            }
        }
    }

    /// The cases are there: an empty or misnamed folder would otherwise pass without testing anything.
    @Test func everyCaseHasInputsAndExpectations() throws {
        let names = GoldenCase.allNames()
        #expect(names.count >= 45, "only \(names.count) golden cases found in \(GoldenCase.casesDirectory.path)")
        for name in names {
            let golden = GoldenCase(name: name)
            #expect(try !golden.manifestFiles().isEmpty, "golden case \(name) has no *.yaml or *.json input")
            if !Self.updating {
                let expected = try golden.expectedFiles()
                #expect(
                    expected["plan.json"] != nil || expected["error.txt"] != nil,
                    "golden case \(name) has neither expected/plan.json nor expected/error.txt; run with UPDATE_GOLDEN=1")
            }
        }
    }
}
