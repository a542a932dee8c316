import Foundation

/// One event of a watch stream: `{"type":"ADDED","object":{...}}`.
public enum WatchEvent<Object: KubeResource>: Sendable {
    /// The object appeared (or started matching the selector).
    case added(Object)
    /// The object changed.
    case modified(Object)
    /// The object was removed (or stopped matching the selector); the object as last stored.
    case deleted(Object)
    /// No change, but the stream has progressed to this resourceVersion.
    case bookmark(resourceVersion: String)
    /// The server ended the watch with this Status (410 Gone when the resourceVersion is too old).
    case error(Status)

    /// Decodes one line of a watch stream.
    static func decode(line: Data) throws -> WatchEvent<Object> {
        let members = try RawJSON.objectMembers(line)
        guard let typeRange = members["type"] else {
            throw RawJSON.Failure(message: "watch event without \"type\"")
        }
        let type = try JSONDecoder().decode(String.self, from: line.subdata(in: typeRange))
        guard let objectRange = members["object"] else {
            throw RawJSON.Failure(message: "watch event \(type) without \"object\"")
        }
        let object = line.subdata(in: objectRange)
        switch type {
        case "ADDED": return .added(try Object.decodeObject(from: object))
        case "MODIFIED": return .modified(try Object.decodeObject(from: object))
        case "DELETED": return .deleted(try Object.decodeObject(from: object))
        case "BOOKMARK":
            let bookmark = try JSONDecoder().decode(BookmarkObject.self, from: object)
            return .bookmark(resourceVersion: bookmark.metadata?.resourceVersion ?? "")
        case "ERROR": return .error(try JSONDecoder().decode(Status.self, from: object))
        default: throw RawJSON.Failure(message: "unknown watch event type \(type)")
        }
    }
}

/// The object of a BOOKMARK event: only its resourceVersion matters.
private struct BookmarkObject: Decodable {
    var metadata: ListMeta?
}
