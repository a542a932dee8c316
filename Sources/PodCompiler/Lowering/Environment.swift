/// A container's environment, resolved the way the kubelet resolves it, then written for systemd.
///
/// Order: HOSTNAME, KUBERNETES_SERVICE_HOST/PORT (when known), SYSTEMK_NODE_INTERNAL_IP and
/// SYSTEMK_NODE_EXTERNAL_IP, then `envFrom` (in order, with its prefix), then `env` (in order); a later
/// definition of a name replaces an earlier one. `$(VAR)` in `env[].value` expands against the
/// service variables (KUBERNETES_SERVICE_HOST/PORT) and the container's variables defined before it
/// (envFrom and earlier env), and in `command`/`args` against all of those, as the kubelet does;
/// HOSTNAME and SYSTEMK_* are set for the process but, as in the kubelet, not expanded.
///
/// Plain values become one `Environment="NAME=value"` line each (one bad escape on a line makes
/// systemd drop every assignment on it). Values that come from Secrets, or that expand one, never go
/// into the unit file (unit files and `systemctl show` are readable by every local user): they go into
/// a root-only file named by `EnvironmentFile=`.
enum EnvironmentLowering {
    struct Entry: Equatable {
        var name: String
        var value: [UInt8]
        var sensitive: Bool
        var origin: String
        /// The field that defined it, for errors (nil for the variables systemk adds).
        var path: FieldPath? = nil
        /// Whether the kubelet's `$(VAR)` expansion would see it: the container's own variables and
        /// the service variables do; HOSTNAME and systemk's SYSTEMK_* (set by the runtime, not the
        /// kubelet) do not.
        var expandable = true
    }

    struct Resolved {
        var entries: [Entry]

        /// For `$(VAR)` in command and args: plain values inline, secrets as `${VAR}` for systemd.
        func lookup(_ name: String) -> VariableExpansion.Segment? {
            guard let e = entries.first(where: { $0.name == name }), e.expandable else { return nil }
            return e.sensitive ? .reference(name) : .literal(e.value)
        }
    }

