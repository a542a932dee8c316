import Foundation

/// A list of objects with the resourceVersion it is a snapshot at (`PodList`, `NodeList` ...).
public struct KubeList<Object: KubeResource>: Sendable {
    /// The list's metadata; `metadata.resourceVersion` is where a watch continues.
    public var metadata: ListMeta
    /// The objects, each decoded through `Object.decodeObject(from:)` (so Pods keep their raw bytes).
    public var items: [Object]

    /// Creates a list.
    public init(metadata: ListMeta, items: [Object]) {
        self.metadata = metadata
        self.items = items
    }

    /// Decodes a list body without decoding items twice and keeping each item's own bytes.
    static func decode(from json: Data) throws -> KubeList<Object> {
        let members = try RawJSON.objectMembers(json)
        var metadata = ListMeta()
        if let range = members["metadata"] {
            metadata = try JSONDecoder().decode(ListMeta.self, from: json.subdata(in: range))
        }
        var items: [Object] = []
        if let range = members["items"] {
            for element in try RawJSON.arrayElements(json, in: range) {
                items.append(try Object.decodeObject(from: json.subdata(in: element)))
            }
        }
        return KubeList(metadata: metadata, items: items)
    }
}
