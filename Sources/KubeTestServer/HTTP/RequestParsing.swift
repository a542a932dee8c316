import Foundation
import Hummingbird
import NIOCore

/// The request context: Hummingbird's core storage plus the connection, which the server needs for the
/// client certificate and to drop watch connections.
struct APIRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}

/// A request for objects: which resource, namespace, name and subresource.
struct ResourceRequest: Sendable {
    var resource: ResourceType
    var namespace: String?
    var name: String?
    var subresource: String?
}

/// What a path asks for.
enum Route: Sendable {
    case version
    case coreVersions
    case groupList
    case group(String)
    case groupVersion(group: String, version: String)
    case openAPIV3Root
    case openAPIV3(String)
    case openAPIV2
    case health
    case resource(ResourceRequest)
    case notFound

    init(path: String) {
        let segments = path.split(separator: "/", omittingEmptySubsequences: true)
            .map { String($0).removingPercentEncoding ?? String($0) }
        switch segments.first ?? "" {
        case "version" where segments.count == 1: self = .version
        case "healthz", "livez", "readyz": self = .health
        case "openapi":
            if segments.count == 2, segments[1] == "v2" { self = .openAPIV2; return }
            if segments.count == 2, segments[1] == "v3" { self = .openAPIV3Root; return }
            if segments.count > 2, segments[1] == "v3" { self = .openAPIV3(segments.dropFirst(2).joined(separator: "/")); return }
            self = .notFound
        case "api":
            if segments.count == 1 { self = .coreVersions; return }
            self = Route.resourceRoute(group: "", version: segments[1], rest: Array(segments.dropFirst(2)))
        case "apis":
            if segments.count == 1 { self = .groupList; return }
            if segments.count == 2 { self = .group(segments[1]); return }
            self = Route.resourceRoute(group: segments[1], version: segments[2], rest: Array(segments.dropFirst(3)))
        default:
            self = .notFound
        }
    }

    private static func resourceRoute(group: String, version: String, rest: [String]) -> Route {
        if rest.isEmpty { return .groupVersion(group: group, version: version) }
        var namespace: String?
        var parts = rest
        // /namespaces/NS/RESOURCE/... is namespaced, except the namespace's own subresources.
        if parts.count >= 3, parts[0] == "namespaces", !(parts.count == 3 && ["status", "finalize"].contains(parts[2])) {
            namespace = parts[1]
            parts = Array(parts.dropFirst(2))
        }
        guard parts.count <= 3, let resource = ResourceType.find(group: group, version: version, plural: parts[0]) else {
            return .notFound
        }
        if namespace != nil, !resource.namespaced { return .notFound }
        let name = parts.count > 1 ? parts[1] : nil
        let subresource = parts.count > 2 ? parts[2] : nil
        if name != nil, resource.namespaced, namespace == nil { return .notFound }
        if let subresource, !resource.subresources.contains(subresource) { return .notFound }
        return .resource(ResourceRequest(resource: resource, namespace: namespace, name: name, subresource: subresource))
    }
}

/// Query parameters, percent-decoded; the last value wins.
struct Query: Sendable {
    var values: [String: String] = [:]
    let raw: String

    init(_ raw: String?) {
        self.raw = raw ?? ""
        for pair in (raw ?? "").split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ s: Substring) -> String {
                String(s).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(s)
            }
            let key = decode(kv[0])
            values[key] = kv.count > 1 ? decode(kv[1]) : ""
        }
    }

    subscript(_ key: String) -> String? { values[key] }

    func bool(_ key: String) -> Bool {
        guard let v = values[key] else { return false }
        return v == "true" || v == "1"
    }

    func int(_ key: String) throws(APIError) -> Int64? {
        guard let v = values[key], !v.isEmpty else { return nil }
        guard let i = Int64(v) else { throw APIError.badRequest("invalid value for \(key): \(v)") }
        return i
    }
}

/// How the client wants objects represented, from its Accept header.
enum Representation: Sendable, Equatable {
    case json
    case table(apiVersion: String)
    case partialMetadata

    /// The first representation of the Accept list the server can produce; nil when none (406).
    static func negotiate(_ accept: String?) -> Representation? {
        guard let accept, !accept.trimmingCharacters(in: .whitespaces).isEmpty else { return .json }
        for entry in accept.split(separator: ",") {
            let parts = entry.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            let type = parts.first?.lowercased() ?? ""
            var params: [String: String] = [:]
            for p in parts.dropFirst() {
                let kv = p.split(separator: "=", maxSplits: 1)
                if kv.count == 2 { params[kv[0].lowercased()] = String(kv[1]) }
            }
            guard ["application/json", "*/*", "application/*"].contains(type) else { continue }
            switch params["as"] {
            case nil: return .json
            case "Table" where params["g"] == "meta.k8s.io" && ["v1", "v1beta1"].contains(params["v"] ?? ""):
                return .table(apiVersion: "meta.k8s.io/\(params["v"] ?? "v1")")
            case "PartialObjectMetadata", "PartialObjectMetadataList":
                if params["g"] == "meta.k8s.io" { return .partialMetadata }
            default:
                continue
            }
        }
        return nil
    }
}

/// The Kubernetes verb of a request (for counters and fault matching).
func kubernetesVerb(method: String, route: Route, query: Query) -> String {
    guard case .resource(let r) = route else { return method.lowercased() }
    switch method {
    case "GET": return r.name == nil || query.bool("watch") ? (query.bool("watch") ? "watch" : "list") : "get"
    case "POST": return "create"
    case "PUT": return "update"
    case "PATCH": return "patch"
    case "DELETE": return r.name == nil ? "deletecollection" : "delete"
    default: return method.lowercased()
    }
}
