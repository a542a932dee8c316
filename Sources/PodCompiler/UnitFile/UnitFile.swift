/// A systemd unit file (or drop-in) as systemd.syntax(7) defines it: named sections holding ordered
/// `Key=value` assignments.
///
/// Values are kept raw, exactly as systemd hands them to a setting's parser (whitespace around them
/// stripped, continuation lines joined), without unquoting: quoting rules differ per setting, so
/// unquoting belongs to the helpers that know the setting (`ExecCommand`, `SystemdEscaping`).
/// Comments are not part of the model. Sections keep their order and may repeat, as in the file.
public struct UnitFile: Sendable, Equatable, Codable {
    /// One `Key=value` assignment.
    public struct Entry: Sendable, Equatable, Codable {
        public var key: String
        public var value: String

        public init(key: String, value: String) {
            self.key = key
            self.value = value
        }
    }

    /// One `[Name]` section with its assignments in file order.
    public struct Section: Sendable, Equatable, Codable {
        public var name: String
        public var entries: [Entry]

        public init(name: String, entries: [Entry] = []) {
            self.name = name
            self.entries = entries
        }
    }

    /// The sections in file order.
    public var sections: [Section]

    /// A unit file with these sections.
    public init(sections: [Section] = []) {
        self.sections = sections
    }

    /// Every value assigned to `key` in every section called `section`, in order, empty ones included.
    public func entries(_ key: String, in section: String) -> [String] {
        sections.lazy.filter { $0.name == section }
            .flatMap { $0.entries.lazy.filter { $0.key == key }.map(\.value) }
    }

    /// The values of a list setting as systemd sees them: an empty assignment drops everything assigned
    /// before it, and is not itself a value.
    public func effectiveValues(_ key: String, in section: String) -> [String] {
        var values: [String] = []
        for value in entries(key, in: section) {
            if value.isEmpty {
                values.removeAll()
            } else {
                values.append(value)
            }
        }
        return values
    }

    /// The last value assigned to `key` (possibly empty), or nil when it is never assigned.
    public func lastValue(_ key: String, in section: String) -> String? {
        entries(key, in: section).last
    }

    /// Removes every assignment of `key` from every section called `section`; the sections stay.
    public mutating func remove(_ key: String, in section: String) {
        for index in sections.indices where sections[index].name == section {
            sections[index].entries.removeAll { $0.key == key }
        }
    }

    /// Adds `key=value` at the end of the last section called `section`, creating that section at the
    /// end of the file when there is none.
    public mutating func append(_ key: String, _ value: String, in section: String) {
        let entry = Entry(key: key, value: value)
        if let index = sections.lastIndex(where: { $0.name == section }) {
            sections[index].entries.append(entry)
        } else {
            sections.append(Section(name: section, entries: [entry]))
        }
    }

    /// Replaces every assignment of `key` in `section` with the single assignment `key=value`.
    public mutating func set(_ key: String, _ value: String, in section: String) {
        remove(key, in: section)
        append(key, value, in: section)
    }

    /// The unit as systemd reads it with its drop-ins: the drop-ins' assignments are appended, in the
    /// order given (use `orderDropIns` for systemd's order), to the last section of the same name, and
    /// sections that the base lacks are added at the end. An empty assignment in a drop-in therefore
    /// resets a list setting of the base, as it does in systemd.
    public static func merged(base: UnitFile, dropIns: [UnitFile]) -> UnitFile {
        var result = base
        for dropIn in dropIns {
            for section in dropIn.sections {
                if let index = result.sections.lastIndex(where: { $0.name == section.name }) {
                    result.sections[index].entries.append(contentsOf: section.entries)
                } else {
                    result.sections.append(section)
                }
            }
        }
        return result
    }
}