    static func resolve(
        container: Container, path: FieldPath, ctx: LoweringContext,
        resources: [String: ResourceLowering.Lowered]
    ) throws(CompileError) -> Resolved {
        // Variables the kubelet's $(VAR) expansion can see: the service variables and the container's own, in order.
        var visible: [String: (value: [UInt8], sensitive: Bool)] = [:]
        var entries: [Entry] = []
        func define(_ e: Entry) {
            if let i = entries.firstIndex(where: { $0.name == e.name }) {
                entries[i] = e
            } else {
                entries.append(e)
            }
        }

        let hostname = ctx.pod.spec.hostname ?? ctx.pod.name
        define(Entry(name: "HOSTNAME", value: Array(hostname.utf8), sensitive: false, origin: ctx.pod.spec.hostname != nil ? "spec.hostname" : "metadata.name", expandable: false))
        if let host = ctx.node.kubernetesServiceHost {
            define(Entry(name: "KUBERNETES_SERVICE_HOST", value: Array(host.utf8), sensitive: false, origin: "node: Kubernetes API service"))
            visible["KUBERNETES_SERVICE_HOST"] = (Array(host.utf8), false)
            if let port = ctx.node.kubernetesServicePort {
                define(Entry(name: "KUBERNETES_SERVICE_PORT", value: Array(String(port).utf8), sensitive: false, origin: "node: Kubernetes API service"))
                visible["KUBERNETES_SERVICE_PORT"] = (Array(String(port).utf8), false)
            }
        }
        if let ip = ctx.node.internalIP {
            define(Entry(name: "SYSTEMK_NODE_INTERNAL_IP", value: Array(ip.utf8), sensitive: false, origin: "node: --node-ip", expandable: false))
        }
        if let ip = ctx.node.externalIP {
            define(Entry(name: "SYSTEMK_NODE_EXTERNAL_IP", value: Array(ip.utf8), sensitive: false, origin: "node: --node-external-ip", expandable: false))
        }

        for (i, source) in (container.envFrom ?? []).enumerated() {
            let p = path.field("envFrom").index(i)
            let prefix = source.prefix ?? ""
            let data: [String: [UInt8]]
            let sensitive: Bool
            if let ref = source.configMapRef {
                guard let name = ref.name, !name.isEmpty else { throw ctx.error(.missingField, p.field("configMapRef").field("name"), "is required") }
                guard let cm = ctx.input.configMaps[name] else {
                    if ref.optional == true { continue }
                    throw ctx.error(.missingReference, p.field("configMapRef").field("name"), "ConfigMap \(ctx.pod.namespace)/\(name) is not among the inputs")
                }
                data = cm.contents
                sensitive = false
            } else if let ref = source.secretRef {
                guard let name = ref.name, !name.isEmpty else { throw ctx.error(.missingField, p.field("secretRef").field("name"), "is required") }
                guard let s = ctx.input.secrets[name] else {
                    if ref.optional == true { continue }
                    throw ctx.error(.missingReference, p.field("secretRef").field("name"), "Secret \(ctx.pod.namespace)/\(name) is not among the inputs")
                }
                data = s.contents
                sensitive = true
            } else {
                throw ctx.error(.missingField, p, "needs configMapRef or secretRef")
            }
            for key in data.keys.sorted() {
                let name = prefix + key
                guard isValidName(name) else {
                    throw ctx.error(
                        .invalidName, p,
                        "key \(quoted(key)) gives the variable name \(quoted(name)), which systemd cannot carry (names are letters, digits and _, not starting with a digit)")
                }
                let value = data[key] ?? []
                define(Entry(name: name, value: value, sensitive: sensitive, origin: p.description, path: p))
                visible[name] = (value, sensitive)
            }
        }

        for (i, env) in (container.env ?? []).enumerated() {
            let p = path.field("env").index(i)
            guard isValidName(env.name) else {
                throw ctx.error(
                    .invalidName, p.field("name"),
                    "\(quoted(env.name)) is not a name systemd can carry (letters, digits and _, not starting with a digit); systemd would silently drop it")
            }
            var value: [UInt8]
            var sensitive = false
            if let from = env.valueFrom {
                if env.value != nil, !(env.value ?? "").isEmpty {
                    throw ctx.error(.invalidField, p, "value and valueFrom cannot both be set")
                }
                guard let v = try valueFrom(from, path: p.field("valueFrom"), container: container, ctx: ctx, resources: resources) else {
                    continue  // an optional reference that is absent
                }
                value = v.value
                sensitive = v.sensitive
            } else {
                let text = env.value ?? ""
                var usesSecret = false
                let segments = VariableExpansion.expand(text) { name in
                    guard let v = visible[name] else { return nil }
                    if v.sensitive { usesSecret = true }
                    return .literal(v.value)
                }
                value = segments.flatMap { seg -> [UInt8] in
                    if case let .literal(b) = seg { return b }
                    return []
                }
                sensitive = usesSecret
            }
            define(Entry(name: env.name, value: value, sensitive: sensitive, origin: p.description, path: p))
            visible[env.name] = (value, sensitive)
        }
        return Resolved(entries: entries)
    }

    /// Kubernetes accepts nearly any name; systemd only `[A-Za-z_][A-Za-z0-9_]*` and drops the rest.
    static func isValidName(_ name: String) -> Bool {
        SystemdEscaping.isValidEnvironmentName(name)
    }

