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
            let encoder = JSONEncoder.kubernetes
            return try encoder.encode(value)
        } catch {
            throw .decoding(what: what, detail: "cannot encode: \(error)")
        }
    }
}

/// Rewrites the `status` of an object's raw JSON: keys the typed status models are replaced (or removed
/// when now absent), every other key the server keeps there survives, and the rest of the object is
/// unchanged, byte for byte.
///
/// It splices bytes (`RawJSON`): a status write for each pod change would otherwise decode and encode the
/// whole object (managedFields, spec) through `JSONSerialization`, whose sorted keys go through ICU's
/// collation; that was the largest single item of systemk's CPU with 200 pods starting.
enum StatusOverlay {
    static func apply<Status: Encodable>(
        _ status: Status, modelledKeys: Set<String>, onto raw: Data, what: String
    ) throws(KubeError) -> Data {
        do {
            let encoder = JSONEncoder.kubernetes
            let encoded = try encoder.encode(status)
            let typed = try RawJSON.objectMemberList(encoded).members
            let top = try RawJSON.objectMemberList(raw)
            let current = top.members.first { $0.key == "status" }
            var old: [RawJSON.Member] = []
            if let current, raw[current.value.lowerBound] == UInt8(ascii: "{") {
                old = try RawJSON.objectMemberList(raw, in: current.value).members
            }
            let replaced = modelledKeys.union(typed.map(\.key))
            var merged = Data("{".utf8)
            var first = true
            func member(_ key: Data, _ value: Data) {
                if !first { merged.append(UInt8(ascii: ",")) }
                first = false
                merged.append(key)
                merged.append(UInt8(ascii: ":"))
                merged.append(value)
            }
            for m in old where !replaced.contains(m.key) { member(raw[m.keyRange], raw[m.value]) }
            for m in typed { member(encoded[m.keyRange], encoded[m.value]) }
            merged.append(UInt8(ascii: "}"))

            var out = Data()
            out.reserveCapacity(raw.count + merged.count + 16)
            if let current {
                out.append(raw[raw.startIndex..<current.value.lowerBound])
                out.append(merged)
                out.append(raw[current.value.upperBound..<raw.endIndex])
            } else {
                out.append(raw[raw.startIndex..<top.end])
                if !top.members.isEmpty { out.append(UInt8(ascii: ",")) }
                out.append(Data("\"status\":".utf8))
                out.append(merged)
                out.append(raw[top.end..<raw.endIndex])
            }
            return out
        } catch {
            throw .decoding(what: what, detail: "cannot rewrite status: \(error)")
        }
    }
}

/// A JSON merge patch (RFC 7386) that sets an object's status as the kubelet's status patches do: each
/// modelled key takes the typed status's value, or `null` (removed) when the status lacks it; keys the
/// model does not know are left out, so the server keeps them. The object's UID goes into the patch's
/// metadata: it cannot change, so the patch applies to that incarnation only.
enum StatusPatch {
    static func merge<Status: Encodable>(
        _ status: Status, modelledKeys: Set<String>, uid: String, what: String
    ) throws(KubeError) -> Data {
        do {
            let encoder = JSONEncoder.kubernetes
            let encoded = try encoder.encode(status)
            var values: [String: Range<Int>] = [:]
            for member in try RawJSON.objectMemberList(encoded).members { values[member.key] = member.value }
            var out = Data(#"{"metadata":{"uid":"#.utf8)
            out.append(try encoder.encode(uid))
            out.append(Data(#"},"status":{"#.utf8))
            for (index, key) in modelledKeys.union(values.keys).sorted().enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                out.append(try encoder.encode(key))
                out.append(UInt8(ascii: ":"))
                if let range = values[key] { out.append(encoded[range]) } else { out.append(Data("null".utf8)) }
            }
            out.append(Data("}}".utf8))
            return out
        } catch {
            throw .decoding(what: what, detail: "cannot make the status patch: \(error)")
        }
    }
}

extension JSONEncoder {
    /// How this client writes JSON for the API server: keys sorted (the same bytes for the same value) and
    /// slashes unescaped.
    static var kubernetes: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}
