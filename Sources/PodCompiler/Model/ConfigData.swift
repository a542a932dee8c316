import Foundation

/// A ConfigMap: text in `data`, bytes in `binaryData` (base64 in the manifest).
public struct ConfigMap: Codable, Sendable, Equatable {
    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var data: [String: String]?
    public var binaryData: [String: Base64Bytes]?
    public var immutable: Bool?

    public init(metadata: ObjectMeta, data: [String: String]? = nil) {
        self.metadata = metadata
        self.data = data
    }

    /// Every key with its bytes.
    public var contents: [String: [UInt8]] {
        var out: [String: [UInt8]] = [:]
        for (k, v) in data ?? [:] { out[k] = Array(v.utf8) }
        for (k, v) in binaryData ?? [:] { out[k] = v.bytes }
        return out
    }
}

/// A Secret: bytes in `data` (base64), text in `stringData` (which wins on a shared key, as the API
/// server merges it).
public struct Secret: Codable, Sendable, Equatable {
    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var data: [String: Base64Bytes]?
    public var stringData: [String: String]?
    public var type: String?
    public var immutable: Bool?

    public init(metadata: ObjectMeta, stringData: [String: String]? = nil) {
        self.metadata = metadata
        self.stringData = stringData
    }

    public var contents: [String: [UInt8]] {
        var out: [String: [UInt8]] = [:]
        for (k, v) in data ?? [:] { out[k] = v.bytes }
        for (k, v) in stringData ?? [:] { out[k] = Array(v.utf8) }
        return out
    }
}

/// Bytes written as base64 in a manifest.
public struct Base64Bytes: Codable, Sendable, Equatable {
    public var bytes: [UInt8]

    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        let text = try c.decode(String.self)
        let compact = text.filter { !$0.isWhitespace }
        guard let data = Data(base64Encoded: compact) else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "is not valid base64"))
        }
        bytes = Array(data)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(Data(bytes).base64EncodedString())
    }
}
