/// Volumes and mounts.
///
/// Every volume's content lives under the pod's directory (`<state>/pods/<uid>`, mode 0700, root):
/// `volumes/<name>` for volumes all containers share (emptyDir, configMap, downwardAPI, projected
/// without secrets), `containers/<container>/volumes/<name>` for volumes holding secrets (secret,
/// projected with a secret or a token), which are owned by the container's user and readable by
/// nobody else. A mount is a `BindPaths=` (or `BindReadOnlyPaths=` when read-only) of that directory,
/// or of `subPath` within it, at `mountPath`. hostPath volumes bind the host path itself.
/// ConfigMap, Secret, downwardAPI and projected volumes are always read-only, as in Kubernetes.
struct VolumeLowering {
    static let serviceAccountMountPath = "/var/run/secrets/kubernetes.io/serviceaccount"

    let ctx: LoweringContext
    let volumes: [String: (volume: Volume, index: Int)]
    var directories: [String: PlannedDirectory] = [:]
    var files: [String: PlannedFile] = [:]
    var hostPathChecks: [String: HostPathCheck] = [:]
    var tmpfsMounts: [String: PlannedTmpfs] = [:]

    init(ctx: LoweringContext) throws(CompileError) {
        self.ctx = ctx
        var map: [String: (Volume, Int)] = [:]
        for (i, v) in (ctx.pod.spec.volumes ?? []).enumerated() {
            let p = FieldPath.root.field("spec").field("volumes").index(i).field("name")
            guard Validation.isDNSLabel(v.name) else {
                throw ctx.error(.invalidName, p, "\(quoted(v.name)) is not a valid volume name (a DNS label: lowercase letters, digits and -, at most 63)")
            }
            if map[v.name] != nil {
                throw ctx.error(.duplicateName, p, "volume \(quoted(v.name)) is defined twice")
            }
            map[v.name] = (v, i)
        }
        volumes = map
        addDirectory(ctx.podDirectory, mode: 0o700, owner: "0", group: "0", purpose: "pod directory")
    }

    private var podDir: String { ctx.podDirectory }

    mutating func addDirectory(
        _ path: String, mode: Int32, owner: String, group: String, purpose: String, atomicUpdates: Bool = false
    ) {
        if directories[path] == nil {
            directories[path] = PlannedDirectory(
                path: path, mode: octal(mode), owner: owner, group: group, purpose: purpose, atomicUpdates: atomicUpdates)
        }
    }

    /// Directories that hold a volume's content (configMap, secret, downwardAPI, projected).
    private var contentDirectories: Set<String> = []

    /// Directories between the pod directory and `path` (exclusive): root-only, except inside a
    /// volume's content (an item at `conf/app.conf`), where they get the volume directory's mode and
    /// owner so that the container can reach the files.
    mutating func addParents(of path: String) {
        var parts = path.utf8.dropFirst(podDir.utf8.count).split(separator: UInt8(ascii: "/")).map { String(Substring($0)) }
        parts.removeLast()
        var current = podDir
        for part in parts {
            let parent = current
            current = Paths.join(current, part)
            if contentDirectories.contains(parent), let p = directories[parent] {
                if directories[current] == nil {
                    directories[current] = PlannedDirectory(path: current, mode: p.mode, owner: p.owner, group: p.group, purpose: p.purpose, atomicUpdates: false)
                }
                contentDirectories.insert(current)
            } else {
                addDirectory(current, mode: 0o700, owner: "0", group: "0", purpose: "pod directory")
            }
        }
    }

    struct MountedVolume {
        /// The host directory (or file, for hostPath) that holds the volume.
        var hostPath: String
        var alwaysReadOnly: Bool
        var isHostPath: Bool
    }

