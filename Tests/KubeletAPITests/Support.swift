import Foundation
import KubeTestServer
import KubeletAPI
import Logging
import NIOCore
import NIOSSL
import Synchronization
import SystemkRuntime
import Testing

/// A log source that records what it was asked and answers as told: fixed output, an error, or a live
/// stream the test writes into (and whose end, when the server drops it, the test can await).
final class FakeLogSource: ContainerLogSource {
    struct Call: Sendable, Equatable {
        var namespace: String
        var pod: String
        var container: String
        var options: ContainerLogOptions
    }

    enum Behaviour: Sendable {
        case output([String])
        case fail(ContainerLogError)
        case live
    }

    typealias Writer = AsyncThrowingStream<[UInt8], any Error>.Continuation

    private let behaviour: Behaviour
    private let recorded = Mutex<[Call]>([])
    /// Live streams as they are opened: the test writes lines into them.
    let opened: AsyncStream<Writer>
    private let openedSink: AsyncStream<Writer>.Continuation
    /// One element each time a live stream ends; true when it was cancelled (the reader went away).
    let ended: AsyncStream<Bool>
    private let endedSink: AsyncStream<Bool>.Continuation

    init(_ behaviour: Behaviour) {
        self.behaviour = behaviour
        (opened, openedSink) = AsyncStream.makeStream()
        (ended, endedSink) = AsyncStream.makeStream()
    }

    var calls: [Call] { recorded.withLock { $0 } }

    func logs(namespace: String, pod: String, container: String, options: ContainerLogOptions)
        async throws(ContainerLogError) -> AsyncThrowingStream<[UInt8], any Error>
    {
        recorded.withLock { $0.append(Call(namespace: namespace, pod: pod, container: container, options: options)) }
        switch behaviour {
        case .fail(let error):
            throw error
        case .output(let lines):
            return AsyncThrowingStream { continuation in
                for line in lines { continuation.yield(Array(line.utf8)) }
                continuation.finish()
            }
        case .live:
            let (stream, writer) = AsyncThrowingStream<[UInt8], any Error>.makeStream()
            let ended = endedSink
            writer.onTermination = { reason in
                if case .cancelled = reason { ended.yield(true) } else { ended.yield(false) }
            }
            openedSink.yield(writer)
            return stream
        }
    }
}

/// A pod object as the API server sends it.
func podJSON(_ name: String, namespace: String = "default", node: String = "n1", containers: [String] = ["app"],
             initContainers: [String] = [], waiting: [String: String] = [:]) -> JSONValue {
    var pod: JSONValue = [
        "apiVersion": "v1", "kind": "Pod",
        "metadata": ["name": .string(name), "namespace": .string(namespace)],
        "spec": [
            "nodeName": .string(node),
            "containers": .array(containers.map { ["name": .string($0), "image": "debian"] }),
        ],
    ]
    if !initContainers.isEmpty {
        pod[path: ["spec", "initContainers"]] = .array(initContainers.map { ["name": .string($0), "image": "debian"] })
    }
    if !waiting.isEmpty {
        pod[path: ["status", "containerStatuses"]] = .array(waiting.sorted { $0.key < $1.key }.map {
            ["name": .string($0.key), "state": ["waiting": ["reason": .string($0.value)]]]
        })
    }
    return pod
}

/// A store holding `pods`.
func podStore(_ pods: JSONValue...) async throws -> PodStore {
    let store = PodStore()
    for pod in pods { try await store.set(podJSON: Array(pod.data())) }
    return store
}

/// A quiet logger for servers under test.
let testLogger: Logger = {
    var logger = Logger(label: "kubelet-api-test")
    logger.logLevel = .critical
    return logger
}()

/// A started kubelet API on 127.0.0.1 (self-signed unless told otherwise) and a client trusting it.
struct Kubelet {
    let server: KubeletServer
    let client: TestHTTPClient
    var url: String { "https://127.0.0.1:\(server.port)" }

    static func start(logs: any ContainerLogSource = FakeLogSource(.output([])), pods: any PodDirectory,
                      stats: (any NodeStatsSource)? = nil, metrics: (any AgentMetricsSource)? = nil,
                      certificate: ServingCertificate = .selfSigned(hosts: ["127.0.0.1", "localhost"]),
                      clientCAFile: String? = nil, trusting caPEM: String? = nil,
                      clientCredential: TestCredential? = nil) async throws -> Kubelet {
        let server = try await KubeletServer.start(
            .init(host: "127.0.0.1", port: 0, certificate: certificate, clientCAFile: clientCAFile),
            logs: logs, pods: pods, stats: stats, metrics: metrics, logger: testLogger)
        let trust = try #require(caPEM ?? server.selfSignedCAPEM)
        return Kubelet(server: server, client: TestHTTPClient(tls: try TestHTTPClient.tls(trusting: trust, client: clientCredential)))
    }

    /// GETs `path` and reads the whole answer.
    func get(_ path: String) async throws -> (status: Int, body: String, contentType: String?) {
        let response = try await client.send("GET", url + path)
        return (response.status, try await response.text(), response.header("Content-Type"))
    }

    func stop() async { await server.stop() }
}

/// Runs `body` with a kubelet API and always stops it.
func withKubelet<T>(logs: any ContainerLogSource = FakeLogSource(.output([])), pods: any PodDirectory,
                    stats: (any NodeStatsSource)? = nil, metrics: (any AgentMetricsSource)? = nil,
                    _ body: (Kubelet) async throws -> T) async throws -> T {
    let kubelet = try await Kubelet.start(logs: logs, pods: pods, stats: stats, metrics: metrics)
    do {
        let result = try await body(kubelet)
        await kubelet.stop()
        return result
    } catch {
        await kubelet.stop()
        throw error
    }
}

/// A fresh directory for a test's files.
func temporaryDirectory() throws -> String {
    let path = NSTemporaryDirectory() + "kubelet-api-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

extension Kubelet {
    /// Runs `body`, then stops the server whether `body` threw or not.
    func whileRunning<T>(_ body: () async throws -> T) async throws -> T {
        do {
            let result = try await body()
            await stop()
            return result
        } catch {
            await stop()
            throw error
        }
    }
}
