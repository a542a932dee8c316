import Foundation
import Yams

/// A position in an input file (1-based line and column).
public struct SourcePosition: Sendable, Hashable, Codable {
    public var line: Int
    public var column: Int
    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }
}

/// One node of a parsed manifest document: a YAML/JSON value with the place it came from.
///
/// Yams gives us the raw tree; we copy it into this small value type so that decoding can report
/// `line:column` for every field, and so that alias expansion is bounded (see `ManifestReader`).
public struct ManifestNode: Sendable, Equatable {
    public enum Scalar: Sendable, Equatable {
        case string(String)
        case int(String)
        case float(String)
        case bool(Bool)
        case null
    }
    public enum Kind: Sendable, Equatable {
        case scalar(Scalar)
        case sequence([ManifestNode])
        case mapping([(key: String, value: ManifestNode)])

        public static func == (lhs: Kind, rhs: Kind) -> Bool {
            switch (lhs, rhs) {
            case let (.scalar(a), .scalar(b)): return a == b
            case let (.sequence(a), .sequence(b)): return a == b
            case let (.mapping(a), .mapping(b)):
                return a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
            default: return false
            }
        }
    }
    public var kind: Kind
    public var position: SourcePosition?

    public init(_ kind: Kind, position: SourcePosition? = nil) {
        self.kind = kind
        self.position = position
    }

    /// The value under `key` when this node is a mapping.
    public subscript(key: String) -> ManifestNode? {
        guard case let .mapping(pairs) = kind else { return nil }
        return pairs.last(where: { $0.key == key })?.value
    }

    /// The text of a scalar that is a string (also accepts numbers and booleans as written).
    public var scalarText: String? {
        guard case let .scalar(s) = kind else { return nil }
        switch s {
        case let .string(v), let .int(v), let .float(v): return v
        case let .bool(b): return b ? "true" : "false"
        case .null: return nil
        }
    }

    public var isNull: Bool {
        if case .scalar(.null) = kind { return true }
        return false
    }

    /// A human name for the node's type, for error messages.
    public var typeDescription: String {
        switch kind {
        case .scalar(.string): return "a string"
        case .scalar(.int): return "an integer"
        case .scalar(.float): return "a number"
        case .scalar(.bool): return "a boolean"
        case .scalar(.null): return "null"
        case .sequence: return "a list"
        case .mapping: return "a map"
        }
    }
}
