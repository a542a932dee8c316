import Foundation
import PodCompiler

/// One folder under `Tests/Golden/cases/`: input manifests, optional package units and node facts,
/// and the files the compiler is expected to produce (see docs/golden-tests.md).
struct GoldenCase: Sendable {
    let name: String

    /// `Tests/Golden/cases`, found from this source file so the tests run from any directory.
    static let casesDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("cases", isDirectory: true)

    /// Every case folder, sorted by name.
    static func allNames() -> [String] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: casesDirectory.path)) ?? []
        return entries.filter { isDirectory(casesDirectory.appendingPathComponent($0)) }.sorted()
    }

    /// Node facts every case starts from; `node.json` overrides them field by field. Service-account
    /// tokens are off (standalone mode) so that a case shows only what it is about; the cases about
    /// tokens turn them on.
    static let defaultNode = NodeFacts(
        nodeName: "node-1", internalIP: "10.0.0.10", externalIP: "203.0.113.10", systemdVersion: 252,
        stateDirectory: "/var/lib/systemk", serviceAccountTokens: false)

    /// Where the package unit files of a case pretend to have been read from (the node's unit directory).
    static let packageUnitDirectory = "/lib/systemd/system"

    var directory: URL { Self.casesDirectory.appendingPathComponent(name, isDirectory: true) }
    var expectedDirectory: URL { directory.appendingPathComponent("expected", isDirectory: true) }

    /// The manifests: every `*.yaml`, `*.yml` and `*.json` at the top of the folder but `node.json`,
    /// in name order.
    func manifestFiles() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { file in
            file != "node.json" && [".yaml", ".yml", ".json"].contains(where: { file.hasSuffix($0) })
                && !Self.isDirectory(directory.appendingPathComponent(file))
        }.sorted()
    }

    /// `units/<IMAGE>.service` is the package unit of image (or package) IMAGE, by file name.
    func packageUnitFiles() throws -> [(image: String, path: String, text: String)] {
        let unitsDirectory = directory.appendingPathComponent("units", isDirectory: true)
        guard Self.isDirectory(unitsDirectory) else { return [] }
        return try FileManager.default.contentsOfDirectory(atPath: unitsDirectory.path).sorted()
            .filter { $0.hasSuffix(".service") }
            .map { file in
                let text = try String(contentsOf: unitsDirectory.appendingPathComponent(file), encoding: .utf8)
                return (String(file.dropLast(".service".count)), Self.packageUnitDirectory + "/" + file, text)
            }
    }

    func packageUnits() throws -> [String: PackageUnit] {
        var out: [String: PackageUnit] = [:]
        for (image, path, text) in try packageUnitFiles() {
            out[image] = PackageUnit(path: path, unit: try UnitFile.parse(text, fileName: path))
        }
        return out
    }

    /// The default node facts with the fields of `node.json` (when present) laid over them.
    func node() throws -> NodeFacts {
        let file = directory.appendingPathComponent("node.json")
        guard FileManager.default.fileExists(atPath: file.path) else { return Self.defaultNode }
        let defaults = try JSONSerialization.jsonObject(with: JSONEncoder().encode(Self.defaultNode))
        let overrides = try JSONSerialization.jsonObject(with: Data(contentsOf: file))
        guard var merged = defaults as? [String: Any], let overrides = overrides as? [String: Any] else {
            throw GoldenError("\(name)/node.json must hold a JSON object")
        }
        merged.merge(overrides) { $1 }
        return try JSONDecoder().decode(NodeFacts.self, from: JSONSerialization.data(withJSONObject: merged))
    }

    /// What the compiler makes of the case: the expected files, by name, as they should be on disk.
    func render() throws -> Rendered {
        var set = ManifestSet()
        var inputErrors: [CompileError] = []
        let manifests = try manifestFiles()
        guard !manifests.isEmpty else { throw GoldenError("case \(name) has no *.yaml or *.json input") }
        for file in manifests {
            let bytes = try [UInt8](Data(contentsOf: directory.appendingPathComponent(file)))
            do {
                try set.add(bytes, file: file)
            } catch {
                inputErrors.append(error)
            }
        }
        var rendered = Rendered()
        if !set.skipped.isEmpty {
            rendered.files["skipped.txt"] = set.skipped.joined(separator: "\n") + "\n"
        }
        guard inputErrors.isEmpty else {
            rendered.files["error.txt"] = inputErrors.map(\.description).joined(separator: "\n") + "\n"
            return rendered
        }
        switch set.compile(packageUnits: try packageUnits(), node: try node()) {
        case let .failure(errors):
            rendered.files["error.txt"] = errors.errors.map(\.description).joined(separator: "\n") + "\n"
        case let .success(plan):
            rendered.plan = plan
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            rendered.files["plan.json"] = String(decoding: try encoder.encode(plan), as: UTF8.self) + "\n"
            for pod in plan.pods {
                for unit in pod.units {
                    guard rendered.files[unit.name] == nil else {
                        throw GoldenError("case \(name): two units are named \(unit.name)")
                    }
                    rendered.files[unit.name] = unit.contents
                }
            }
        }
        return rendered
    }

    struct Rendered {
        /// File name under `expected/` → contents.
        var files: [String: String] = [:]
        /// The plan, when the case compiles.
        var plan: Plan?
    }

    /// The files now under `expected/`, by name.
    func expectedFiles() throws -> [String: String] {
        guard Self.isDirectory(expectedDirectory) else { return [:] }
        var out: [String: String] = [:]
        for file in try FileManager.default.contentsOfDirectory(atPath: expectedDirectory.path) {
            let url = expectedDirectory.appendingPathComponent(file)
            guard !Self.isDirectory(url) else { throw GoldenError("\(name)/expected/\(file) is a directory") }
            out[file] = String(decoding: try Data(contentsOf: url), as: UTF8.self)
        }
        return out
    }

    /// Makes `expected/` hold exactly `files`: writes what changed, removes what is no longer produced.
    func overwriteExpected(with files: [String: String]) throws {
        let fm = FileManager.default
        try fm.createDirectory(at: expectedDirectory, withIntermediateDirectories: true)
        let current = try expectedFiles()
        for stale in current.keys where files[stale] == nil {
            try fm.removeItem(at: expectedDirectory.appendingPathComponent(stale))
        }
        for (file, contents) in files where current[file] != contents {
            try Data(contents.utf8).write(to: expectedDirectory.appendingPathComponent(file), options: .atomic)
        }
    }

    static func isDirectory(_ url: URL) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) && isDirectory.boolValue
    }
}

struct GoldenError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
