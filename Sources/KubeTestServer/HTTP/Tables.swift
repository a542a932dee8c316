import Foundation

/// `meta.k8s.io` Table output (what `kubectl get` prints), with the columns the real server's printers
/// produce for each kind, and PartialObjectMetadata.
enum Tables {
    struct Column {
        var name: String
        var type: String = "string"
        var format: String = ""
        var priority: Int = 0
        var description: String = ""
    }

    static func columns(_ resource: ResourceType) -> [Column] {
        let name = Column(name: "Name", format: "name", description: "Name must be unique within a namespace.")
        let age = Column(name: "Age", description: "CreationTimestamp is a timestamp representing the server time when this object was created.")
        switch resource {
        case .pods:
            return [name, Column(name: "Ready", description: "The aggregate readiness state of this pod for accepting traffic."),
                    Column(name: "Status", description: "The aggregate status of the containers in this pod."),
                    Column(name: "Restarts", description: "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted."),
                    age, Column(name: "IP", priority: 1, description: "IP address allocated to the pod."),
                    Column(name: "Node", priority: 1, description: "Name of the Node this pod is assigned to."),
                    Column(name: "Nominated Node", priority: 1, description: "Name of the node nominated for this pod."),
                    Column(name: "Readiness Gates", priority: 1, description: "Pod readiness gates.")]
        case .nodes:
            return [name, Column(name: "Status", description: "The status of the node"),
                    Column(name: "Roles", description: "The roles of the node"), age,
                    Column(name: "Version", description: "Kubelet Version reported by the node."),
                    Column(name: "Internal-IP", priority: 1, description: "List of internal IPs."),
                    Column(name: "External-IP", priority: 1, description: "List of external IPs."),
                    Column(name: "OS-Image", priority: 1, description: "OS image reported by the node."),
                    Column(name: "Kernel-Version", priority: 1, description: "Kernel version reported by the node."),
                    Column(name: "Container-Runtime", priority: 1, description: "Container runtime reported by the node.")]
        case .namespaces:
            return [name, Column(name: "Status", description: "The status of the namespace"), age]
        case .configMaps:
            return [name, Column(name: "Data", type: "integer", description: "Number of data items."), age]
        case .secrets:
            return [name, Column(name: "Type", description: "The type of the secret"),
                    Column(name: "Data", type: "integer", description: "Number of data items."), age]
        case .serviceAccounts:
            return [name, Column(name: "Secrets", type: "integer", description: "Number of secrets."), age]
        case .leases:
            return [name, Column(name: "Holder", description: "The holder of the lease."), age]
        case .events, .eventsV1:
            return [Column(name: "Last Seen", description: "Time when this event was last seen."),
                    Column(name: "Type", description: "Type of this event."),
                    Column(name: "Reason", description: "Reason of this event."),
                    Column(name: "Object", description: "The object this event is about."),
                    Column(name: "Message", description: "A human-readable description of the status of this operation.")]
        default:
            return [name, age]
        }
    }

    static func cells(_ resource: ResourceType, _ o: JSONValue, now: Date) -> [JSONValue] {
        let name = JSONValue.string(o.name ?? "")
        let age = JSONValue.string(ageString(o[path: ["metadata", "creationTimestamp"]]?.stringValue, now: now))
        func count(_ field: String) -> JSONValue { .int(Int64(o[field]?.objectValue?.count ?? 0)) }
        switch resource {
        case .pods: return podCells(o, name: name, age: age, now: now)
        case .nodes: return nodeCells(o, name: name, age: age)
        case .namespaces: return [name, .string(o[path: ["status", "phase"]]?.stringValue ?? ""), age]
        case .configMaps:
            return [name, .int(Int64((o["data"]?.objectValue?.count ?? 0) + (o["binaryData"]?.objectValue?.count ?? 0))), age]
        case .secrets: return [name, .string(o["type"]?.stringValue ?? ""), count("data"), age]
        case .serviceAccounts: return [name, .int(Int64(o["secrets"]?.arrayValue?.count ?? 0)), age]
        case .leases: return [name, .string(o[path: ["spec", "holderIdentity"]]?.stringValue ?? ""), age]
        case .events, .eventsV1:
            let regarding = o["involvedObject"] ?? o["regarding"]
            let last = o["lastTimestamp"]?.stringValue ?? o["eventTime"]?.stringValue
                ?? o[path: ["metadata", "creationTimestamp"]]?.stringValue
            let object = "\((regarding?["kind"]?.stringValue ?? "").lowercased())/\(regarding?["name"]?.stringValue ?? "")"
            return [.string(ageString(last, now: now)), .string(o["type"]?.stringValue ?? ""),
                    .string(o["reason"]?.stringValue ?? ""), .string(object),
                    .string(o["message"]?.stringValue ?? o["note"]?.stringValue ?? "")]
        default: return [name, age]
        }
    }

