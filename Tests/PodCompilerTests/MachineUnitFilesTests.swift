import Foundation
import PodCompiler
import Testing

/// Every unit file and drop-in installed on this machine parses, and survives serialization.
@Suite struct MachineUnitFilesTests {
    static let roots = ["/lib/systemd/system", "/usr/lib/systemd/system", "/etc/systemd/system", "/lib/systemd/user"]
    static let suffixes = [
        ".service", ".socket", ".timer", ".target", ".path", ".mount", ".slice", ".scope", ".automount", ".swap",
        ".device",
    ]

    /// The real files (symlinks resolved, each once), skipping masks (symlinks to /dev/null).
    static func unitFiles() -> [String] {
        var found: Set<String> = []
        let manager = FileManager.default
        for root in roots {
            guard let enumerator = manager.enumerator(atPath: root) else { continue }
            while let relative = enumerator.nextObject() as? String {
                let path = root + "/" + relative
                let name = (relative as NSString).lastPathComponent
                let directory = ((relative as NSString).deletingLastPathComponent as NSString).lastPathComponent
                let isUnit = suffixes.contains { name.hasSuffix($0) }
                let isDropIn = name.hasSuffix(".conf") && directory.hasSuffix(".d")
                guard isUnit || isDropIn else { continue }
                let resolved = (path as NSString).resolvingSymlinksInPath
                var isDirectory: ObjCBool = false
                guard resolved != "/dev/null", manager.fileExists(atPath: resolved, isDirectory: &isDirectory),
                    !isDirectory.boolValue
                else { continue }
                found.insert(resolved)
            }
        }
        return found.sorted()
    }

    @Test func everyUnitFileOnThisMachineParsesAndRoundTrips() throws {
        let files = Self.unitFiles()
        #expect(files.count >= 150, "found only \(files.count) unit files; the test would prove little")
        var parsedSections = 0
        for path in files {
            let text = try String(contentsOfFile: path, encoding: .utf8)
            let unit: UnitFile
            do {
                unit = try UnitFile.parse(text, fileName: path)
            } catch {
                Issue.record("\(error)")
                continue
            }
            parsedSections += unit.sections.count
            do {
                try unit.validateRepresentable()
                #expect(try UnitFile.parse(unit.serialized(), fileName: path) == unit, "\(path)")
            } catch {
                Issue.record("\(path): \(error)")
            }
        }
        #expect(parsedSections >= files.count, "most files have at least one section")
    }

    @Test func everyCommandLineOnThisMachineParsesAndRoundTrips() throws {
        let keys: Set<String> = [
            "ExecStart", "ExecStartPre", "ExecStartPost", "ExecStop", "ExecStopPost", "ExecReload", "ExecCondition",
        ]
        var commands = 0
        for path in Self.unitFiles() {
            guard let unit = try? UnitFile.parse(String(contentsOfFile: path, encoding: .utf8), fileName: path) else { continue }
            for section in unit.sections where section.name == "Service" {
                for entry in section.entries where keys.contains(entry.key) && !entry.value.isEmpty {
                    let parsed = try ExecCommand.parseList(entry.value, fileName: path)
                    commands += parsed.count
                    #expect(try ExecCommand.parseList(ExecCommand.serialized(parsed)) == parsed, "\(path): \(entry.value)")
                }
            }
        }
        #expect(commands >= 100, "found only \(commands) commands")
    }
}
