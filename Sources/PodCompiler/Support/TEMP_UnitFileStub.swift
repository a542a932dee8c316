// TEMPORARY: replaced by UnitFile/ from the unit-file work. Delete when that lands.
public struct UnitFile: Sendable, Equatable, Codable {
    public struct Entry: Sendable, Equatable, Codable {
        public var key: String
        public var value: String
        public init(key: String, value: String) { self.key = key; self.value = value }
    }
    public struct Section: Sendable, Equatable, Codable {
        public var name: String
        public var entries: [Entry]
        public init(name: String, entries: [Entry]) { self.name = name; self.entries = entries }
    }
    public var sections: [Section]
    public init(sections: [Section] = []) { self.sections = sections }
    public func serialized() -> String {
        sections.map { s in "[\(s.name)]\n" + s.entries.map { "\($0.key)=\($0.value)\n" }.joined() }.joined(separator: "\n")
    }
    public static func parse(_ text: String, fileName: String = "<unit>") throws -> UnitFile {
        var out = UnitFile()
        for line in text.split(separator: "\n") {
            let l = line.trimmingCharacters(in: .whitespaces)
            if l.hasPrefix("[") { out.sections.append(Section(name: String(l.dropFirst().dropLast()), entries: [])); continue }
            if l.isEmpty || l.hasPrefix("#") { continue }
            let parts = l.split(separator: "=", maxSplits: 1)
            out.sections[out.sections.count - 1].entries.append(Entry(key: String(parts[0]), value: parts.count > 1 ? String(parts[1]) : ""))
        }
        return out
    }
}
