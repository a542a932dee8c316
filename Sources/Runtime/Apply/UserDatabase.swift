#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The node's users and groups (passwd and group databases, through NSS).
public protocol UserDatabase: Sendable {
    /// The uid of a user name; nil when there is no such user.
    func userID(named name: String) throws(UserDatabaseError) -> UInt32?
    /// The gid of a group name; nil when there is no such group.
    func groupID(named name: String) throws(UserDatabaseError) -> UInt32?
    /// Whether the numeric uid `id` is in the user database.
    func hasUser(id: UInt32) throws(UserDatabaseError) -> Bool
    /// Whether the numeric gid `id` is in the group database.
    func hasGroup(id: UInt32) throws(UserDatabaseError) -> Bool
    /// The ids the runtime itself runs as: what an owner of `""` means.
    var processIDs: (user: UInt32, group: UInt32) { get }
}

/// A lookup that failed for another reason than the name being unknown.
public struct UserDatabaseError: Error, Sendable, Equatable, CustomStringConvertible {
    public var name: String
    public var errno: Int32

    public init(name: String, errno: Int32) {
        self.name = name
        self.errno = errno
    }

    public var description: String { "looking up \"\(name)\" failed: \(String(cString: strerror(errno)))" }
}

/// The node's user database through `getpwnam_r(3)` and `getgrnam_r(3)`.
public struct SystemUserDatabase: UserDatabase {
    public init() {}

    public var processIDs: (user: UInt32, group: UInt32) { (geteuid(), getegid()) }

    public func userID(named name: String) throws(UserDatabaseError) -> UInt32? {
        var entry = passwd()
        return try Self.lookup(name, sizeKey: _SC_GETPW_R_SIZE_MAX) { buffer, result in
            var found: UnsafeMutablePointer<passwd>? = nil
            let code = getpwnam_r(name, &entry, buffer.baseAddress!, buffer.count, &found)
            result = found?.pointee.pw_uid
            return code
        }
    }

    public func groupID(named name: String) throws(UserDatabaseError) -> UInt32? {
        var entry = group()
        return try Self.lookup(name, sizeKey: _SC_GETGR_R_SIZE_MAX) { buffer, result in
            var found: UnsafeMutablePointer<group>? = nil
            let code = getgrnam_r(name, &entry, buffer.baseAddress!, buffer.count, &found)
            result = found?.pointee.gr_gid
            return code
        }
    }

    public func hasUser(id: UInt32) throws(UserDatabaseError) -> Bool {
        var entry = passwd()
        return try Self.lookup(String(id), sizeKey: _SC_GETPW_R_SIZE_MAX) { buffer, result in
            var found: UnsafeMutablePointer<passwd>? = nil
            let code = getpwuid_r(id, &entry, buffer.baseAddress!, buffer.count, &found)
            result = found == nil ? nil : id
            return code
        } != nil
    }

    public func hasGroup(id: UInt32) throws(UserDatabaseError) -> Bool {
        var entry = group()
        return try Self.lookup(String(id), sizeKey: _SC_GETGR_R_SIZE_MAX) { buffer, result in
            var found: UnsafeMutablePointer<group>? = nil
            let code = getgrgid_r(id, &entry, buffer.baseAddress!, buffer.count, &found)
            result = found == nil ? nil : id
            return code
        } != nil
    }

    /// Runs a `get*_r` call with a buffer that grows while the call says it is too small (ERANGE).
    /// ENOENT, ESRCH, EBADF and EPERM also mean "not found" for some NSS modules.
    private static func lookup(
        _ name: String, sizeKey: Int, _ call: (UnsafeMutableBufferPointer<CChar>, inout UInt32?) -> Int32
    ) throws(UserDatabaseError) -> UInt32? {
        var size = max(1024, Int(sysconf(Int32(sizeKey))))
        while true {
            var buffer = [CChar](repeating: 0, count: size)
            var result: UInt32? = nil
            let code = buffer.withUnsafeMutableBufferPointer { call($0, &result) }
            if code == ERANGE && size < 1 << 20 {
                size *= 2
                continue
            }
            if code == 0 || code == ENOENT || code == ESRCH || code == EBADF || code == EPERM { return result }
            throw UserDatabaseError(name: name, errno: code)
        }
    }
}
