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
            // The directory entry too, so the new file survives a crash.
            _ = fsync(dir)
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

extension HostFileSystem {
    /// Opens the directory holding the last name of `path` without following links below the
    /// root, and runs `body` with its descriptor and that name.
    func withParent<T>(
        _ path: ConfinedPath, operation: String, _ body: (Int32, String) throws(FileSystemError) -> T
    ) throws(FileSystemError) -> T {
        var fd = open(path.root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd < 0 { throw Self.failure(operation, path.root, errno) }
        var reached = path.root.hasSuffix("/") ? String(path.root.dropLast()) : path.root
        for name in path.components.dropLast() {
            reached += "/" + name
            let next = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            let e = errno
            close(fd)
            if next < 0 {
                if e == ELOOP || e == ENOTDIR, let kind = linkOrFile(reached) {
                    throw FileSystemError(kind, operation: operation, path: path.path, detail: reached)
                }
                throw Self.failure(operation, reached, e)
            }
            fd = next
        }
        defer { close(fd) }
        return try body(fd, path.name)
    }

    /// Why `O_NOFOLLOW | O_DIRECTORY` failed on `path`: a link, or something else than a directory.
    private func linkOrFile(_ path: String) -> FileSystemError.Kind? {
        var st = stat()
        guard lstat(path, &st) == 0 else { return nil }
        return Self.fileStatus(st).type == .symlink ? .symlinkInPath : .notADirectory
    }

    /// Gives a new, empty file (mode 0600) its owner and mode, then its bytes, and flushes it.
    static func fill(_ fd: Int32, contents: [UInt8], mode: UInt32, owner: UInt32, group: UInt32, path: String)
        throws(FileSystemError)
    {
        // Owner first: chown clears setuid/setgid, which the mode then sets.
        if fchown(fd, owner, group) != 0 { throw failure("chown", path, errno) }
        if fchmod(fd, mode_t(mode)) != 0 { throw failure("chmod", path, errno) }
        var offset = 0
        while offset < contents.count {
            let n = contents.withUnsafeBytes { write(fd, $0.baseAddress! + offset, contents.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                throw failure("write", path, errno)
            }
            offset += n
        }
        if fsync(fd) != 0 { throw failure("fsync", path, errno) }
    }

    static func removeTree(parent: Int32, name: [CChar], path: String, device: UInt64, depth: Int) throws(FileSystemError) {
        var st = stat()
        if fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) != 0 {
            let e = errno
            if e == ENOENT { return }
            throw failure("remove", path, e)
        }
        guard fileStatus(st).type == .directory else {
            if unlinkat(parent, name, 0) != 0 && errno != ENOENT { throw failure("remove", path, errno) }
            return
        }
        guard UInt64(st.st_dev) == device else {
            throw FileSystemError(.crossesMountPoint, operation: "remove", path: path, detail: "a file system is mounted there")
        }
        guard depth < maxRemovalDepth else {
            throw FileSystemError(.system, operation: "remove", path: path, detail: "more than \(maxRemovalDepth) directories deep")
        }
        let fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        if fd < 0 { throw failure("remove", path, errno) }
        defer { close(fd) }
        let copy = dup(fd)
        if copy < 0 { throw failure("remove", path, errno) }
        for entry in try entries(ownedDescriptor: copy, path: path) {
            let display = path + "/" + String(decoding: entry.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
            try removeTree(parent: fd, name: entry, path: display, device: device, depth: depth + 1)
        }
        if unlinkat(parent, name, AT_REMOVEDIR) != 0 && errno != ENOENT { throw failure("remove", path, errno) }
    }

    /// The names in the directory `fd` (which this closes), as NUL-terminated bytes, without `.` and `..`.
    static func entries(ownedDescriptor fd: Int32, path: String) throws(FileSystemError) -> [[CChar]] {
        guard let directory = fdopendir(fd) else {
            let e = errno
            close(fd)
            throw failure("list", path, e)
        }
        defer { closedir(directory) }
        var names: [[CChar]] = []
        while let entry = readdir(directory) {
            let name = withUnsafePointer(to: &entry.pointee.d_name) { pointer in
                pointer.withMemoryRebound(to: CChar.self, capacity: 256) { Array(UnsafeBufferPointer(start: $0, count: strlen($0) + 1)) }
            }
            if name == [46, 0] || name == [46, 46, 0] { continue }
            names.append(name)
        }
        return names
    }

    static func temporaryName(for name: String) -> String {
        var kept = ""
        var bytes = 0
        for scalar in name.unicodeScalars {
            bytes += String(scalar).utf8.count
            if bytes > 200 { break }
            kept.unicodeScalars.append(scalar)
        }
        return ".systemk-tmp." + kept
    }

    static func fileStatus(_ st: stat) -> FileStatus {
        let type: FileType
        switch st.st_mode & S_IFMT {
        case S_IFREG: type = .regular
        case S_IFDIR: type = .directory
        case S_IFLNK: type = .symlink
        case S_IFSOCK: type = .socket
        case S_IFCHR: type = .characterDevice
        case S_IFBLK: type = .blockDevice
        case S_IFIFO: type = .fifo
        default: type = .unknown
        }
        return FileStatus(
            type: type, mode: UInt32(st.st_mode & 0o7777), owner: st.st_uid, group: st.st_gid, size: Int64(st.st_size),
            device: UInt64(st.st_dev))
    }

    static func failure(_ operation: String, _ path: String, _ code: Int32) -> FileSystemError {
        let kind: FileSystemError.Kind
        switch code {
        case ENOENT: kind = .notFound
        case EEXIST: kind = .exists
        case ELOOP: kind = .symlinkInPath
        case ENOTDIR: kind = .notADirectory
        default: kind = .system
        }
        return FileSystemError(kind, operation: operation, path: path, errno: code, detail: String(cString: strerror(code)))
    }
}

/// Reading `/proc/self/mountinfo` (proc(5)).
enum MountInfo {
    /// Fields: id, parent, major:minor, root, mount point, options, optional fields, `-`, type,
    /// source, super options.
    static func parse(_ text: String) -> [MountEntry] {
        var entries: [MountEntry] = []
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: false)
            guard fields.count >= 10, let dash = fields[6...].firstIndex(of: "-"), dash + 3 < fields.count else { continue }
            let numbers = fields[2].split(separator: ":").compactMap { UInt64($0) }
            guard numbers.count == 2 else { continue }
            entries.append(
                MountEntry(
                    mountPoint: unescape(String(fields[4])), fileSystemType: String(fields[dash + 1]),
                    superOptions: String(fields[dash + 3]), device: device(major: numbers[0], minor: numbers[1])))
        }
        return entries
    }

    /// Glibc's `makedev`: how `st_dev` encodes a major and minor number.
    static func device(major: UInt64, minor: UInt64) -> UInt64 {
        ((major & 0xffff_f000) << 32) | ((major & 0x0000_0fff) << 8) | ((minor & 0xffff_ff00) << 12) | (minor & 0x0000_00ff)
    }

    /// The kernel writes space, tab, newline and backslash in paths as `\ooo`.
    static func unescape(_ field: String) -> String {
        let raw = Array(field.utf8)
        let octal = UInt8(ascii: "0")...UInt8(ascii: "7")
        var bytes: [UInt8] = []
        var i = 0
        while i < raw.count {
            if raw[i] == UInt8(ascii: "\\"), i + 3 < raw.count, raw[(i + 1)...(i + 3)].allSatisfy(octal.contains) {
                let value = raw[(i + 1)...(i + 3)].reduce(0) { $0 * 8 + Int($1 - UInt8(ascii: "0")) }
                bytes.append(UInt8(truncatingIfNeeded: value))
                i += 4
            } else {
                bytes.append(raw[i])
                i += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
