/// Builds one unit file while remembering where each directive came from, for `--explain`.
struct UnitBuilder {
    struct Directive {
        var key: String
        var value: String
        var origin: String
    }
    private(set) var sections: [(name: String, directives: [Directive])] = []

    init() {}

    /// Starts from a package's unit file; every directive's origin is that file.
    init(base: UnitFile, origin: String) {
        for section in base.sections {
            for e in section.entries {
                append(e.key, e.value, in: section.name, origin: origin)
            }
            if section.entries.isEmpty, index(of: section.name) == nil {
                sections.append((section.name, []))
            }
        }
    }

    private func index(of section: String) -> Int? {
        sections.firstIndex { $0.name == section }
    }

    mutating func append(_ key: String, _ value: String, in section: String, origin: String) {
        if let i = index(of: section) {
            sections[i].directives.append(Directive(key: key, value: value, origin: origin))
        } else {
            sections.append((section, [Directive(key: key, value: value, origin: origin)]))
        }
    }

    /// Removes every assignment of `key` in `section`.
    mutating func remove(_ key: String, in section: String) {
        guard let i = index(of: section) else { return }
        sections[i].directives.removeAll { $0.key == key }
    }

    mutating func removeSection(_ section: String) {
        sections.removeAll { $0.name == section }
    }

    /// Replaces every assignment of `key` with one.
    mutating func set(_ key: String, _ value: String, in section: String, origin: String) {
        remove(key, in: section)
        append(key, value, in: section, origin: origin)
    }

    func values(_ key: String, in section: String) -> [String] {
        guard let i = index(of: section) else { return [] }
        return sections[i].directives.filter { $0.key == key }.map(\.value)
    }

    /// The list a list-valued key ends up with: an empty assignment resets it.
    func effectiveValues(_ key: String, in section: String) -> [String] {
        var out: [String] = []
        for v in values(key, in: section) {
            if v.isEmpty { out.removeAll() } else { out.append(v) }
        }
        return out
    }

    func originsOf(_ key: String, in section: String) -> [(String, String)] {
        guard let i = index(of: section) else { return [] }
        return sections[i].directives.filter { $0.key == key }.map { ($0.value, $0.origin) }
    }

    func lastValue(_ key: String, in section: String) -> String? {
        values(key, in: section).last
    }

    /// Puts sections in systemd's usual order: [Unit], [Service], then the rest, [X-Kubernetes] last.
    mutating func orderSections() {
        func rank(_ name: String) -> Int {
            switch name {
            case "Unit": return 0
            case "Service": return 1
            case "X-Kubernetes": return 3
            default: return 2
            }
        }
        sections = sections.enumerated().sorted { a, b in
            (rank(a.element.name), a.offset) < (rank(b.element.name), b.offset)
        }.map(\.element)
    }

    var unitFile: UnitFile {
        UnitFile(
            sections: sections.map { s in
                UnitFile.Section(name: s.name, entries: s.directives.map { UnitFile.Entry(key: $0.key, value: $0.value) })
            })
    }

    var origins: [DirectiveOrigin] {
        sections.flatMap { s in
            s.directives.map { DirectiveOrigin(section: s.name, key: $0.key, value: $0.value, origin: $0.origin) }
        }
    }
}
