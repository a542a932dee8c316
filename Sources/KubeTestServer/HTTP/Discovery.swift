/// `/version`, legacy discovery (`/api`, `/api/v1`, `/apis`, `/apis/GROUP[/VERSION]`) and the minimal
/// OpenAPI v3 kubectl needs. Only the legacy discovery documents are served: kubectl asks for aggregated
/// discovery first and falls back when the answer's Content-Type is plain application/json.
enum Discovery {
    static let groups = ["coordination.k8s.io", "events.k8s.io", "apps"]

    static func version(_ v: (major: Int, minor: Int, patch: Int)) -> JSONValue {
        [
            "major": .string(String(v.major)), "minor": .string(String(v.minor)),
            "gitVersion": .string("v\(v.major).\(v.minor).\(v.patch)"), "gitCommit": "0000000000000000000000000000000000000000",
            "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.23.0",
            "compiler": "gc", "platform": "linux/amd64",
        ]
    }

    static func coreVersions(address: String) -> JSONValue {
        ["kind": "APIVersions", "versions": ["v1"],
         "serverAddressByClientCIDRs": [["clientCIDR": "0.0.0.0/0", "serverAddress": .string(address)]]]
    }

    static func group(_ name: String) -> JSONValue {
        let gv: JSONValue = ["groupVersion": .string("\(name)/v1"), "version": "v1"]
        return ["name": .string(name), "versions": [gv], "preferredVersion": gv]
    }

    static func groupList() -> JSONValue {
        ["kind": "APIGroupList", "apiVersion": "v1", "groups": .array(groups.map(group))]
    }

    static func groupDocument(_ name: String) -> JSONValue? {
        guard groups.contains(name) else { return nil }
        var g = group(name)
        g["kind"] = "APIGroup"
        g["apiVersion"] = "v1"
        return g
    }

    static func verbs(_ resource: ResourceType) -> [JSONValue] {
        ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
    }

    /// The APIResourceList of one group version, with subresources.
    static func resourceList(group: String, version: String) -> JSONValue? {
        let resources = ResourceType.all.filter { $0.group == group && $0.version == version }
        guard !resources.isEmpty else { return nil }
        var entries: [JSONValue] = []
        for r in resources {
            var entry: JSONValue = [
                "name": .string(r.plural), "singularName": .string(r.singular), "namespaced": .bool(r.namespaced),
                "kind": .string(r.kind), "verbs": .array(verbs(r)),
            ]
            if !r.shortNames.isEmpty { entry["shortNames"] = .array(r.shortNames.map { .string($0) }) }
            if r == .pods { entry["categories"] = ["all"] }
            entries.append(entry)
            for sub in r.subresources {
                var subEntry: JSONValue = ["name": .string("\(r.plural)/\(sub)"), "singularName": "",
                                           "namespaced": .bool(r.namespaced), "kind": .string(r.kind)]
                switch sub {
                case "status": subEntry["verbs"] = ["get", "patch", "update"]
                case "log": subEntry["verbs"] = ["get"]
                case "token":
                    subEntry["kind"] = "TokenRequest"
                    subEntry["group"] = "authentication.k8s.io"
                    subEntry["version"] = "v1"
                    subEntry["verbs"] = ["create"]
                default: subEntry["verbs"] = ["get"]
                }
                entries.append(subEntry)
            }
        }
        return ["kind": "APIResourceList", "apiVersion": "v1",
                "groupVersion": .string(group.isEmpty ? version : "\(group)/\(version)"), "resources": .array(entries)]
    }

    // MARK: OpenAPI v3

    /// Path of a group version in `/openapi/v3`: "api/v1" or "apis/GROUP/v1".
    static func openAPIPath(group: String) -> String { group.isEmpty ? "api/v1" : "apis/\(group)/v1" }

    static func openAPIRoot() -> JSONValue {
        var paths: [String: JSONValue] = [:]
        for group in [""] + groups {
            let p = openAPIPath(group: group)
            paths[p] = ["serverRelativeURL": .string("/openapi/v3/\(p)?hash=0")]
        }
        return ["paths": .object(paths)]
    }

    /// A group version's OpenAPI v3 document: PATCH operations per kind, declaring the `fieldValidation`
    /// parameter, which is what kubectl reads to decide on server-side field validation (so it needs no
    /// schema to validate against on the client).
    static func openAPIDocument(path: String) -> JSONValue? {
        guard let group = ([""] + groups).first(where: { openAPIPath(group: $0) == path }) else { return nil }
        var paths: [String: JSONValue] = [:]
        for r in ResourceType.all where r.group == group {
            let base = r.namespaced ? "\(r.groupVersionPath)/namespaces/{namespace}/\(r.plural)" : "\(r.groupVersionPath)/\(r.plural)"
            let gvk: JSONValue = ["group": .string(r.group), "version": .string(r.version), "kind": .string(r.kind)]
            let parameters: JSONValue = [
                ["name": "dryRun", "in": "query", "schema": ["type": "string"]],
                ["name": "fieldManager", "in": "query", "schema": ["type": "string"]],
                ["name": "fieldValidation", "in": "query", "schema": ["type": "string"]],
            ]
            let ok: JSONValue = ["200": ["description": "OK"]]
            paths["/\(base.dropFirst())/{name}"] = [
                "get": ["operationId": .string("read\(r.kind)"), "x-kubernetes-action": "get",
                        "x-kubernetes-group-version-kind": gvk, "responses": ok],
                "put": ["operationId": .string("replace\(r.kind)"), "x-kubernetes-action": "put",
                        "x-kubernetes-group-version-kind": gvk, "parameters": parameters, "responses": ok],
                "patch": ["operationId": .string("patch\(r.kind)"), "x-kubernetes-action": "patch",
                          "x-kubernetes-group-version-kind": gvk, "parameters": parameters, "responses": ok],
                "delete": ["operationId": .string("delete\(r.kind)"), "x-kubernetes-action": "delete",
                           "x-kubernetes-group-version-kind": gvk, "responses": ok],
            ]
            paths["/\(base.dropFirst())"] = [
                "post": ["operationId": .string("create\(r.kind)"), "x-kubernetes-action": "post",
                         "x-kubernetes-group-version-kind": gvk, "parameters": parameters, "responses": ok],
            ]
        }
        return ["openapi": "3.0.0", "info": ["title": "Kubernetes", "version": "v1.32.0"],
                "paths": .object(paths), "components": ["schemas": [:]]]
    }
}