    /// Makes the volume's content for `container` (once per pod for shared volumes).
    mutating func materialize(
        _ volume: Volume, index: Int, container: String, identity: IdentityLowering.Identity
    ) throws(CompileError) -> MountedVolume {
        let vp = FieldPath.root.field("spec").field("volumes").index(index)
        let fsGroup = ctx.pod.spec.securityContext?.fsGroup
        let sharedDir = Paths.join(podDir, "volumes", volume.name)
        let privateDir = Paths.join(podDir, "containers", container, "volumes", volume.name)

        if let e = volume.emptyDir {
            addParents(of: sharedDir)
            var sizeBytes: Int64? = nil
            if let limit = e.sizeLimit {
                guard let b = limit.value, !limit.negative else {
                    throw ctx.error(.invalidField, vp.field("emptyDir").field("sizeLimit"), "\(limit.text) is not a valid size")
                }
                sizeBytes = b
            }
            switch e.medium ?? "" {
            case "":
                if sizeBytes != nil {
                    throw ctx.error(
                        .unsupported, vp.field("emptyDir").field("sizeLimit"),
                        "a size limit needs medium: Memory (a tmpfs); systemk cannot bound a directory on disk")
                }
                addDirectory(sharedDir, mode: fsGroup != nil ? 0o2777 : 0o777, owner: "0", group: fsGroup.map(String.init) ?? "0", purpose: "emptyDir \(volume.name)")
            case "Memory":
                addDirectory(sharedDir, mode: fsGroup != nil ? 0o2777 : 0o777, owner: "0", group: fsGroup.map(String.init) ?? "0", purpose: "emptyDir \(volume.name) (tmpfs, size \(sizeBytes.map(String.init) ?? "default"))")
                tmpfsMounts[sharedDir] = PlannedTmpfs(path: sharedDir, sizeBytes: sizeBytes, mode: octal(fsGroup != nil ? 0o2777 : 0o777), volume: volume.name)
            default:
                throw ctx.error(.unsupported, vp.field("emptyDir").field("medium"), "\(quoted(e.medium ?? "")) is not supported (\"\" or Memory)")
            }
            return MountedVolume(hostPath: sharedDir, alwaysReadOnly: false, isHostPath: false)
        }
        if let h = volume.hostPath {
            let hp = vp.field("hostPath")
            guard Paths.isCleanAbsolute(h.path) else {
                throw ctx.error(.unsafePath, hp.field("path"), "\(quoted(h.path)) must be an absolute path without . or .. components")
            }
            let type = h.type ?? ""
            let known = ["", "DirectoryOrCreate", "Directory", "FileOrCreate", "File", "Socket", "CharDevice", "BlockDevice"]
            guard known.contains(type) else {
                throw ctx.error(.invalidField, hp.field("type"), "\(quoted(type)) is not a hostPath type (\(known.dropFirst().joined(separator: ", ")))")
            }
            let path = Paths.normalizeAbsolute(h.path)
            hostPathChecks["hostPath " + path] = HostPathCheck(path: path, type: type.isEmpty ? "DirectoryOrCreate" : type, volume: volume.name)
            return MountedVolume(hostPath: path, alwaysReadOnly: false, isHostPath: true)
        }
        if let c = volume.configMap {
            let p = vp.field("configMap")
            addParents(of: sharedDir)
            addDirectory(sharedDir, mode: 0o755, owner: "0", group: "0", purpose: "configMap \(volume.name)", atomicUpdates: true)
            contentDirectories.insert(sharedDir)
            try writeConfigMap(name: c.name, items: c.items, defaultMode: c.defaultMode, optional: c.optional, into: sharedDir, path: p, owner: "0", group: fsGroup.map(String.init) ?? "0", sensitive: false, purpose: "configMap volume \(volume.name)")
            return MountedVolume(hostPath: sharedDir, alwaysReadOnly: true, isHostPath: false)
        }
        if let s = volume.secret {
            let p = vp.field("secret")
            addParents(of: privateDir)
            addDirectory(privateDir, mode: 0o500, owner: identity.owner, group: identity.group ?? "0", purpose: "secret \(volume.name)", atomicUpdates: true)
            contentDirectories.insert(privateDir)
            try writeSecret(name: s.secretName, nameField: "secretName", items: s.items, defaultMode: s.defaultMode, optional: s.optional, into: privateDir, path: p, identity: identity, purpose: "secret volume \(volume.name)")
            return MountedVolume(hostPath: privateDir, alwaysReadOnly: true, isHostPath: false)
        }
        if let d = volume.downwardAPI {
            let p = vp.field("downwardAPI")
            addParents(of: sharedDir)
            addDirectory(sharedDir, mode: 0o755, owner: "0", group: "0", purpose: "downwardAPI \(volume.name)", atomicUpdates: true)
            contentDirectories.insert(sharedDir)
            try writeDownwardAPI(d.items ?? [], defaultMode: d.defaultMode, into: sharedDir, path: p.field("items"), purpose: "downwardAPI volume \(volume.name)")
            return MountedVolume(hostPath: sharedDir, alwaysReadOnly: true, isHostPath: false)
        }
        if let proj = volume.projected {
            let p = vp.field("projected")
            let sources = proj.sources ?? []
            let sensitive = sources.contains { $0.secret != nil || $0.serviceAccountToken != nil }
            let dir = sensitive ? privateDir : sharedDir
            addParents(of: dir)
            addDirectory(dir, mode: sensitive ? 0o500 : 0o755, owner: sensitive ? identity.owner : "0", group: sensitive ? (identity.group ?? "0") : "0", purpose: "projected \(volume.name)", atomicUpdates: true)
            contentDirectories.insert(dir)
            for (i, source) in sources.enumerated() {
                let sp = p.field("sources").index(i)
                let count = [source.configMap != nil, source.secret != nil, source.downwardAPI != nil, source.serviceAccountToken != nil, source.clusterTrustBundle != nil].filter { $0 }.count
                guard count == 1 else {
                    throw ctx.error(.invalidField, sp, "needs exactly one of configMap, secret, downwardAPI, serviceAccountToken")
                }
                if let c = source.configMap {
                    try writeConfigMap(name: c.name, items: c.items, defaultMode: proj.defaultMode, optional: c.optional, into: dir, path: sp.field("configMap"), owner: sensitive ? identity.owner : "0", group: fsGroup.map(String.init) ?? "0", sensitive: false, purpose: "projected volume \(volume.name)")
                } else if let s = source.secret {
                    try writeSecret(name: s.name, nameField: "name", items: s.items, defaultMode: proj.defaultMode, optional: s.optional, into: dir, path: sp.field("secret"), identity: identity, purpose: "projected volume \(volume.name)")
                } else if let d = source.downwardAPI {
                    try writeDownwardAPI(d.items ?? [], defaultMode: proj.defaultMode, into: dir, path: sp.field("downwardAPI").field("items"), purpose: "projected volume \(volume.name)")
                } else if let t = source.serviceAccountToken {
                    let tp = sp.field("serviceAccountToken")
                    guard ctx.node.serviceAccountTokens else {
                        throw ctx.error(.unsupported, tp, "service-account tokens need a cluster; this node runs without one")
                    }
                    let expiration = t.expirationSeconds ?? 3600
                    guard expiration >= 600, expiration <= 1 << 32 else {
                        throw ctx.error(.invalidField, tp.field("expirationSeconds"), "must be between 600 and 4294967296")
                    }
                    let target = try itemPath(t.path, tp.field("path"), in: dir)
                    var source = "serviceAccountToken expirationSeconds=\(expiration)"
                    if let a = t.audience { source += " audience=\(a)" }
                    addFile(target, mode: secretMode(proj.defaultMode ?? 0o644, identity: identity), owner: identity.owner, group: identity.group ?? "0", sensitive: true, content: .runtime(source: source), purpose: "projected volume \(volume.name)")
                } else {
                    throw ctx.error(.unsupported, sp.field("clusterTrustBundle"), "clusterTrustBundle projections are not supported")
                }
            }
            return MountedVolume(hostPath: dir, alwaysReadOnly: true, isHostPath: false)
        }
        throw ctx.error(.missingField, vp, "has no volume source")
    }

