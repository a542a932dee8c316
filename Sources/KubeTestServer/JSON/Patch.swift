import Foundation

/// The three patch formats the API accepts, applied to generic JSON.
enum PatchType: String, Sendable {
    case json = "application/json-patch+json"
    case merge = "application/merge-patch+json"
    case strategic = "application/strategic-merge-patch+json"

    init?(contentType: String) {
        let bare = contentType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        self.init(rawValue: bare)
    }

    func apply(_ patch: JSONValue, to original: JSONValue) throws(APIError) -> JSONValue {
        switch self {
        case .merge: return Patch.mergePatch(original, patch)
        case .strategic: return try Patch.strategicMerge(original, patch, field: nil) ?? .object([:])
        case .json: return try Patch.jsonPatch(original, patch)
        }
    }
}

enum Patch {
    // MARK: RFC 7386 JSON merge patch

    static func mergePatch(_ target: JSONValue, _ patch: JSONValue) -> JSONValue {
        guard case .object(let patchMembers) = patch else { return patch }
        var result = target.objectValue ?? [:]
        for (key, value) in patchMembers {
            if value.isNull {
                result[key] = nil
            } else {
                result[key] = mergePatch(result[key] ?? .null, value)
            }
        }
        return .object(result)
    }

    // MARK: Strategic merge patch

    /// List fields merged by a key (by field name, as the core types declare `patchMergeKey`).
    static let mergeKeys: [String: String] = [
        "containers": "name", "initContainers": "name", "ephemeralContainers": "name", "env": "name",
        "ports": "containerPort", "volumes": "name", "volumeMounts": "mountPath", "volumeDevices": "devicePath",
        "imagePullSecrets": "name", "conditions": "type", "addresses": "type", "hostAliases": "ip",
        "ownerReferences": "uid", "podIPs": "ip", "hostIPs": "ip", "resourceClaims": "name",
    ]
    /// Lists of scalars merged as sets.
    static let mergedScalarLists: Set<String> = ["finalizers"]

    static func badPatch(_ why: String) -> APIError {
        APIError.badRequest("the strategic merge patch could not be applied: \(why)")
    }

    /// Applies a strategic merge patch; nil means the patch deleted the value (`$patch: delete`).
    static func strategicMerge(_ original: JSONValue?, _ patch: JSONValue, field: String?) throws(APIError) -> JSONValue? {
        guard case .object(var members) = patch else { return patch }
        if let directive = members["$patch"]?.stringValue {
            members["$patch"] = nil
            switch directive {
            case "delete": return nil
            case "replace": return try strategicMerge(nil, .object(members), field: field)
            case "merge": break
            default: throw badPatch("unknown patch directive \(directive)")
            }
        }
        var result = original?.objectValue ?? [:]
        var orders: [String: [JSONValue]] = [:]
        var retainKeys: [String]?
        for (key, value) in members.sorted(by: { $0.key < $1.key }) {
            if key == "$retainKeys" {
                retainKeys = (value.arrayValue ?? []).compactMap(\.stringValue)
            } else if key.hasPrefix("$setElementOrder/") {
                orders[String(key.dropFirst("$setElementOrder/".count))] = value.arrayValue ?? []
            } else if key.hasPrefix("$deleteFromPrimitiveList/") {
                let list = String(key.dropFirst("$deleteFromPrimitiveList/".count))
                let remove = value.arrayValue ?? []
                if let existing = result[list]?.arrayValue {
                    result[list] = .array(existing.filter { !remove.contains($0) })
                }
            } else if value.isNull {
                result[key] = nil
            } else if case .array(let elements) = value {
                result[key] = try mergeList(result[key]?.arrayValue, elements, field: key)
            } else if case .object = value {
                result[key] = try strategicMerge(result[key], value, field: key)
            } else {
                result[key] = value
            }
        }
        for (list, order) in orders {
            guard let elements = result[list]?.arrayValue else { continue }
            result[list] = .array(reorder(elements, by: order, mergeKey: mergeKeys[list]))
        }
        if let retainKeys {
            result = result.filter { retainKeys.contains($0.key) }
        }
        return .object(result)
    }

    private static func mergeList(_ original: [JSONValue]?, _ patch: [JSONValue], field: String) throws(APIError) -> JSONValue {
        if patch.contains(where: { $0["$patch"]?.stringValue == "replace" }) {
            return .array(try stripDirectives(patch.filter { $0["$patch"] == nil }))
        }
        if mergedScalarLists.contains(field) {
            var result = original ?? []
            for element in patch where !result.contains(element) { result.append(element) }
            return .array(result)
        }
        guard let key = mergeKeys[field], patch.allSatisfy({ $0.objectValue != nil }) else {
            // Lists without a merge strategy are replaced (directives stripped).
            return .array(try stripDirectives(patch))
        }
        var result = original ?? []
        for element in patch {
            guard let keyValue = element[key] else { throw badPatch("map in list \(field) has no merge key \(key)") }
            let index = result.firstIndex { $0[key] == keyValue }
            if element["$patch"]?.stringValue == "delete" {
                if let index { result.remove(at: index) }
                continue
            }
            if let index {
                if let merged = try strategicMerge(result[index], element, field: nil) {
                    result[index] = merged
                } else {
                    result.remove(at: index)
                }
            } else if let added = try strategicMerge(nil, element, field: nil) {
                result.append(added)
            }
        }
        return .array(result)
    }

