import Foundation
/// Everything found in a set of input files: pods (and pod templates of workloads), ConfigMaps and
/// Secrets. Other kinds (Services, ...) are noted and skipped.
public struct ManifestSet: Sendable {
    public struct PodEntry: Sendable {
        public var pod: Pod
        public var source: PodSource
    }
    public private(set) var pods: [PodEntry] = []
    /// By namespace, then name.
    public private(set) var configMaps: [String: [String: ConfigMap]] = [:]
    public private(set) var secrets: [String: [String: Secret]] = [:]
    /// Human notes about documents that were skipped (`file: Service default/web is not rendered`).
    public private(set) var skipped: [String] = []

    public init() {}

    /// Workload kinds whose pod template is rendered, with the template's path.
    static let templates: [String: [String]] = [
        "Deployment": ["spec", "template"], "ReplicaSet": ["spec", "template"], "StatefulSet": ["spec", "template"],
        "DaemonSet": ["spec", "template"], "Job": ["spec", "template"], "ReplicationController": ["spec", "template"],
        "CronJob": ["spec", "jobTemplate", "spec", "template"], "PodTemplate": ["template"],
    ]

    /// Reads and adds every document of one file.
    public mutating func add(_ data: [UInt8], file: String, reader: ManifestReader = ManifestReader()) throws(CompileError) {
        let docs = try reader.read(data, file: file)
        for (i, doc) in docs.enumerated() {
            try add(doc, file: file, documentIndex: docs.count > 1 ? i : nil, prefix: .root)
        }
    }

    /// Adds one parsed document (or a `List` item).
    public mutating func add(_ doc: ManifestNode, file: String, documentIndex: Int? = nil, prefix: FieldPath) throws(CompileError) {
        let decoder = ManifestDecoder()
        guard case .mapping = doc.kind else {
            throw CompileError(.invalidDocument, path: prefix.description, "a Kubernetes object must be a map, not \(doc.typeDescription)", file: file, position: doc.position)
        }
        guard let kind = doc["kind"]?.scalarText, !kind.isEmpty else {
            throw CompileError(.missingField, path: prefix.field("kind").description, "is required (Pod, Deployment, ConfigMap, Secret, List, ...)", file: file, position: doc.position)
        }
        let meta = doc["metadata"]
        let name = meta?["name"]?.scalarText ?? ""
        let namespace = meta?["namespace"]?.scalarText ?? "default"
        let object = "\(kind) \(namespace)/\(name)"
        func decode<T: Decodable>(_ t: T.Type, _ node: ManifestNode) throws(CompileError) -> T {
            do {
                return try decoder.decode(t, from: node, file: file, object: object)
            } catch var e {
                if !prefix.components.isEmpty {
                    e.path = FieldPath(prefix.components).description + (e.path.map { $0.isEmpty ? "" : "." + $0 } ?? "")
                }
                throw e
            }
        }
        switch kind {
        case "List", "PodList", "ConfigMapList", "SecretList", "DeploymentList":
            guard let items = doc["items"] else { return }
            guard case let .sequence(list) = items.kind else {
                throw CompileError(.invalidField, path: prefix.field("items").description, "expected a list, got \(items.typeDescription)", file: file, position: items.position)
            }
            for (i, item) in list.enumerated() {
                try add(item, file: file, documentIndex: documentIndex, prefix: prefix.field("items").index(i))
            }
        case "Pod":
            let pod = try decode(Pod.self, doc)
            pods.append(PodEntry(pod: pod, source: PodSource(file: file, node: doc, pathPrefix: prefix, object: "Pod \(pod.namespace)/\(pod.name)")))
        case "ConfigMap":
            let cm = try decode(ConfigMap.self, doc)
            try checkName(cm.metadata, object: object, file: file, doc: doc, prefix: prefix)
            try checkKeys(Array((cm.data ?? [:]).keys) + Array((cm.binaryData ?? [:]).keys), object: object, file: file, doc: doc, prefix: prefix, both: Set((cm.data ?? [:]).keys).intersection((cm.binaryData ?? [:]).keys))
            configMaps[cm.metadata.namespace ?? "default", default: [:]][cm.metadata.name ?? ""] = cm
        case "Secret":
            let s = try decode(Secret.self, doc)
            try checkName(s.metadata, object: object, file: file, doc: doc, prefix: prefix)
            try checkKeys(Array((s.data ?? [:]).keys) + Array((s.stringData ?? [:]).keys), object: object, file: file, doc: doc, prefix: prefix, both: [])
            secrets[s.metadata.namespace ?? "default", default: [:]][s.metadata.name ?? ""] = s
        default:
            guard let templatePath = Self.templates[kind] else {
                skipped.append("\(file): \(object): kind \(kind) is not rendered")
                return
            }
            var node: ManifestNode? = doc
            var path = prefix
            for part in templatePath {
                node = node?[part]
                path = path.field(part)
            }
            guard let template = node else {
                throw CompileError(.missingField, path: path.description, "is required: the pod template", file: file, object: object, position: doc.position)
            }
            struct Template: Decodable {
                var metadata: ObjectMeta?
                var spec: PodSpec
            }
            let t: Template
            do {
                t = try decoder.decode(Template.self, from: template, file: file, object: object)
            } catch var e {
                e.path = path.description + (e.path.map { $0.isEmpty ? "" : "." + $0 } ?? "")
                throw e
            }
            var meta = t.metadata ?? ObjectMeta()
            meta.name = meta.name ?? (name.isEmpty ? nil : name)
            meta.namespace = meta.namespace ?? doc["metadata"]?["namespace"]?.scalarText
            let pod = Pod(metadata: meta, spec: t.spec)
            pods.append(PodEntry(pod: pod, source: PodSource(file: file, node: template, pathPrefix: path, object: object)))
        }
    }

