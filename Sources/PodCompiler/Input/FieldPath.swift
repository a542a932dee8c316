/// A path to a field of a Kubernetes object: fields dotted and list indexes in brackets, as
/// `kubectl explain` and the API server print them (`spec.containers[0].env[2].valueFrom`), and map
/// keys always in quoted brackets, as the downward API writes them, so that a key is never mistaken
/// for a field: `resources.limits['cpu']`, `metadata.labels['app.kubernetes.io/name']`.
public struct FieldPath: Sendable, Hashable, CustomStringConvertible {
    public enum Component: Sendable, Hashable {
        case field(String)
        case index(Int)
        case key(String)
    }
    public private(set) var components: [Component]

    public init(_ components: [Component] = []) {
        self.components = components
    }

    public static let root = FieldPath()

    public func field(_ name: String) -> FieldPath {
        FieldPath(components + [.field(name)])
    }

    public func index(_ i: Int) -> FieldPath {
        FieldPath(components + [.index(i)])
    }

    public func key(_ k: String) -> FieldPath {
        FieldPath(components + [.key(k)])
    }

    /// `a.b` style: a dotted field path, used by `fieldRef.fieldPath`.
    public static func dotted(_ text: String) -> FieldPath {
        FieldPath(text.split(separator: ".").map { .field(String($0)) })
    }

    public var description: String {
        var out = ""
        for c in components {
            switch c {
            case let .field(name):
                if !out.isEmpty { out += "." }
                out += name
            case let .index(i):
                out += "[\(i)]"
            case let .key(k):
                out += "['\(k)']"
            }
        }
        return out
    }
}
