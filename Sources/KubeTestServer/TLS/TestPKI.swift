import Crypto
import Foundation
import SwiftASN1
import X509

/// A certificate with its private key, both PEM.
public struct TestCredential: Sendable, Hashable {
    /// The certificate, PEM ("-----BEGIN CERTIFICATE-----").
    public var certificatePEM: String
    /// The private key, PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----").
    public var privateKeyPEM: String

    /// A credential from PEM strings.
    public init(certificatePEM: String, privateKeyPEM: String) {
        self.certificatePEM = certificatePEM
        self.privateKeyPEM = privateKeyPEM
    }

    /// Writes the certificate and key to files (the key with mode 0600).
    public func write(certificateTo certificatePath: String, keyTo keyPath: String) throws {
        try Data(certificatePEM.utf8).write(to: URL(fileURLWithPath: certificatePath))
        try Data(privateKeyPEM.utf8).write(to: URL(fileURLWithPath: keyPath))
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: keyPath)
    }
}

/// A throw-away PKI for tests: a CA, a serving certificate for 127.0.0.1/localhost (IP and DNS SANs), and
/// client certificates with a chosen CN and O, as Kubernetes maps them to user and groups.
public struct TestPKI: Sendable {
    /// The CA certificate and key.
    public let ca: TestCredential
    /// The API server's serving certificate (SANs: 127.0.0.1, ::1, localhost and any extra hosts).
    public let server: TestCredential
    private let caKey: P256.Signing.PrivateKey
    private let caName: DistinguishedName

    /// Mints a new CA and a serving certificate for `hosts` (IP addresses or DNS names).
    public static func generate(hosts: [String] = ["127.0.0.1", "::1", "localhost"]) throws -> TestPKI {
        let key = P256.Signing.PrivateKey()
        let name = try DistinguishedName { CommonName("systemk-test-ca") }
        let now = Date()
        let certificate = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey),
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(10 * 365 * 86400),
            issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                Critical(KeyUsage(digitalSignature: true, keyCertSign: true, cRLSign: true))
            },
            issuerPrivateKey: .init(key))
        let ca = TestCredential(certificatePEM: try certificate.serializeAsPEM().pemString,
                                privateKeyPEM: key.pemRepresentation)
        let partial = TestPKI(ca: ca, server: ca, caKey: key, caName: name)
        return TestPKI(ca: ca, server: try partial.issueServer(hosts: hosts, commonName: "kube-apiserver"),
                       caKey: key, caName: name)
    }

    private init(ca: TestCredential, server: TestCredential, caKey: P256.Signing.PrivateKey, caName: DistinguishedName) {
        self.ca = ca
        self.server = server
        self.caKey = caKey
        self.caName = caName
    }

    /// A client certificate: CN is the user name, each O a group (`CN=system:node:n1, O=system:nodes`).
    public func issueClient(commonName: String, organizations: [String] = []) throws -> TestCredential {
        try issue(subject: try DistinguishedName {
            for organization in organizations { OrganizationName(organization) }
            CommonName(commonName)
        }, usages: [.clientAuth], sans: [])
    }

    /// A serving certificate for `hosts` (IP addresses become IP SANs, the rest DNS SANs), e.g. for a kubelet.
    public func issueServer(hosts: [String], commonName: String = "test-server") throws -> TestCredential {
        let sans: [GeneralName] = hosts.map { host in
            if let bytes = Self.ipBytes(host) { return .ipAddress(ASN1OctetString(contentBytes: bytes[...])) }
            return .dnsName(host)
        }
        return try issue(subject: try DistinguishedName { CommonName(commonName) }, usages: [.serverAuth], sans: sans)
    }

    /// Writes `ca.crt`, `server.crt`, `server.key` into `directory` and returns their paths.
    @discardableResult
    public func write(to directory: String) throws -> (ca: String, serverCertificate: String, serverKey: String) {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let caPath = directory + "/ca.crt"
        try Data(ca.certificatePEM.utf8).write(to: URL(fileURLWithPath: caPath))
        try server.write(certificateTo: directory + "/server.crt", keyTo: directory + "/server.key")
        return (caPath, directory + "/server.crt", directory + "/server.key")
    }

    private func issue(subject: DistinguishedName, usages: [ExtendedKeyUsage.Usage], sans: [GeneralName]) throws -> TestCredential {
        let key = P256.Signing.PrivateKey()
        let now = Date()
        let certificate = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey),
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(365 * 86400),
            issuer: caName, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true, keyEncipherment: true))
                try ExtendedKeyUsage(usages)
                if !sans.isEmpty { SubjectAlternativeNames(sans) }
            },
            issuerPrivateKey: .init(caKey))
        return TestCredential(certificatePEM: try certificate.serializeAsPEM().pemString,
                              privateKeyPEM: key.pemRepresentation)
    }

    /// IPv4 or IPv6 address bytes, nil for a DNS name.
    static func ipBytes(_ host: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, host, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, host, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }
}

/// Who a client is: a client certificate (user CN, groups O), a bearer token, or nobody.
public enum TestIdentity: Sendable, Hashable {
    /// A client certificate minted by the server's PKI.
    case certificate(commonName: String, organizations: [String])
    /// A bearer token (must be in `Options.tokens` to be accepted).
    case token(String)
    /// No credentials.
    case anonymous

    /// `CN=admin, O=system:masters`.
    public static let admin = TestIdentity.certificate(commonName: "admin", organizations: ["system:masters"])

    /// A node's identity: `CN=system:node:NAME, O=system:nodes`.
    public static func node(_ name: String) -> TestIdentity {
        .certificate(commonName: "system:node:\(name)", organizations: ["system:nodes"])
    }
}
