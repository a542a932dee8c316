/// Shared state of one pod's compilation: the input, and how to turn a field path into an error that
/// names the file, the object, the field, and the line and column.
struct LoweringContext {
    let input: CompileInput
    var pod: Pod { input.pod }
    var node: NodeFacts { input.node }
    let podDirectory: String
    let uid: String

    init(_ input: CompileInput) {
        self.input = input
        let uid = input.pod.metadata.uid ?? DeterministicUID.uid(namespace: input.pod.namespace, name: input.pod.name)
        self.uid = uid
        self.podDirectory = Paths.join(input.node.stateDirectory, "pods", uid)
    }

    /// An error at `path` (relative to the pod), located in the source document. The source node is
    /// the pod (or the workload's pod template) itself, so `path` is looked up in it as it is; the
    /// printed path is the full one from the document's root.
    func error(_ code: CompileError.Code, _ path: FieldPath, _ message: String) -> CompileError {
        let full = FieldPath(input.source.pathPrefix.components + path.components)
        var position: SourcePosition? = nil
        if let root = input.source.node {
            position = Self.position(of: path, in: root)
        }
        return CompileError(
            code, path: full.description, message, file: input.source.file,
            object: input.source.object ?? "Pod \(pod.namespace)/\(pod.name)", position: position)
    }

    static func position(of path: FieldPath, in root: ManifestNode) -> SourcePosition? {
        var node = root
        var best = root.position
        for c in path.components {
            let next: ManifestNode?
            switch (c, node.kind) {
            case let (.field(name), .mapping), let (.key(name), .mapping):
                next = node[name]
            case let (.index(i), .sequence(items)):
                next = items.indices.contains(i) ? items[i] : nil
            default:
                next = nil
            }
            guard let next else { break }
            node = next
            if let p = next.position { best = p }
        }
        return best
    }

    static func containerPath(_ index: Int, isInit: Bool) -> FieldPath {
        FieldPath.root.field("spec").field(isInit ? "initContainers" : "containers").index(index)
    }
}

/// Host path helpers. All paths the compiler builds go through `join`, and every component that
/// comes from input is checked by `isSafeComponent` first.
enum Paths {
    static func join(_ parts: String...) -> String {
        join(parts)
    }

    static func join(_ parts: [String]) -> String {
        var out = ""
        for p in parts where !p.isEmpty {
            if out.isEmpty {
                out = p
            } else if out.hasSuffix("/") {
                out += p.hasPrefix("/") ? String(p.dropFirst()) : p
            } else {
                out += p.hasPrefix("/") ? p : "/" + p
            }
        }
        return out
    }

    /// A relative path inside a volume: not empty, not absolute, no `..` component, no empty
    /// component, no NUL. (`subPath`, `items[].path`.)
    static func isSafeRelative(_ p: String) -> Bool {
        guard !p.isEmpty, !p.hasPrefix("/"), !p.contains("\0") else { return false }
        for c in p.split(separator: "/", omittingEmptySubsequences: false) where c == ".." {
            return false
        }
        return true
    }

    /// `/a/b/../c` or `a` are refused; `/a/b` is accepted.
    static func isCleanAbsolute(_ p: String) -> Bool {
        guard p.hasPrefix("/"), !p.contains("\0") else { return false }
        return !p.split(separator: "/").contains(where: { $0 == ".." || $0 == "." })
    }

    /// Normalizes `a//b/./c/` to `a/b/c`.
    static func normalizeRelative(_ p: String) -> String {
        p.split(separator: "/").filter { $0 != "." }.joined(separator: "/")
    }

    static func normalizeAbsolute(_ p: String) -> String {
        if isNormalAbsolute(p) { return p }
        let n = p.split(separator: "/").filter { $0 != "." }.joined(separator: "/")
        return "/" + n
    }

    /// True when `normalizeAbsolute` would return `p` itself: `/`, or `/a/b` with no empty or `.`
    /// component and no trailing `/`.
    static func isNormalAbsolute(_ p: String) -> Bool {
        let slash = UInt8(ascii: "/"), dot = UInt8(ascii: ".")
        var previous: UInt8 = 0
        var componentLength = 0
        var componentIsDot = false
        for (i, b) in p.utf8.enumerated() {
            if i == 0 {
                guard b == slash else { return false }
            } else if b == slash {
                if previous == slash || (componentLength == 1 && componentIsDot) { return false }
                componentLength = 0
            } else {
                componentLength += 1
                componentIsDot = componentLength == 1 && b == dot
            }
            previous = b
        }
        if p.utf8.count == 1 { return true }
        return previous != slash && !(componentLength == 1 && componentIsDot)
    }

    /// True when `path` is `base` or lies under it.
    static func isWithin(_ path: String, _ base: String) -> Bool {
        path == base || path.hasPrefix(base.hasSuffix("/") ? base : base + "/")
    }
}

func octal(_ mode: Int32) -> String {
    let s = String(mode, radix: 8)
    return String(repeating: "0", count: max(0, 4 - s.count)) + s
}
