#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

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

    /// Gives a new, empty file (mode 0600) its owner and mode, then its bytes.
    ///
    /// Not flushed to disk (no fsync), as the kubelet's AtomicWriter does not: every file here is
    /// derived from the manifests or the API, and each pass compares what is on disk with the plan
    /// and rewrites what differs, so a file a crash left short is rewritten at the next start. An
    /// fsync per file would wait for the disk once per file: several times per pod, at every start
    /// of a batch of pods.
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
