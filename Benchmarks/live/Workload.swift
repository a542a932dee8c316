import Foundation
import KubeTestServer
import PodCompiler

/// The benchmark's pods: as Benchmarks/agent/gen-manifests.sh, bound to node-1 by `spec.nodeName`, in the
/// namespace `livebench`: one `/bin/sleep infinity` container (a host path: no package install), an
/// emptyDir and a small ConfigMap volume, no service-account token.
enum Workload {
    static let namespace = "livebench"
    static let nodeName = "node-1"

    static func podName(_ i: Int) -> String { "p\(i)" }

    /// The unit systemk installs for pod `i`.
    static func unitName(_ i: Int) -> String { "systemk.\(namespace).\(podName(i)).app.service" }

    /// The pod's manifest as JSON, as a client POSTs it.
    static func pod(_ i: Int) -> Data {
        let name = podName(i)
        let json = """
            {"apiVersion":"v1","kind":"Pod","metadata":{"name":"\(name)","namespace":"\(namespace)"},\
            "spec":{"nodeName":"\(nodeName)","automountServiceAccountToken":false,\
            "containers":[{"name":"app","image":"/bin/sleep","args":["infinity"],\
            "volumeMounts":[{"name":"config","mountPath":"/run/config"},{"name":"data","mountPath":"/var/data"}]}],\
            "volumes":[{"name":"data","emptyDir":{}},{"name":"config","configMap":{"name":"\(name)-config"}}]}}
            """
        return Data(json.utf8)
    }

    /// The pod's ConfigMap, created (untimed) before systemk starts.
    static func configMap(_ i: Int) -> JSONValue {
        [
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": ["name": .string("\(podName(i))-config"), "namespace": .string(namespace)],
            "data": ["app.conf": "port=8080\n", "pod": .string(podName(i))],
        ]
    }

    /// A unit file with what differs between trials by construction replaced: the pod's UID (assigned
    /// by the API server) by `<uid>`, and the API server's port (ephemeral) in `KUBERNETES_SERVICE_PORT`
    /// by `<port>`. What is left must be equal between the agent's trials and the floor's unit files.
    static func normalized(_ unitFile: String) throws -> String {
        let parsed = try UnitFile.parse(unitFile)
        guard let uid = parsed.lastValue("PodUID", in: "X-Kubernetes"), !uid.isEmpty else {
            throw UnitMismatch(description: "a unit file without PodUID in [X-Kubernetes]")
        }
        let port = #"Environment="KUBERNETES_SERVICE_PORT="#
        return unitFile.replacingOccurrences(of: uid, with: "<uid>").split(separator: "\n", omittingEmptySubsequences: false)
            .map { line in
                guard line.hasPrefix(port), line.hasSuffix("\""), line.dropFirst(port.count).dropLast().allSatisfy(\.isNumber)
                else { return String(line) }
                return port + "<port>\""
            }
            .joined(separator: "\n")
    }

    struct UnitMismatch: Error, CustomStringConvertible {
        var description: String
    }

    /// Checks that `units` (name → text) are exactly the unit files of `reference` (a directory),
    /// UIDs aside; throws naming the first difference.
    static func checkSame(_ units: [String: String], asIn reference: String) throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: reference).filter { $0.hasSuffix(".service") }.sorted()
        guard names == units.keys.sorted() else {
            throw UnitMismatch(
                description: "systemk installed \(units.count) units, the floor has \(names.count) in \(reference): "
                    + "\(Set(units.keys).symmetricDifference(names).sorted().prefix(5))")
        }
        for name in names {
            let expected = try String(contentsOfFile: reference + "/" + name, encoding: .utf8)
            guard let actual = units[name], try normalized(actual) == normalized(expected) else {
                throw UnitMismatch(description: "unit \(name) differs from \(reference)/\(name) (UIDs aside)")
            }
        }
    }
}
