/// An Event (core/v1).
///
/// core/v1 rather than events.k8s.io/v1: `kubectl describe` reads core/v1 events, the kubelet writes them,
/// and a node identity is allowed to create them; events.k8s.io/v1 is the same storage with renamed fields.
public struct Event: KubeResource, Hashable {
    public static let resource = ResourceDescriptor(apiVersion: "v1", kind: "Event", plural: "events", namespaced: true)

    public var apiVersion: String? = "v1"
    public var kind: String? = "Event"
    public var metadata: ObjectMeta
    /// The object the event is about.
    public var involvedObject: ObjectReference
    /// A short CamelCase reason: `Started`, `Killing`, `BackOff`, ...
    public var reason: String?
    public var message: String?
    /// `Normal` or `Warning`.
    public var type: String?
    public var source: EventSource?
    public var count: Int?
    public var firstTimestamp: Timestamp?
    public var lastTimestamp: Timestamp?
    public var reportingComponent: String?
    public var reportingInstance: String?

    /// Creates an event.
    public init(
        metadata: ObjectMeta, involvedObject: ObjectReference, reason: String?, message: String?,
        type: String? = "Normal", source: EventSource? = nil, count: Int? = 1, firstTimestamp: Timestamp? = nil,
        lastTimestamp: Timestamp? = nil
    ) {
        self.metadata = metadata
        self.involvedObject = involvedObject
        self.reason = reason
        self.message = message
        self.type = type
        self.source = source
        self.count = count
        self.firstTimestamp = firstTimestamp
        self.lastTimestamp = lastTimestamp
        self.reportingComponent = source?.component
        self.reportingInstance = source?.host
    }
}

/// Who reported an event: component and host.
public struct EventSource: Codable, Sendable, Hashable {
    public var component: String?
    public var host: String?

    /// Creates a source.
    public init(component: String?, host: String?) {
        self.component = component
        self.host = host
    }
}
