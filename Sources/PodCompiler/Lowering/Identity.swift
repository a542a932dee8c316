/// Who a container runs as, and with which privileges.
///
/// - runAsUser / runAsGroup (container over pod) → User= / Group= (numeric); `windowsOptions.runAsUserName`
///   → User=<name>, as the original systemk read it. When the pod sets an identity (or
///   `--override-root-uid` replaces root), the package's own User=, Group= and SupplementaryGroups= are
///   removed, and DynamicUser= too when a User= replaces it (a package's DynamicUser=yes is never
///   dropped without a user in its place: that would run it as root); otherwise the package's user stays.
/// - supplementalGroups and fsGroup → SupplementaryGroups=.
/// - A container that would run as root runs as `--override-root-uid` when that is given.
/// - runAsNonRoot: an error when the result is root (uid 0, `root`, or no user at all).
/// - Capabilities: the bounding set is the container runtimes' default set, plus `add`, minus `drop`
///   (in containerd's order: ALL first, then single capabilities, drops winning over adds), written as one `CapabilityBoundingSet=~…` line that removes the rest, so it
///   narrows (never widens) a package's own bounding set. `privileged: true` keeps every capability.
/// - allowPrivilegeEscalation: false → NoNewPrivileges=yes.
///
/// systemd 252 refuses to start a service whose numeric User=, Group= or SupplementaryGroups= id is not
/// in the node's user database (exit status 217/USER or 216/GROUP; checked against a real systemd), where
/// a container runtime would accept any id. The compiler cannot look at the node, so the runtime checks
/// the ids before starting a pod and reports a missing one as the container's waiting reason.
enum IdentityLowering {
    static let allCapabilities = [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
        "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
        "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE",
        "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT",
        "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
        "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
        "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
    ]

    /// containerd's and CRI-O's default set for a container.
    static let defaultCapabilities: Set<String> = [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
        "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL",
        "CAP_AUDIT_WRITE",
    ]

    /// The identity a container ends up with; files it must read are owned by `owner`.
    struct Identity {
        /// A uid or a user name; `0` for root.
        var owner: String
        var group: String?
        var isRoot: Bool
    }