    private func checkMode(_ mode: Int32?, _ path: FieldPath) throws(CompileError) {
        if let m = mode, m < 0 || m > 0o777 {
            throw ctx.error(.invalidField, path, "\(m) is not a file mode between 0 and 0777 (decimal 511)")
        }
    }

    private func itemPath(_ relative: String, _ path: FieldPath, in dir: String) throws(CompileError) -> String {
        guard Paths.isSafeRelative(relative), !relative.hasPrefix("..") else {
            throw ctx.error(.unsafePath, path, "\(quoted(relative)) must be a relative path that stays inside the volume (no .. and not absolute)")
        }
        let normalized = Paths.normalizeRelative(relative)
        guard !normalized.isEmpty else {
            throw ctx.error(.unsafePath, path, "\(quoted(relative)) names the volume itself")
        }
        return Paths.join(dir, normalized)
    }

    private mutating func addFile(
        _ path: String, mode: Int32, owner: String, group: String, sensitive: Bool, content: PlannedFile.Content,
        purpose: String
    ) {
        addParents(of: path)
        files[path] = PlannedFile(path: path, mode: octal(mode), owner: owner, group: group, sensitive: sensitive, content: content, purpose: purpose)
    }

    private func secretMode(_ requested: Int32, identity: IdentityLowering.Identity) -> Int32 {
        let groupBits: Int32 = ctx.pod.spec.securityContext?.fsGroup != nil ? (requested & 0o050) : 0
        let owner = requested & 0o700
        return (owner == 0 ? 0o400 : owner) | groupBits
    }

