import Crypto
import Foundation
import KubeTestServer
import Logging
import Synchronization
import Testing
import X509

@testable import KubeletAPI

/// The certificate made at start when none is given, and the warning without a client CA.
@Suite("self-signed serving certificate")
struct SelfSignedCertificateTests {
    @Test func itNamesTheNodesAddressesAndHostNameForAYear() throws {
        let now = Date(timeIntervalSince1970: 1_795_658_400)
        let made = try SelfSignedCertificate.make(hosts: ["node-1", "10.0.0.7", "fd00::7"], now: now)
        let certificate = try Certificate(pemEncoded: made.certificatePEM)
        let ca = try Certificate(pemEncoded: made.caPEM)
        let names = try #require(try certificate.extensions.subjectAlternativeNames)
        #expect(names.contains(.dnsName("node-1")))
        #expect(names.contains { if case .ipAddress(let bytes) = $0 { Array(bytes.bytes) == [10, 0, 0, 7] } else { false } })
        #expect(names.contains { if case .ipAddress(let bytes) = $0 { bytes.bytes.count == 16 } else { false } })
        #expect(certificate.notValidAfter == now.addingTimeInterval(365 * 86400))
        #expect(P256.Signing.PublicKey(certificate.publicKey) != nil)
        #expect(try certificate.extensions.extendedKeyUsage?.contains(.serverAuth) == true)
        #expect(try certificate.extensions.basicConstraints == .notCertificateAuthority)
        #expect(certificate.issuer == ca.subject)
        #expect(ca.publicKey.isValidSignature(certificate.signature, for: certificate))
    }

    @Test func aServerWithoutAClientCAWarns() async throws {
        let lines = LogLines()
        let logger = Logger(label: "test") { _ in CollectingLogHandler(lines: lines) }
        let server = try await KubeletServer.start(
            .init(host: "127.0.0.1", port: 0, certificate: .selfSigned(hosts: ["127.0.0.1"])),
            logs: FakeLogSource(.output([])), pods: PodStore(), logger: logger)
        await server.stop()
        #expect(lines.all.filter { $0.hasPrefix("warning ") } == [
            "warning kubelet API without --client-ca-file: anyone who can reach 127.0.0.1:\(server.port) can read every container's logs",
        ])
    }
}

/// Log lines as "level message".
final class LogLines: Sendable {
    private let lines = Mutex<[String]>([])
    var all: [String] { lines.withLock { $0 } }
    func append(_ line: String) { lines.withLock { $0.append(line) } }
}

/// Keeps every entry of level info and above in `lines`.
struct CollectingLogHandler: LogHandler {
    let lines: LogLines
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?
    var logLevel: Logger.Level = .info

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        lines.append("\(event.level) \(event.message)")
    }
}
