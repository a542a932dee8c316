/// A kind of object the server serves: its group, version, plural path segment, kind and scope.
public struct ResourceType: Sendable, Hashable, CustomStringConvertible {
    /// API group, "" for core.
    public let group: String
    /// API version ("v1").
    public let version: String
    /// Plural name in URLs ("pods").
    public let plural: String
    /// Singular name for discovery ("pod").
    public let singular: String
    /// Object kind ("Pod").
    public let kind: String
    /// Namespaced or cluster-scoped.
    public let namespaced: Bool
    /// Short names for discovery ("po").
    public let shortNames: [String]
    /// Subresources served (status, log, token).
    public let subresources: [String]

    /// `apiVersion` of the objects: "v1" or "group/version".
    public var apiVersion: String { group.isEmpty ? version : "\(group)/\(version)" }
    /// Plural qualified by group as in messages: "pods", "leases.coordination.k8s.io".
    public var qualifiedPlural: String { group.isEmpty ? plural : "\(plural).\(group)" }
    /// The URL prefix of the group version: "/api/v1" or "/apis/group/version".
    public var groupVersionPath: String { group.isEmpty ? "/api/\(version)" : "/apis/\(group)/\(version)" }
    public var description: String { qualifiedPlural }

    /// core/v1 Node (cluster-scoped; status).
    public static let nodes = ResourceType(group: "", version: "v1", plural: "nodes", singular: "node", kind: "Node",
                                           namespaced: false, shortNames: ["no"], subresources: ["status"])
    /// core/v1 Pod (status, log).
    public static let pods = ResourceType(group: "", version: "v1", plural: "pods", singular: "pod", kind: "Pod",
                                          namespaced: true, shortNames: ["po"], subresources: ["status", "log"])
    /// core/v1 ConfigMap.
    public static let configMaps = ResourceType(group: "", version: "v1", plural: "configmaps", singular: "configmap",
                                                kind: "ConfigMap", namespaced: true, shortNames: ["cm"], subresources: [])
    /// core/v1 Secret.
    public static let secrets = ResourceType(group: "", version: "v1", plural: "secrets", singular: "secret",
                                             kind: "Secret", namespaced: true, shortNames: [], subresources: [])
    /// core/v1 ServiceAccount (token).
    public static let serviceAccounts = ResourceType(group: "", version: "v1", plural: "serviceaccounts",
                                                     singular: "serviceaccount", kind: "ServiceAccount",
                                                     namespaced: true, shortNames: ["sa"], subresources: ["token"])
    /// core/v1 Event.
    public static let events = ResourceType(group: "", version: "v1", plural: "events", singular: "event",
                                            kind: "Event", namespaced: true, shortNames: ["ev"], subresources: [])
    /// core/v1 Namespace (cluster-scoped; status).
    public static let namespaces = ResourceType(group: "", version: "v1", plural: "namespaces", singular: "namespace",
                                                kind: "Namespace", namespaced: false, shortNames: ["ns"],
                                                subresources: ["status"])
    /// coordination.k8s.io/v1 Lease.
    public static let leases = ResourceType(group: "coordination.k8s.io", version: "v1", plural: "leases",
                                            singular: "lease", kind: "Lease", namespaced: true, shortNames: [],
                                            subresources: [])
    /// events.k8s.io/v1 Event (stored apart from core/v1 events in this server).
    public static let eventsV1 = ResourceType(group: "events.k8s.io", version: "v1", plural: "events",
                                              singular: "event", kind: "Event", namespaced: true, shortNames: [],
                                              subresources: [])

    /// apps/v1 Deployment (status). The server stores it and counts its generation; there is no
    /// controller: a test that wants rollouts plays the Deployment controller itself.
    public static let deployments = ResourceType(group: "apps", version: "v1", plural: "deployments",
                                                 singular: "deployment", kind: "Deployment", namespaced: true,
                                                 shortNames: ["deploy"], subresources: ["status"])

    /// Every resource the server serves.
    public static let all: [ResourceType] = [
        .nodes, .pods, .configMaps, .secrets, .serviceAccounts, .events, .namespaces, .leases, .eventsV1, .deployments,
    ]

    /// The resource for a group and plural, nil when not served.
    public static func find(group: String, version: String, plural: String) -> ResourceType? {
        all.first { $0.group == group && $0.version == version && $0.plural == plural }
    }
}
