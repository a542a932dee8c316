import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Unit files on disk: atomic writes and removals inside one unit directory. Names must have passed
/// `UnitName.validate`, which keeps every path inside the directory.
enum UnitFileStore {
    /// Creates `directory` (and its parents) if missing.
    static func makeDirectory(_ directory: String) throws(SystemdError) {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw .fileOperationFailed(operation: "create directory", path: directory, errno: errnoOf(error))
        }
    }

    /// Writes `bytes` to `directory/name` so that readers see the old file or the new one, never a part:
    /// a hidden temporary file in the same directory (systemd ignores it: not a unit name), then rename.
    static func writeAtomically(_ bytes: [UInt8], name: String, in directory: String) throws(SystemdError) {
        let path = directory + "/" + name
        let temporary = directory + "/." + name + ".tmp-" + String(UInt64.random(in: 0...UInt64.max), radix: 36)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .fileOperationFailed(operation: "create", path: temporary, errno: errno) }
        var failure: SystemdError?
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    failure = .fileOperationFailed(operation: "write", path: temporary, errno: errno)
                    return
                }
                offset += written
            }
        }
        if failure == nil && fsync(fd) != 0 {
            failure = .fileOperationFailed(operation: "sync", path: temporary, errno: errno)
        }
        close(fd)
        if failure == nil && rename(temporary, path) != 0 {
            failure = .fileOperationFailed(operation: "rename into place", path: path, errno: errno)
        }
        if let failure {
            unlink(temporary)
            throw failure
        }
    }

    /// The unit files in `directory` whose names start with `prefix`, sorted by name: regular files with
    /// valid unit names only (no masks, which are links, no temporary files, no drop-in directories).
    /// A missing directory has none.
    static func list(prefix: String, in directory: String) throws(SystemdError) -> [UnitFileContents] {
        guard let stream = opendir(directory) else {
            if errno == ENOENT { return [] }
            throw .fileOperationFailed(operation: "list", path: directory, errno: errno)
        }
        var names: [String] = []
        while let entry = readdir(stream) {
            let name = withUnsafePointer(to: &entry.pointee.d_name) {
                String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self))
            }
            if name.hasPrefix(prefix) && UnitName.isValid(name) { names.append(name) }
        }
        closedir(stream)
        var files: [UnitFileContents] = []
        for name in names.sorted() {
            let path = directory + "/" + name
            var status = stat()
            guard lstat(path, &status) == 0, status.st_mode & S_IFMT == S_IFREG else { continue }
            files.append(UnitFileContents(name: name, contents: String(decoding: try read(path), as: UTF8.self)))
        }
        return files
    }

    private static func read(_ path: String) throws(SystemdError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .fileOperationFailed(operation: "read", path: path, errno: errno) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = Glibc.read(fd, &buffer, buffer.count)
            if count == 0 { return bytes }
            if count < 0 {
                if errno == EINTR { continue }
                throw .fileOperationFailed(operation: "read", path: path, errno: errno)
            }
            bytes += buffer[..<count]
        }
    }

    /// Removes `directory/name` and its drop-in directory `directory/name.d`; missing ones are fine.
    static func remove(name: String, in directory: String) throws(SystemdError) {
        let path = directory + "/" + name
        if unlink(path) != 0 && errno != ENOENT {
            throw .fileOperationFailed(operation: "remove", path: path, errno: errno)
        }
        let dropIns = path + ".d"
        var status = stat()
        guard lstat(dropIns, &status) == 0 else { return }
        do {
            try FileManager.default.removeItem(atPath: dropIns)
        } catch {
            throw .fileOperationFailed(operation: "remove", path: dropIns, errno: errnoOf(error))
        }
    }

    private static func errnoOf(_ error: any Error) -> Int32 {
        let error = error as NSError
        if let posix = error.userInfo[NSUnderlyingErrorKey] as? NSError, posix.domain == NSPOSIXErrorDomain {
            return Int32(posix.code)
        }
        if error.domain == NSPOSIXErrorDomain { return Int32(error.code) }
        switch CocoaError.Code(rawValue: error.code) {
        case .fileNoSuchFile, .fileReadNoSuchFile: return ENOENT
        case .fileReadNoPermission, .fileWriteNoPermission: return EACCES
        case .fileWriteFileExists: return EEXIST
        case .fileWriteOutOfSpace: return ENOSPC
        case .fileWriteVolumeReadOnly: return EROFS
        default: return EIO
        }
    }
}