    private static func valueFrom(
        _ from: EnvVarSource, path: FieldPath, container: Container, ctx: LoweringContext,
        resources: [String: ResourceLowering.Lowered]
    ) throws(CompileError) -> (value: [UInt8], sensitive: Bool)? {
        let set = [from.fieldRef != nil, from.resourceFieldRef != nil, from.configMapKeyRef != nil, from.secretKeyRef != nil].filter { $0 }.count
        guard set == 1 else {
            throw ctx.error(.invalidField, path, "needs exactly one of fieldRef, resourceFieldRef, configMapKeyRef, secretKeyRef")
        }
        if let ref = from.fieldRef {
            let v = try DownwardAPI.fieldValue(ref.fieldPath, path: path.field("fieldRef").field("fieldPath"), ctx: ctx)
            return (Array(v.utf8), false)
        }
        if let ref = from.resourceFieldRef {
            let v = try DownwardAPI.resourceValue(ref, defaultContainer: container.name, path: path.field("resourceFieldRef"), ctx: ctx, resources: resources)
            return (Array(v.utf8), false)
        }
        if let ref = from.configMapKeyRef {
            let p = path.field("configMapKeyRef")
            guard let name = ref.name, !name.isEmpty else { throw ctx.error(.missingField, p.field("name"), "is required") }
            guard let cm = ctx.input.configMaps[name] else {
                if ref.optional == true { return nil }
                throw ctx.error(.missingReference, p.field("name"), "ConfigMap \(ctx.pod.namespace)/\(name) is not among the inputs")
            }
            guard let v = cm.contents[ref.key] else {
                if ref.optional == true { return nil }
                throw ctx.error(.missingReference, p.field("key"), "ConfigMap \(ctx.pod.namespace)/\(name) has no key \(quoted(ref.key))")
            }
            return (v, false)
        }
        if let ref = from.secretKeyRef {
            let p = path.field("secretKeyRef")
            guard let name = ref.name, !name.isEmpty else { throw ctx.error(.missingField, p.field("name"), "is required") }
            guard let s = ctx.input.secrets[name] else {
                if ref.optional == true { return nil }
                throw ctx.error(.missingReference, p.field("name"), "Secret \(ctx.pod.namespace)/\(name) is not among the inputs")
            }
            guard let v = s.contents[ref.key] else {
                if ref.optional == true { return nil }
                throw ctx.error(.missingReference, p.field("key"), "Secret \(ctx.pod.namespace)/\(name) has no key \(quoted(ref.key))")
            }
            return (v, true)
        }
        return nil
    }

    /// Writes the environment: plain values as Environment= lines, secrets into `envFile`.
    /// Returns the file to create, if any.
    static func apply(
        _ resolved: Resolved, envFile: String, ctx: LoweringContext, path: FieldPath, to unit: inout UnitBuilder
    ) throws(CompileError) -> PlannedFile? {
        // The package's own environment files would override the pod's values (systemd lets
        // EnvironmentFile= win over Environment=): removed.
        unit.remove("EnvironmentFile", in: "Service")
        var fileLines: [String] = []
        for e in resolved.entries {
            guard !e.value.contains(0) else {
                throw ctx.error(.unrepresentable, e.path ?? FieldPath.dotted(e.origin), "the value of \(e.name) holds a NUL byte, which no process environment can carry")
            }
            do {
                if e.sensitive {
                    fileLines.append(try SystemdEscaping.environmentFileLine(name: e.name, bytes: e.value))
                } else {
                    unit.append("Environment", try SystemdEscaping.environmentAssignment(name: e.name, bytes: e.value), in: "Service", origin: e.origin)
                }
            } catch {
                let why = error.reason == .invalidUTF8 ? "is not valid UTF-8, which systemd refuses in an environment" : "cannot be carried by systemd: \(error.message)"
                throw ctx.error(.unrepresentable, e.path ?? FieldPath.dotted(e.origin), "the value of \(e.name) \(why)")
            }
        }
        guard !fileLines.isEmpty else { return nil }
        unit.append("EnvironmentFile", envFile, in: "Service", origin: "systemk: secret environment (root-only file)")
        return PlannedFile(
            path: envFile, mode: "0600", owner: "0", group: "0", sensitive: true,
            content: .bytes(Array(fileLines.joined().utf8)),
            purpose: "secret environment of container \(path)")
    }
}
