import PodCompiler

/// A planned directory with its path checked and confined, its mode parsed and its owner resolved.
struct ResolvedDirectory: Sendable, Equatable {
    var path: ConfinedPath
    /// Names below the pod's directory.
    var relative: [String]
    var mode: UInt32
    var owner: UInt32
    var group: UInt32
    var atomicUpdates: Bool
    /// The `atomicUpdates` volume this directory is content of, if any.
    var volume: ConfinedPath?
}

/// A planned file, checked and resolved, with its bytes.
struct ResolvedFile: Sendable, Equatable {
    var path: ConfinedPath
    var relative: [String]
    var contents: [UInt8]
    var mode: UInt32
    var owner: UInt32
    var group: UInt32
    var volume: ConfinedPath?
}

/// A whole pod plan checked before anything is written: every path inside the pod's directory,
/// every mode valid, every owner known, every runtime content given, no sensitive file readable by
/// all, no `atomicUpdates` volume inside another.
struct ResolvedPlan: Sendable {
    /// Parents before children.
    var directories: [ResolvedDirectory] = []
    var files: [ResolvedFile] = []
    /// tmpfs mounts by the absolute path of their directory.
    var tmpfs: [String: PlannedTmpfs] = [:]

    /// Names the runtime uses inside a directory for its own purposes.
    static let temporaryPrefix = ".systemk-tmp."

    init(plan: PodPlan, layout: PodLayout, users: any UserDatabase, runtimeContent: [String: [UInt8]]) throws(ApplyError) {
        var owners = OwnerResolver(users: users)
        var byPath: [String: ResolvedDirectory] = [:]
        for planned in plan.directories {
            let path = try layout.confined(planned.path)
            let (owner, group) = try owners.ids(owner: planned.owner, group: planned.group, path: planned.path)
            byPath[planned.path] = ResolvedDirectory(
                path: path, relative: try layout.relative(planned.path), mode: try parseMode(planned.mode, path: planned.path),
                owner: owner, group: group, atomicUpdates: planned.atomicUpdates, volume: nil)
        }
        for mount in plan.tmpfsMounts {
            let relative = try layout.relative(mount.path)
            guard !relative.isEmpty else {
                throw .invalidPlan(path: mount.path, reason: "a tmpfs cannot be mounted on the pod's directory itself")
            }
            tmpfs[mount.path] = mount
            if byPath[mount.path] == nil {
                byPath[mount.path] = ResolvedDirectory(
                    path: try layout.confined(mount.path), relative: relative, mode: try parseMode(mount.mode, path: mount.path),
                    owner: users.processIDs.user, group: users.processIDs.group, atomicUpdates: false, volume: nil)
            }
        }
        let volumes = byPath.values.filter(\.atomicUpdates).sorted { $0.relative.count < $1.relative.count }
        func volume(of relative: [String]) -> ResolvedDirectory? {
            volumes.last { $0.relative.count < relative.count && Array(relative.prefix($0.relative.count)) == $0.relative }
        }
        for (key, directory) in byPath {
            guard let owner = volume(of: directory.relative) else { continue }
            if directory.atomicUpdates {
                throw .invalidPlan(path: directory.path.path, reason: "an atomicUpdates volume cannot be inside another (\(owner.path.path))")
            }
            if tmpfs[key] != nil {
                throw .invalidPlan(path: key, reason: "a tmpfs cannot be mounted inside an atomicUpdates volume")
            }
            try Self.checkPayloadName(directory.relative, in: owner)
            byPath[key]?.volume = owner.path
        }
        directories = byPath.values.sorted { ($0.relative.count, $0.path.path) < ($1.relative.count, $1.path.path) }

        for planned in plan.files {
            let relative = try layout.relative(planned.path)
            guard let name = relative.last else {
                throw .invalidPlan(path: planned.path, reason: "a file cannot be the pod's directory")
            }
            guard byPath[planned.path] == nil else {
                throw .invalidPlan(path: planned.path, reason: "planned both as a file and as a directory")
            }
            guard !name.hasPrefix(Self.temporaryPrefix) else {
                throw .invalidPlan(path: planned.path, reason: "names starting with \(Self.temporaryPrefix) are the runtime's own")
            }
            let mode = try parseMode(planned.mode, path: planned.path)
            if planned.sensitive && mode & 0o007 != 0 {
                throw .invalidPlan(path: planned.path, reason: "a sensitive file must not be accessible to every user (mode \(planned.mode))")
            }
            let contents: [UInt8]
            switch planned.content {
            case let .bytes(bytes): contents = bytes
            case let .runtime(source):
                guard let provided = runtimeContent[source] else { throw .missingRuntimeContent(source: source, path: planned.path) }
                contents = provided
            }
            let (owner, group) = try owners.ids(owner: planned.owner, group: planned.group, path: planned.path)
            let owningVolume = volume(of: relative)
            if let owningVolume { try Self.checkPayloadName(relative, in: owningVolume) }
            files.append(
                ResolvedFile(
                    path: try layout.confined(planned.path), relative: relative, contents: contents, mode: mode, owner: owner,
                    group: group, volume: owningVolume?.path))
        }
        files.sort { $0.path.path < $1.path.path }
    }

    /// The first name below a volume must not start with `..`: those names are the AtomicWriter's
    /// (`..data`, generations), as in Kubernetes' validation of volume item paths.
    static func checkPayloadName(_ relative: [String], in volume: ResolvedDirectory) throws(ApplyError) {
        let first = relative[volume.relative.count]
        if first.hasPrefix("..") {
            throw .invalidPlan(
                path: volume.path.path + "/" + relative.dropFirst(volume.relative.count).joined(separator: "/"),
                reason: "a volume's entries cannot start with .. (reserved for its generations)")
        }
    }
}
