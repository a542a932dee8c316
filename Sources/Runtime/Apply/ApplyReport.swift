/// What one `PlanMaterializer.apply` changed on disk, in the order it changed it. Empty when the
/// disk already matched the plan. Never holds file contents.
public struct ApplyReport: Sendable, Equatable {
    /// One change.
    public enum Change: Sendable, Equatable, CustomStringConvertible {
        case createdDirectory(String)
        /// An existing file or directory got the planned mode.
        case changedMode(path: String, from: UInt32, to: UInt32)
        /// An existing file or directory got the planned owner and group.
        case changedOwner(path: String, from: String, to: String)
        /// A file outside an `atomicUpdates` volume was written: it was missing, or its content,
        /// mode or owner differed.
        case wroteFile(String)
        /// An `atomicUpdates` volume got a new generation of its content (`..data` now points to it).
        case newGeneration(volume: String, generation: String)
        /// A volume's visible entry (`name -> ..data/name`) was created or repaired.
        case linkedEntry(String)
        /// Something no longer planned was removed from an `atomicUpdates` volume: an entry, an old
        /// generation, a leftover of an interrupted update.
        case removed(String)
        case mountedTmpfs(String)
        /// A tmpfs already mounted got new options (its size).
        case remountedTmpfs(String)
        /// A hostPath `DirectoryOrCreate` or `FileOrCreate` was missing and was created.
        case createdHostPath(String)

        public var description: String {
            switch self {
            case let .createdDirectory(path): return "created directory \(path)"
            case let .changedMode(path, from, to):
                return "chmod \(path) \(modeText(from)) -> \(modeText(to))"
            case let .changedOwner(path, from, to): return "chown \(path) \(from) -> \(to)"
            case let .wroteFile(path): return "wrote \(path)"
            case let .newGeneration(volume, generation): return "new generation \(generation) of \(volume)"
            case let .linkedEntry(path): return "linked \(path)"
            case let .removed(path): return "removed \(path)"
            case let .mountedTmpfs(path): return "mounted tmpfs on \(path)"
            case let .remountedTmpfs(path): return "remounted tmpfs on \(path)"
            case let .createdHostPath(path): return "created host path \(path)"
            }
        }
    }

    public var changes: [Change] = []

    public init(changes: [Change] = []) {
        self.changes = changes
    }

    /// True when nothing was changed.
    public var isEmpty: Bool { changes.isEmpty }
}

/// What `PlanMaterializer.removePod(directory:)` did.
public struct RemovalReport: Sendable, Equatable {
    /// Mount points below the pod's directory that were unmounted, deepest first.
    public var unmounted: [String]
    /// False when the directory did not exist.
    public var removed: Bool

    public init(unmounted: [String], removed: Bool) {
        self.unmounted = unmounted
        self.removed = removed
    }
}

/// `0644`-style text of a mode.
func modeText(_ mode: UInt32) -> String {
    let digits = String(mode, radix: 8)
    return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
}
