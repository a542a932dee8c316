/// Restarts, stopping, hooks and the order of a pod's units.
///
/// - restartPolicy Always / OnFailure / Never → Restart=always / on-failure / no. With OnFailure, death
///   by SIGTERM, SIGINT, SIGHUP or SIGPIPE also restarts (systemd counts those as clean exits,
///   Kubernetes as failures): RestartForceExitStatus=.
/// - RestartSec=10s like the kubelet's first back-off, StartLimitIntervalSec=0 (never give up). On
///   systemd 254 and later, back-off grows like the kubelet's up to 5 minutes
///   (RestartSteps=5, RestartMaxDelaySec=300s); older systemd never sees those keys.
/// - terminationGracePeriodSeconds (default 30, at least 2 as the kubelet enforces) → TimeoutStopSec=.
/// - Init containers are Type=oneshot with RemainAfterExit=yes and no start timeout; each one
///   Requires= and is After= the one before, and app containers Require and come After all of them, so
///   starting all units at once runs them in order and a failed init container keeps the app
///   containers from starting. Sidecars (init containers with restartPolicy: Always) start in their
///   place in that chain but are only Wanted (their restarts do not stop the pod).
/// - App containers and sidecars run as long as their process: a package unit's Type=oneshot becomes
///   Type=exec (systemd refuses Restart=always on a oneshot, and a oneshot's start would only end when
///   the process does), and such a unit must then be left with one ExecStart= (else: give command).
/// - postStart / preStop exec hooks → ExecStartPost= / ExecStop=; preStop sleep → ExecStop=/bin/sleep N.
enum LifecycleLowering {
    static let origin = "systemk: lifecycle"

    static func restartPolicy(_ ctx: LoweringContext) throws(CompileError) -> String {
        let p = ctx.pod.spec.restartPolicy ?? "Always"
        guard ["Always", "OnFailure", "Never"].contains(p) else {
            throw ctx.error(
                .invalidField, FieldPath.root.field("spec").field("restartPolicy"),
                "\(quoted(p)) is not one of Always, OnFailure, Never")
        }
        return p
    }

    static func applyRestart(
        role: PlannedUnit.Role, podPolicy: String, ctx: LoweringContext, path: FieldPath, to unit: inout UnitBuilder
    ) throws(CompileError) {
        for key in ["Restart", "RestartSec", "RestartForceExitStatus", "RestartPreventExitStatus", "RestartSteps",
            "RestartMaxDelaySec", "RemainAfterExit"]
        {
            unit.remove(key, in: "Service")
        }
        for key in ["StartLimitIntervalSec", "StartLimitBurst", "StartLimitAction", "StartLimitInterval"] {
            unit.remove(key, in: "Unit")
            unit.remove(key, in: "Service")
        }
        let policyPath = FieldPath.root.field("spec").field("restartPolicy").description
        if role != .initContainer, unit.lastValue("Type", in: "Service") == "oneshot" {
            unit.set("Type", "exec", in: "Service", origin: "systemk: a container runs as long as its process, not as a oneshot")
            let lines = unit.effectiveValues("ExecStart", in: "Service").count
            if lines > 1 {
                throw ctx.error(
                    .unsupported, path.field("command"),
                    "the package's unit is a oneshot with \(lines) ExecStart= lines, but a container is one long-running process; give command")
            }
        }
        switch role {
        case .initContainer:
            unit.set("Type", "oneshot", in: "Service", origin: "systemk: init container")
            unit.append("RemainAfterExit", "yes", in: "Service", origin: "systemk: init container")
            unit.append("TimeoutStartSec", "infinity", in: "Service", origin: "systemk: init container")
            unit.append("Restart", "no", in: "Service", origin: "systemk: init containers are retried by the agent")
            return
        case .sidecar:
            unit.append("Restart", "always", in: "Service", origin: "restartPolicy: Always (sidecar)")
        case .app:
            switch podPolicy {
            case "OnFailure":
                unit.append("Restart", "on-failure", in: "Service", origin: policyPath)
                unit.append(
                    "RestartForceExitStatus", "SIGTERM SIGINT SIGHUP SIGPIPE", in: "Service", origin: policyPath)
            case "Never":
                unit.append("Restart", "no", in: "Service", origin: policyPath)
                return
            default:
                unit.append("Restart", "always", in: "Service", origin: ctx.pod.spec.restartPolicy == nil ? "systemk: restartPolicy defaults to Always" : policyPath)
            }
        }
        unit.append("RestartSec", "10s", in: "Service", origin: "systemk: kubelet back-off")
        if ctx.node.systemdVersion >= 254 {
            unit.append("RestartSteps", "5", in: "Service", origin: "systemk: kubelet back-off (systemd >= 254)")
            unit.append("RestartMaxDelaySec", "300s", in: "Service", origin: "systemk: kubelet back-off (systemd >= 254)")
        }
    }

