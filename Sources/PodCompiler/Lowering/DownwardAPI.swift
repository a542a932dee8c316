/// Values of `fieldRef` and `resourceFieldRef`, for environment variables and downwardAPI volumes.
/// The pod shares the host's network, so its IPs are the node's: `status.podIP`/`hostIP` the primary
/// one (internal, else external), `status.podIPs`/`hostIPs` one per IP family.
enum DownwardAPI {
    static func fieldValue(_ fieldPath: String, path: FieldPath, ctx: LoweringContext, forVolume: Bool = false)
        throws(CompileError) -> String
    {
        let meta = ctx.pod.metadata
        switch fieldPath {
        case "metadata.name": return ctx.pod.name
        case "metadata.namespace": return ctx.pod.namespace
        case "metadata.uid": return ctx.uid
        case "spec.nodeName": return ctx.node.nodeName
        case "spec.serviceAccountName": return ctx.pod.spec.serviceAccountName ?? ctx.pod.spec.serviceAccount ?? "default"
        case "status.hostIP", "status.podIP":
            guard let ip = ctx.node.internalIP ?? ctx.node.externalIP else {
                throw ctx.error(.missingReference, path, "\(fieldPath) is the node's address, which is not known: give --node-ip")
            }
            return ip
        case "status.hostIPs", "status.podIPs":
            // As the kubelet reports them: the node's primary address, then its first address of the
            // other IP family, if any (at most one per family).
            let ips = [ctx.node.internalIP, ctx.node.externalIP].compactMap { $0 }
            guard let primary = ips.first else {
                throw ctx.error(.missingReference, path, "\(fieldPath) is the node's addresses, which are not known: give --node-ip")
            }
            let isIPv6: (String) -> Bool = { $0.contains(":") }
            let other = ips.first { isIPv6($0) != isIPv6(primary) }
            return ([primary] + (other.map { [$0] } ?? [])).joined(separator: ",")
        case "metadata.labels" where forVolume:
            return formatMap(meta.labels ?? [:])
        case "metadata.annotations" where forVolume:
            return formatMap(meta.annotations ?? [:])
        default:
            for (prefix, map) in [("metadata.labels", meta.labels), ("metadata.annotations", meta.annotations)] {
                if fieldPath.hasPrefix(prefix + "['"), fieldPath.hasSuffix("']") {
                    let key = String(fieldPath.dropFirst(prefix.count + 2).dropLast(2))
                    return map?[key] ?? ""
                }
            }
            throw ctx.error(
                .invalidField, path,
                "\(quoted(fieldPath)) is not a supported field (metadata.name, metadata.namespace, metadata.uid, metadata.labels['KEY'], metadata.annotations['KEY'], spec.nodeName, spec.serviceAccountName, status.hostIP, status.hostIPs, status.podIP, status.podIPs\(forVolume ? ", metadata.labels, metadata.annotations" : ""))")
        }
    }

    /// `key="value"` lines, sorted by key, values escaped as Go's %q does: the kubelet's format.
    static func formatMap(_ map: [String: String]) -> String {
        map.keys.sorted().map { k in
            k + "=" + goQuote(map[k] ?? "")
        }.joined(separator: "\n")
    }

    /// Go's strconv.Quote for the characters that occur in label and annotation values.
    static func goQuote(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            case "\u{07}": out += "\\a"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case "\u{0B}": out += "\\v"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7f {
                    out += "\\x" + ExecWords.hex(UInt8(scalar.value))
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    static func resourceValue(
        _ ref: ResourceFieldSelector, defaultContainer: String?, path: FieldPath, ctx: LoweringContext,
        resources: [String: ResourceLowering.Lowered]
    ) throws(CompileError) -> String {
        guard let containerName = ref.containerName ?? defaultContainer, !containerName.isEmpty else {
            throw ctx.error(.missingField, path.field("containerName"), "is required in a volume")
        }
        guard let r = resources[containerName] else {
            throw ctx.error(.missingReference, path.field("containerName"), "the pod has no container \(quoted(containerName))")
        }
        let divisor = ref.divisor
        if let d = divisor, d.isZero || d.negative {
            throw ctx.error(.invalidField, path.field("divisor"), "must be positive")
        }
        switch ref.resource {
        case "limits.cpu", "requests.cpu":
            var milli = ref.resource == "limits.cpu" ? r.milliCPULimit : r.milliCPURequest
            if milli == nil, ref.resource == "limits.cpu" {
                guard let a = ctx.node.allocatableMilliCPU else {
                    throw ctx.error(.missingReference, path.field("resource"), "the container has no CPU limit and the node's allocatable CPU is not known")
                }
                milli = a
            }
            let divisorMilli = try divisor.map { q throws(CompileError) -> Int64 in
                guard let v = q.milliValue, v > 0 else { throw ctx.error(.invalidField, path.field("divisor"), "is out of range") }
                return v
            } ?? 1000
            let m = milli ?? 0
            return String(m / divisorMilli + (m % divisorMilli == 0 ? 0 : 1))
        case "limits.memory", "requests.memory":
            var bytes = ref.resource == "limits.memory" ? r.memoryLimit : r.memoryRequest
            if bytes == nil, ref.resource == "limits.memory" {
                guard let a = ctx.node.allocatableMemory else {
                    throw ctx.error(.missingReference, path.field("resource"), "the container has no memory limit and the node's allocatable memory is not known")
                }
                bytes = a
            }
            let d = try divisor.map { q throws(CompileError) -> Int64 in
                guard let v = q.value, v > 0 else { throw ctx.error(.invalidField, path.field("divisor"), "is out of range") }
                return v
            } ?? 1
            let b = bytes ?? 0
            return String(b / d + (b % d == 0 ? 0 : 1))
        default:
            throw ctx.error(
                .unsupported, path.field("resource"),
                "\(quoted(ref.resource)) is not supported (limits.cpu, requests.cpu, limits.memory, requests.memory)")
        }
    }
}