    private mutating func writeConfigMap(
        name: String?, items: [KeyToPath]?, defaultMode: Int32?, optional: Bool?, into dir: String, path: FieldPath,
        owner: String, group: String, sensitive: Bool, purpose: String
    ) throws(CompileError) {
        try checkMode(defaultMode, path.field("defaultMode"))
        guard let name, !name.isEmpty else { throw ctx.error(.missingField, path.field("name"), "is required") }
        guard let cm = ctx.input.configMaps[name] else {
            if optional == true { return }
            throw ctx.error(.missingReference, path.field("name"), "ConfigMap \(ctx.pod.namespace)/\(name) is not among the inputs")
        }
        let entries = try selectKeys(cm.contents, kind: "ConfigMap", objectName: name, items: items, optional: optional, into: dir, path: path)
        for (target, bytes, mode) in entries {
            addFile(target, mode: mode ?? defaultMode ?? 0o644, owner: owner, group: group, sensitive: sensitive, content: .bytes(bytes), purpose: purpose)
        }
    }

    private mutating func writeSecret(
        name: String?, nameField: String, items: [KeyToPath]?, defaultMode: Int32?, optional: Bool?, into dir: String,
        path: FieldPath, identity: IdentityLowering.Identity, purpose: String
    ) throws(CompileError) {
        try checkMode(defaultMode, path.field("defaultMode"))
        guard let name, !name.isEmpty else { throw ctx.error(.missingField, path.field(nameField), "is required") }
        guard let s = ctx.input.secrets[name] else {
            if optional == true { return }
            throw ctx.error(.missingReference, path.field(nameField), "Secret \(ctx.pod.namespace)/\(name) is not among the inputs")
        }
        let owner = identity.owner
        let group = identity.group ?? "0"
        let entries = try selectKeys(s.contents, kind: "Secret", objectName: name, items: items, optional: optional, into: dir, path: path)
        for (target, bytes, mode) in entries {
            addFile(target, mode: secretMode(mode ?? defaultMode ?? 0o644, identity: identity), owner: owner, group: group, sensitive: true, content: .bytes(bytes), purpose: purpose)
        }
    }

