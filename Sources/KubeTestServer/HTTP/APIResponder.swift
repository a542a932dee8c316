import Foundation
import Hummingbird
import NIOCore
import Synchronization

/// Answers every request: authentication, faults, then discovery or the resource handlers.
final class APIResponder: HTTPResponder, Sendable {
    typealias Context = APIRequestContext

    let store: ObjectStore
    let faults: FaultInjector
    let recorder: EventRecorder
    let options: KubeTestServer.Options
    let authenticator: Authenticator
    let kubelets: KubeletClient
    private let address = Mutex("127.0.0.1")

    init(store: ObjectStore, faults: FaultInjector, recorder: EventRecorder, options: KubeTestServer.Options,
         authenticator: Authenticator, kubelets: KubeletClient) {
        self.store = store
        self.faults = faults
        self.recorder = recorder
        self.options = options
        self.authenticator = authenticator
        self.kubelets = kubelets
    }

    func setAddress(_ value: String) { address.withLock { $0 = value } }

    func respond(to request: Request, context: Context) async throws -> Response {
        let method = request.method.rawValue
        let route = Route(path: request.uri.path)
        let query = Query(request.uri.query)
        do {
            guard let user = await authenticator.authenticate(channel: context.channel,
                                                               authorization: request.headers[.authorization]) else {
                throw APIError.unauthorized()
            }
            let verb = kubernetesVerb(method: method, route: route, query: query)
            let (fault, delay) = faults.admit(RequestRecord(method: method, verb: verb, path: request.uri.path, query: query.raw))
            if let delay { try await Task.sleep(for: delay) }
            if let fault { throw fault }
            return try await dispatch(request, context: context, route: route, query: query, verb: verb, user: user)
        } catch let error as APIError {
            return Self.errorResponse(error)
        } catch is CancellationError {
            return Self.errorResponse(APIError.internalError("request cancelled"))
        } catch {
            return Self.errorResponse(APIError.internalError(String(describing: error)))
        }
    }