    static func lower(
        container: Container, path: FieldPath, ctx: LoweringContext, base: inout UnitBuilder
    ) throws(CompileError) -> Identity {
        let podSC = ctx.pod.spec.securityContext
        let sc = container.securityContext
        let scPath = path.field("securityContext")
        let podSCPath = FieldPath.root.field("spec").field("securityContext")

        let runAsUser = sc?.runAsUser ?? podSC?.runAsUser
        let runAsUserPath = sc?.runAsUser != nil ? scPath.field("runAsUser") : podSCPath.field("runAsUser")
        let runAsGroup = sc?.runAsGroup ?? podSC?.runAsGroup
        let runAsGroupPath = sc?.runAsGroup != nil ? scPath.field("runAsGroup") : podSCPath.field("runAsGroup")
        let userName = sc?.windowsOptions?.runAsUserName ?? podSC?.windowsOptions?.runAsUserName
        let userNamePath =
            sc?.windowsOptions?.runAsUserName != nil
            ? scPath.field("windowsOptions").field("runAsUserName")
            : podSCPath.field("windowsOptions").field("runAsUserName")
        let runAsNonRoot = sc?.runAsNonRoot ?? podSC?.runAsNonRoot ?? false
        let groups = Set((podSC?.supplementalGroups ?? []) + (podSC?.fsGroup.map { [$0] } ?? [])).sorted()

        for (value, p) in [(runAsUser, runAsUserPath), (runAsGroup, runAsGroupPath)] {
            if let v = value, v < 0 || v > 4_294_967_294 {
                throw ctx.error(.invalidField, p, "\(v) is not a valid id (0 to 4294967294)")
            }
        }
        for (i, g) in (podSC?.supplementalGroups ?? []).enumerated() where g < 0 || g > 4_294_967_294 {
            throw ctx.error(.invalidField, podSCPath.field("supplementalGroups").index(i), "\(g) is not a valid group id")
        }
        if let g = podSC?.fsGroup, g < 0 || g > 4_294_967_294 {
            throw ctx.error(.invalidField, podSCPath.field("fsGroup"), "\(g) is not a valid group id")
        }
        if runAsUser != nil, userName != nil {
            throw ctx.error(.invalidField, userNamePath, "set either runAsUser or windowsOptions.runAsUserName, not both")
        }
        if let name = userName, !isValidUserName(name) {
            throw ctx.error(.invalidField, userNamePath, "\(quoted(name)) is not a valid user name")
        }

        if ctx.node.userMode {
            if runAsUser != nil || runAsGroup != nil || userName != nil || !groups.isEmpty {
                let p = runAsUser != nil ? runAsUserPath : runAsGroup != nil ? runAsGroupPath : userName != nil ? userNamePath : podSCPath
                throw ctx.error(.unsupported, p, "a user systemd (--user) runs every service as its own user; it cannot switch users or groups")
            }
            for key in ["User", "Group", "DynamicUser", "SupplementaryGroups"] { base.remove(key, in: "Service") }
            return Identity(owner: "", group: nil, isRoot: false)
        }

        let podSetsIdentity = runAsUser != nil || userName != nil || runAsGroup != nil
        var user: String? = nil
        var userOrigin = ""
        if let u = runAsUser {
            user = String(u)
            userOrigin = runAsUserPath.description
        } else if let n = userName {
            user = n
            userOrigin = userNamePath.description
        } else if let pkgUser = base.lastValue("User", in: "Service"), !pkgUser.isEmpty,
            base.lastValue("DynamicUser", in: "Service").map(isYes) != true
        {
            user = pkgUser
            userOrigin = "package unit"
        } else if base.lastValue("DynamicUser", in: "Service").map(isYes) == true {
            user = nil  // systemd picks a dynamic non-root user
        }
        let dynamic = runAsUser == nil && userName == nil && base.lastValue("DynamicUser", in: "Service").map(isYes) == true
        var isRoot = !dynamic && (user == nil || user == "0" || user == "root")
        var overridden = false
        if isRoot, let override = ctx.node.overrideRootUID {
            user = String(override)
            userOrigin = "node: --override-root-uid"
            isRoot = override == 0
            overridden = true
        }
        if runAsNonRoot && isRoot {
            let p = sc?.runAsNonRoot != nil ? scPath.field("runAsNonRoot") : podSCPath.field("runAsNonRoot")
            throw ctx.error(
                .securityPolicy, p,
                "runAsNonRoot is true but the container would run as root; set runAsUser to a non-zero uid")
        }
        if podSetsIdentity || overridden {
            for key in ["User", "Group", "SupplementaryGroups"] { base.remove(key, in: "Service") }
            if let user {
                base.remove("DynamicUser", in: "Service")
                base.append("User", user, in: "Service", origin: userOrigin)
            }
            if let g = runAsGroup {
                base.append("Group", String(g), in: "Service", origin: runAsGroupPath.description)
            }
        }
        if !groups.isEmpty {
            base.remove("SupplementaryGroups", in: "Service")
            let origin =
                podSC?.fsGroup != nil && podSC?.supplementalGroups != nil
                ? "spec.securityContext.supplementalGroups, spec.securityContext.fsGroup"
                : podSC?.fsGroup != nil ? "spec.securityContext.fsGroup" : "spec.securityContext.supplementalGroups"
            base.append("SupplementaryGroups", groups.map(String.init).joined(separator: " "), in: "Service", origin: origin)
        }

        // Capabilities.
        if sc?.privileged != true {
            // containerd's order: add ALL, drop ALL, then each added capability, then each dropped
            // one (so a drop wins over an add of the same capability).
            var allowed = defaultCapabilities
            let capsPath = scPath.field("capabilities")
            let adds = sc?.capabilities?.add ?? []
            let drops = sc?.capabilities?.drop ?? []
            if adds.contains(where: { $0.uppercased() == "ALL" }) { allowed = Set(allCapabilities) }
            if drops.contains(where: { $0.uppercased() == "ALL" }) { allowed.removeAll() }
            for (i, c) in adds.enumerated() where c.uppercased() != "ALL" {
                allowed.insert(try capability(c, capsPath.field("add").index(i), ctx))
            }
            for (i, c) in drops.enumerated() where c.uppercased() != "ALL" {
                allowed.remove(try capability(c, capsPath.field("drop").index(i), ctx))
            }
            let removed = allCapabilities.filter { !allowed.contains($0) }
            if !removed.isEmpty {
                let origin = sc?.capabilities != nil ? capsPath.description : "systemk: container default capabilities"
                base.append("CapabilityBoundingSet", "~" + removed.joined(separator: " "), in: "Service", origin: origin)
            }
        }
        if sc?.allowPrivilegeEscalation == false {
            if sc?.privileged == true {
                throw ctx.error(
                    .invalidField, scPath.field("allowPrivilegeEscalation"),
                    "cannot be false when privileged is true")
            }
            base.set("NoNewPrivileges", "yes", in: "Service", origin: scPath.field("allowPrivilegeEscalation").description)
        }
        let group = runAsGroup.map(String.init) ?? podSC?.fsGroup.map(String.init)
        return Identity(owner: user ?? (dynamic ? "" : "0"), group: group, isRoot: isRoot)
    }

    static func capability(_ name: String, _ path: FieldPath, _ ctx: LoweringContext) throws(CompileError) -> String {
        let upper = name.uppercased()
        let full = upper.hasPrefix("CAP_") ? upper : "CAP_" + upper
        guard allCapabilities.contains(full) else {
            throw ctx.error(.invalidField, path, "\(quoted(name)) is not a Linux capability")
        }
        return full
    }

    static func isYes(_ v: String) -> Bool {
        ["1", "yes", "y", "true", "t", "on"].contains(v.lowercased())
    }

    /// Like systemd's valid_user_group_name in relaxed mode: no spaces, colons, slashes or control
    /// characters, not starting with a digit-only form or `-`, at most 256 bytes.
    static func isValidUserName(_ s: String) -> Bool {
        guard !s.isEmpty, s.utf8.count <= 256, !s.hasPrefix("-"), s != ".", s != ".." else { return false }
        return s.unicodeScalars.allSatisfy { c in
            c.value > 0x20 && c.value != 0x7f && c != ":" && c != "/" && c != "," && c != "%"
        }
    }
}
