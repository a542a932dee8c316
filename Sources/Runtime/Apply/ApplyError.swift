/// Why a pod's plan could not be made true on disk, or its directory not removed. Every case names
/// the path it concerns.
public enum ApplyError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A planned path is not inside the pod's directory (or is spelled with `.`, `..` or `//`).
    case pathOutsidePod(path: String, podDirectory: String)
    /// The plan contradicts itself or systemk's rules (a bad mode, a sensitive file readable by
    /// everyone, a pod directory that is not `<state>/pods/<uid>`, ...).
    case invalidPlan(path: String, reason: String)
    /// An owner that is neither a number nor a user of this node.
    case unknownUser(name: String, path: String)
    /// A group that is neither a number nor a group of this node.
    case unknownGroup(name: String, path: String)
    /// The user database could not be read.
    case userLookupFailed(UserDatabaseError, path: String)
    /// A file whose content only the runtime knows (`runtimeSource`) was not provided.
    case missingRuntimeContent(source: String, path: String)
    /// Something of another type is where a directory or file is planned.
    case unexpectedFileType(path: String, expected: FileType, found: FileType)
    /// A hostPath volume's path is not what its `type` requires.
    case hostPathCheckFailed(path: String, volume: String, type: String, reason: String)
    /// `removePod(directory:)` refused the path.
    case refusedRemoval(path: String, reason: String)
    /// A file-system operation failed.
    case fileSystem(FileSystemError)

    public var description: String {
        switch self {
        case let .pathOutsidePod(path, podDirectory):
            return "\(path) is not inside the pod's directory \(podDirectory)"
        case let .invalidPlan(path, reason):
            return "\(path): \(reason)"
        case let .unknownUser(name, path):
            return "\(path): owner \"\(name)\" is not a user of this node"
        case let .unknownGroup(name, path):
            return "\(path): group \"\(name)\" is not a group of this node"
        case let .userLookupFailed(error, path):
            return "\(path): \(error)"
        case let .missingRuntimeContent(source, path):
            return "\(path): no content was provided for \(source)"
        case let .unexpectedFileType(path, expected, found):
            return "\(path): a \(found) is where a \(expected) is planned"
        case let .hostPathCheckFailed(path, volume, type, reason):
            return "hostPath volume \(volume): \(path) \(reason) (type \(type))"
        case let .refusedRemoval(path, reason):
            return "refusing to remove \(path): \(reason)"
        case let .fileSystem(error):
            return error.description
        }
    }
}
