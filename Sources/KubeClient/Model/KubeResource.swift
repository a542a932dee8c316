import Foundation

/// Where a kind of object lives in the API: enough to build its URLs.
public struct ResourceDescriptor: Sendable, Hashable {
    /// `v1` for the core group, `coordination.k8s.io/v1` otherwise.
    public var apiVersion: String
    /// The kind, such as `Pod`.
    public var kind: String
    /// The plural resource name in URLs, such as `pods`.
    public var plural: String
    /// Whether objects live in a namespace.
    public var namespaced: Bool

    /// Creates a descriptor.
    public init(apiVersion: String, kind: String, plural: String, namespaced: Bool) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.plural = plural
        self.namespaced = namespaced
    }

    /// The collection path: `/api/v1/namespaces/NS/pods` or `/apis/GROUP/VERSION/nodes`.
    func collectionPath(namespace: String?) -> String {
        let prefix = apiVersion.contains("/") ? "/apis/\(apiVersion)" : "/api/\(apiVersion)"
        if namespaced, let namespace {
            return "\(prefix)/namespaces/\(PathSegment.escape(namespace))/\(plural)"
        }
        return "\(prefix)/\(plural)"
    }

    /// The path of one object.
    func objectPath(namespace: String?, name: String) -> String {
        collectionPath(namespace: namespace) + "/" + PathSegment.escape(name)
    }
}

/// A Kubernetes object kind the client can get, list and watch.
public protocol KubeResource: Codable, Sendable {
    /// Where objects of this kind live in the API.
    static var resource: ResourceDescriptor { get }
    /// The object's metadata.
    var metadata: ObjectMeta { get set }
    /// Decodes one object from its JSON; kinds that keep their raw bytes (Pod, Node) override this.
    static func decodeObject(from json: Data) throws -> Self
    /// The object's JSON as received, for kinds that keep it (Pod, Node); nil otherwise.
    var raw: Data? { get }
}

extension KubeResource {
    /// Decodes with a plain JSONDecoder.
    public static func decodeObject(from json: Data) throws -> Self {
        try JSONDecoder().decode(Self.self, from: json)
    }

    /// Kinds that do not keep their bytes.
    public var raw: Data? { nil }

    /// `namespace/name`, or `name` for cluster-scoped objects: the key a watch cache uses.
    public var key: String {
        let name = metadata.name ?? ""
        if let namespace = metadata.namespace, !namespace.isEmpty { return namespace + "/" + name }
        return name
    }
}

enum PathSegment {
    /// Percent-escapes one path segment (names are DNS labels, but never trust input to be).
    static func escape(_ segment: String) -> String {
        var out = ""
        for byte in segment.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"), UInt8(ascii: ":"), UInt8(ascii: "@"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return out
    }

    /// Percent-escapes a query name or value.
    static func escapeQuery(_ value: String) -> String {
        var out = ""
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return out
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