    static func applyGracePeriod(ctx: LoweringContext, to unit: inout UnitBuilder) throws(CompileError) {
        let given = ctx.pod.spec.terminationGracePeriodSeconds
        if let g = given, g < 0 {
            throw ctx.error(.invalidField, FieldPath.root.field("spec").field("terminationGracePeriodSeconds"), "must not be negative")
        }
        let seconds = max(2, given ?? 30)
        unit.set(
            "TimeoutStopSec", "\(seconds)s", in: "Service",
            origin: given == nil ? "systemk: default grace period (30s)" : "spec.terminationGracePeriodSeconds")
    }

    /// Start-order dependencies of the unit at `position` among the pod's init-phase units.
    static func applyOrdering(
        role: PlannedUnit.Role, initUnits: [(name: String, isSidecar: Bool)], ownIndex: Int?,
        to unit: inout UnitBuilder
    ) {
        let before: ArraySlice<(name: String, isSidecar: Bool)>
        switch role {
        case .app: before = initUnits[...]
        case .initContainer, .sidecar: before = initUnits.prefix(ownIndex ?? 0)
        }
        for dep in before {
            unit.append("After", dep.name, in: "Unit", origin: "systemk: init order")
            unit.append(dep.isSidecar ? "Wants" : "Requires", dep.name, in: "Unit", origin: "systemk: init order")
        }
    }

    static func applyHooks(
        container: Container, path: FieldPath, ctx: LoweringContext, to unit: inout UnitBuilder
    ) throws(CompileError) {
        guard let lifecycle = container.lifecycle else { return }
        let lp = path.field("lifecycle")
        for (handler, name, key) in [(lifecycle.postStart, "postStart", "ExecStartPost"), (lifecycle.preStop, "preStop", "ExecStop")] {
            guard let handler else { continue }
            let hp = lp.field(name)
            if handler.httpGet != nil {
                throw ctx.error(.unsupported, hp.field("httpGet"), "httpGet lifecycle hooks are not supported; use exec")
            }
            if handler.tcpSocket != nil {
                throw ctx.error(.unsupported, hp.field("tcpSocket"), "tcpSocket lifecycle hooks are not supported (nor by the kubelet); use exec")
            }
            if let exec = handler.exec {
                let command = exec.command ?? []
                guard !command.isEmpty else {
                    throw ctx.error(.missingField, hp.field("exec").field("command"), "must not be empty")
                }
                let words = try ExecStartLowering.encodeCommand(
                    command.map { [VariableExpansion.Segment.literal(Array($0.utf8))] }, path: hp.field("exec").field("command"), ctx: ctx)
                insertFirst(key, ExecWords.line(words), origin: hp.field("exec").description, into: &unit)
            } else if let sleep = handler.sleep {
                guard sleep.seconds >= 0 else {
                    throw ctx.error(.invalidField, hp.field("sleep").field("seconds"), "must not be negative")
                }
                insertFirst(key, "/bin/sleep \(sleep.seconds)", origin: hp.field("sleep").description, into: &unit)
            } else {
                throw ctx.error(.missingField, hp, "needs exec or sleep")
            }
        }
    }

    /// The pod's hook runs before the package's own ExecStop=/ExecStartPost= commands.
    private static func insertFirst(_ key: String, _ value: String, origin: String, into unit: inout UnitBuilder) {
        let existing = unit.originsOf(key, in: "Service")
        unit.remove(key, in: "Service")
        unit.append(key, value, in: "Service", origin: origin)
        for (v, o) in existing { unit.append(key, v, in: "Service", origin: o) }
    }
}
