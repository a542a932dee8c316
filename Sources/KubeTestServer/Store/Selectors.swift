import Foundation

/// A parsed label selector (`app=web,tier!=db,env in (a,b),!legacy`), matched against `metadata.labels`.
struct LabelSelector: Sendable, Equatable {
    enum Requirement: Sendable, Equatable {
        case equals(String, String)
        case notEquals(String, String)
        case isIn(String, Set<String>)
        case notIn(String, Set<String>)
        case exists(String)
        case notExists(String)
    }

    var requirements: [Requirement]

    static let everything = LabelSelector(requirements: [])

    init(requirements: [Requirement]) { self.requirements = requirements }

    /// Parses the `labelSelector` query parameter; throws a 400 BadRequest on bad syntax.
    init(parsing text: String) throws(APIError) {
        var requirements: [Requirement] = []
        for term in Self.splitTopLevel(text) {
            let t = term.trimmingCharacters(in: .whitespaces)
            if t.isEmpty { continue }
            requirements.append(try Self.parseTerm(t, whole: text))
        }
        self.requirements = requirements
    }

    func matches(_ labels: [String: String]) -> Bool {
        requirements.allSatisfy { requirement in
            switch requirement {
            case .equals(let k, let v): return labels[k] == v
            case .notEquals(let k, let v): return labels[k] != v
            case .isIn(let k, let vs): return labels[k].map { vs.contains($0) } ?? false
            case .notIn(let k, let vs): return labels[k].map { !vs.contains($0) } ?? true
            case .exists(let k): return labels[k] != nil
            case .notExists(let k): return labels[k] == nil
            }
        }
    }

    private static func splitTopLevel(_ text: String) -> [String] {
        var parts: [String] = []
        var current = ""
        var depth = 0
        for c in text {
            if c == "(" { depth += 1 }
            if c == ")" { depth -= 1 }
            if c == ",", depth == 0 {
                parts.append(current)
                current = ""
            } else {
                current.append(c)
            }
        }
        parts.append(current)
        return parts
    }

    private static func parseTerm(_ t: String, whole: String) throws(APIError) -> Requirement {
        func bad() -> APIError { APIError.badRequest("unable to parse requirement: invalid label selector \"\(whole)\"") }
        func key(_ s: Substring) throws(APIError) -> String {
            let k = s.trimmingCharacters(in: .whitespaces)
            guard !k.isEmpty, !k.contains(where: { " =!(),".contains($0) }) else { throw bad() }
            return k
        }
        if t.hasPrefix("!") { return .notExists(try key(t.dropFirst())) }
        if let r = t.range(of: "!=") { return .notEquals(try key(t[..<r.lowerBound]), value(t[r.upperBound...])) }
        if let r = t.range(of: "==") { return .equals(try key(t[..<r.lowerBound]), value(t[r.upperBound...])) }
        if let r = t.range(of: "=") { return .equals(try key(t[..<r.lowerBound]), value(t[r.upperBound...])) }
        for (op, isIn) in [(" notin ", false), (" in ", true)] {
            if let r = t.range(of: op) {
                let k = try key(t[..<r.lowerBound])
                let rest = t[r.upperBound...].trimmingCharacters(in: .whitespaces)
                guard rest.hasPrefix("("), rest.hasSuffix(")") else { throw bad() }
                let values = Set(rest.dropFirst().dropLast().split(separator: ",", omittingEmptySubsequences: false)
                    .map { $0.trimmingCharacters(in: .whitespaces) })
                return isIn ? .isIn(k, values) : .notIn(k, values)
            }
        }
        return .exists(try key(Substring(t)))
    }

    private static func value(_ s: Substring) -> String { s.trimmingCharacters(in: .whitespaces) }
}

/// A parsed field selector (`spec.nodeName=n1,metadata.name!=x`), over the fields the real server indexes.
struct FieldSelector: Sendable, Equatable {
    struct Requirement: Sendable, Equatable {
        var field: String
        var value: String
        var equal: Bool
    }

    var requirements: [Requirement]

    static let everything = FieldSelector(requirements: [])

    init(requirements: [Requirement]) { self.requirements = requirements }

    /// Parses the `fieldSelector` parameter, refusing fields the real server does not support for the resource.
    init(parsing text: String, for resource: ResourceType) throws(APIError) {
        var requirements: [Requirement] = []
        for term in text.split(separator: ",") {
            let t = term.trimmingCharacters(in: .whitespaces)
            if t.isEmpty { continue }
            let requirement: Requirement
            if let r = t.range(of: "!=") {
                requirement = Requirement(field: String(t[..<r.lowerBound]), value: String(t[r.upperBound...]), equal: false)
            } else if let r = t.range(of: "==") {
                requirement = Requirement(field: String(t[..<r.lowerBound]), value: String(t[r.upperBound...]), equal: true)
            } else if let r = t.range(of: "=") {
                requirement = Requirement(field: String(t[..<r.lowerBound]), value: String(t[r.upperBound...]), equal: true)
            } else {
                throw APIError.badRequest("invalid field selector: \"\(text)\": expected an operator")
            }
            guard Self.supportedFields(resource).contains(requirement.field) else {
                throw APIError.badRequest("field label not supported: \(requirement.field)")
            }
            requirements.append(requirement)
        }
        self.requirements = requirements
    }

    func matches(_ object: JSONValue) -> Bool {
        requirements.allSatisfy { r in
            let actual = Self.fieldValue(object, r.field)
            return (actual == r.value) == r.equal
        }
    }

    static func supportedFields(_ resource: ResourceType) -> Set<String> {
        var fields: Set<String> = ["metadata.name", "metadata.namespace"]
        switch resource {
        case .pods:
            fields.formUnion(["spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
                              "spec.hostNetwork", "status.phase", "status.podIP", "status.nominatedNodeName"])
        case .nodes: fields.insert("spec.unschedulable")
        case .secrets: fields.insert("type")
        case .namespaces: fields.insert("status.phase")
        case .events:
            fields.formUnion(["involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
                              "involvedObject.uid", "involvedObject.apiVersion", "involvedObject.resourceVersion",
                              "involvedObject.fieldPath", "reason", "reportingComponent", "source", "type"])
        default: break
        }
        return fields
    }

    /// The selectable value of a field as the real server renders it ("" when absent, booleans as "true"/"false").
    static func fieldValue(_ object: JSONValue, _ field: String) -> String {
        if field == "source" { return object[path: ["source", "component"]]?.stringValue ?? "" }
        let value = object[path: field.split(separator: ".").map(String.init)]
        switch value {
        case .string(let s): return s
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        default:
            if field == "spec.hostNetwork" || field == "spec.unschedulable" { return "false" }
            return ""
        }
    }
}
