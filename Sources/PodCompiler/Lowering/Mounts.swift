/// `volumeMounts` → `BindPaths=` / `BindReadOnlyPaths=` entries.
///
/// One entry per line, `SOURCE:DESTINATION`, written by `SystemdEscaping.bindPath` (paths with spaces,
/// colons, quotes and `%` are carried; control characters cannot be: an input error).
enum MountLowering {
    static func bindEntry(source: String, destination: String) -> String? {
        try? SystemdEscaping.bindPath(source: source, destination: destination)
    }

    /// A path as one word of a space-separated path list (Documentation=, ...).
    static func escape(_ path: String) -> String? {
        try? SystemdEscaping.pathValue(path, for: .pathList)
    }

    /// Mount points outside the areas systemk replaces with temporary file systems must exist on the
    /// host: systemd would otherwise create them there.
    static let privateAreas = ["/tmp", "/var", "/run", "/home", "/root"]

    static func lower(
        container: Container, path: FieldPath, ctx: LoweringContext, identity: IdentityLowering.Identity,
        env: EnvironmentLowering.Resolved, volumes: inout VolumeLowering, unit: inout UnitBuilder
    ) throws(CompileError) -> Set<String> {
        var seen: Set<String> = []
        // Every mount point once, normalized, for the nesting check below (not once per pair).
        let allDestinations = (container.volumeMounts ?? []).map { Paths.normalizeAbsolute($0.mountPath) }
        for (i, m) in (container.volumeMounts ?? []).enumerated() {
            let mp = path.field("volumeMounts").index(i)
            guard let entry = volumes.volumes[m.name] else {
                throw ctx.error(.missingReference, mp.field("name"), "volume \(quoted(m.name)) is not defined in spec.volumes")
            }
            guard Paths.isCleanAbsolute(m.mountPath) else {
                throw ctx.error(.unsafePath, mp.field("mountPath"), "\(quoted(m.mountPath)) must be an absolute path without . or .. components")
            }
            let destination = Paths.normalizeAbsolute(m.mountPath)
            guard destination != "/" else {
                throw ctx.error(.unsafePath, mp.field("mountPath"), "a volume cannot be mounted over /")
            }
            guard seen.insert(destination).inserted else {
                throw ctx.error(.duplicateName, mp.field("mountPath"), "\(quoted(destination)) is mounted twice in this container")
            }
            if let prop = m.mountPropagation, prop == "Bidirectional" {
                throw ctx.error(.unsupported, mp.field("mountPropagation"), "Bidirectional propagation is not supported (None and HostToContainer are)")
            } else if let prop = m.mountPropagation, !["None", "HostToContainer"].contains(prop) {
                throw ctx.error(.invalidField, mp.field("mountPropagation"), "\(quoted(prop)) is not None, HostToContainer or Bidirectional")
            }
            var subPath: String? = nil
            if let sp = m.subPath, !sp.isEmpty {
                if let e = m.subPathExpr, !e.isEmpty {
                    throw ctx.error(.invalidField, mp.field("subPathExpr"), "subPath and subPathExpr cannot both be set")
                }
                guard Paths.isSafeRelative(sp) else {
                    throw ctx.error(.unsafePath, mp.field("subPath"), "\(quoted(sp)) must be a relative path that stays inside the volume (no .. and not absolute)")
                }
                subPath = Paths.normalizeRelative(sp)
            } else if let e = m.subPathExpr, !e.isEmpty {
                let expanded = VariableExpansion.expandBytes(e, values: Dictionary(env.entries.filter { !$0.sensitive }.map { ($0.name, $0.value) }, uniquingKeysWith: { $1 }))
                guard let text = String(validating: expanded, as: UTF8.self), Paths.isSafeRelative(text) else {
                    throw ctx.error(.unsafePath, mp.field("subPathExpr"), "\(quoted(e)) expands to a path that leaves the volume or is not valid")
                }
                subPath = Paths.normalizeRelative(text)
            }
            let mounted = try volumes.materialize(entry.volume, index: entry.index, container: container.name, identity: identity)
            var source = mounted.hostPath
            if let subPath, !subPath.isEmpty {
                source = Paths.join(source, subPath)
                if mounted.isHostPath {
                    // The kubelet expects a hostPath subPath to exist.
                } else if mounted.alwaysReadOnly {
                    guard volumes.files[source] != nil || volumes.directories[source] != nil
                        || volumes.files.keys.contains(where: { Paths.isWithin($0, source) })
                    else {
                        throw ctx.error(.missingReference, mp.field("subPath"), "\(quoted(subPath)) is not a file or directory of volume \(quoted(m.name))")
                    }
                } else {
                    var current = mounted.hostPath
                    for part in subPath.split(separator: "/") {
                        current = Paths.join(current, String(part))
                        volumes.addDirectory(current, mode: 0o777, owner: "0", group: "0", purpose: "subPath of emptyDir \(m.name)")
                    }
                }
            }
            guard let value = bindEntry(source: source, destination: destination) else {
                throw ctx.error(.unrepresentable, mp.field("mountPath"), "a path with control characters cannot be carried in a unit file")
            }
            let readOnly = mounted.alwaysReadOnly || m.readOnly == true
            unit.append(readOnly ? "BindReadOnlyPaths" : "BindPaths", value, in: "Service", origin: mp.description)
            let nested = allDestinations.contains { o in
                o != destination && Paths.isWithin(destination, o)
            }
            if !nested, !privateAreas.contains(where: { Paths.isWithin(destination, $0) }) {
                volumes.hostPathChecks["MountPoint " + destination] = HostPathCheck(path: destination, type: "MountPoint", volume: m.name)
            }
        }
        return seen
    }
}