    /// The files a ConfigMap or Secret volume holds: target path, bytes, and the item's own mode.
    private func selectKeys(
        _ contents: [String: [UInt8]], kind: String, objectName: String, items: [KeyToPath]?, optional: Bool?,
        into dir: String, path: FieldPath
    ) throws(CompileError) -> [(String, [UInt8], Int32?)] {
        var out: [(String, [UInt8], Int32?)] = []
        if let items {
            for (i, item) in items.enumerated() {
                let ip = path.field("items").index(i)
                try checkMode(item.mode, ip.field("mode"))
                guard let bytes = contents[item.key] else {
                    if optional == true { continue }
                    throw ctx.error(.missingReference, ip.field("key"), "\(kind) \(ctx.pod.namespace)/\(objectName) has no key \(quoted(item.key))")
                }
                out.append((try itemPath(item.path, ip.field("path"), in: dir), bytes, item.mode))
            }
        } else {
            for key in contents.keys.sorted() {
                guard Validation.isConfigKey(key) else {
                    throw ctx.error(.invalidName, path, "\(kind) \(ctx.pod.namespace)/\(objectName) has key \(quoted(key)), which is not a valid file name")
                }
                out.append((Paths.join(dir, key), contents[key] ?? [], nil))
            }
        }
        return out
    }

    private mutating func writeDownwardAPI(
        _ items: [DownwardAPIVolumeFile], defaultMode: Int32?, into dir: String, path: FieldPath, purpose: String
    ) throws(CompileError) {
        try checkMode(defaultMode, path.field("defaultMode"))
        for (i, item) in items.enumerated() {
            let ip = path.index(i)
            try checkMode(item.mode, ip.field("mode"))
            let target = try itemPath(item.path, ip.field("path"), in: dir)
            let value: String
            if let f = item.fieldRef, item.resourceFieldRef == nil {
                value = try DownwardAPI.fieldValue(f.fieldPath, path: ip.field("fieldRef").field("fieldPath"), ctx: ctx, forVolume: true)
            } else if let r = item.resourceFieldRef, item.fieldRef == nil {
                value = try DownwardAPI.resourceValue(r, defaultContainer: nil, path: ip.field("resourceFieldRef"), ctx: ctx, resources: resourceTable)
            } else {
                throw ctx.error(.invalidField, ip, "needs exactly one of fieldRef and resourceFieldRef")
            }
            addFile(target, mode: item.mode ?? defaultMode ?? 0o644, owner: "0", group: "0", sensitive: false, content: .bytes(Array(value.utf8)), purpose: purpose)
        }
    }

    /// Resources of every container, for resourceFieldRef in volumes.
    var resourceTable: [String: ResourceLowering.Lowered] = [:]

    /// The service-account token files for one container.
    mutating func serviceAccountDirectory(container: String, identity: IdentityLowering.Identity) -> String {
        let dir = Paths.join(podDir, "containers", container, "serviceaccount")
        addParents(of: dir)
        addDirectory(dir, mode: 0o500, owner: identity.owner, group: identity.group ?? "0", purpose: "service-account token", atomicUpdates: true)
        let mode = secretMode(0o644, identity: identity)
        addFile(Paths.join(dir, "token"), mode: mode, owner: identity.owner, group: identity.group ?? "0", sensitive: true, content: .runtime(source: "serviceAccountToken expirationSeconds=3607"), purpose: "service-account token")
        addFile(Paths.join(dir, "ca.crt"), mode: 0o444, owner: "0", group: "0", sensitive: false, content: .runtime(source: "clusterCA"), purpose: "service-account token")
        addFile(Paths.join(dir, "namespace"), mode: 0o444, owner: "0", group: "0", sensitive: false, content: .bytes(Array(ctx.pod.namespace.utf8)), purpose: "service-account token")
        return dir
    }
}
