import Foundation

/// How configuration reads the files it refers to: the disk, or a dictionary in tests.
public struct FileSource: Sendable {
    /// Why a file could not be read.
    public enum ReadError: Error, Sendable, Equatable {
        /// No such file.
        case notFound
        /// It exists but cannot be read.
        case unreadable(String)
    }

    /// Reads the whole file at a path.
    public var read: @Sendable (String) throws(ReadError) -> Data

    /// Creates a source from a read function.
    public init(read: @escaping @Sendable (String) throws(ReadError) -> Data) {
        self.read = read
    }

    /// The real file system.
    public static let disk = FileSource { (path: String) throws(ReadError) -> Data in
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw .notFound }
        if isDirectory.boolValue { throw .unreadable("is a directory") }
        do {
            return try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw .unreadable((error as NSError).localizedDescription)
        }
    }

    /// Files held in memory, keyed by absolute path.
    public static func memory(_ files: [String: Data]) -> FileSource {
        FileSource { (path: String) throws(ReadError) -> Data in
            guard let data = files[path] else { throw .notFound }
            return data
        }
    }

    /// Reads `path` for the configuration field `field` of `origin`, mapping failures to a KubeconfigError.
    func read(_ path: String, origin: String, field: String) throws(KubeconfigError) -> Data {
        do throws(ReadError) {
            return try self.read(path)
        } catch {
            switch error {
            case .notFound:
                throw KubeconfigError(origin: origin, field: field, reason: .fileNotFound(path: path))
            case .unreadable(let detail):
                throw KubeconfigError(origin: origin, field: field, reason: .fileUnreadable(path: path, detail: detail))
            }
        }
    }
}
