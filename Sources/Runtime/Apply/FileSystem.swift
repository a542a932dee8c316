/// The file-system operations the runtime needs to make a plan true on disk, behind one protocol so
/// tests can observe them. `HostFileSystem` is the real implementation.
///
/// Every operation that changes something takes a `ConfinedPath`: a trusted root directory and the
/// names below it. No operation follows a symbolic link in any of those names, so a link planted
/// inside a pod's directory (a container can write into its emptyDir volumes) can never send a
/// write, a mode change or a removal outside that directory.
public protocol FileSystem: Sendable {
    /// What is at `path`, without following a link in its last name; nil when nothing is there.
    func status(_ path: ConfinedPath) throws(FileSystemError) -> FileStatus?
    /// What is at an absolute host path, following links as `stat(2)` does (hostPath checks,
    /// executables); nil when nothing is there.
    func statusFollowingLinks(_ path: String) throws(FileSystemError) -> FileStatus?
    /// The bytes of a regular file; fails when it holds more than `maxBytes`.
    func readFile(_ path: ConfinedPath, maxBytes: Int) throws(FileSystemError) -> [UInt8]
    /// The target of a symbolic link.
    func readLink(_ path: ConfinedPath) throws(FileSystemError) -> String
    /// The names in a directory, without `.` and `..`, sorted.
    func list(_ path: ConfinedPath) throws(FileSystemError) -> [String]
    /// Creates one directory (its parent must exist); the mode is then narrowed by the umask, so
    /// callers set the exact mode with `setMode` afterwards.
    func makeDirectory(_ path: ConfinedPath, mode: UInt32) throws(FileSystemError)
    /// Replaces the file at `path` as one step: a temporary file in the same directory, created
    /// mode 0600 and owned by the caller, is given its owner and final mode before any byte is
    /// written, then filled, flushed to disk and renamed over `path`. A reader sees the old file or
    /// the new one, and the bytes are never readable by anyone the final mode does not allow.
    func writeAtomically(_ path: ConfinedPath, contents: [UInt8], mode: UInt32, owner: UInt32, group: UInt32)
        throws(FileSystemError)
    /// Creates a new file holding `contents`, with exactly `mode`, `owner` and `group` set before any
    /// byte is written, and flushes it to disk; fails with `.exists` when anything is already there.
    func createFileExclusively(_ path: ConfinedPath, contents: [UInt8], mode: UInt32, owner: UInt32, group: UInt32)
        throws(FileSystemError)
    /// Sets the permission bits (including setuid, setgid and sticky) of a file or directory.
    func setMode(_ path: ConfinedPath, _ mode: UInt32) throws(FileSystemError)
    /// Sets the owner and group of a file, directory or link (the link itself).
    func setOwner(_ path: ConfinedPath, owner: UInt32, group: UInt32) throws(FileSystemError)
    /// Creates a symbolic link at `path` pointing to `target` (which is not checked).
    func makeSymlink(_ path: ConfinedPath, target: String) throws(FileSystemError)
    /// Renames `from` to `to` (both below the same root), replacing what `to` names unless that is
    /// a non-empty directory.
    func rename(_ from: ConfinedPath, to: ConfinedPath) throws(FileSystemError)
    /// Removes `path` and, for a directory, everything below it. Links are removed, never followed;
    /// a directory on another file system (a mount point) is not entered: that is an error. Nothing
    /// at `path` is not an error.
    func removeRecursively(_ path: ConfinedPath) throws(FileSystemError)
    /// Mounts a tmpfs on the directory `path` (`nosuid`, `nodev`), or changes the options of the
    /// tmpfs already mounted there when `remount` is true.
    func mountTmpfs(_ path: ConfinedPath, options: TmpfsOptions, remount: Bool) throws(FileSystemError)
    /// The mounts this process sees (`/proc/self/mountinfo`).
    func mounts() throws(FileSystemError) -> [MountEntry]
    /// Unmounts the file system mounted at an absolute path, without following a link in its last name.
    func unmount(_ mountPoint: String) throws(FileSystemError)
    /// The absolute path with every link resolved (`realpath(3)`), to compare with mount points.
    func canonicalPath(_ path: String) throws(FileSystemError) -> String
}

/// A path made of a trusted root and plain names below it: the names are never `.`, `..`, empty,
/// or contain `/` or NUL, so the path cannot leave the root by its spelling; `FileSystem`
/// implementations make sure it cannot leave it through a link either.
public struct ConfinedPath: Sendable, Hashable, CustomStringConvertible {
    /// An absolute directory, trusted: links in it are followed.
    public let root: String
    /// One or more names below `root`.
    public let components: [String]

    /// Fails when `root` is not absolute or a name is not a plain name.
    public init(root: String, components: [String]) throws(FileSystemError) {
        guard root.hasPrefix("/"), !root.utf8.contains(0) else {
            throw FileSystemError(.invalidPath, operation: "confine", path: root, detail: "the root must be an absolute path")
        }
        guard !components.isEmpty else {
            throw FileSystemError(.invalidPath, operation: "confine", path: root, detail: "a path below the root needs at least one name")
        }
        for name in components where !Self.isPlainName(name) {
            throw FileSystemError(
                .invalidPath, operation: "confine", path: root + "/" + components.joined(separator: "/"),
                detail: "\"\(name)\" is not a plain file name")
        }
        self.root = root
        self.components = components
    }

