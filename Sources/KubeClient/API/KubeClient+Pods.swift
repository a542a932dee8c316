import Foundation

extension KubeClient {
    /// The scope of the pods bound to a node, in every namespace: `fieldSelector=spec.nodeName=NAME`.
    public static func podsOnNode(_ nodeName: String) -> WatchScope {
        WatchScope(fieldSelector: "spec.nodeName=\(nodeName)")
    }

    /// Lists the pods bound to `nodeName` (each with its raw JSON).
    public func listPods(onNode nodeName: String) async throws(KubeError) -> KubeList<Pod> {
        try await operations.list(Pod.self, scope: Self.podsOnNode(nodeName), pageSize: 500)
    }

    /// An informer over the pods bound to `nodeName`.
    public func podInformer(nodeName: String, options: InformerOptions = InformerOptions()) -> Informer<Pod> {
        informer(Pod.self, scope: Self.podsOnNode(nodeName), options: options)
    }

    /// Reads one pod.
    public func getPod(namespace: String, name: String) async throws(KubeError) -> Pod {
        try await operations.get(Pod.self, namespace: namespace, name: name)
    }

    /// Creates a pod from its manifest as JSON (sent unchanged).
    public func createPod(namespace: String, json: Data) async throws(KubeError) -> Pod {
        let path = Pod.resource.collectionPath(namespace: namespace)
        let response = try await transport.send(APIRequest(method: .POST, path: path, body: json))
        return try operations.decode(Pod.self, response.body, what: "Pod from POST \(path)")
    }

    /// Updates a pod's status: reads the pod (or starts from `current`), applies `change` to its status,
    /// and PUTs the status subresource with the pod's own JSON (fields this model lacks are kept). On 409
    /// Conflict it reads the pod again and re-applies `change`.
    public func updatePodStatus(
        namespace: String, name: String, from current: Pod? = nil, _ change: @Sendable (inout PodStatus) -> Void
    ) async throws(KubeError) -> Pod {
        try await updateStatus(
            Pod.self, namespace: namespace, name: name, from: current, status: { $0.status ?? PodStatus() },
            modelledKeys: PodStatus.modelledKeys, change: change)
    }

    /// Sets a pod's status as the kubelet does: one JSON merge patch of the status subresource, each key
    /// this client models taking `status`'s value (a key `status` lacks is removed), the keys it does not
    /// model kept as the server has them. The patch carries `uid`, which cannot change: it applies to that
    /// incarnation of the pod only (another pod of the same name answers 422 Invalid). No read before and
    /// no 409 Conflict; the answer is not decoded.
    public func setPodStatus(namespace: String, name: String, uid: String, status: PodStatus) async throws(KubeError) {
        let path = Pod.resource.objectPath(namespace: namespace, name: name) + "/status"
        let body = try StatusPatch.merge(status, modelledKeys: PodStatus.modelledKeys, uid: uid, what: path)
        _ = try await transport.send(APIRequest(method: .PATCH, path: path, body: body, contentType: PatchType.merge.rawValue))
    }

    /// Patches a pod's status subresource with a patch document.
    public func patchPodStatus(namespace: String, name: String, patch: Data, type: PatchType = .strategicMerge)
        async throws(KubeError) -> Pod
    {
        try await operations.patch(
            Pod.self, path: Pod.resource.objectPath(namespace: namespace, name: name) + "/status", patch: patch, as: type)
    }

    /// Deletes a pod with a grace period (0: at once, as the node does once its containers stopped),
    /// only if it is still the incarnation `uid` (a 409 Conflict otherwise).
    public func deletePod(namespace: String, name: String, gracePeriodSeconds: Int64?, uid: String?)
        async throws(KubeError)
    {
        try await operations.delete(
            path: Pod.resource.objectPath(namespace: namespace, name: name),
            options: DeleteOptions(
                gracePeriodSeconds: gracePeriodSeconds,
                preconditions: uid.map { DeleteOptions.Preconditions(uid: $0) }))
    }

    // MARK: ConfigMaps and Secrets

    /// The scope of one named object: a node identity may only read ConfigMaps and Secrets by name.
    public static func named(_ name: String, namespace: String) -> WatchScope {
        WatchScope(namespace: namespace, fieldSelector: "metadata.name=\(name)")
    }

    /// Reads a ConfigMap.
    public func getConfigMap(namespace: String, name: String) async throws(KubeError) -> ConfigMap {
        try await operations.get(ConfigMap.self, namespace: namespace, name: name)
    }

    /// Watches one ConfigMap by name (list and watch with `fieldSelector=metadata.name=NAME`).
    public func configMapInformer(namespace: String, name: String, options: InformerOptions = InformerOptions())
        -> Informer<ConfigMap>
    {
        informer(ConfigMap.self, scope: Self.named(name, namespace: namespace), options: options)
    }

    /// Reads a Secret.
    public func getSecret(namespace: String, name: String) async throws(KubeError) -> Secret {
        try await operations.get(Secret.self, namespace: namespace, name: name)
    }

    /// Watches one Secret by name.
    public func secretInformer(namespace: String, name: String, options: InformerOptions = InformerOptions())
        -> Informer<Secret>
    {
        informer(Secret.self, scope: Self.named(name, namespace: namespace), options: options)
    }

    // MARK: Tokens and events

    /// Asks for a service-account token bound to a pod (TokenRequest).
    public func requestToken(
        namespace: String, serviceAccount: String, audiences: [String] = [], expirationSeconds: Int64? = 3600,
        boundTo pod: (name: String, uid: String)? = nil
    ) async throws(KubeError) -> TokenRequest {
        let request = TokenRequest(
            spec: TokenRequest.Spec(
                audiences: audiences, expirationSeconds: expirationSeconds,
                boundObjectRef: pod.map { TokenRequest.BoundObjectReference(name: $0.name, uid: $0.uid) }))
        let path = ServiceAccount.resource.objectPath(namespace: namespace, name: serviceAccount) + "/token"
        let answer = try await operations.call(
            .POST, path: path, body: try operations.encode(request, what: "TokenRequest"), answer: TokenRequest.self)
        guard answer.status != nil else {
            throw .decoding(what: "TokenRequest from \(path)", detail: "no status.token in the answer")
        }
        return answer
    }

    /// Patches an Event with a JSON merge patch (a repeated event's `count` and `lastTimestamp`).
    public func patchEvent(namespace: String, name: String, patch: Data) async throws(KubeError) -> Event {
        try await operations.patch(Event.self, path: Event.resource.objectPath(namespace: namespace, name: name), patch: patch, as: .merge)
    }

    /// Records an Event in its metadata's namespace (else the involved object's).
    public func createEvent(_ event: Event) async throws(KubeError) -> Event {
        let namespace = event.metadata.namespace ?? event.involvedObject.namespace ?? "default"
        return try await operations.create(event, namespace: namespace)
    }
}
