/// Probes are checked here and carried in the plan as data; the runtime's prober runs them.
/// Kubernetes' defaults are filled in so the runtime never guesses: periodSeconds 10, timeoutSeconds 1,
/// successThreshold 1, failureThreshold 3, initialDelaySeconds 0; httpGet scheme HTTP and path `/`;
/// named ports resolved to numbers.
enum ProbeLowering {
    static func lower(
        container: Container, unit: String, role: PlannedUnit.Role, ports: [String: Int], path: FieldPath,
        ctx: LoweringContext
    ) throws(CompileError) -> [PlannedProbe] {
        var out: [PlannedProbe] = []
        let list: [(Probe?, PlannedProbe.Kind, String)] = [
            (container.startupProbe, .startup, "startupProbe"), (container.livenessProbe, .liveness, "livenessProbe"),
            (container.readinessProbe, .readiness, "readinessProbe"),
        ]
        for (probe, kind, field) in list {
            guard var probe else { continue }
            let pp = path.field(field)
            if role == .initContainer {
                throw ctx.error(.invalidField, pp, "init containers cannot have probes (sidecars can)")
            }
            let handlers = [probe.exec != nil, probe.httpGet != nil, probe.tcpSocket != nil, probe.grpc != nil].filter { $0 }.count
            guard handlers == 1 else {
                throw ctx.error(.invalidField, pp, "needs exactly one of exec, httpGet, tcpSocket")
            }
            if probe.grpc != nil {
                throw ctx.error(.unsupported, pp.field("grpc"), "gRPC probes are not supported yet; use exec, httpGet or tcpSocket")
            }
            if let e = probe.exec, (e.command ?? []).isEmpty {
                throw ctx.error(.missingField, pp.field("exec").field("command"), "must not be empty")
            }
            func port(_ p: IntOrString, _ fp: FieldPath) throws(CompileError) -> IntOrString {
                switch p {
                case let .int(n):
                    guard (1...65535).contains(n) else { throw ctx.error(.invalidField, fp, "\(n) is not a port number") }
                    return .int(n)
                case let .string(name):
                    guard let n = ports[name] else {
                        throw ctx.error(.missingReference, fp, "the container has no port named \(quoted(name))")
                    }
                    return .int(n)
                }
            }
            if var h = probe.httpGet {
                h.port = try port(h.port, pp.field("httpGet").field("port"))
                h.scheme = h.scheme ?? "HTTP"
                guard h.scheme == "HTTP" || h.scheme == "HTTPS" else {
                    throw ctx.error(.invalidField, pp.field("httpGet").field("scheme"), "must be HTTP or HTTPS")
                }
                h.path = h.path ?? "/"
                probe.httpGet = h
            }
            if var t = probe.tcpSocket {
                t.port = try port(t.port, pp.field("tcpSocket").field("port"))
                probe.tcpSocket = t
            }
            probe.initialDelaySeconds = probe.initialDelaySeconds ?? 0
            probe.periodSeconds = probe.periodSeconds ?? 10
            probe.timeoutSeconds = probe.timeoutSeconds ?? 1
            probe.successThreshold = probe.successThreshold ?? 1
            probe.failureThreshold = probe.failureThreshold ?? 3
            for (v, f, min) in [(probe.initialDelaySeconds, "initialDelaySeconds", 0), (probe.periodSeconds, "periodSeconds", 1),
                (probe.timeoutSeconds, "timeoutSeconds", 1), (probe.successThreshold, "successThreshold", 1),
                (probe.failureThreshold, "failureThreshold", 1)]
            {
                if let v, v < min { throw ctx.error(.invalidField, pp.field(f), "must be at least \(min)") }
            }
            if kind != .readiness, probe.successThreshold != 1 {
                throw ctx.error(.invalidField, pp.field("successThreshold"), "must be 1 for \(kind.rawValue) probes")
            }
            // The grace period of a restart this probe causes (liveness and startup only, as Kubernetes).
            if let grace = probe.terminationGracePeriodSeconds {
                if kind == .readiness {
                    throw ctx.error(.invalidField, pp.field("terminationGracePeriodSeconds"), "must not be set for readiness probes")
                }
                if grace < 1 { throw ctx.error(.invalidField, pp.field("terminationGracePeriodSeconds"), "must be at least 1") }
            }
            out.append(PlannedProbe(container: container.name, unit: unit, kind: kind, probe: probe))
        }
        return out
    }
}
