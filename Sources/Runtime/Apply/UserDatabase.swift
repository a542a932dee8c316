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
        var result: UnsafeMutablePointer<passwd>? = nil
        var size = max(1024, Int(sysconf(Int32(_SC_GETPW_R_SIZE_MAX))))
        while true {
            var buffer = [CChar](repeating: 0, count: size)
            let code = getpwnam_r(name, &entry, &buffer, buffer.count, &result)
            if code == ERANGE && size < 1 << 20 {
                size *= 2
                continue
            }
            // ENOENT, ESRCH, EBADF and EPERM also mean "not found" for some NSS modules.
            if code == 0 || code == ENOENT || code == ESRCH || code == EBADF || code == EPERM {
                return result == nil ? nil : entry.pw_uid
            }
            throw UserDatabaseError(name: name, errno: code)
        }
    }

    public func groupID(named name: String) throws(UserDatabaseError) -> UInt32? {
        var entry = group()
        var result: UnsafeMutablePointer<group>? = nil
        var size = max(1024, Int(sysconf(Int32(_SC_GETGR_R_SIZE_MAX))))
        while true {
            var buffer = [CChar](repeating: 0, count: size)
            let code = getgrnam_r(name, &entry, &buffer, buffer.count, &result)
            if code == ERANGE && size < 1 << 20 {
                size *= 2
                continue
            }
            if code == 0 || code == ENOENT || code == ESRCH || code == EBADF || code == EPERM {
                return result == nil ? nil : entry.gr_gid
            }
            throw UserDatabaseError(name: name, errno: code)
        }
    }
}
