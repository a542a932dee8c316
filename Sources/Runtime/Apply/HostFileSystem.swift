#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The host's file system through Linux system calls.
///
/// A `ConfinedPath` is reached by opening its root (following links: it is trusted) and then each
/// name with `O_NOFOLLOW | O_DIRECTORY`, holding a descriptor of every directory on the way; the
/// last name is then handled with the `*at` calls and `AT_SYMLINK_NOFOLLOW`. A link anywhere below
/// the root therefore fails the operation instead of being followed, even when it is swapped in
/// while the operation runs.
public struct HostFileSystem: FileSystem {
    /// `O_PATH`, which Glibc only exposes with `_GNU_SOURCE`; the same value on every Linux architecture
    /// Swift supports.
    static let openPath: Int32 = 0o10000000
    /// How deep `removeRecursively` goes: each level holds one open descriptor.
    static let maxRemovalDepth = 512

    public init() {}

    public func status(_ path: ConfinedPath) throws(FileSystemError) -> FileStatus? {
        do {
            return try withParent(path, operation: "lstat") { (dir, name) throws(FileSystemError) -> FileStatus? in
                var st = stat()
                if fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) != 0 {
                    let e = errno
                    if e == ENOENT { return nil }
                    throw Self.failure("lstat", path.path, e)
                }
                return Self.fileStatus(st)
            }
        } catch where error.kind == .notFound {
            return nil
        }
    }

    public func statusFollowingLinks(_ path: String) throws(FileSystemError) -> FileStatus? {
        var st = stat()
        if stat(path, &st) != 0 {
            let e = errno
            if e == ENOENT || e == ENOTDIR { return nil }
            throw Self.failure("stat", path, e)
        }
        return Self.fileStatus(st)
    }

    public func readFile(_ path: ConfinedPath, maxBytes: Int) throws(FileSystemError) -> [UInt8] {
        try withParent(path, operation: "read") { (dir, name) throws(FileSystemError) -> [UInt8] in
            let fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
            if fd < 0 { throw Self.failure("read", path.path, errno) }
            defer { close(fd) }
            var st = stat()
            guard fstat(fd, &st) == 0 else { throw Self.failure("read", path.path, errno) }
            guard Self.fileStatus(st).type == .regular else {
                throw FileSystemError(.system, operation: "read", path: path.path, detail: "not a regular file")
            }
            var bytes: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n < 0 {
                    if errno == EINTR { continue }
                    throw Self.failure("read", path.path, errno)
                }
                if n == 0 { break }
                bytes.append(contentsOf: buffer[0..<n])
                if bytes.count > maxBytes {
                    throw FileSystemError(.tooLarge, operation: "read", path: path.path, detail: "larger than \(maxBytes) bytes")
                }
            }
            return bytes
        }
    }

    public func readLink(_ path: ConfinedPath) throws(FileSystemError) -> String {
        try withParent(path, operation: "readlink") { (dir, name) throws(FileSystemError) -> String in
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let n = readlinkat(dir, name, &buffer, buffer.count - 1)
            if n < 0 { throw Self.failure("readlink", path.path, errno) }
            return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }

    public func list(_ path: ConfinedPath) throws(FileSystemError) -> [String] {
        try withParent(path, operation: "list") { (dir, name) throws(FileSystemError) -> [String] in
            let fd = openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            if fd < 0 { throw Self.failure("list", path.path, errno) }
            let names = try Self.entries(ownedDescriptor: fd, path: path.path)
            return names.map { String(decoding: $0.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self) }.sorted()
        }
    }

    public func makeDirectory(_ path: ConfinedPath, mode: UInt32) throws(FileSystemError) {
        try withParent(path, operation: "mkdir") { (dir, name) throws(FileSystemError) in
            if mkdirat(dir, name, mode_t(mode)) != 0 { throw Self.failure("mkdir", path.path, errno) }
        }
    }

    public func writeAtomically(_ path: ConfinedPath, contents: [UInt8], mode: UInt32, owner: UInt32, group: UInt32)
        throws(FileSystemError)
    {
        try withParent(path, operation: "write") { (dir, name) throws(FileSystemError) in
            let temporary = Self.temporaryName(for: name)
            var fd = openat(dir, temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode_t(0o600))
            if fd < 0 && errno == EEXIST {
                // Left over from an interrupted write: it was never renamed into place.
                unlinkat(dir, temporary, 0)
                fd = openat(dir, temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode_t(0o600))
            }
            if fd < 0 { throw Self.failure("write", path.path, errno) }
            var renamed = false
            defer {
                if fd >= 0 { close(fd) }
                if !renamed { unlinkat(dir, temporary, 0) }
            }
            try Self.fill(fd, contents: contents, mode: mode, owner: owner, group: group, path: path.path)
            let closed = close(fd)
            fd = -1
            if closed != 0 { throw Self.failure("close", path.path, errno) }
            if renameat(dir, temporary, dir, name) != 0 { throw Self.failure("rename", path.path, errno) }
            renamed = true
        }
    }

    public func createFileExclusively(_ path: ConfinedPath, contents: [UInt8], mode: UInt32, owner: UInt32, group: UInt32)
        throws(FileSystemError)
    {
        try withParent(path, operation: "create") { (dir, name) throws(FileSystemError) in
            let fd = openat(dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode_t(0o600))
            if fd < 0 { throw Self.failure("create", path.path, errno) }
            defer { close(fd) }
            try Self.fill(fd, contents: contents, mode: mode, owner: owner, group: group, path: path.path)
        }
    }

    public func setMode(_ path: ConfinedPath, _ mode: UInt32) throws(FileSystemError) {
        try withParent(path, operation: "chmod") { (dir, name) throws(FileSystemError) in
            // Glibc implements AT_SYMLINK_NOFOLLOW through an O_PATH descriptor and refuses links.
            if fchmodat(dir, name, mode_t(mode), AT_SYMLINK_NOFOLLOW) != 0 {
                throw Self.failure("chmod", path.path, errno)
            }
        }
    }

    public func setOwner(_ path: ConfinedPath, owner: UInt32, group: UInt32) throws(FileSystemError) {
        try withParent(path, operation: "chown") { (dir, name) throws(FileSystemError) in
            if fchownat(dir, name, owner, group, AT_SYMLINK_NOFOLLOW) != 0 {
                throw Self.failure("chown", path.path, errno)
            }
        }
    }

    public func makeSymlink(_ path: ConfinedPath, target: String) throws(FileSystemError) {
        try withParent(path, operation: "symlink") { (dir, name) throws(FileSystemError) in
            if symlinkat(target, dir, name) != 0 { throw Self.failure("symlink", path.path, errno) }
        }
    }

    public func rename(_ from: ConfinedPath, to: ConfinedPath) throws(FileSystemError) {
        guard from.root == to.root else {
            throw FileSystemError(.invalidPath, operation: "rename", path: from.path, detail: "\(to.path) is below another root")
        }
        try withParent(from, operation: "rename") { (fromDir, fromName) throws(FileSystemError) in
            try withParent(to, operation: "rename") { (toDir, toName) throws(FileSystemError) in
                if renameat(fromDir, fromName, toDir, toName) != 0 {
                    throw Self.failure("rename", "\(from.path) to \(to.path)", errno)
                }
            }
        }
    }

    public func removeRecursively(_ path: ConfinedPath) throws(FileSystemError) {
        do {
            try withParent(path, operation: "remove") { (dir, name) throws(FileSystemError) in
                var st = stat()
                if fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) != 0 {
                    let e = errno
                    if e == ENOENT { return }
                    throw Self.failure("remove", path.path, e)
                }
                try Self.removeTree(
                    parent: dir, name: Array(name.utf8CString), path: path.path, device: UInt64(st.st_dev), depth: 0)
            }
        } catch where error.kind == .notFound && error.operation == "remove" && error.path != path.path {
            return  // a directory above it is missing: nothing to remove
        }
    }

    public func mountTmpfs(_ path: ConfinedPath, options: TmpfsOptions, remount: Bool) throws(FileSystemError) {
        try withParent(path, operation: "mount") { (dir, name) throws(FileSystemError) in
            let target = openat(dir, name, Self.openPath | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            if target < 0 { throw Self.failure("mount", path.path, errno) }
            defer { close(target) }
            // Mounting on the descriptor's /proc link mounts on exactly the directory that was opened.
            var flags = UInt(MS_NOSUID) | UInt(MS_NODEV)
            if remount { flags |= UInt(MS_REMOUNT) }
            if mount("tmpfs", "/proc/self/fd/\(target)", "tmpfs", flags, options.mountData) != 0 {
                throw Self.failure(remount ? "remount" : "mount tmpfs on", path.path, errno)
            }
        }
    }

    public func mounts() throws(FileSystemError) -> [MountEntry] {
        let fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw Self.failure("read", "/proc/self/mountinfo", errno) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw Self.failure("read", "/proc/self/mountinfo", errno)
            }
            if n == 0 { break }
            bytes.append(contentsOf: buffer[0..<n])
        }
        return MountInfo.parse(String(decoding: bytes, as: UTF8.self))
    }

    public func canonicalPath(_ path: String) throws(FileSystemError) -> String {
        guard let resolved = realpath(path, nil) else { throw Self.failure("realpath", path, errno) }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    public func unmount(_ mountPoint: String) throws(FileSystemError) {
        if umount2(mountPoint, Int32(UMOUNT_NOFOLLOW)) == 0 { return }
        let e = errno
        if e == EBUSY, umount2(mountPoint, Int32(UMOUNT_NOFOLLOW) | Int32(MNT_DETACH)) == 0 { return }
        throw Self.failure("umount", mountPoint, e == EBUSY ? errno : e)
    }
}
