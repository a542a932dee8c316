import Foundation

/// Decodes `Decodable` model types from a `ManifestNode` tree, strictly the way the API server reads
/// JSON: a string field given a number is an error (YAML's `value: 8080` is a classic), unknown fields
/// are ignored. Errors become `CompileError`s with the field path and the line and column.
struct ManifestDecoder {
    func decode<T: Decodable>(_ type: T.Type, from node: ManifestNode, file: String?, object: String? = nil)
        throws(CompileError) -> T
    {
        do {
            return try T(from: NodeDecoder(node: node, codingPath: []))
        } catch let error as DecodingError {
            throw Self.compileError(error, root: node, file: file, object: object)
        } catch let error as CompileError {
            throw error
        } catch {
            throw CompileError(.invalidField, "\(error)", file: file, object: object)
        }
    }

    static func compileError(_ error: DecodingError, root: ManifestNode, file: String?, object: String?)
        -> CompileError
    {
        let codingPath: [any CodingKey]
        let message: String
        var code = CompileError.Code.invalidField
        switch error {
        case let .typeMismatch(_, ctx), let .valueNotFound(_, ctx):
            codingPath = ctx.codingPath
            message = ctx.debugDescription
        case let .keyNotFound(key, ctx):
            codingPath = ctx.codingPath + [key]
            message = "is required"
            code = .missingField
        case let .dataCorrupted(ctx):
            codingPath = ctx.codingPath
            message = ctx.debugDescription
        @unknown default:
            codingPath = []
            message = "\(error)"
        }
        let path = fieldPath(codingPath)
        return CompileError(
            code, path: path.description, message, file: file, object: object,
            position: position(of: codingPath, in: root))
    }

    static func fieldPath(_ codingPath: [any CodingKey]) -> FieldPath {
        var path = FieldPath.root
        var inDictionary = false
        for key in codingPath {
            if let i = key.intValue {
                path = path.index(i)
            } else if inDictionary || key is DictionaryKey || String(describing: type(of: key)).contains("_DictionaryCodingKey") {
                path = path.key(key.stringValue)
            } else {
                path = path.field(key.stringValue)
            }
            inDictionary = false
        }
        return path
    }

    /// The position of the deepest node along `codingPath` that exists.
    static func position(of codingPath: [any CodingKey], in root: ManifestNode) -> SourcePosition? {
        var node = root
        var best = root.position
        for key in codingPath {
            let next: ManifestNode?
            switch node.kind {
            case let .sequence(items):
                if let i = key.intValue, items.indices.contains(i) { next = items[i] } else { next = nil }
            case .mapping:
                next = node[key.stringValue]
            case .scalar:
                next = nil
            }
            guard let next else { break }
            node = next
            if let p = next.position { best = p }
        }
        return best
    }
}

/// Keys of `[String: X]` maps: printed as `['key']` in field paths.
struct DictionaryKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

struct IndexKey: CodingKey {
    var intValue: Int?
    var stringValue: String { "\(intValue ?? 0)" }
    init(_ i: Int) { intValue = i }
    init?(stringValue: String) { nil }
    init?(intValue: Int) { self.intValue = intValue }
}

/// A scalar's text exactly as written, whatever YAML resolved it to. Used by `Quantity` and
/// `IntOrString`, which accept both `cpu: 1` and `cpu: "1"` and must never go through a Double.
struct RawScalarText: Decodable {
    var text: String
    var isString: Bool

    init(from decoder: any Decoder) throws {
        if let nodeDecoder = decoder as? NodeDecoder {
            guard case let .scalar(s) = nodeDecoder.node.kind, let text = nodeDecoder.node.scalarText else {
                throw DecodingError.typeMismatch(
                    String.self,
                    .init(
                        codingPath: decoder.codingPath,
                        debugDescription: "expected a string or a number, got \(nodeDecoder.node.typeDescription)"))
            }
            self.text = text
            if case .string = s { isString = true } else { isString = false }
            return
        }
        let c = try decoder.singleValueContainer()
        if let s = try? c.decode(String.self) {
            text = s
            isString = true
        } else if let i = try? c.decode(Int64.self) {
            text = String(i)
            isString = false
        } else {
            let d = try c.decode(Double.self)
            text = "\(d)"
            isString = false
        }
    }
}