    private static func podCells(_ pod: JSONValue, name: JSONValue, age: JSONValue, now: Date) -> [JSONValue] {
        let total = pod[path: ["spec", "containers"]]?.arrayValue?.count ?? 0
        var reason = pod[path: ["status", "phase"]]?.stringValue ?? ""
        if let r = pod[path: ["status", "reason"]]?.stringValue, !r.isEmpty { reason = r }
        var ready = 0
        var restarts: Int64 = 0
        var lastRestart: Date?
        var hasRunning = false
        for status in (pod[path: ["status", "containerStatuses"]]?.arrayValue ?? []).reversed() {
            restarts += status["restartCount"]?.intValue ?? 0
            if let finished = status[path: ["lastState", "terminated", "finishedAt"]]?.stringValue,
               let date = parseTime(finished), lastRestart.map({ date > $0 }) ?? true {
                lastRestart = date
            }
            let state = status["state"]
            if let waiting = state?["waiting"]?["reason"]?.stringValue, !waiting.isEmpty {
                reason = waiting
            } else if let terminated = state?["terminated"] {
                if let r = terminated["reason"]?.stringValue, !r.isEmpty {
                    reason = r
                } else if let signal = terminated["signal"]?.intValue, signal != 0 {
                    reason = "Signal:\(signal)"
                } else {
                    reason = "ExitCode:\(terminated["exitCode"]?.intValue ?? 0)"
                }
            } else if status["ready"]?.boolValue == true, state?["running"] != nil {
                hasRunning = true
                ready += 1
            }
        }
        if reason == "Completed", hasRunning {
            let podReady = (pod[path: ["status", "conditions"]]?.arrayValue ?? []).contains {
                $0["type"]?.stringValue == "Ready" && $0["status"]?.stringValue == "True"
            }
            reason = podReady ? "Running" : "NotReady"
        }
        let phase = pod[path: ["status", "phase"]]?.stringValue ?? ""
        if pod.isBeingDeleted {
            if pod[path: ["status", "reason"]]?.stringValue == "NodeLost" {
                reason = "Unknown"
            } else if phase != "Succeeded", phase != "Failed" {
                reason = "Terminating"
            }
        }
        var restartText = String(restarts)
        if restarts > 0, let lastRestart {
            restartText += " (\(humanDuration(now.timeIntervalSince(lastRestart))) ago)"
        }
        func orNone(_ v: String?) -> JSONValue { .string((v?.isEmpty ?? true) ? "<none>" : (v ?? "")) }
        return [name, .string("\(ready)/\(total)"), .string(reason), .string(restartText), age,
                orNone(pod[path: ["status", "podIP"]]?.stringValue), orNone(pod[path: ["spec", "nodeName"]]?.stringValue),
                orNone(pod[path: ["status", "nominatedNodeName"]]?.stringValue), "<none>"]
    }

