import Foundation
import Hummingbird
import NIOCore
import NIOSSL

/// Reaches kubelets the way the real server does for `pods/log`: to
/// `https://NODE_ADDRESS:PORT/containerLogs/NS/POD/CONTAINER?...`, with the node's address from
/// `status.addresses` (InternalIP, then ExternalIP, then Hostname) and the port from
/// `status.daemonEndpoints.kubeletEndpoint.Port`, presenting the server's kubelet client certificate,
/// and streaming the body through.
struct KubeletClient: Sendable {
    let client: TestHTTPClient

    init(options: KubeTestServer.Options, pki: TestPKI?) throws {
        let credential = try options.kubeletClientCredential
            ?? pki?.issueClient(commonName: "kube-apiserver-kubelet-client", organizations: ["system:masters"])
        let trust = options.verifyKubeletCertificates ? (options.kubeletCAPEM ?? pki?.ca.certificatePEM) : nil
        var tls = try TestHTTPClient.tls(trusting: trust, client: credential)
        if options.verifyKubeletCertificates, trust == nil {
            // Plain-HTTP server without a PKI and no CA given: use the system trust store.
            tls.trustRoots = .default
            tls.certificateVerification = .fullVerification
        }
        client = TestHTTPClient(tls: tls)
    }

    /// Query parameters of `pods/log` passed on to the kubelet.
    static let passedParameters = ["follow", "previous", "sinceSeconds", "sinceTime", "timestamps", "tailLines", "limitBytes"]

    func proxyLog(store: ObjectStore, _ r: ResourceRequest, query: Query) async throws -> Response {
        guard let name = r.name else { throw APIError.pathNotFound() }
        let pod = try await store.get(.pods, namespace: r.namespace, name: name)
        let containers = (pod[path: ["spec", "containers"]]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue }
        let initContainers = (pod[path: ["spec", "initContainers"]]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue }
        let container: String
        if let requested = query["container"], !requested.isEmpty {
            guard (containers + initContainers).contains(requested) else {
                throw APIError.badRequest("container \(requested) is not valid for pod \(name)")
            }
            container = requested
        } else if containers.count == 1, let only = containers.first {
            container = only
        } else {
            throw APIError.badRequest("a container name must be specified for pod \(name), choose one of: [\(containers.joined(separator: " "))]")
        }
        guard let nodeName = pod[path: ["spec", "nodeName"]]?.stringValue, !nodeName.isEmpty else {
            throw APIError.badRequest("pod \(name) does not have a host assigned")
        }
        let node = try await store.get(.nodes, namespace: nil, name: nodeName)
        let addresses = node[path: ["status", "addresses"]]?.arrayValue ?? []
        guard let address = ["InternalIP", "ExternalIP", "Hostname"].lazy.compactMap({ type in
            addresses.first { $0["type"]?.stringValue == type }?["address"]?.stringValue
        }).first else {
            throw APIError.internalError("no preferred addresses found; known addresses: []")
        }
        var port = node[path: ["status", "daemonEndpoints", "kubeletEndpoint", "Port"]]?.intValue ?? 0
        if port <= 0 { port = 10250 }
        for parameter in ["tailLines", "limitBytes", "sinceSeconds"] {
            if let value = try query.int(parameter), value < (parameter == "tailLines" ? 0 : 1) {
                throw APIError.invalid(.pods, name, field: parameter, "Invalid value: \(value): must be greater than \(parameter == "tailLines" ? "or equal to 0" : "0")")
            }
        }
        var components = URLComponents()
        components.scheme = "https"
        components.host = address
        components.port = Int(port)
        components.path = "/containerLogs/\(r.namespace ?? "default")/\(name)/\(container)"
        let items = Self.passedParameters.compactMap { key in query[key].map { URLQueryItem(name: key, value: $0) } }
        if !items.isEmpty { components.queryItems = items }
        guard var url = components.string else { throw APIError.internalError("cannot build the kubelet URL") }
        if address.contains(":"), let bracketed = components.url?.absoluteString { url = bracketed }
        let response: TestHTTPResponse
        do {
            response = try await client.send("GET", url)
        } catch {
            throw APIError.internalError("Get \"\(url)\": \(error)")
        }
        guard (200..<300).contains(response.status) else {
            let text = (try? await response.text()) ?? ""
            throw APIError(code: response.status, reason: response.status == 404 ? "NotFound" : "InternalError",
                           message: text.isEmpty ? "the kubelet answered \(response.status)" : text)
        }
        let contentType = response.header("Content-Type") ?? "text/plain"
        let body = ResponseBody { writer in
            defer { response.close() }
            for try await buffer in response.body { try await writer.write(buffer) }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: contentType], body: body)
    }
}