struct NodeDecoder: Decoder {
    let node: ManifestNode
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case let .mapping(pairs) = node.kind else {
            throw DecodingError.typeMismatch(
                [String: Any].self,
                .init(codingPath: codingPath, debugDescription: "expected a map, got \(node.typeDescription)"))
        }
        return KeyedDecodingContainer(KeyedNodeContainer<Key>(pairs: pairs, codingPath: codingPath))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case let .sequence(items) = node.kind else {
            throw DecodingError.typeMismatch(
                [Any].self,
                .init(codingPath: codingPath, debugDescription: "expected a list, got \(node.typeDescription)"))
        }
        return UnkeyedNodeContainer(items: items, codingPath: codingPath)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        SingleNodeContainer(node: node, codingPath: codingPath)
    }
}

struct KeyedNodeContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let pairs: [(key: String, value: ManifestNode)]
    let codingPath: [any CodingKey]

    init(pairs: [(key: String, value: ManifestNode)], codingPath: [any CodingKey]) {
        self.pairs = pairs
        self.codingPath = codingPath
    }

    var allKeys: [Key] { pairs.compactMap { Key(stringValue: $0.key) } }

    func contains(_ key: Key) -> Bool { pairs.contains { $0.key == key.stringValue } }

    private func node(_ key: Key) throws -> ManifestNode {
        guard let n = pairs.last(where: { $0.key == key.stringValue })?.value else {
            throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "is required"))
        }
        return n
    }

    private func pathKey(_ key: Key) -> any CodingKey { key }

    func decodeNil(forKey key: Key) throws -> Bool {
        guard let n = pairs.last(where: { $0.key == key.stringValue })?.value else { return true }
        return n.isNull
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        let n = try node(key)
        return try T(from: NodeDecoder(node: n, codingPath: codingPath + [pathKey(key)]))
    }

    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        guard let n = pairs.last(where: { $0.key == key.stringValue })?.value, !n.isNull else { return nil }
        return try T(from: NodeDecoder(node: n, codingPath: codingPath + [pathKey(key)]))
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        try NodeDecoder(node: node(key), codingPath: codingPath + [pathKey(key)]).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try NodeDecoder(node: node(key), codingPath: codingPath + [pathKey(key)]).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder {
        NodeDecoder(node: ManifestNode(.mapping(pairs)), codingPath: codingPath)
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        NodeDecoder(node: try node(key), codingPath: codingPath + [pathKey(key)])
    }
}

struct UnkeyedNodeContainer: UnkeyedDecodingContainer {
    let items: [ManifestNode]
    let codingPath: [any CodingKey]
    var currentIndex = 0

    init(items: [ManifestNode], codingPath: [any CodingKey]) {
        self.items = items
        self.codingPath = codingPath
    }

    var count: Int? { items.count }
    var isAtEnd: Bool { currentIndex >= items.count }

    private mutating func next() throws -> (ManifestNode, [any CodingKey]) {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(
                Any.self, .init(codingPath: codingPath, debugDescription: "list ended early"))
        }
        defer { currentIndex += 1 }
        return (items[currentIndex], codingPath + [IndexKey(currentIndex)])
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd else { return false }
        if items[currentIndex].isNull {
            currentIndex += 1
            return true
        }
        return false
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let (n, path) = try next()
        return try T(from: NodeDecoder(node: n, codingPath: path))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        let (n, path) = try next()
        return try NodeDecoder(node: n, codingPath: path).container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        let (n, path) = try next()
        return try NodeDecoder(node: n, codingPath: path).unkeyedContainer()
    }

    mutating func superDecoder() throws -> any Decoder {
        let (n, path) = try next()
        return NodeDecoder(node: n, codingPath: path)
    }
}