    private func dispatch(_ request: Request, context: Context, route: Route, query: Query, verb: String,
                          user: UserInfo) async throws -> Response {
        let method = request.method.rawValue
        switch route {
        case .resource(let r):
            return try await handleResource(request, context: context, r, query: query, verb: verb, user: user)
        case .notFound:
            throw APIError.pathNotFound()
        default:
            guard method == "GET" else { throw APIError.methodNotAllowed("the server does not allow this method on the requested resource") }
        }
        switch route {
        case .version: return Self.json(Discovery.version(options.kubernetesVersion))
        case .coreVersions: return Self.json(Discovery.coreVersions(address: address.withLock { $0 }))
        case .groupList: return Self.json(Discovery.groupList())
        case .group(let g):
            guard let doc = Discovery.groupDocument(g) else { throw APIError.pathNotFound() }
            return Self.json(doc)
        case .groupVersion(let g, let v):
            guard let doc = Discovery.resourceList(group: g, version: v) else { throw APIError.pathNotFound() }
            return Self.json(doc)
        case .openAPIV3Root: return Self.json(Discovery.openAPIRoot())
        case .openAPIV3(let path):
            guard let doc = Discovery.openAPIDocument(path: path) else { throw APIError.pathNotFound() }
            return Self.json(doc)
        case .openAPIV2:
            // kubectl asks for the v2 document in protobuf only; without it, it falls back to compiled-in types.
            throw APIError(code: 406, reason: "NotAcceptable", message: "only the OpenAPI v3 document is served")
        case .health:
            return Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string: "ok")))
        default:
            throw APIError.pathNotFound()
        }
    }

    private func handleResource(_ request: Request, context: Context, _ r: ResourceRequest, query: Query, verb: String,
                                user: UserInfo) async throws -> Response {
        let method = request.method.rawValue
        var request = request
        if options.nodeAuthorization {
            var body: JSONValue?
            if ["POST", "PUT", "PATCH"].contains(method) {
                let buffer = try await request.collectBody(upTo: 8 << 20)
                body = try? JSONValue(data: Data(buffer.readableBytesView))
            }
            if let denied = await NodeAuthorizer(store: store).check(user: user, verb: verb, r, query: query, body: body) {
                throw denied
            }
        }
        guard let representation = Representation.negotiate(request.headers[.accept]) else {
            throw APIError(code: 406, reason: "NotAcceptable",
                           message: "only the following media types are accepted: application/json, application/json;as=Table;v=v1;g=meta.k8s.io")
        }
        switch (method, r.name, r.subresource) {
        case ("GET", _, "log"?):
            return try await kubelets.proxyLog(store: store, r, query: query)
        case ("GET", _, nil) where query.bool("watch"):
            return try await watch(r, query: query, representation: representation, channel: context.channel)
        case ("GET", nil, nil):
            return try await list(r, query: query, representation: representation)
        case ("GET", let name?, _):
            guard r.subresource == nil || r.subresource == "status" else { throw APIError.methodNotAllowed("GET is not allowed on \(r.subresource ?? "")") }
            let object = try await store.get(r.resource, namespace: r.namespace, name: name)
            return Self.render(object, r.resource, representation, query: query)
        case ("POST", nil, nil):
            try Self.refuseDryRun(query)
            let body = try await Self.body(request)
            let created = try await store.create(r.resource, namespace: r.namespace, object: body)
            return Self.json(created, status: .created)
        case ("POST", let name?, "token"?):
            return try await tokenRequest(namespace: r.namespace, serviceAccount: name, body: try await Self.body(request))
        case ("PUT", let name?, let sub) where sub == nil || sub == "status":
            try Self.refuseDryRun(query)
            let body = try await Self.body(request)
            let updated = try await store.update(r.resource, namespace: r.namespace, name: name, object: body, subresource: sub)
            return Self.json(updated)
        case ("PATCH", let name?, let sub) where sub == nil || sub == "status":
            try Self.refuseDryRun(query)
            let contentType = request.headers[.contentType] ?? ""
            guard let patchType = PatchType(contentType: contentType) else {
                throw APIError(code: 415, reason: "UnsupportedMediaType",
                               message: "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json (server-side apply is not implemented by this test server)")
            }
            let patch = try await Self.body(request, requireObject: patchType != .json)
            let patched = try await store.modify(r.resource, namespace: r.namespace, name: name, subresource: sub) { current throws(APIError) in
                try patchType.apply(patch, to: current)
            }
            return Self.json(patched)
        case ("DELETE", let name?, nil):
            try Self.refuseDryRun(query)
            let options = try await Self.deleteOptions(request, query: query)
            let outcome = try await store.delete(r.resource, namespace: r.namespace, name: name, options: options)
            if r.resource == .namespaces, case .deleted = outcome { await store.deleteContents(ofNamespace: name) }
            return Self.deleteResponse(outcome, r.resource)
        case ("DELETE", nil, nil):
            try Self.refuseDryRun(query)
            let options = try await Self.deleteOptions(request, query: query)
            let filter = try Self.filter(r, query: query)
            var deleted: [JSONValue] = []
            for object in await store.list(filter).items {
                if let outcome = try? await store.delete(r.resource, namespace: object.namespace, name: object.name ?? "", options: options) {
                    deleted.append(outcome.object)
                }
            }
            return Self.json(Self.listObject(r.resource, deleted, resourceVersion: String(await store.revision)))
        default:
            throw APIError.methodNotAllowed("the server does not allow this method on the requested resource")
        }
    }

    // MARK: Lists

    static func filter(_ r: ResourceRequest, query: Query) throws(APIError) -> WatchFilter {
        var filter = WatchFilter(resource: r.resource, namespace: r.namespace)
        if let text = query["labelSelector"] { filter.labels = try LabelSelector(parsing: text) }
        if let text = query["fieldSelector"] { filter.fields = try FieldSelector(parsing: text, for: r.resource) }
        if let name = r.name {
            filter.fields.requirements.append(.init(field: "metadata.name", value: name, equal: true))
        }
        return filter
    }

    private func list(_ r: ResourceRequest, query: Query, representation: Representation) async throws -> Response {
        let filter = try Self.filter(r, query: query)
        let listed = await store.list(filter)
        var items = listed.items
        let revision = listed.revision
        var continueToken: String?
        var remaining: Int?
        if let token = query["continue"], !token.isEmpty {
            guard let data = Data(base64Encoded: token), let decoded = try? JSONValue(data: data),
                  let rv = decoded["rv"]?.intValue, let start = decoded["start"]?.stringValue else {
                throw APIError.badRequest("continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)")
            }
            if rv < (await store.compactedThrough) {
                throw APIError.expired("The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.")
            }
            items = items.filter { Self.key($0) > start }
        }
        if let limit = try query.int("limit"), limit > 0, items.count > Int(limit) {
            remaining = items.count - Int(limit)
            items = Array(items.prefix(Int(limit)))
            let token: JSONValue = ["v": "meta.k8s.io/v1", "rv": .int(revision), "start": .string(Self.key(items[items.count - 1]))]
            continueToken = token.data().base64EncodedString()
        }
        switch representation {
        case .table(let apiVersion):
            var table = Tables.table(r.resource, items, includeObject: query["includeObject"] ?? "Metadata",
                                     resourceVersion: String(revision), apiVersion: apiVersion)
            if let continueToken { table[path: ["metadata", "continue"]] = .string(continueToken) }
            return Self.json(table, contentType: "application/json;as=Table;v=v1;g=meta.k8s.io")
        case .partialMetadata:
            var list: JSONValue = ["kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1",
                                   "metadata": ["resourceVersion": .string(String(revision))],
                                   "items": .array(items.map(Tables.partialMetadata))]
            if let continueToken { list[path: ["metadata", "continue"]] = .string(continueToken) }
            return Self.json(list, contentType: "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io")
        case .json:
            var list = Self.listObject(r.resource, items, resourceVersion: String(revision))
            if let continueToken {
                list[path: ["metadata", "continue"]] = .string(continueToken)
                list[path: ["metadata", "remainingItemCount"]] = .int(Int64(remaining ?? 0))
            }
            return Self.json(list)
        }
    }

    static func key(_ object: JSONValue) -> String { "\(object.namespace ?? "")/\(object.name ?? "")" }

    /// A typed list as the real server writes it: items without kind/apiVersion.
    static func listObject(_ resource: ResourceType, _ items: [JSONValue], resourceVersion: String) -> JSONValue {
        ["kind": .string("\(resource.kind)List"), "apiVersion": .string(resource.apiVersion),
         "metadata": ["resourceVersion": .string(resourceVersion)],
         "items": .array(items.map { var item = $0; item["kind"] = nil; item["apiVersion"] = nil; return item })]
    }

    static func render(_ object: JSONValue, _ resource: ResourceType, _ representation: Representation, query: Query) -> Response {
        switch representation {
        case .json: return json(object)
        case .partialMetadata:
            return json(Tables.partialMetadata(object), contentType: "application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io")
        case .table(let apiVersion):
            return json(Tables.table(resource, [object], includeObject: query["includeObject"] ?? "Metadata",
                                     resourceVersion: object.resourceVersion, apiVersion: apiVersion),
                        contentType: "application/json;as=Table;v=v1;g=meta.k8s.io")
        }
    }

    // MARK: Delete

    static func deleteOptions(_ request: Request, query: Query) async throws -> DeleteOptions {
        var options = DeleteOptions(gracePeriodSeconds: try query.int("gracePeriodSeconds"))
        var request = request
        let buffer = try await request.collectBody(upTo: 1 << 20)
        if buffer.readableBytes > 0 {
            let body: JSONValue
            do { body = try JSONValue(data: Data(buffer.readableBytesView)) } catch {
                throw APIError.badRequest("the body of the request was in an unknown format - accepted media types include: application/json")
            }
            if let grace = body["gracePeriodSeconds"]?.intValue { options.gracePeriodSeconds = grace }
            options.preconditionUID = body[path: ["preconditions", "uid"]]?.stringValue
            options.preconditionResourceVersion = body[path: ["preconditions", "resourceVersion"]]?.stringValue
            if body["dryRun"]?.arrayValue?.isEmpty == false { throw APIError.badRequest("dryRun is not supported by this test server") }
        }
        return options
    }

    static func deleteResponse(_ outcome: DeleteOutcome, _ resource: ResourceType) -> Response {
        switch outcome {
        case .pending(let object):
            return json(object, status: .accepted)
        case .deleted(let object):
            if resource == .pods || resource == .namespaces { return json(object) }
            var details: JSONValue = ["name": .string(object.name ?? ""), "kind": .string(resource.plural)]
            if !resource.group.isEmpty { details["group"] = .string(resource.group) }
            if let uid = object.uid { details["uid"] = .string(uid) }
            return json(["kind": "Status", "apiVersion": "v1", "metadata": [:], "status": "Success", "details": details])
        }
    }

    // MARK: Helpers

    static func refuseDryRun(_ query: Query) throws(APIError) {
        if let dryRun = query["dryRun"], !dryRun.isEmpty {
            throw APIError.badRequest("dryRun is not supported by this test server")
        }
    }

    static func body(_ request: Request, requireObject: Bool = true) async throws -> JSONValue {
        if let type = request.headers[.contentType], type.contains("protobuf") || type.contains("cbor") {
            throw APIError(code: 415, reason: "UnsupportedMediaType", message: "the body of the request was in an unknown format - accepted media types include: application/json")
        }
        var request = request
        let buffer = try await request.collectBody(upTo: 8 << 20)
        do {
            let value = try JSONValue(data: Data(buffer.readableBytesView))
            if requireObject, value.objectValue == nil { throw APIError.badRequest("expected a JSON object in the request body") }
            return value
        } catch let error as APIError {
            throw error
        } catch {
            throw APIError.badRequest("the body of the request was in an unknown format - accepted media types include: application/json")
        }
    }

    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok, contentType: String = "application/json") -> Response {
        var data = value.data()
        data.append(UInt8(ascii: "\n"))
        return Response(status: status, headers: [.contentType: contentType], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func errorResponse(_ error: APIError) -> Response {
        var response = json(error.status, status: HTTPResponse.Status(code: error.code))
        if let retry = error.retryAfterSeconds { response.headers[.retryAfter] = String(retry) }
        return response
    }
}