    private static func nodeCells(_ node: JSONValue, name: JSONValue, age: JSONValue) -> [JSONValue] {
        var status: [String] = []
        if let readyCondition = (node[path: ["status", "conditions"]]?.arrayValue ?? []).first(where: { $0["type"]?.stringValue == "Ready" }) {
            status.append(readyCondition["status"]?.stringValue == "True" ? "Ready" : "NotReady")
        }
        if status.isEmpty { status.append("Unknown") }
        if node[path: ["spec", "unschedulable"]]?.boolValue == true { status.append("SchedulingDisabled") }
        var roles: Set<String> = []
        for (key, value) in node.labels {
            if key.hasPrefix("node-role.kubernetes.io/") {
                let role = String(key.dropFirst("node-role.kubernetes.io/".count))
                if !role.isEmpty { roles.insert(role) }
            } else if key == "kubernetes.io/role", !value.isEmpty {
                roles.insert(value)
            }
        }
        let addresses = node[path: ["status", "addresses"]]?.arrayValue ?? []
        func address(_ type: String) -> JSONValue {
            let found = addresses.filter { $0["type"]?.stringValue == type }.compactMap { $0["address"]?.stringValue }
            return .string(found.isEmpty ? "<none>" : found.joined(separator: ","))
        }
        func info(_ field: String) -> JSONValue {
            .string(node[path: ["status", "nodeInfo", field]]?.stringValue.flatMap { $0.isEmpty ? nil : $0 } ?? "<unknown>")
        }
        return [name, .string(status.joined(separator: ",")),
                .string(roles.isEmpty ? "<none>" : roles.sorted().joined(separator: ",")), age,
                .string(node[path: ["status", "nodeInfo", "kubeletVersion"]]?.stringValue ?? ""),
                address("InternalIP"), address("ExternalIP"), info("osImage"), info("kernelVersion"),
                info("containerRuntimeVersion")]
    }

    /// A Table of `objects`; `includeObject` is None, Metadata (default) or Object.
    static func table(_ resource: ResourceType, _ objects: [JSONValue], includeObject: String, resourceVersion: String?,
                      apiVersion: String = "meta.k8s.io/v1") -> JSONValue {
        let now = Date()
        let definitions: [JSONValue] = columns(resource).map {
            ["name": .string($0.name), "type": .string($0.type), "format": .string($0.format),
             "description": .string($0.description), "priority": .int(Int64($0.priority))]
        }
        let rows: [JSONValue] = objects.map { object in
            var row: JSONValue = ["cells": .array(cells(resource, object, now: now))]
            switch includeObject {
            case "None": break
            case "Object": row["object"] = object
            default: row["object"] = partialMetadata(object)
            }
            return row
        }
        var metadata: JSONValue = [:]
        if let resourceVersion { metadata["resourceVersion"] = .string(resourceVersion) }
        return ["kind": "Table", "apiVersion": .string(apiVersion), "metadata": metadata,
                "columnDefinitions": .array(definitions), "rows": .array(rows)]
    }

    static func partialMetadata(_ object: JSONValue) -> JSONValue {
        ["kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": object["metadata"] ?? [:]]
    }

    static func parseTime(_ text: String) -> Date? {
        try? Date(text, strategy: .iso8601)
    }

    static func ageString(_ timestamp: String?, now: Date) -> String {
        guard let timestamp, let date = parseTime(timestamp) else { return "<unknown>" }
        return humanDuration(now.timeIntervalSince(date))
    }

    /// Kubernetes' `duration.HumanDuration`: "45s", "3m12s", "5h2m", "3d4h", "2y30d".
    static func humanDuration(_ interval: TimeInterval) -> String {
        let seconds = Int(interval)
        if seconds < -1 { return "<invalid>" }
        if seconds < 0 { return "0s" }
        if seconds < 120 { return "\(seconds)s" }
        let minutes = seconds / 60
        if minutes < 10 {
            let s = seconds % 60
            return s == 0 ? "\(minutes)m" : "\(minutes)m\(s)s"
        }
        if minutes < 180 { return "\(minutes)m" }
        let hours = minutes / 60
        if hours < 8 {
            let m = minutes % 60
            return m == 0 ? "\(hours)h" : "\(hours)h\(m)m"
        }
        if hours < 48 { return "\(hours)h" }
        if hours < 24 * 8 {
            let h = hours % 24
            return h == 0 ? "\(hours / 24)d" : "\(hours / 24)d\(h)h"
        }
        if hours < 24 * 365 * 2 { return "\(hours / 24)d" }
        if hours < 24 * 365 * 8 {
            let d = (hours / 24) % 365
            return d == 0 ? "\(hours / 24 / 365)y" : "\(hours / 24 / 365)y\(d)d"
        }
        return "\(hours / 24 / 365)y"
    }
}
