import Foundation

/// Per-kind rules the real server applies on create, update and delete (its "registry strategies"),
/// restricted to what clients can observe: server-set metadata, defaults, status vs. spec, grace periods.
enum Strategy {
    static func timestamp(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(timeZone: TimeZone(secondsFromGMT: 0) ?? .current))
    }

    static func finalizers(_ object: JSONValue) -> [JSONValue] {
        object[path: ["metadata", "finalizers"]]?.arrayValue ?? []
    }

    /// Checks kind/apiVersion and fills them in when absent.
    static func checkType(_ resource: ResourceType, _ object: inout JSONValue) throws(APIError) {
        guard object.objectValue != nil else {
            throw APIError.badRequest("the body of the request was in an unknown format - accepted media types include: application/json")
        }
        if let kind = object["kind"]?.stringValue, !kind.isEmpty, kind != resource.kind {
            throw APIError.badRequest("the API version in the data (\(object["apiVersion"]?.stringValue ?? "")) does not match the expected API version (\(resource.apiVersion)) or kind \(kind) is not \(resource.kind)")
        }
        if let apiVersion = object["apiVersion"]?.stringValue, !apiVersion.isEmpty, apiVersion != resource.apiVersion {
            throw APIError.badRequest("the API version in the data (\(apiVersion)) does not match the expected API version (\(resource.apiVersion))")
        }
        object["kind"] = .string(resource.kind)
        object["apiVersion"] = .string(resource.apiVersion)
        if object["metadata"]?.objectValue == nil { object["metadata"] = [:] }
    }

    static func prepareForCreate(_ resource: ResourceType, _ input: JSONValue, namespace: String?) throws(APIError) -> JSONValue {
        var object = input
        try checkType(resource, &object)
        if resource.namespaced {
            let ns = namespace ?? object.namespace ?? "default"
            if let bodyNS = object.namespace, !bodyNS.isEmpty, bodyNS != ns {
                throw APIError.badRequest("the namespace of the provided object does not match the namespace sent on the request")
            }
            object[path: ["metadata", "namespace"]] = .string(ns)
        } else {
            object[path: ["metadata", "namespace"]] = nil
        }
        object[path: ["metadata", "uid"]] = .string(UUID().uuidString.lowercased())
        object[path: ["metadata", "creationTimestamp"]] = .string(timestamp(Date()))
        object[path: ["metadata", "deletionTimestamp"]] = nil
        object[path: ["metadata", "deletionGracePeriodSeconds"]] = nil
        object[path: ["metadata", "resourceVersion"]] = nil
        // Kinds whose spec and status are structs always carry them, if only empty.
        if [ResourceType.pods, .nodes, .namespaces, .deployments].contains(resource) {
            if object["spec"]?.objectValue == nil { object["spec"] = [:] }
            if object["status"]?.objectValue == nil { object["status"] = [:] }
        }
        switch resource {
        case .pods:
            applyPodDefaults(&object)
            object["status"] = ["phase": "Pending", "qosClass": .string(qosClass(object))]
        case .namespaces:
            object["status"] = ["phase": "Active"]
            if object[path: ["spec", "finalizers"]] == nil { object[path: ["spec", "finalizers"]] = ["kubernetes"] }
        case .secrets:
            try foldStringData(&object)
            if object["type"] == nil { object["type"] = "Opaque" }
        case .deployments:
            // As the real server: generation 1, then one more for each change of the spec.
            object[path: ["metadata", "generation"]] = .int(1)
            object["status"] = [:]
        default:
            break
        }
        return object
    }

    static func prepareForUpdate(_ resource: ResourceType, old: JSONValue, new input: JSONValue, subresource: String?,
                                 namespace: String?, name: String) throws(APIError) -> JSONValue {
        var new = input
        try checkType(resource, &new)
        if let bodyName = new.name, bodyName != name {
            throw APIError.badRequest("the name of the object (\(bodyName)) does not match the name on the URL (\(name))")
        }
        if resource.namespaced, let bodyNS = new.namespace, !bodyNS.isEmpty, bodyNS != namespace {
            throw APIError.badRequest("the namespace of the provided object does not match the namespace sent on the request")
        }
        // The UID never changes: a body (or patch) naming another one is refused, as ValidateObjectMetaUpdate
        // does (the kubelet's status patches carry the pod's UID as a precondition); none keeps the old one.
        if let uid = new[path: ["metadata", "uid"]]?.stringValue, !uid.isEmpty,
            let current = old[path: ["metadata", "uid"]]?.stringValue, uid != current
        {
            throw APIError.invalid(resource, name, field: "metadata.uid", "Invalid value: \"\(uid)\": field is immutable")
        }
        // Fields only the server sets.
        for field in ["name", "namespace", "uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds"] {
            new[path: ["metadata", field]] = old[path: ["metadata", field]]
        }
        let hasStatus = [ResourceType.pods, .nodes, .namespaces, .deployments].contains(resource)
        if subresource == "status" {
            // The status subresource changes status only.
            var result = old
            result["status"] = new["status"]
            result[path: ["metadata", "resourceVersion"]] = new[path: ["metadata", "resourceVersion"]]
            return result
        } else if hasStatus {
            new["status"] = old["status"]
        }
        switch resource {
        case .pods:
            applyPodDefaults(&new)
            try validatePodUpdate(old: old, new: new, name: name)
        case .secrets:
            try foldStringData(&new)
            if new["type"] == nil { new["type"] = old["type"] }
        case .deployments:
            let generation = old[path: ["metadata", "generation"]]?.intValue ?? 1
            new[path: ["metadata", "generation"]] = .int(new["spec"] == old["spec"] ? generation : generation + 1)
        default:
            break
        }
        return new
    }

    /// The grace period a delete gets: 0 for everything but pods bound to a node and still running.
    static func gracePeriod(_ resource: ResourceType, _ object: JSONValue, requested: Int64?) -> Int64 {
        guard resource == .pods else { return 0 }
        let nodeName = object[path: ["spec", "nodeName"]]?.stringValue ?? ""
        let phase = object[path: ["status", "phase"]]?.stringValue ?? ""
        if nodeName.isEmpty || phase == "Succeeded" || phase == "Failed" { return 0 }
        let grace = requested ?? object[path: ["spec", "terminationGracePeriodSeconds"]]?.intValue ?? 30
        // A negative grace period means "the default"; 0 deletes at once.
        return grace < 0 ? (object[path: ["spec", "terminationGracePeriodSeconds"]]?.intValue ?? 30) : grace
    }

    private static func applyPodDefaults(_ pod: inout JSONValue) {
        let defaults: [(String, JSONValue)] = [
            ("restartPolicy", "Always"), ("terminationGracePeriodSeconds", 30), ("dnsPolicy", "ClusterFirst"),
            ("schedulerName", "default-scheduler"), ("enableServiceLinks", true), ("securityContext", [:]),
        ]
        for (field, value) in defaults where pod[path: ["spec", field]] == nil {
            pod[path: ["spec", field]] = value
        }
        for list in ["containers", "initContainers"] {
            guard let containers = pod[path: ["spec", list]]?.arrayValue else { continue }
            pod[path: ["spec", list]] = .array(containers.map { container in
                var c = container
                if c["terminationMessagePath"] == nil { c["terminationMessagePath"] = "/dev/termination-log" }
                if c["terminationMessagePolicy"] == nil { c["terminationMessagePolicy"] = "File" }
                if c["resources"] == nil { c["resources"] = [:] }
                if c["imagePullPolicy"] == nil {
                    let image = c["image"]?.stringValue ?? ""
                    let lastPart = image.split(separator: "/").last.map(String.init) ?? image
                    let latest = !lastPart.contains(":") || lastPart.hasSuffix(":latest")
                    c["imagePullPolicy"] = .string(latest && !lastPart.contains("@") ? "Always" : "IfNotPresent")
                }
                return c
            })
        }
    }

    /// BestEffort, Burstable or Guaranteed, from the containers' requests and limits.
    static func qosClass(_ pod: JSONValue) -> String {
        let containers = pod[path: ["spec", "containers"]]?.arrayValue ?? []
        var any = false
        var guaranteed = !containers.isEmpty
        for c in containers {
            let requests = c[path: ["resources", "requests"]]?.objectValue ?? [:]
            let limits = c[path: ["resources", "limits"]]?.objectValue ?? [:]
            if !requests.isEmpty || !limits.isEmpty { any = true }
            for r in ["cpu", "memory"] {
                guard let limit = limits[r] else { guaranteed = false; continue }
                if let request = requests[r], request != limit { guaranteed = false }
            }
        }
        if !any { return "BestEffort" }
        return guaranteed ? "Guaranteed" : "Burstable"
    }

    /// Pod spec is immutable apart from container images, activeDeadlineSeconds and added tolerations.
    private static func validatePodUpdate(old: JSONValue, new: JSONValue, name: String) throws(APIError) {
        func mutableFieldsCleared(_ pod: JSONValue) -> JSONValue? {
            var spec = pod["spec"]
            for list in ["containers", "initContainers"] {
                if let cs = spec?[list]?.arrayValue {
                    spec?[list] = .array(cs.map { var c = $0; c["image"] = nil; return c })
                }
            }
            spec?["activeDeadlineSeconds"] = nil
            spec?["tolerations"] = nil
            spec?["terminationGracePeriodSeconds"] = nil
            return spec
        }
        if mutableFieldsCleared(old) != mutableFieldsCleared(new) {
            throw APIError.invalid(.pods, name, field: "spec",
                                   "Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)")
        }
    }

    /// `stringData` is write-only: the server folds it into base64 `data`.
    private static func foldStringData(_ secret: inout JSONValue) throws(APIError) {
        guard let stringData = secret["stringData"]?.objectValue else { return }
        var data = secret["data"]?.objectValue ?? [:]
        for (k, v) in stringData {
            guard let s = v.stringValue else {
                throw APIError.badRequest("stringData.\(k): expected a string")
            }
            data[k] = .string(Data(s.utf8).base64EncodedString())
        }
        secret["data"] = .object(data)
        secret["stringData"] = nil
    }
}
