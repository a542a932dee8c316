/// One D-Bus value, as sent in a method call or read from a reply or signal.
///
/// Containers carry their element signature so that empty arrays keep their type.
public indirect enum BusValue: Sendable, Hashable {
    case byte(UInt8)
    case bool(Bool)
    case int16(Int16)
    case uint16(UInt16)
    case int32(Int32)
    case uint32(UInt32)
    case int64(Int64)
    case uint64(UInt64)
    case double(Double)
    case string(String)
    case objectPath(String)
    case signature(String)
    /// An array whose elements all have the signature `elementSignature` (e.g. `s`, `{sv}`, `(ss)`).
    case array(elementSignature: String, [BusValue])
    /// A struct `(...)`.
    case structure([BusValue])
    /// A dictionary entry `{kv}`; only valid as an array element.
    case dictEntry(key: BusValue, value: BusValue)
    /// A variant `v`, holding one value of any type.
    case variant(BusValue)

    /// The value's D-Bus type signature.
    public var signature: String {
        switch self {
        case .byte: "y"
        case .bool: "b"
        case .int16: "n"
        case .uint16: "q"
        case .int32: "i"
        case .uint32: "u"
        case .int64: "x"
        case .uint64: "t"
        case .double: "d"
        case .string: "s"
        case .objectPath: "o"
        case .signature: "g"
        case .array(let element, _): "a" + element
        case .structure(let fields): "(" + fields.map(\.signature).joined() + ")"
        case .dictEntry(let key, let value): "{" + key.signature + value.signature + "}"
        case .variant: "v"
        }
    }

    /// An array of strings (`as`).
    public static func strings(_ values: [String]) -> BusValue {
        .array(elementSignature: "s", values.map(BusValue.string))
    }

    /// A byte array (`ay`).
    public static func bytes(_ values: [UInt8]) -> BusValue {
        .array(elementSignature: "y", values.map(BusValue.byte))
    }

    /// A dictionary `a{sv}` with string keys and variant values.
    public static func stringVariantDictionary(_ entries: [(String, BusValue)]) -> BusValue {
        .array(
            elementSignature: "{sv}",
            entries.map { .dictEntry(key: .string($0.0), value: .variant($0.1)) })
    }

    /// The value inside a variant, or the value itself.
    public var unwrapped: BusValue {
        if case .variant(let inner) = self { return inner.unwrapped }
        return self
    }

    /// The string of a `s`, `o` or `g` value (through variants).
    public var stringValue: String? {
        switch unwrapped {
        case .string(let text), .objectPath(let text), .signature(let text): text
        default: nil
        }
    }

    /// Any integer value (through variants) widened to `UInt64`, if it is not negative.
    public var unsignedValue: UInt64? {
        switch unwrapped {
        case .byte(let v): UInt64(v)
        case .uint16(let v): UInt64(v)
        case .uint32(let v): UInt64(v)
        case .uint64(let v): v
        case .int16(let v): v >= 0 ? UInt64(v) : nil
        case .int32(let v): v >= 0 ? UInt64(v) : nil
        case .int64(let v): v >= 0 ? UInt64(v) : nil
        default: nil
        }
    }

    /// Any signed or unsigned integer value (through variants) as `Int64`, if it fits.
    public var signedValue: Int64? {
        switch unwrapped {
        case .int16(let v): Int64(v)
        case .int32(let v): Int64(v)
        case .int64(let v): v
        case .byte(let v): Int64(v)
        case .uint16(let v): Int64(v)
        case .uint32(let v): Int64(v)
        case .uint64(let v): Int64(exactly: v)
        default: nil
        }
    }

    /// The value of a `b` (through variants).
    public var boolValue: Bool? {
        if case .bool(let v) = unwrapped { return v }
        return nil
    }

    /// The elements of an array (through variants).
    public var arrayElements: [BusValue]? {
        if case .array(_, let elements) = unwrapped { return elements }
        return nil
    }

    /// The bytes of an `ay` (through variants).
    public var byteArray: [UInt8]? {
        guard case .array("y", let elements) = unwrapped else { return nil }
        return elements.compactMap { if case .byte(let b) = $0 { b } else { nil } }
    }

    /// The entries of a dictionary with string keys, such as `a{sv}` (through variants). Later duplicates win.
    public var stringKeyedEntries: [String: BusValue]? {
        guard case .array(let element, let elements) = unwrapped, element.hasPrefix("{s") else { return nil }
        var result: [String: BusValue] = [:]
        for case .dictEntry(let key, let value) in elements {
            if case .string(let name) = key { result[name] = value }
        }
        return result
    }

    /// The fields of a struct (through variants).
    public var structureFields: [BusValue]? {
        if case .structure(let fields) = unwrapped { return fields }
        return nil
    }
}
