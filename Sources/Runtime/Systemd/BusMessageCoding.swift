import CSystemd

#if canImport(Glibc)
    import Glibc
#endif

/// Writes `BusValue`s into, and reads them out of, an `sd_bus_message`, using only sd-bus's non-variadic
/// calls (`append_basic`, `open_container`/`close_container`, `read_basic`, `read_array`, `peek_type`,
/// `enter_container`/`exit_container`): the variadic `sd_bus_message_append`/`read` are not callable
/// from Swift. Call only on the thread that owns the message's bus.
enum BusMessageCoding {
    /// Appends `values` in order. `context` names the call in errors.
    static func append(_ values: [BusValue], to message: OpaquePointer, context: String) throws(SystemdError) {
        for value in values {
            let result = appendValue(value, to: message)
            if result < 0 {
                throw .operationFailed(
                    operation: "append \(value.signature) to \(context)", unit: nil, errno: -result)
            }
        }
    }

    /// Reads every remaining value at the current level of the message.
    static func readAll(from message: OpaquePointer, context: String) throws(SystemdError) -> [BusValue] {
        var values: [BusValue] = []
        while true {
            var type: CChar = 0
            var contents: UnsafePointer<CChar>?
            let result = sd_bus_message_peek_type(message, &type, &contents)
            if result == 0 { return values }
            if result < 0 {
                throw .operationFailed(operation: "read reply of \(context)", unit: nil, errno: -result)
            }
            let signature = contents.map { String(cString: $0) }
            values.append(try readValue(type: type, contents: signature, from: message, context: context))
        }
    }

    private static func appendValue(_ value: BusValue, to message: OpaquePointer) -> Int32 {
        switch value {
        case .byte(let v): return appendFixed(v, "y", message)
        case .bool(let v): return appendFixed(Int32(v ? 1 : 0), "b", message)
        case .int16(let v): return appendFixed(v, "n", message)
        case .uint16(let v): return appendFixed(v, "q", message)
        case .int32(let v): return appendFixed(v, "i", message)
        case .uint32(let v): return appendFixed(v, "u", message)
        case .int64(let v): return appendFixed(v, "x", message)
        case .uint64(let v): return appendFixed(v, "t", message)
        case .double(let v): return appendFixed(v, "d", message)
        case .string(let v): return appendString(v, "s", message)
        case .objectPath(let v): return appendString(v, "o", message)
        case .signature(let v): return appendString(v, "g", message)
        case .array(let element, let elements):
            return appendContainer("a", element, elements, message)
        case .structure(let fields):
            return appendContainer("r", fields.map(\.signature).joined(), fields, message)
        case .dictEntry(let key, let entryValue):
            return appendContainer("e", key.signature + entryValue.signature, [key, entryValue], message)
        case .variant(let inner):
            return appendContainer("v", inner.signature, [inner], message)
        }
    }

    private static func appendFixed<T>(_ value: T, _ type: Unicode.Scalar, _ message: OpaquePointer) -> Int32 {
        withUnsafePointer(to: value) { sd_bus_message_append_basic(message, CChar(type.value), $0) }
    }

    private static func appendString(_ value: String, _ type: Unicode.Scalar, _ message: OpaquePointer) -> Int32 {
        // A NUL inside would silently cut the string short.
        if value.utf8.contains(0) { return -EINVAL }
        return value.withCString { sd_bus_message_append_basic(message, CChar(type.value), $0) }
    }

    private static func appendContainer(
        _ type: Unicode.Scalar, _ contents: String, _ elements: [BusValue], _ message: OpaquePointer
    ) -> Int32 {
        if type == "a" {
            for element in elements where element.signature != contents { return -EINVAL }
        }
        var result = contents.withCString { sd_bus_message_open_container(message, CChar(type.value), $0) }
        if result < 0 { return result }
        for element in elements {
            result = appendValue(element, to: message)
            if result < 0 { return result }
        }
        return sd_bus_message_close_container(message)
    }

    private static func readValue(
        type: CChar, contents: String?, from message: OpaquePointer, context: String
    ) throws(SystemdError) -> BusValue {
        func failed(_ result: Int32) -> SystemdError {
            .operationFailed(operation: "read reply of \(context)", unit: nil, errno: -result)
        }
        func basic<T>(_ initial: T) throws(SystemdError) -> T {
            var value = initial
            let result = withUnsafeMutablePointer(to: &value) { sd_bus_message_read_basic(message, type, $0) }
            if result <= 0 { throw failed(result == 0 ? EBADMSG : result) }
            return value
        }
        func text() throws(SystemdError) -> String {
            let pointer: UnsafePointer<CChar>? = try basic(nil)
            guard let pointer else { throw failed(EBADMSG) }
            return String(cString: pointer)
        }

        switch UnicodeScalar(UInt8(bitPattern: type)) {
        case "y": return .byte(try basic(0))
        case "b": return .bool(try basic(Int32(0)) != 0)
        case "n": return .int16(try basic(0))
        case "q": return .uint16(try basic(0))
        case "i": return .int32(try basic(0))
        case "u": return .uint32(try basic(0))
        case "x": return .int64(try basic(0))
        case "t": return .uint64(try basic(0))
        case "d": return .double(try basic(0))
        case "h": return .int32(try basic(0))
        case "s": return .string(try text())
        case "o": return .objectPath(try text())
        case "g": return .signature(try text())
        case "a" where contents == "y":
            var pointer: UnsafeRawPointer?
            var size = 0
            let result = sd_bus_message_read_array(message, CChar(UInt8(ascii: "y")), &pointer, &size)
            if result < 0 { throw failed(result) }
            let bytes = pointer.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) } ?? []
            return .bytes(bytes)
        case "a", "r", "e", "v":
            guard let contents else { throw failed(EBADMSG) }
            var result = sd_bus_message_enter_container(message, type, contents)
            if result <= 0 { throw failed(result == 0 ? EBADMSG : result) }
            let inner = try readAll(from: message, context: context)
            result = sd_bus_message_exit_container(message)
            if result < 0 { throw failed(result) }
            switch UnicodeScalar(UInt8(bitPattern: type)) {
            case "a": return .array(elementSignature: contents, inner)
            case "r": return .structure(inner)
            case "e":
                guard inner.count == 2 else { throw failed(EBADMSG) }
                return .dictEntry(key: inner[0], value: inner[1])
            default:
                guard inner.count == 1 else { throw failed(EBADMSG) }
                return .variant(inner[0])
            }
        default:
            throw .unexpectedReply(
                method: context, detail: "unsupported D-Bus type '\(UnicodeScalar(UInt8(bitPattern: type)))'")
        }
    }
}