    private static func stripDirectives(_ elements: [JSONValue]) throws(APIError) -> [JSONValue] {
        var result: [JSONValue] = []
        for element in elements {
            if let stripped = try strategicMerge(nil, element, field: nil) { result.append(stripped) }
        }
        return result
    }

    /// Orders elements as `$setElementOrder` lists them; elements it does not name keep their place at the end.
    private static func reorder(_ elements: [JSONValue], by order: [JSONValue], mergeKey: String?) -> [JSONValue] {
        func identity(_ e: JSONValue) -> JSONValue { mergeKey.flatMap { e[$0] } ?? e }
        var remaining = elements
        var result: [JSONValue] = []
        for wanted in order {
            let wantedID = mergeKey.flatMap { wanted[$0] } ?? wanted
            if let index = remaining.firstIndex(where: { identity($0) == wantedID }) {
                result.append(remaining.remove(at: index))
            }
        }
        return result + remaining
    }

    // MARK: RFC 6902 JSON patch

    static func jsonPatch(_ original: JSONValue, _ patch: JSONValue) throws(APIError) -> JSONValue {
        guard let operations = patch.arrayValue else { throw APIError.badRequest("json patch must be an array of operations") }
        var document = original
        for operation in operations {
            guard let op = operation["op"]?.stringValue, let path = operation["path"]?.stringValue else {
                throw APIError.badRequest("json patch operation needs op and path: \(operation)")
            }
            let pointer = try parsePointer(path)
            switch op {
            case "add": document = try set(document, pointer, try value(operation), insert: true)
            case "replace":
                _ = try get(document, pointer)
                document = try set(document, pointer, try value(operation), insert: false)
            case "remove": document = try remove(document, pointer)
            case "test":
                guard try get(document, pointer) == (try value(operation)) else {
                    throw APIError(code: 422, reason: "Invalid", message: "the server rejected our request due to an error in our request: testing value \(path) failed")
                }
            case "move", "copy":
                guard let from = operation["from"]?.stringValue else { throw APIError.badRequest("\(op) needs from") }
                let fromPointer = try parsePointer(from)
                let moved = try get(document, fromPointer)
                if op == "move" { document = try remove(document, fromPointer) }
                document = try set(document, pointer, moved, insert: true)
            default:
                throw APIError.badRequest("unexpected json patch operation \(op)")
            }
        }
        return document
    }

    private static func value(_ operation: JSONValue) throws(APIError) -> JSONValue {
        guard let v = operation["value"] else { throw APIError.badRequest("json patch operation needs a value") }
        return v
    }

    private static func parsePointer(_ path: String) throws(APIError) -> [String] {
        if path.isEmpty { return [] }
        guard path.hasPrefix("/") else { throw APIError.badRequest("invalid json pointer \(path)") }
        return path.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map {
            $0.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
        }
    }

    private static func missing(_ pointer: [String]) -> APIError {
        APIError(code: 422, reason: "Invalid", message: "the server rejected our request due to an error in our request: doc is missing path: /\(pointer.joined(separator: "/"))")
    }

    private static func get(_ document: JSONValue, _ pointer: [String]) throws(APIError) -> JSONValue {
        var current = document
        for token in pointer {
            switch current {
            case .object(let o):
                guard let next = o[token] else { throw missing(pointer) }
                current = next
            case .array(let a):
                guard let i = Int(token), a.indices.contains(i) else { throw missing(pointer) }
                current = a[i]
            default: throw missing(pointer)
            }
        }
        return current
    }

    private static func set(_ document: JSONValue, _ pointer: [String], _ value: JSONValue, insert: Bool) throws(APIError) -> JSONValue {
        guard let token = pointer.first else { return value }
        let rest = Array(pointer.dropFirst())
        switch document {
        case .object(var o):
            if rest.isEmpty {
                o[token] = value
            } else {
                guard let child = o[token] else { throw missing(pointer) }
                o[token] = try set(child, rest, value, insert: insert)
            }
            return .object(o)
        case .array(var a):
            if rest.isEmpty {
                if token == "-" && insert { a.append(value); return .array(a) }
                guard let i = Int(token), i >= 0, insert ? i <= a.count : i < a.count else { throw missing(pointer) }
                if insert { a.insert(value, at: i) } else { a[i] = value }
                return .array(a)
            }
            guard let i = Int(token), a.indices.contains(i) else { throw missing(pointer) }
            a[i] = try set(a[i], rest, value, insert: insert)
            return .array(a)
        default:
            throw missing(pointer)
        }
    }

    private static func remove(_ document: JSONValue, _ pointer: [String]) throws(APIError) -> JSONValue {
        guard let token = pointer.first else { throw missing(pointer) }
        let rest = Array(pointer.dropFirst())
        switch document {
        case .object(var o):
            guard let child = o[token] else { throw missing(pointer) }
            o[token] = rest.isEmpty ? nil : try remove(child, rest)
            return .object(o)
        case .array(var a):
            guard let i = Int(token), a.indices.contains(i) else { throw missing(pointer) }
            if rest.isEmpty { a.remove(at: i) } else { a[i] = try remove(a[i], rest) }
            return .array(a)
        default:
            throw missing(pointer)
        }
    }
}
