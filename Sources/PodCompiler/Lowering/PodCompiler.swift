import Foundation

/// The compiler: one pod in, one plan out. Pure: the same input always gives the same bytes.
public enum PodCompiler {
    /// Name of the slice every systemk unit runs in. One shared slice: a slice per pod costs systemd
    /// far more than it gives (docs/lowering.md); pod figures are sums over the pod's units.
    public static let slice = "systemk.slice"

    public static func compile(_ input: CompileInput) throws(CompileError) -> PodPlan {
        let ctx = LoweringContext(input)
        try validatePod(ctx)
        let pod = ctx.pod
        let podPolicy = try LifecycleLowering.restartPolicy(ctx)

        // Every container, init containers first, with its role.
        var all: [(container: Container, path: FieldPath, role: PlannedUnit.Role)] = []
        for (i, c) in (pod.spec.initContainers ?? []).enumerated() {
            let p = LoweringContext.containerPath(i, isInit: true)
            var role = PlannedUnit.Role.initContainer
            if let rp = c.restartPolicy {
                guard rp == "Always" else {
                    throw ctx.error(.invalidField, p.field("restartPolicy"), "only Always (a sidecar) is allowed on an init container")
                }
                role = .sidecar
            }
            all.append((c, p, role))
        }
        for (i, c) in pod.spec.containers.enumerated() {
            let p = LoweringContext.containerPath(i, isInit: false)
            if c.restartPolicy != nil {
                throw ctx.error(.invalidField, p.field("restartPolicy"), "is only allowed on init containers (sidecars)")
            }
            all.append((c, p, .app))
        }
        var names: Set<String> = []
        var resources: [String: ResourceLowering.Lowered] = [:]
        for (c, p, _) in all {
            guard Validation.isDNSLabel(c.name) else {
                throw ctx.error(.invalidName, p.field("name"), "\(quoted(c.name)) is not a valid container name (a DNS label: lowercase letters, digits and -, at most 63)")
            }
            guard names.insert(c.name).inserted else {
                throw ctx.error(.duplicateName, p.field("name"), "container name \(quoted(c.name)) is used twice")
            }
            resources[c.name] = try ResourceLowering.lower(c.resources, path: p.field("resources"), ctx: ctx)
        }

        var volumes = try VolumeLowering(ctx: ctx)
        volumes.resourceTable = resources
        let initUnits = all.filter { $0.role != .app }.map {
            (name: UnitNaming.unitName(namespace: pod.namespace, pod: pod.name, container: $0.container.name), isSidecar: $0.role == .sidecar)
        }
        var units: [PlannedUnit] = []
        var probes: [PlannedProbe] = []
        var packages: [PlannedPackage] = []
        var initIndex = 0
        for (c, p, role) in all {
            let unitName = UnitNaming.unitName(namespace: pod.namespace, pod: pod.name, container: c.name)
            guard let imageText = c.image, !imageText.isEmpty else {
                throw ctx.error(.missingField, p.field("image"), "is required: a Debian package name, an https:// URL of a .deb, or the /path of a binary")
            }
            let image: ImageReference
            switch ImageReference.parse(imageText) {
            case let .success(i): image = i
            case let .failure(e): throw ctx.error(.invalidField, p.field("image"), e.message)
            }
            if image.packageName != nil {
                if let i = packages.firstIndex(where: { $0.reference == image }) {
                    packages[i].containers.append(c.name)
                } else {
                    packages.append(PlannedPackage(image: imageText, reference: image, containers: [c.name]))
                }
            }
            let packageUnit = input.packageUnits[imageText] ?? image.packageName.flatMap { input.packageUnits[$0] }
            var unit: UnitBuilder
            if let packageUnit {
                unit = UnitBuilder(base: packageUnit.unit, origin: "package unit \(packageUnit.path)")
            } else {
                unit = UnitBuilder()
                unit.append("Type", "exec", in: "Service", origin: "systemk: synthesized unit")
            }
            unit.removeSection("Install")
            // Deleting a pod must stop every process of the container within the grace period:
            // a package's KillMode=process/none or SendSIGKILL=no would let processes outlive it.
            if let mode = unit.lastValue("KillMode", in: "Service"), mode == "process" || mode == "none" {
                unit.remove("KillMode", in: "Service")
            }
            unit.remove("SendSIGKILL", in: "Service")
            unit.set("Description", "systemk pod \(pod.namespace)/\(pod.name) container \(c.name)", in: "Unit", origin: "systemk: naming")
            if let pu = packageUnit {
                unit.remove("Documentation", in: "Unit")
                unit.append("Documentation", "file:" + (MountLowering.escape(pu.path) ?? pu.path), in: "Unit", origin: "systemk: package unit")
            }
            let identity = try IdentityLowering.lower(container: c, path: p, ctx: ctx, base: &unit)
            let ownIndex = role == .app ? nil : initIndex
            if role != .app { initIndex += 1 }

            // Environment and command line.
            let env = try EnvironmentLowering.resolve(container: c, path: p, ctx: ctx, resources: resources)
            let envFile = Paths.join(ctx.podDirectory, "containers", c.name, "environment")
            if let file = try EnvironmentLowering.apply(env, envFile: envFile, ctx: ctx, path: p, to: &unit) {
                volumes.addParents(of: envFile)
                volumes.files[envFile] = file
            }
            try ExecStartLowering.lower(container: c, image: image, path: p, env: env, ctx: ctx, unit: &unit)
            if let wd = c.workingDir, !wd.isEmpty {
                guard Paths.isCleanAbsolute(wd), let escaped = workingDirectory(wd) else {
                    throw ctx.error(.unsafePath, p.field("workingDir"), "\(quoted(wd)) must be an absolute path without . or .. components or control characters")
                }
                unit.set("WorkingDirectory", escaped, in: "Service", origin: p.field("workingDir").description)
            }

            // Filesystem.
            SandboxLowering.apply(
                to: &unit, userManager: ctx.node.userMode, readOnlyRoot: c.securityContext?.readOnlyRootFilesystem == true,
                readOnlyRootPath: p.field("securityContext").field("readOnlyRootFilesystem"))
            let mountPaths = try MountLowering.lower(container: c, path: p, ctx: ctx, identity: identity, env: env, volumes: &volumes, unit: &unit)
            if ctx.node.serviceAccountTokens, pod.spec.automountServiceAccountToken != false,
                !mountPaths.contains(VolumeLowering.serviceAccountMountPath)
            {
                let dir = volumes.serviceAccountDirectory(container: c.name, identity: identity)
                unit.append(
                    "BindReadOnlyPaths", MountLowering.bindEntry(source: dir, destination: VolumeLowering.serviceAccountMountPath) ?? "",
                    in: "Service", origin: "systemk: service-account token (spec.automountServiceAccountToken)")
            }

            // Resources, lifecycle, order.
            if let r = resources[c.name] {
                ResourceLowering.apply(r, resources: c.resources, path: p.field("resources"), to: &unit)
            }
            unit.set("Slice", slice, in: "Service", origin: "systemk: one slice for all pods")
            // The kubelet accounts every container: /stats/summary and `kubectl top` read these (systemd's
            // defaults differ between cgroup v1 and v2).
            unit.set("CPUAccounting", "yes", in: "Service", origin: "systemk: CPU usage for /stats/summary")
            unit.set("MemoryAccounting", "yes", in: "Service", origin: "systemk: memory usage for /stats/summary")
            try LifecycleLowering.applyRestart(role: role, podPolicy: podPolicy, ctx: ctx, path: p, to: &unit)
            try LifecycleLowering.applyGracePeriod(ctx: ctx, to: &unit)
            unit.append("StartLimitIntervalSec", "0", in: "Unit", origin: "systemk: never give up restarting")
            LifecycleLowering.applyOrdering(role: role, initUnits: initUnits, ownIndex: ownIndex, to: &unit)
            try LifecycleLowering.applyHooks(container: c, path: p, ctx: ctx, to: &unit)
            let containerPorts = try validatePorts(c, path: p, ctx: ctx)
            probes += try ProbeLowering.lower(container: c, unit: unitName, role: role, ports: containerPorts, path: p, ctx: ctx)

            // Identity for the runtime.
            let k = "X-Kubernetes"
            unit.append("Namespace", pod.namespace, in: k, origin: "metadata.namespace")
            unit.append("Pod", pod.name, in: k, origin: "metadata.name")
            unit.append("PodUID", ctx.uid, in: k, origin: pod.metadata.uid != nil ? "metadata.uid" : "systemk: derived from namespace and name")
            unit.append("Container", c.name, in: k, origin: p.field("name").description)
            unit.append("ContainerRole", role.rawValue, in: k, origin: "systemk")
            if let ownIndex { unit.append("InitIndex", String(ownIndex), in: k, origin: "systemk") }
            unit.append("Image", sanitizedValue(imageText), in: k, origin: p.field("image").description)
            unit.append("RestartPolicy", podPolicy, in: k, origin: "spec.restartPolicy")
            unit.append("PodDirectory", ctx.podDirectory, in: k, origin: "systemk")
            if let pu = packageUnit { unit.append("PackageUnit", sanitizedValue(pu.path), in: k, origin: "systemk") }
            unit.orderSections()

            let file = unit.unitFile
            units.append(
                PlannedUnit(
                    name: unitName, container: c.name, role: role, image: imageText, imageReference: image,
                    contents: file.serialized(), explain: unit.origins))
        }

        var directories = volumes.directories.values.sorted { $0.path < $1.path }
        var files = volumes.files.values.sorted { $0.path < $1.path }
        if ctx.node.userMode {
            // A user's systemd runs everything as that user, who owns what root would own elsewhere:
            // "" is the runtime's own uid and gid.
            func own(_ id: String) -> String { id == "0" ? "" : id }
            for i in directories.indices {
                directories[i].owner = own(directories[i].owner)
                directories[i].group = own(directories[i].group)
            }
            for i in files.indices {
                files[i].owner = own(files[i].owner)
                files[i].group = own(files[i].group)
            }
        }
        return PodPlan(
            namespace: pod.namespace, name: pod.name, uid: ctx.uid, podDirectory: ctx.podDirectory, units: units,
            directories: directories, files: files,
            tmpfsMounts: volumes.tmpfsMounts.values.sorted { $0.path < $1.path },
            hostPathChecks: volumes.hostPathChecks.sorted { $0.key < $1.key }.map(\.value),
            packages: packages, probes: probes)
    }

