import Foundation
import Hummingbird
import NIOCore

extension APIResponder {
    /// A watch: newline-delimited JSON events over a chunked response, flushed one by one.
    /// No resourceVersion (or "0"): ADDED for every current object, then changes. resourceVersion=N: the
    /// changes after N, or (when N was compacted away) an ERROR event with a 410 Expired Status, in a 200
    /// response, as the real watch cache answers. allowWatchBookmarks: BOOKMARK events at the configured
    /// interval. timeoutSeconds: the stream ends cleanly after that long.
    func watch(_ r: ResourceRequest, query: Query, representation: Representation, channel: any Channel) async throws -> Response {
        let filter = try Self.filter(r, query: query)
        var from: Int64?
        if let rv = query["resourceVersion"], !rv.isEmpty {
            guard let parsed = Int64(rv), parsed >= 0 else {
                throw APIError.badRequest("resourceVersion: Invalid value: \"\(rv)\": must be a non-negative integer")
            }
            from = parsed
        }
        let timeout = try query.int("timeoutSeconds")
        let bookmarks = query.bool("allowWatchBookmarks")
        let initialEvents = query.bool("sendInitialEvents")
        if initialEvents {
            guard bookmarks, query["resourceVersionMatch"] == "NotOlderThan" else {
                throw APIError.invalid(r.resource, "", field: "sendInitialEvents",
                                       "Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan and allowWatchBookmarks")
            }
        }
        let (id, items) = await store.watch(filter, from: from, initialEvents: initialEvents)
        faults.watchOpened(id, path: r.resource.groupVersionPath + (r.namespace.map { "/namespaces/\($0)" } ?? "") + "/" + r.resource.plural, channel: channel)
        let store = self.store
        let faults = self.faults
        // A client that hangs up ends its watch at once, not at the next event.
        channel.closeFuture.whenComplete { _ in
            faults.watchClosed(id)
            Task { await store.endWatch(id) }
        }
        let recorder = self.recorder
        let interval = options.bookmarkInterval
        let includeObject = query["includeObject"] ?? "Metadata"
        let contentType: String
        if case .table = representation { contentType = "application/json;as=Table;v=v1;g=meta.k8s.io" } else {
            contentType = "application/json"
        }
        let body = ResponseBody { writer in
            var bookmarkTask: Task<Void, any Error>?
            if bookmarks {
                bookmarkTask = Task {
                    while !Task.isCancelled {
                        try await Task.sleep(for: interval)
                        await store.bookmark(id)
                    }
                }
            }
            let timeoutTask = timeout.map { seconds in
                Task {
                    try await Task.sleep(for: .seconds(seconds))
                    await store.endWatch(id)
                }
            }
            defer {
                bookmarkTask?.cancel()
                timeoutTask?.cancel()
                faults.watchClosed(id)
                Task { await store.endWatch(id) }
            }
            for await item in items {
                let type: WatchEventType
                var object: JSONValue
                switch item {
                case .event(let t, let o):
                    type = t
                    object = o
                    if case .table(let apiVersion) = representation, t != .bookmark {
                        object = Tables.table(r.resource, [o], includeObject: includeObject,
                                              resourceVersion: o.resourceVersion, apiVersion: apiVersion)
                    }
                case .error(let error):
                    type = .error
                    object = error.status
                }
                var line = Data("{\"type\":\"\(type.rawValue)\",\"object\":".utf8)
                line.append(object.data())
                line.append(contentsOf: Array("}\n".utf8))
                try await writer.write(ByteBuffer(bytes: line))
                recorder.record(watchID: id, resource: r.resource, type: type, object: object)
                if type == .error { break }
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: contentType, .cacheControl: "no-cache, private"], body: body)
    }
}
