import Foundation
/// The Node authorizer and NodeRestriction admission, for identities in group `system:nodes`
/// (`CN=system:node:NAME`), when `Options.nodeAuthorization` is on. Other users are not restricted
/// (this server has no RBAC). What a node may do:
/// - nodes: read all; create, update, patch, delete only its own Node (and its status).
/// - pods: read all (list/watch too, as the system:node role allows); update/patch status and delete only
///   pods bound to it; no creating pods.
/// - configmaps, secrets, serviceaccounts: read one object by name (in the path or as
///   `fieldSelector=metadata.name=X`) only when a pod bound to the node references it.
/// - serviceaccounts/token: only for a pod bound to the node that runs as that service account.
/// - leases: only its own, in kube-node-lease. events: create, update, patch. namespaces: read.
struct NodeAuthorizer: Sendable {
    let store: ObjectStore

    /// Nil when allowed, else the 403 Forbidden to answer.
    func check(user: UserInfo, verb: String, _ r: ResourceRequest, query: Query, body: JSONValue?) async -> APIError? {
        guard user.groups.contains("system:nodes"), user.name.hasPrefix("system:node:") else { return nil }
        let node = String(user.name.dropFirst("system:node:".count))
        let reads: Set<String> = ["get", "list", "watch"]
        func deny(_ why: String) -> APIError {
            let object = r.name.map { "\"\($0)\" " } ?? ""
            let scope = r.namespace.map { " in the namespace \"\($0)\"" } ?? (r.resource.namespaced ? "" : " at the cluster scope")
            let resource = r.subresource.map { "\(r.resource.plural)/\($0)" } ?? r.resource.plural
            return APIError(code: 403, reason: "Forbidden",
                            message: "\(r.resource.qualifiedPlural) \(object)is forbidden: User \"\(user.name)\" cannot \(verb) resource \"\(resource)\" in API group \"\(r.resource.group)\"\(scope): \(why)",
                            details: APIError.details(r.resource, name: r.name))
        }
        switch r.resource {
        case .nodes:
            if reads.contains(verb) { return nil }
            let target = r.name ?? body?.name
            return target == node ? nil : deny("node '\(node)' cannot modify node '\(target ?? "")'")
        case .pods:
            if reads.contains(verb) || r.subresource == "log" { return nil }
            guard let name = r.name, verb != "create" || r.subresource != nil else {
                return deny("node '\(node)' cannot create or change pods other than those bound to it")
            }
            if r.subresource == nil, verb != "delete" { return deny("a node may only change the status of its pods") }
            let pod = try? await store.get(.pods, namespace: r.namespace, name: name)
            guard let pod else { return nil }  // let the handler answer 404
            return pod[path: ["spec", "nodeName"]]?.stringValue == node ? nil : deny("node '\(node)' can only update pods bound to it")
        case .configMaps, .secrets, .serviceAccounts:
            if r.resource == .serviceAccounts, r.subresource == "token", let name = r.name {
                return await tokenAllowed(node: node, namespace: r.namespace, serviceAccount: name, body: body) ? nil
                    : deny("no relationship found between node '\(node)' and this object")
            }
            guard reads.contains(verb) else { return deny("node '\(node)' cannot modify \(r.resource.plural)") }
            guard let name = r.name ?? singleName(query) else {
                return deny("can only read individual \(r.resource.plural) by name")
            }
            return await referenced(node: node, resource: r.resource, namespace: r.namespace, name: name) ? nil
                : deny("no relationship found between node '\(node)' and this object")
        case .leases:
            let target = r.name ?? body?.name ?? singleName(query)
            return r.namespace == "kube-node-lease" && target == node ? nil : deny("can only access its own lease")
        case .events, .eventsV1:
            return ["create", "update", "patch"].contains(verb) || reads.contains(verb) ? nil : deny("nodes may only record events")
        case .namespaces:
            return reads.contains(verb) ? nil : deny("nodes may not change namespaces")
        default:
            return deny("not allowed for nodes")
        }
    }

    private func singleName(_ query: Query) -> String? {
        guard let selector = query["fieldSelector"] else { return nil }
        let terms = selector.split(separator: ",")
        guard terms.count == 1, let term = terms.first, term.hasPrefix("metadata.name=") else { return nil }
        return String(term.dropFirst("metadata.name=".count))
    }

    private func boundPods(_ node: String, namespace: String?) async -> [JSONValue] {
        var filter = WatchFilter(resource: .pods, namespace: namespace)
        filter.fields = FieldSelector(requirements: [.init(field: "spec.nodeName", value: node, equal: true)])
        return await store.list(filter).items
    }

    private func referenced(node: String, resource: ResourceType, namespace: String?, name: String) async -> Bool {
        await boundPods(node, namespace: namespace).contains { Self.references($0, resource: resource).contains(name) }
    }

    private func tokenAllowed(node: String, namespace: String?, serviceAccount: String, body: JSONValue?) async -> Bool {
        guard let bound = body?[path: ["spec", "boundObjectRef"]], bound["kind"]?.stringValue == "Pod",
              let podName = bound["name"]?.stringValue else { return false }
        return await boundPods(node, namespace: namespace).contains {
            $0.name == podName && ($0[path: ["spec", "serviceAccountName"]]?.stringValue ?? "default") == serviceAccount
        }
    }

    /// Names of objects of `resource` a pod refers to: volumes (also projected), env, envFrom, pull secrets.
    static func references(_ pod: JSONValue, resource: ResourceType) -> Set<String> {
        var names: Set<String> = []
        if resource == .serviceAccounts {
            names.insert(pod[path: ["spec", "serviceAccountName"]]?.stringValue ?? "default")
            return names
        }
        let volumeKey = resource == .secrets ? "secret" : "configMap"
        let volumeNameKey = resource == .secrets ? "secretName" : "name"
        for volume in pod[path: ["spec", "volumes"]]?.arrayValue ?? [] {
            if let n = volume[volumeKey]?[volumeNameKey]?.stringValue { names.insert(n) }
            for source in volume[path: ["projected", "sources"]]?.arrayValue ?? [] {
                if let n = source[volumeKey]?["name"]?.stringValue { names.insert(n) }
            }
        }
        let refKey = resource == .secrets ? "secretKeyRef" : "configMapKeyRef"
        let fromKey = resource == .secrets ? "secretRef" : "configMapRef"
        for list in ["containers", "initContainers", "ephemeralContainers"] {
            for container in pod[path: ["spec", list]]?.arrayValue ?? [] {
                for env in container["env"]?.arrayValue ?? [] {
                    if let n = env["valueFrom"]?[refKey]?["name"]?.stringValue { names.insert(n) }
                }
                for from in container["envFrom"]?.arrayValue ?? [] {
                    if let n = from[fromKey]?["name"]?.stringValue { names.insert(n) }
                }
            }
        }
        if resource == .secrets {
            for secret in pod[path: ["spec", "imagePullSecrets"]]?.arrayValue ?? [] {
                if let n = secret["name"]?.stringValue { names.insert(n) }
            }
        }
        return names
    }
}
