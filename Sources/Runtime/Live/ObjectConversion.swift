import Foundation
import KubeClient
import PodCompiler

// The API client's ConfigMaps and Secrets as the compiler reads them. Both modules name their types
// ConfigMap, Secret and ObjectMeta: module selectors (`PodCompiler::ConfigMap`) say which is meant.

extension PodCompiler::ObjectMeta {
    /// The parts of the API object's metadata the compiler keeps.
    public init(_ meta: KubeClient::ObjectMeta) {
        self.init(
            name: meta.name, namespace: meta.namespace, uid: meta.uid, labels: meta.labels, annotations: meta.annotations)
        resourceVersion = meta.resourceVersion
        generateName = meta.generateName
    }
}

extension PodCompiler::ConfigMap {
    /// A ConfigMap as read from the API: `data` as text, `binaryData` as bytes (the client has already
    /// decoded its base64).
    public init(_ object: KubeClient::ConfigMap) {
        self.init(metadata: PodCompiler::ObjectMeta(object.metadata), data: object.data)
        apiVersion = object.apiVersion
        kind = object.kind
        binaryData = object.binaryData?.mapValues { Base64Bytes(Array($0)) }
        immutable = object.immutable
    }
}

extension PodCompiler::Secret {
    /// A Secret as read from the API: `data` as bytes (the compiler's `Base64Bytes` hold the decoded
    /// bytes, not base64 text). `stringData` is write-only and never read back; kept if present, as the
    /// compiler merges it the way the API server does.
    public init(_ object: KubeClient::Secret) {
        self.init(metadata: PodCompiler::ObjectMeta(object.metadata), stringData: object.stringData)
        apiVersion = object.apiVersion
        kind = object.kind
        data = object.data?.mapValues { Base64Bytes(Array($0)) }
        type = object.type
        immutable = object.immutable
    }
}
