import Foundation
import PodCompiler

/// Standalone mode's desired state: every Pod (and pod template) in the `*.yaml`, `*.yml` and `*.json`
/// files of one directory, with the ConfigMaps and Secrets found there.
///
/// A file that stops being valid keeps its pods as they were (its last good content is used), so a
/// half-saved edit never deletes running pods; the error is reported.
public struct ManifestDirectory: Sendable {
    public let path: String
    private var lastGood: [String: [UInt8]] = [:]

    public init(path: String) {
        self.path = path
    }

    /// A cheap fingerprint of the directory (names, sizes, modification times) to notice changes.
    public func fingerprint() -> [String: String] {
        var out: [String: String] = [:]
        let fm = FileManager.default
        for name in (try? fm.contentsOfDirectory(atPath: path)) ?? [] where Self.isManifest(name) {
            let attrs = try? fm.attributesOfItem(atPath: path + "/" + name)
            let size = (attrs?[.size] as? NSNumber)?.intValue ?? -1
            let mtime = (attrs?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
            out[name] = "\(size)/\(mtime)"
        }
        return out
    }

    static func isManifest(_ name: String) -> Bool {
        !name.hasPrefix(".") && (name.hasSuffix(".yaml") || name.hasSuffix(".yml") || name.hasSuffix(".json"))
    }

    /// Reads every manifest file. Returns the set and, per file, what was wrong with it.
    public mutating func load() -> (set: ManifestSet, errors: [String]) {
        var set = ManifestSet()
        var errors: [String] = []
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).filter(Self.isManifest).sorted()
        var present: Set<String> = []
        for name in names {
            let file = path + "/" + name
            present.insert(name)
            guard let data = FileManager.default.contents(atPath: file) else {
                errors.append("\(file): cannot be read")
                continue
            }
            var candidate = set
            do {
                try candidate.add(Array(data), file: file)
                set = candidate
                lastGood[name] = Array(data)
            } catch {
                errors.append("\(error.description) (keeping this file's last valid content)")
                if let previous = lastGood[name] {
                    try? set.add(previous, file: file)
                }
            }
        }
        for name in lastGood.keys where !present.contains(name) { lastGood[name] = nil }
        return (set, errors)
    }
}
