/// Metadata every persisted Kubernetes object has (`metadata`).
public struct ObjectMeta: Codable, Sendable, Hashable {
    /// The object's name, unique within its namespace and kind.
    public var name: String?
    /// A prefix the server completes into a unique name on create.
    public var generateName: String?
    /// The namespace; nil for cluster-scoped objects.
    public var namespace: String?
    /// The server-assigned unique identity of this incarnation of the object.
    public var uid: String?
    /// The opaque version of this object, for optimistic concurrency and watches.
    public var resourceVersion: String?
    /// The generation of the desired state.
    public var generation: Int64?
    /// When the object was created.
    public var creationTimestamp: Timestamp?
    /// When graceful deletion was requested; set means the object is being deleted.
    public var deletionTimestamp: Timestamp?
    /// The grace period given with the deletion request.
    public var deletionGracePeriodSeconds: Int64?
    /// Labels.
    public var labels: [String: String]?
    /// Annotations.
    public var annotations: [String: String]?
    /// Objects that own this one.
    public var ownerReferences: [OwnerReference]?
    /// Finalizers that must be removed before the object is deleted.
    public var finalizers: [String]?

    /// Creates metadata; every field is optional.
    public init(
        name: String? = nil, generateName: String? = nil, namespace: String? = nil, uid: String? = nil,
        resourceVersion: String? = nil, labels: [String: String]? = nil, annotations: [String: String]? = nil,
        ownerReferences: [OwnerReference]? = nil
    ) {
        self.name = name
        self.generateName = generateName
        self.namespace = namespace
        self.uid = uid
        self.resourceVersion = resourceVersion
        self.labels = labels
        self.annotations = annotations
        self.ownerReferences = ownerReferences
    }
}

/// A reference from an object to its owner (`metadata.ownerReferences[]`).
public struct OwnerReference: Codable, Sendable, Hashable {
    public var apiVersion: String
    public var kind: String
    public var name: String
    public var uid: String
    public var controller: Bool?
    public var blockOwnerDeletion: Bool?

    /// Creates a reference.
    public init(
        apiVersion: String, kind: String, name: String, uid: String, controller: Bool? = nil,
        blockOwnerDeletion: Bool? = nil
    ) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.name = name
        self.uid = uid
        self.controller = controller
        self.blockOwnerDeletion = blockOwnerDeletion
    }
}

/// Metadata of a list (`metadata` of a `...List`).
public struct ListMeta: Codable, Sendable, Hashable {
    /// The resourceVersion the list is a consistent snapshot at; watch from here.
    public var resourceVersion: String?
    /// Token for the next page, when the list was paginated.
    public var `continue`: String?
    /// How many items remain after this page, when the server knows.
    public var remainingItemCount: Int64?

    /// Creates list metadata.
    public init(resourceVersion: String? = nil, continue: String? = nil) {
        self.resourceVersion = resourceVersion
        self.continue = `continue`
    }
}

/// A reference to an object, as used by events (`involvedObject`) and by `boundObjectRef`.
public struct ObjectReference: Codable, Sendable, Hashable {
    public var apiVersion: String?
    public var kind: String?
    public var namespace: String?
    public var name: String?
    public var uid: String?
    public var resourceVersion: String?
    /// A path inside the object, such as `spec.containers{web}`.
    public var fieldPath: String?

    /// Creates a reference.
    public init(
        apiVersion: String? = nil, kind: String? = nil, namespace: String? = nil, name: String? = nil,
        uid: String? = nil, resourceVersion: String? = nil, fieldPath: String? = nil
    ) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.namespace = namespace
        self.name = name
        self.uid = uid
        self.resourceVersion = resourceVersion
        self.fieldPath = fieldPath
    }
}