struct SingleNodeContainer: SingleValueDecodingContainer {
    let node: ManifestNode
    let codingPath: [any CodingKey]

    private func mismatch(_ expected: String) -> DecodingError {
        .typeMismatch(
            Any.self,
            .init(codingPath: codingPath, debugDescription: "expected \(expected), got \(node.typeDescription)"))
    }

    func decodeNil() -> Bool { node.isNull }

    func decode(_ type: Bool.Type) throws -> Bool {
        guard case let .scalar(.bool(b)) = node.kind else { throw mismatch("a boolean (true or false)") }
        return b
    }

    func decode(_ type: String.Type) throws -> String {
        guard case let .scalar(.string(s)) = node.kind else {
            if case .scalar(.null) = node.kind { throw mismatch("a string") }
            if case .scalar(.bool) = node.kind {
                // The text as written is gone (`yes`, `on`, `True` ...): hinting "true" would change the value.
                throw DecodingError.typeMismatch(
                    String.self,
                    .init(
                        codingPath: codingPath,
                        debugDescription: "expected a string, got a boolean; quote the value as written (YAML reads unquoted true, false, yes, no, on and off as booleans)"))
            }
            if case .scalar = node.kind, let t = node.scalarText {
                throw DecodingError.typeMismatch(
                    String.self,
                    .init(
                        codingPath: codingPath,
                        debugDescription: "expected a string, got \(node.typeDescription) (\(t)); quote it: \"\(t)\""))
            }
            throw mismatch("a string")
        }
        return s
    }

    private func integer<T: FixedWidthInteger>(_ type: T.Type) throws -> T {
        guard case let .scalar(.int(text)) = node.kind else { throw mismatch("an integer") }
        var t = Substring(text.replacingOccurrences(of: "_", with: ""))
        var negative = false
        if t.hasPrefix("+") {
            t = t.dropFirst()
        } else if t.hasPrefix("-") {
            negative = true
            t = t.dropFirst()
        }
        var radix = 10
        if t.hasPrefix("0x") {
            radix = 16
            t = t.dropFirst(2)
        } else if t.hasPrefix("0o") {
            radix = 8
            t = t.dropFirst(2)
        } else if t.hasPrefix("0b") {
            radix = 2
            t = t.dropFirst(2)
        } else if t.count > 1, t.hasPrefix("0") {
            // YAML 1.1, as kubectl reads it: `defaultMode: 0644` is octal 420, not decimal 644.
            radix = 8
            t = t.dropFirst()
        }
        guard let magnitude = Int64(t, radix: radix),
            let value = T(exactly: negative ? -magnitude : magnitude)
        else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: codingPath, debugDescription: "integer \(text) is out of range"))
        }
        return value
    }

    func decode(_ type: Int.Type) throws -> Int { try integer(Int.self) }
    func decode(_ type: Int8.Type) throws -> Int8 { try integer(Int8.self) }
    func decode(_ type: Int16.Type) throws -> Int16 { try integer(Int16.self) }
    func decode(_ type: Int32.Type) throws -> Int32 { try integer(Int32.self) }
    func decode(_ type: Int64.Type) throws -> Int64 { try integer(Int64.self) }
    func decode(_ type: UInt.Type) throws -> UInt { try integer(UInt.self) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try integer(UInt8.self) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try integer(UInt16.self) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try integer(UInt32.self) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try integer(UInt64.self) }

    func decode(_ type: Double.Type) throws -> Double {
        switch node.kind {
        case let .scalar(.float(t)), let .scalar(.int(t)):
            guard let d = Double(t) else { throw mismatch("a number") }
            return d
        default: throw mismatch("a number")
        }
    }

    func decode(_ type: Float.Type) throws -> Float { Float(try decode(Double.self)) }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try T(from: NodeDecoder(node: node, codingPath: codingPath))
    }
}
