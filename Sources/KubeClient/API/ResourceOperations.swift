import Foundation
import NIOHTTP1

/// The kinds of PATCH the API server accepts.
public enum PatchType: String, Sendable {
    /// RFC 7386 JSON merge patch: objects merge, lists are replaced.
    case merge = "application/merge-patch+json"
    /// Kubernetes strategic merge patch: lists with a merge key (conditions, containers) merge by it.
    case strategicMerge = "application/strategic-merge-patch+json"
    /// RFC 6902 JSON patch.
    case json = "application/json-patch+json"
}

/// Generic get/list/create/update/patch/delete over a `Transport`, shared by the typed calls.
struct ResourceOperations: Sendable {
    let transport: Transport

    func get<Object: KubeResource>(_ type: Object.Type, namespace: String?, name: String) async throws(KubeError) -> Object {
        let path = Object.resource.objectPath(namespace: namespace, name: name)
        let response = try await transport.send(APIRequest(method: .GET, path: path))
        return try decode(Object.self, response.body, what: "\(Object.resource.kind) \(path)")
    }

    /// Lists every page; the result's resourceVersion is the snapshot's.
    func list<Object: KubeResource>(_ type: Object.Type, scope: WatchScope, pageSize: Int = 0) async throws(KubeError)
        -> KubeList<Object>
    {
        let path = Object.resource.collectionPath(namespace: scope.namespace)
        var items: [Object] = []
        var metadata = ListMeta()
        var token: String?
        repeat {
            var query = scope.query
            if pageSize > 0 { query.append(("limit", String(pageSize))) }
            if let token { query.append(("continue", token)) }
            let response = try await transport.send(APIRequest(method: .GET, path: path, query: query))
            let page: KubeList<Object>
            do {
                page = try KubeList<Object>.decode(from: response.body)
            } catch {
                throw .decoding(what: "\(Object.resource.kind) list from \(path)", detail: "\(error)")
            }
            if token == nil { metadata = page.metadata }
            items += page.items
            token = page.metadata.continue.flatMap { $0.isEmpty ? nil : $0 }
        } while token != nil
        metadata.continue = nil
        return KubeList(metadata: metadata, items: items)
    }

    func create<Object: KubeResource>(_ object: Object, namespace: String?) async throws(KubeError) -> Object {
        let path = Object.resource.collectionPath(namespace: namespace)
        let response = try await transport.send(
            APIRequest(method: .POST, path: path, body: try encode(object, what: "\(Object.resource.kind) for \(path)")))
        return try decode(Object.self, response.body, what: "\(Object.resource.kind) from POST \(path)")
    }

    func put<Object: KubeResource>(_ type: Object.Type, path: String, body: Data) async throws(KubeError) -> Object {
        let response = try await transport.send(APIRequest(method: .PUT, path: path, body: body))
        return try decode(Object.self, response.body, what: "\(Object.resource.kind) from PUT \(path)")
    }

    func patch<Object: KubeResource>(_ type: Object.Type, path: String, patch: Data, as patchType: PatchType)
        async throws(KubeError) -> Object
    {
        let response = try await transport.send(
            APIRequest(method: .PATCH, path: path, body: patch, contentType: patchType.rawValue))
        return try decode(Object.self, response.body, what: "\(Object.resource.kind) from PATCH \(path)")
    }

    func delete(path: String, options: DeleteOptions) async throws(KubeError) {
        _ = try await transport.send(
            APIRequest(method: .DELETE, path: path, body: try encode(options, what: "DeleteOptions")))
    }

    /// Sends any request and decodes any answer (subresources such as `token`).
    func call<Answer: Decodable>(
        _ method: HTTPMethod, path: String, body: Data?, answer: Answer.Type
    ) async throws(KubeError) -> Answer {
        let response = try await transport.send(APIRequest(method: method, path: path, body: body))
        do {
            return try JSONDecoder().decode(Answer.self, from: response.body)
        } catch {
            throw .decoding(what: "answer of \(method) \(path)", detail: "\(error)")
        }
    }

    func decode<Object: KubeResource>(_ type: Object.Type, _ data: Data, what: String) throws(KubeError) -> Object {
        do {
            return try Object.decodeObject(from: data)
        } catch {
            throw .decoding(what: what, detail: "\(error)")
        }
    }

    func encode<Value: Encodable>(_ value: Value, what: String) throws(KubeError) -> Data {
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            return try encoder.encode(value)
        } catch {
            throw .decoding(what: what, detail: "cannot encode: \(error)")
        }
    }
}

/// Rewrites the `status` of an object's raw JSON: keys the typed status models are replaced (or removed
/// when now absent), every other key the server keeps there survives, and the rest of the object is
/// unchanged.
enum StatusOverlay {
    static func apply<Status: Encodable>(
        _ status: Status, modelledKeys: Set<String>, onto raw: Data, what: String
    ) throws(KubeError) -> Data {
        do {
            guard var object = try JSONSerialization.jsonObject(with: raw) as? [String: Any] else {
                throw RawJSON.Failure(message: "not a JSON object")
            }
            var merged = (object["status"] as? [String: Any]) ?? [:]
            for key in modelledKeys { merged.removeValue(forKey: key) }
            let encoded = try JSONEncoder().encode(status)
            if let typed = try JSONSerialization.jsonObject(with: encoded) as? [String: Any] {
                for (key, value) in typed { merged[key] = value }
            }
            object["status"] = merged
            return try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        } catch {
            throw .decoding(what: what, detail: "cannot rewrite status: \(error)")
        }
    }
}
