/// `resources` → cgroup settings, always as plain numbers (Kubernetes' `128M` is 128·10⁶ bytes while
/// systemd's `128M` would be 128·2²⁰).
///
/// - requests.cpu → CPUWeight: milliCPU → cgroup-v1 shares as the kubelet computes them
///   (milliCPU × 1024 / 1000, at least 2 and at most 262144), then systemd's own shares → weight conversion
///   (shares × 100 / 1024, clamped to 1…10000). One CPU is weight 100, the weight of every ordinary
///   host service: a pod asking for one CPU competes like one host service.
/// - limits.cpu → CPUQuota, exactly milliCPU / 10 percent (500m → 50%).
/// - limits.memory → MemoryMax (bytes); requests.memory → MemoryLow (bytes): best-effort protection
///   under memory pressure, not a hard reservation that could starve the host's own services.
/// - Nothing given → nothing set. Anything else (hugepages-*, extended resources, a limit on
///   ephemeral-storage) is refused: systemd cannot honour it.
enum ResourceLowering {
    static func cpuShares(milliCPU: Int64) -> Int64 {
        if milliCPU == 0 { return 2 }
        // The kubelet's MaxShares (262144, 256 CPUs) bounds the product, which would otherwise overflow.
        let shares = min(milliCPU, 256_000) * 1024 / 1000
        return min(262_144, max(2, shares))
    }

    static func cpuWeight(milliCPU: Int64) -> Int64 {
        let shares = cpuShares(milliCPU: milliCPU)
        return min(10_000, max(1, shares * 100 / 1024))
    }

    /// `CPUQuota=` text for a limit: `50%`, `0.1%`, `250%`.
    static func cpuQuota(milliCPU: Int64) -> String {
        let whole = milliCPU / 10
        let tenth = milliCPU % 10
        return tenth == 0 ? "\(whole)%" : "\(whole).\(tenth)%"
    }

    struct Lowered {
        var milliCPURequest: Int64?
        var milliCPULimit: Int64?
        var memoryRequest: Int64?
        var memoryLimit: Int64?
    }

    static func lower(
        _ resources: ResourceRequirements?, path: FieldPath, ctx: LoweringContext
    ) throws(CompileError) -> Lowered {
        var out = Lowered()
        guard let resources else { return out }
        func check(_ map: [String: Quantity]?, _ field: String) throws(CompileError) {
            for (name, q) in (map ?? [:]).sorted(by: { $0.key < $1.key }) {
                let p = path.field(field).key(name)
                switch name {
                case "cpu", "memory":
                    break
                case "ephemeral-storage":
                    if field == "limits" {
                        throw ctx.error(
                            .unsupported, p,
                            "a limit on ephemeral-storage cannot be enforced by systemd; remove it (requests are accepted)")
                    }
                default:
                    if name.hasPrefix("hugepages-") {
                        throw ctx.error(.unsupported, p, "hugepages cannot be given to a systemd service by systemk")
                    }
                    throw ctx.error(
                        .unsupported, p, "resource \(quoted(name)) cannot be honoured by systemk (supported: cpu, memory)")
                }
                if q.negative {
                    throw ctx.error(.invalidField, p, "must not be negative")
                }
            }
        }
        try check(resources.limits, "limits")
        try check(resources.requests, "requests")
        func milli(_ q: Quantity?, _ p: FieldPath) throws(CompileError) -> Int64? {
            guard let q else { return nil }
            guard let v = q.milliValue else { throw ctx.error(.invalidField, p, "\(q.text) is too large") }
            return v
        }
        func bytes(_ q: Quantity?, _ p: FieldPath) throws(CompileError) -> Int64? {
            guard let q else { return nil }
            guard let v = q.value else { throw ctx.error(.invalidField, p, "\(q.text) is too large") }
            return v
        }
        out.milliCPULimit = try milli(resources.limits?["cpu"], path.field("limits").key("cpu"))
        out.memoryLimit = try bytes(resources.limits?["memory"], path.field("limits").key("memory"))
        // Kubernetes defaults a missing request to the limit.
        out.milliCPURequest = try milli(resources.requests?["cpu"], path.field("requests").key("cpu")) ?? out.milliCPULimit
        out.memoryRequest = try bytes(resources.requests?["memory"], path.field("requests").key("memory")) ?? out.memoryLimit
        if let r = out.milliCPURequest, let l = out.milliCPULimit, r > l {
            throw ctx.error(
                .invalidField, path.field("requests").key("cpu"),
                "request \(resources.requests?["cpu"]?.text ?? "") is more than the limit \(resources.limits?["cpu"]?.text ?? "")")
        }
        if let r = out.memoryRequest, let l = out.memoryLimit, r > l {
            throw ctx.error(
                .invalidField, path.field("requests").key("memory"),
                "request \(resources.requests?["memory"]?.text ?? "") is more than the limit \(resources.limits?["memory"]?.text ?? "")")
        }
        if let l = out.milliCPULimit, l == 0 {
            throw ctx.error(.invalidField, path.field("limits").key("cpu"), "a CPU limit of 0 would stop the service from running")
        }
        if let l = out.memoryLimit, l == 0 {
            throw ctx.error(.invalidField, path.field("limits").key("memory"), "a memory limit of 0 would stop the service from running")
        }
        return out
    }

    static func apply(_ r: Lowered, resources: ResourceRequirements?, path: FieldPath, to unit: inout UnitBuilder) {
        let requestsPath = path.field("requests")
        let limitsPath = path.field("limits")
        if let m = r.milliCPURequest {
            let origin = resources?.requests?["cpu"] != nil ? requestsPath.key("cpu") : limitsPath.key("cpu")
            unit.set("CPUWeight", String(cpuWeight(milliCPU: m)), in: "Service", origin: origin.description)
        }
        if let m = r.milliCPULimit {
            unit.set("CPUQuota", cpuQuota(milliCPU: m), in: "Service", origin: limitsPath.key("cpu").description)
        }
        if let b = r.memoryLimit {
            unit.set("MemoryMax", String(b), in: "Service", origin: limitsPath.key("memory").description)
        }
        if let b = r.memoryRequest {
            let origin = resources?.requests?["memory"] != nil ? requestsPath.key("memory") : limitsPath.key("memory")
            unit.set("MemoryLow", String(b), in: "Service", origin: origin.description)
        }
    }
}