    /// `root` and the relative `path` (`a/b/c`, no empty, `.` or `..` names).
    public init(root: String, relative path: String) throws(FileSystemError) {
        try self.init(root: root, components: path.split(separator: "/", omittingEmptySubsequences: false).map(String.init))
    }

    /// Whether `name` can be one name of a path: not empty, not `.` or `..`, no `/` or NUL.
    public static func isPlainName(_ name: String) -> Bool {
        !name.isEmpty && name != "." && name != ".." && !name.utf8.contains(UInt8(ascii: "/")) && !name.utf8.contains(0)
    }

    /// The absolute path, for messages and for comparing with mount points.
    public var path: String {
        (root.hasSuffix("/") ? String(root.dropLast()) : root) + "/" + components.joined(separator: "/")
    }

    /// The last name.
    public var name: String { components[components.count - 1] }

    public var description: String { path }

    /// The path of `name` inside this one.
    public func appending(_ name: String) throws(FileSystemError) -> ConfinedPath {
        try ConfinedPath(root: root, components: components + [name])
    }

    /// The path of a relative path (`a/b`) inside this one.
    public func appending(components more: [String]) throws(FileSystemError) -> ConfinedPath {
        try ConfinedPath(root: root, components: components + more)
    }

    /// The directory holding this path, or nil when that is the root itself.
    public var parent: ConfinedPath? {
        components.count > 1 ? try? ConfinedPath(root: root, components: Array(components.dropLast())) : nil
    }
}

/// What kind of file something is.
public enum FileType: String, Sendable, Equatable, CustomStringConvertible {
    case regular = "file"
    case directory
    case symlink = "symbolic link"
    case socket
    case characterDevice = "character device"
    case blockDevice = "block device"
    case fifo
    case unknown

    public var description: String { rawValue }
}

/// The metadata of a file, as `lstat(2)` or `stat(2)` report it.
public struct FileStatus: Sendable, Equatable {
    public var type: FileType
    /// Permission bits, with setuid, setgid and sticky (`st_mode & 07777`).
    public var mode: UInt32
    public var owner: UInt32
    public var group: UInt32
    public var size: Int64
    /// The file system it is on (`st_dev`).
    public var device: UInt64

    public init(type: FileType, mode: UInt32, owner: UInt32, group: UInt32, size: Int64 = 0, device: UInt64 = 0) {
        self.type = type
        self.mode = mode
        self.owner = owner
        self.group = group
        self.size = size
        self.device = device
    }
}

/// Options of a tmpfs mount.
public struct TmpfsOptions: Sendable, Equatable {
    /// nil: the kernel's default (half of RAM).
    public var sizeBytes: Int64?
    /// Mode of the tmpfs root.
    public var mode: UInt32
    public var owner: UInt32
    public var group: UInt32

    public init(sizeBytes: Int64?, mode: UInt32, owner: UInt32, group: UInt32) {
        self.sizeBytes = sizeBytes
        self.mode = mode
        self.owner = owner
        self.group = group
    }

    /// The `data` argument of `mount(2)`.
    public var mountData: String {
        var parts = ["mode=" + String(mode, radix: 8), "uid=\(owner)", "gid=\(group)"]
        if let sizeBytes { parts.append("size=\(sizeBytes)") }
        return parts.joined(separator: ",")
    }
}

/// One line of `/proc/self/mountinfo`.
public struct MountEntry: Sendable, Equatable {
    /// Where it is mounted, with the kernel's octal escapes decoded.
    public var mountPoint: String
    public var fileSystemType: String
    /// The per-superblock options, such as `rw,size=65536k,mode=2777`.
    public var superOptions: String
    /// The file system's device number, as `st_dev` of a file on it.
    public var device: UInt64

    public init(mountPoint: String, fileSystemType: String, superOptions: String, device: UInt64) {
        self.mountPoint = mountPoint
        self.fileSystemType = fileSystemType
        self.superOptions = superOptions
        self.device = device
    }

    /// The value of one `key=value` super option.
    public func option(_ key: String) -> String? {
        for part in superOptions.split(separator: ",") where part.hasPrefix(key + "=") {
            return String(part.dropFirst(key.count + 1))
        }
        return nil
    }
}

/// A file-system operation that failed, with the path it concerned.
public struct FileSystemError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        case notFound
        case exists
        /// A name of a confined path is a symbolic link, which is never followed.
        case symlinkInPath
        case notADirectory
        /// Removal would have entered another file system.
        case crossesMountPoint
        case tooLarge
        case invalidPath
        /// Any other `errno`.
        case system
    }

    public var kind: Kind
    /// `mkdir`, `write`, `chmod`, ...
    public var operation: String
    public var path: String
    /// The `errno`, when a system call failed.
    public var errno: Int32?
    public var detail: String?

    public init(_ kind: Kind, operation: String, path: String, errno: Int32? = nil, detail: String? = nil) {
        self.kind = kind
        self.operation = operation
        self.path = path
        self.errno = errno
        self.detail = detail
    }

    public var description: String {
        var text = "\(operation) \(path): "
        switch kind {
        case .symlinkInPath: text += "a symbolic link is in the way (links are never followed below a pod's directory)"
        case .crossesMountPoint: text += "refusing to enter another file system mounted inside"
        default: text += detail ?? "failed"
        }
        if let detail, kind == .symlinkInPath || kind == .crossesMountPoint { text += " (\(detail))" }
        return text
    }
}
