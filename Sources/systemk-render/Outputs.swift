import Foundation
import PodCompiler

/// The three ways of showing a plan: units on stdout, JSON, or a directory; plus `--diff`.
enum Outputs {
    static func units(_ plan: Plan, explain: Bool) -> String {
        var out = ""
        for pod in plan.pods {
            for unit in pod.units {
                out += "# \(unit.name)\n"
                out += explain ? explained(unit) : unit.contents
                out += "\n"
            }
        }
        return out
    }

    /// The unit with, under each directive, a comment naming where it came from.
    static func explained(_ unit: PlannedUnit) -> String {
        var out = ""
        var section = ""
        for d in unit.explain {
            if d.section != section {
                if !section.isEmpty { out += "\n" }
                out += "[\(d.section)]\n"
                section = d.section
            }
            out += "\(d.key)=\(d.value)\n"
            out += "#   ← \(d.origin)\n"
        }
        return out
    }

    static func json(_ plan: Plan) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(plan)
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    /// Writes DIR/<unit name> for every unit, DIR/plan.json, and each planned file under DIR/files/
    /// at its host path (runtime-provided contents such as tokens are left out). Everything is written
    /// to a temporary directory first and moved into place, so a failure leaves DIR untouched.
    static func write(_ plan: Plan, to dir: String) throws {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        if fm.fileExists(atPath: dir, isDirectory: &isDir), !isDir.boolValue {
            throw Failure.io("\(dir) exists and is not a directory")
        }
        let parent = (dir as NSString).deletingLastPathComponent
        let staging = (parent.isEmpty ? "." : parent) + "/.systemk-render-\(ProcessInfo.processInfo.processIdentifier)"
        try? fm.removeItem(atPath: staging)
        do {
            try fm.createDirectory(atPath: staging, withIntermediateDirectories: true)
            var names: [String] = []
            for pod in plan.pods {
                for unit in pod.units {
                    try Data(unit.contents.utf8).write(to: URL(fileURLWithPath: staging + "/" + unit.name))
                    names.append(unit.name)
                }
                for file in pod.files {
                    guard case let .bytes(bytes) = file.content else { continue }
                    let target = staging + "/files" + file.path
                    try fm.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                    guard fm.createFile(atPath: target, contents: Data(bytes), attributes: [.posixPermissions: Int(file.mode, radix: 8) ?? 0o600]) else {
                        throw Failure.io("cannot write \(target)")
                    }
                }
            }
            try Data(try json(plan).utf8).write(to: URL(fileURLWithPath: staging + "/plan.json"))
            try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
            // Replace what an earlier render left: its units, plan.json and files/.
            for entry in (try? fm.contentsOfDirectory(atPath: dir)) ?? [] where entry.hasPrefix("systemk.") && entry.hasSuffix(".service") {
                try fm.removeItem(atPath: dir + "/" + entry)
            }
            for entry in ["plan.json", "files"] where fm.fileExists(atPath: dir + "/" + entry) {
                try fm.removeItem(atPath: dir + "/" + entry)
            }
            for entry in try fm.contentsOfDirectory(atPath: staging) {
                try fm.moveItem(atPath: staging + "/" + entry, toPath: dir + "/" + entry)
            }
            try fm.removeItem(atPath: staging)
        } catch let f as Failure {
            try? fm.removeItem(atPath: staging)
            throw f
        } catch {
            try? fm.removeItem(atPath: staging)
            throw Failure.io("cannot write \(dir): \(error.localizedDescription)")
        }
    }

    /// A unified diff between the units in `dir` and the plan's units.
    static func diff(_ plan: Plan, against dir: String) throws -> String {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
            throw Failure.io("\(dir) is not a directory")
        }
        var rendered: [String: String] = [:]
        for pod in plan.pods { for unit in pod.units { rendered[unit.name] = unit.contents } }
        var previous: [String: String] = [:]
        for entry in try fm.contentsOfDirectory(atPath: dir) where entry.hasPrefix("systemk.") && entry.hasSuffix(".service") {
            let data = try Data(contentsOf: URL(fileURLWithPath: dir + "/" + entry))
            previous[entry] = String(decoding: data, as: UTF8.self)
        }
        var out = ""
        for name in Set(rendered.keys).union(previous.keys).sorted() {
            out += UnifiedDiff.diff(
                old: previous[name] ?? "", new: rendered[name] ?? "",
                oldName: previous[name] == nil ? "/dev/null" : "\(dir)/\(name)",
                newName: rendered[name] == nil ? "/dev/null" : "rendered/\(name)")
        }
        return out
    }
}
