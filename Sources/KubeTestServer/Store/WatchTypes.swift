/// The type of a watch event, as written in `{"type":...}`.
public enum WatchEventType: String, Sendable, Hashable, Codable {
    case added = "ADDED"
    case modified = "MODIFIED"
    case deleted = "DELETED"
    case bookmark = "BOOKMARK"
    case error = "ERROR"
}

/// One change in the store, with the store revision it produced.
public struct StoreChange: Sendable, Hashable {
    /// ADDED, MODIFIED or DELETED.
    public var type: WatchEventType
    /// What kind of object changed.
    public var resource: ResourceType
    /// The object after the change (for DELETED: the last state, with the deletion's resourceVersion).
    public var object: JSONValue
    /// The object before the change; nil for ADDED.
    public var previous: JSONValue?
    /// The store revision this change produced (the object's new resourceVersion).
    public var revision: Int64
}

/// An event as a watch connection wrote it onto the wire.
public struct RecordedWatchEvent: Sendable, Hashable {
    /// Order of emission across the whole server, from 0.
    public var sequence: Int
    /// The watch connection that sent it (see `KubeTestServer.emittedEvents`).
    public var watchID: Int
    /// The resource watched.
    public var resource: ResourceType
    /// ADDED, MODIFIED, DELETED, BOOKMARK or ERROR.
    public var type: WatchEventType
    /// The object written in the event (a Status for ERROR, a Table when the client asked for tables).
    public var object: JSONValue
    /// `metadata.resourceVersion` of the object ("" for ERROR).
    public var resourceVersion: String { object.resourceVersion ?? "" }
}

/// What a watch wants to see: one resource, optionally one namespace, and selectors.
struct WatchFilter: Sendable {
    var resource: ResourceType
    var namespace: String?
    var labels: LabelSelector = .everything
    var fields: FieldSelector = .everything

    func matches(_ object: JSONValue) -> Bool {
        if let namespace, object.namespace != namespace { return false }
        return labels.matches(object.labels) && fields.matches(object)
    }
}

/// An item a watch connection writes: an event for an object, or an error that ends the stream.
enum WatchItem: Sendable {
    case event(WatchEventType, JSONValue)
    case error(APIError)
}
