import CSystemd

#if canImport(Glibc)
    import Glibc
#endif

/// Checks on unit names and their D-Bus object paths.
public enum UnitName {
    /// Where systemd puts unit objects on the bus.
    public static let objectPathPrefix = "/org/freedesktop/systemd1/unit"

    /// The suffixes systemd accepts for unit names.
    static let types: Set<Substring> = [
        "service", "socket", "target", "device", "mount", "automount", "swap", "timer", "path", "slice", "scope",
    ]

    /// Whether systemd would accept `name` as a unit name (`unit_name_is_valid` with templates and
    /// instances): at most 255 bytes, characters from `[A-Za-z0-9:_.\@-]`, a known type suffix, and at
    /// most one `@`, which must come before the suffix. Such a name never contains `/` and is never
    /// `.` or `..`, so it is safe as a file name inside a unit directory.
    public static func isValid(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty, bytes.count <= 255, let dot = bytes.lastIndex(of: UInt8(ascii: ".")), dot > 0,
            types.contains(Substring(name[name.utf8.index(name.utf8.startIndex, offsetBy: dot + 1)...]))
        else { return false }
        var ats = 0
        for byte in bytes[..<dot] {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: ":"), UInt8(ascii: "_"), UInt8(ascii: "."),
                UInt8(ascii: "\\"), UInt8(ascii: "-"):
                continue
            case UInt8(ascii: "@"):
                ats += 1
            default:
                return false
            }
        }
        return ats <= 1 && bytes[0] != UInt8(ascii: "@")
    }

    /// Throws `invalidUnitName` unless `isValid(name)`.
    static func validate(_ name: String) throws(SystemdError) {
        guard isValid(name) else { throw .invalidUnitName(name) }
    }

    /// The object path systemd gives the unit: `sd_bus_path_encode` of the name under
    /// `/org/freedesktop/systemd1/unit` (`foo.service` becomes `.../unit/foo_2eservice`).
    public static func objectPath(for name: String) throws(SystemdError) -> String {
        var encoded: UnsafeMutablePointer<CChar>?
        let result = name.withCString { sd_bus_path_encode(objectPathPrefix, $0, &encoded) }
        guard result >= 0, let encoded else {
            throw .operationFailed(operation: "sd_bus_path_encode", unit: name, errno: result < 0 ? -result : EINVAL)
        }
        defer { free(encoded) }
        return String(cString: encoded)
    }

    /// The unit name of a unit object path (`sd_bus_path_decode`), or nil for paths of other objects.
    public static func name(fromObjectPath path: String) -> String? {
        var decoded: UnsafeMutablePointer<CChar>?
        let result = path.withCString { sd_bus_path_decode($0, objectPathPrefix, &decoded) }
        guard result > 0, let decoded else { return nil }
        defer { free(decoded) }
        return String(cString: decoded)
    }
}