    /// A value for the `[X-Kubernetes]` section: one line, no surrounding whitespace.
    /// Control characters become spaces and a trailing backslash (which would join the next line) is
    /// written `%5C`: these values are informational.
    static func sanitizedValue(_ s: String) -> String {
        var v = String(s.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7f ? " " : Character($0) })
            .trimmingCharacters(in: .whitespaces)
        while v.hasSuffix("\\") {
            v.removeLast()
            v += "%5C"
        }
        return v
    }

    static func workingDirectory(_ path: String) -> String? {
        try? SystemdEscaping.pathValue(path, for: .workingDirectory)
    }

    static func validatePod(_ ctx: LoweringContext) throws(CompileError) {
        let pod = ctx.pod
        let meta = FieldPath.root.field("metadata")
        guard let name = pod.metadata.name, !name.isEmpty else {
            throw ctx.error(.missingField, meta.field("name"), "is required")
        }
        guard Validation.isDNSSubdomain(name) else {
            throw ctx.error(.invalidName, meta.field("name"), "\(quoted(name)) is not a valid pod name (a DNS subdomain: lowercase letters, digits, - and ., at most 253)")
        }
        guard Validation.isDNSLabel(pod.namespace) else {
            throw ctx.error(.invalidName, meta.field("namespace"), "\(quoted(pod.namespace)) is not a valid namespace (a DNS label)")
        }
        if let uid = pod.metadata.uid {
            let ok = !uid.isEmpty && uid.utf8.count <= 128 && uid != "." && uid != ".."
                && uid.utf8.allSatisfy { b in
                    (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(b) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(b)
                        || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b) || b == UInt8(ascii: "-")
                }
            guard ok else {
                throw ctx.error(.invalidName, meta.field("uid"), "\(quoted(uid)) is not a UID (letters, digits and -): it names the pod's directory")
            }
        }
        guard !pod.spec.containers.isEmpty else {
            throw ctx.error(.missingField, FieldPath.root.field("spec").field("containers"), "a pod needs at least one container")
        }
        if let h = pod.spec.hostname, !Validation.isDNSLabel(h) {
            throw ctx.error(.invalidName, FieldPath.root.field("spec").field("hostname"), "\(quoted(h)) is not a DNS label")
        }
        if let sysctls = pod.spec.securityContext?.sysctls, !sysctls.isEmpty {
            throw ctx.error(
                .unsupported, FieldPath.root.field("spec").field("securityContext").field("sysctls"),
                "sysctls cannot be honoured: pods share the host's kernel settings; set them on the node")
        }
        for (i, c) in pod.spec.containers.enumerated() where !(c.volumeDevices ?? []).isEmpty {
            throw ctx.error(
                .unsupported, LoweringContext.containerPath(i, isInit: false).field("volumeDevices"),
                "raw block devices from persistent volumes are not supported")
        }
        for (i, c) in (pod.spec.initContainers ?? []).enumerated() where !(c.volumeDevices ?? []).isEmpty {
            throw ctx.error(
                .unsupported, LoweringContext.containerPath(i, isInit: true).field("volumeDevices"),
                "raw block devices from persistent volumes are not supported")
        }
        if pod.spec.hostNetwork == false {
            // Explicitly asking for a pod network cannot be honoured; absent is fine.
            throw ctx.error(.unsupported, FieldPath.root.field("spec").field("hostNetwork"), "systemk pods always share the host's network")
        }
    }

    static func validatePorts(_ c: Container, path: FieldPath, ctx: LoweringContext) throws(CompileError) -> [String: Int] {
        var byName: [String: Int] = [:]
        for (i, port) in (c.ports ?? []).enumerated() {
            let pp = path.field("ports").index(i)
            guard (1...65535).contains(port.containerPort) else {
                throw ctx.error(.invalidField, pp.field("containerPort"), "\(port.containerPort) is not a port number (1 to 65535)")
            }
            if let hp = port.hostPort, hp != 0, hp != port.containerPort {
                throw ctx.error(.unsupported, pp.field("hostPort"), "pods share the host's network, so hostPort must equal containerPort (\(port.containerPort))")
            }
            if let proto = port.protocol, !["TCP", "UDP", "SCTP"].contains(proto) {
                throw ctx.error(.invalidField, pp.field("protocol"), "\(quoted(proto)) is not TCP, UDP or SCTP")
            }
            if let n = port.name {
                guard n.count <= 15, Validation.isDNSLabel(n) else {
                    throw ctx.error(.invalidName, pp.field("name"), "\(quoted(n)) is not a valid port name (at most 15 lowercase letters, digits and -)")
                }
                guard byName[n] == nil else {
                    throw ctx.error(.duplicateName, pp.field("name"), "port name \(quoted(n)) is used twice")
                }
                byName[n] = port.containerPort
            }
        }
        return byName
    }
}
