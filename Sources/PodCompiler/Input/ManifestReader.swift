import Foundation
import Yams

/// Reads YAML (multi-document) or JSON text into `ManifestNode` documents, within fixed bounds so
/// that hostile input (alias bombs, huge or deeply nested documents, binary garbage) gives an error in
/// bounded time and memory instead of a crash or a hang.
public struct ManifestReader: Sendable {
    /// Limits on one input file.
    public struct Limits: Sendable {
        /// Largest input accepted, in bytes (the API server's own request limit is 3 MiB).
        public var maxBytes: Int = 16 << 20
        /// Most nodes after alias expansion, over all documents of one file.
        public var maxNodes: Int = 2_000_000
        /// Deepest nesting accepted (libyaml stops at 1000 itself).
        public var maxDepth: Int = 256
        public init() {}
    }

    public var limits: Limits

    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// Parses every document in `data`. Empty documents (only comments, or `---` alone) are skipped.
    public func read(_ data: [UInt8], file: String) throws(CompileError) -> [ManifestNode] {
        guard data.count <= limits.maxBytes else {
            throw CompileError(
                .invalidDocument,
                "input is \(data.count) bytes, more than the limit of \(limits.maxBytes) bytes", file: file)
        }
        if let nul = data.firstIndex(of: 0) {
            throw CompileError(
                .invalidDocument, "input holds a NUL byte at offset \(nul): not a YAML or JSON text", file: file)
        }
        guard let text = String(validating: data, as: UTF8.self) else {
            throw CompileError(.invalidDocument, "input is not valid UTF-8", file: file)
        }
        return try read(text, file: file)
    }

    /// Parses every document in `text`.
    public func read(_ text: String, file: String) throws(CompileError) -> [ManifestNode] {
        guard text.utf8.count <= limits.maxBytes else {
            throw CompileError(
                .invalidDocument,
                "input is \(text.utf8.count) bytes, more than the limit of \(limits.maxBytes) bytes", file: file)
        }
        if let refusal = YAMLPrescan.check(text, maxNodes: limits.maxNodes) {
            throw CompileError(.invalidDocument, refusal.message, file: file, position: refusal.position)
        }
        var budget = limits.maxNodes
        var documents: [ManifestNode] = []
        do {
            let parser = try Parser(yaml: text, resolver: .default, constructor: .default, encoding: .utf8)
            while let root = try parser.nextRoot() {
                let node = try convert(root, depth: 0, budget: &budget, file: file)
                if node.isNull { continue }
                documents.append(node)
            }
        } catch let error as CompileError {
            throw error
        } catch let error as YamlError {
            throw Self.describe(error, file: file)
        } catch {
            throw CompileError(.invalidDocument, "cannot parse: \(error)", file: file)
        }
        return documents
    }

    static func describe(_ error: YamlError, file: String) -> CompileError {
        switch error {
        case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _),
            let .composer(context, problem, mark, _):
            if problem.hasPrefix("Maximum nesting level reached") {
                // libyaml's own limit (1000), met before ours (`Limits.maxDepth`) can be checked.
                return CompileError(
                    .invalidDocument, "document is nested deeper than 1000 levels", file: file,
                    position: SourcePosition(line: mark.line, column: mark.column))
            }
            var message = "invalid YAML: \(problem)"
            if let context { message += " (\(context.text) at line \(context.mark.line))" }
            return CompileError(
                .invalidDocument, message, file: file,
                position: SourcePosition(line: mark.line, column: mark.column))
        case let .reader(problem, offset, _, _):
            let at = offset.map { " at byte \($0)" } ?? ""
            return CompileError(.invalidDocument, "invalid input\(at): \(problem)", file: file)
        case let .duplicatedKeysInMapping(duplicates, context):
            return CompileError(
                .invalidDocument, "duplicate keys in a map: \(duplicates.joined(separator: ", "))", file: file,
                position: SourcePosition(line: context.mark.line, column: context.mark.column))
        default:
            return CompileError(.invalidDocument, "invalid YAML: \(error)", file: file)
        }
    }

    private func convert(_ node: Node, depth: Int, budget: inout Int, file: String) throws -> ManifestNode {
        budget -= 1
        let position = node.mark.map { SourcePosition(line: $0.line, column: $0.column) }
        if budget < 0 {
            throw CompileError(.invalidDocument, YAMLPrescan.tooManyNodes(limits.maxNodes), file: file, position: position)
        }
        if depth > limits.maxDepth {
            throw CompileError(
                .invalidDocument, "document is nested deeper than \(limits.maxDepth) levels", file: file,
                position: position)
        }
        switch node {
        case let .scalar(scalar):
            return ManifestNode(.scalar(Self.scalar(scalar, tag: node.tag)), position: position)
        case let .sequence(seq):
            var items: [ManifestNode] = []
            items.reserveCapacity(seq.count)
            for item in seq {
                items.append(try convert(item, depth: depth + 1, budget: &budget, file: file))
            }
            return ManifestNode(.sequence(items), position: position)
        case let .mapping(mapping):
            var pairs: [(key: String, value: ManifestNode)] = []
            pairs.reserveCapacity(mapping.count)
            var seen = Set<String>()
            for (key, value) in mapping {
                guard case let .scalar(keyScalar) = key else {
                    throw CompileError(
                        .invalidDocument, "map keys must be strings, not \(Self.kindName(key))", file: file,
                        position: key.mark.map { SourcePosition(line: $0.line, column: $0.column) })
                }
                let keyText = keyScalar.string
                if keyText == "<<" {
                    throw CompileError(
                        .invalidDocument, "YAML merge keys (<<) are not supported; write the fields out",
                        file: file, position: key.mark.map { SourcePosition(line: $0.line, column: $0.column) })
                }
                if !seen.insert(keyText).inserted {
                    throw CompileError(
                        .invalidDocument, "duplicate key \"\(keyText)\" in a map", file: file,
                        position: key.mark.map { SourcePosition(line: $0.line, column: $0.column) })
                }
                pairs.append((keyText, try convert(value, depth: depth + 1, budget: &budget, file: file)))
            }
            return ManifestNode(.mapping(pairs), position: position)
        case .alias:
            throw CompileError(.invalidDocument, "unresolved YAML alias", file: file, position: position)
        }
    }

    private static func kindName(_ node: Node) -> String {
        switch node {
        case .scalar: return "a scalar"
        case .sequence: return "a list"
        case .mapping: return "a map"
        case .alias: return "an alias"
        }
    }

    private static func scalar(_ scalar: Node.Scalar, tag: Tag) -> ManifestNode.Scalar {
        let text = scalar.string
        switch Tag.Name(rawValue: tag.rawValue) {
        case .null: return .null
        case .bool:
            if let b = Bool.construct(from: scalar) { return .bool(b) }
            return .string(text)
        case .int: return .int(text)
        case .float: return .float(text)
        default: return .string(text)
        }
    }
}