    private func checkName(_ meta: ObjectMeta, object: String, file: String, doc: ManifestNode, prefix: FieldPath) throws(CompileError) {
        guard let name = meta.name, Validation.isDNSSubdomain(name) else {
            throw CompileError(.invalidName, path: prefix.field("metadata").field("name").description, "\(quoted(meta.name ?? "")) is not a valid name (a DNS subdomain)", file: file, object: object, position: doc["metadata"]?["name"]?.position ?? doc.position)
        }
    }

    private func checkKeys(_ keys: [String], object: String, file: String, doc: ManifestNode, prefix: FieldPath, both: Set<String>) throws(CompileError) {
        for key in keys.sorted() where !Validation.isConfigKey(key) {
            throw CompileError(.invalidName, path: prefix.description, "key \(quoted(key)) is not valid (letters, digits, -, _ and .)", file: file, object: object, position: doc.position)
        }
        if let dup = both.sorted().first {
            throw CompileError(.duplicateName, path: prefix.description, "key \(quoted(dup)) is in both data and binaryData", file: file, object: object, position: doc.position)
        }
    }

    /// Leaves out the pods for which `shouldRemove` is true (an agent holding back pods it cannot run
    /// yet, such as those whose package failed to install).
    public mutating func removePods(where shouldRemove: (PodEntry) throws -> Bool) rethrows {
        try pods.removeAll(where: shouldRemove)
    }

    /// Compiles every pod. Returns the plans, or every error found (one per pod at most).
    public func compile(packageUnits: [String: PackageUnit], node: NodeFacts) -> Result<Plan, CompileErrors> {
        let (plans, errors) = compileEach(packageUnits: packageUnits, node: node)
        return errors.isEmpty ? .success(Plan(pods: plans)) : .failure(CompileErrors(errors: errors))
    }

    /// Compiles every pod on its own: the plans of the valid pods and the errors of the others (the
    /// agent runs the valid ones; a renderer refuses all on any error). Pods are compiled in parallel
    /// (each compile is pure); the result is in the pods' order, as if compiled one by one.
    public func compileEach(packageUnits: [String: PackageUnit], node: NodeFacts) -> (plans: [PodPlan], errors: [CompileError]) {
        var slots: [Result<CompileInput, CompileError>] = []
        var seen: [String: String] = [:]
        for entry in pods {
            let key = "\(entry.pod.namespace)/\(entry.pod.name)"
            let namePosition = entry.source.node?["metadata"]?["name"]?.position ?? entry.source.node?.position
            if let first = seen[key] {
                let path = FieldPath(entry.source.pathPrefix.components).field("metadata").field("name")
                slots.append(.failure(CompileError(.duplicateName, path: path.description, "pod \(key) is defined twice (first in \(first))", file: entry.source.file, object: entry.source.object, position: namePosition)))
                continue
            }
            seen[key] = (entry.source.file ?? "?") + (namePosition.map { ":\($0.line)" } ?? "")
            slots.append(.success(CompileInput(
                pod: entry.pod, source: entry.source, configMaps: configMaps[entry.pod.namespace] ?? [:],
                secrets: secrets[entry.pod.namespace] ?? [:], packageUnits: packageUnits, node: node)))
        }
        let results = slots.concurrentMap { slot in
            slot.flatMap { input in Result { () throws(CompileError) in try PodCompiler.compile(input) } }
        }
        var plans: [PodPlan] = []
        var errors: [CompileError] = []
        for result in results {
            switch result {
            case .success(let plan): plans.append(plan)
            case .failure(let error): errors.append(error)
            }
        }
        return (plans, errors)
    }
}

/// Several input errors at once.
public struct CompileErrors: Error, Sendable, CustomStringConvertible {
    public var errors: [CompileError]
    public var description: String { errors.map(\.description).joined(separator: "\n") }
}
