import Crypto
import Foundation
import NIOSSL
import SwiftASN1
import X509

/// The certificate the kubelet API serves with.
public enum ServingCertificate: Sendable, Hashable {
    /// PEM files, as `--certfile` (the certificate, optionally followed by its chain) and `--keyfile`.
    case files(certificate: String, key: String)
    /// A certificate made at start: a throw-away CA `<first host>-ca@<unix time>` and a serving
    /// certificate for `hosts` (IP addresses become IP SANs, the rest DNS SANs; the node's IPs and host
    /// name), P-256 keys, valid for one year, as the kubelet makes one when it is given none.
    ///
    /// k3s always verifies a kubelet's serving certificate against its server CA, so `kubectl logs`
    /// through k3s fails with a self-signed certificate: give k3s nodes a certificate from the cluster's
    /// server CA (`--certfile`/`--keyfile`). Kube-apiservers that do not verify kubelets accept it.
    case selfSigned(hosts: [String])
}

/// Why the kubelet API could not start.
public enum KubeletServerError: Error, Equatable, CustomStringConvertible {
    /// `--certfile` could not be read as PEM certificates.
    case certificateFile(path: String, reason: String)
    /// `--keyfile` could not be read as a PEM private key.
    case keyFile(path: String, reason: String)
    /// `--client-ca-file` could not be read as PEM certificates.
    case clientCAFile(path: String, reason: String)
    /// Making the self-signed certificate failed.
    case selfSignedCertificate(reason: String)
    /// The TLS settings were refused (for example a key that does not match the certificate).
    case tls(reason: String)
    /// Listening on the address failed (in use, not an address of this host, no permission).
    case listen(address: String, reason: String)

    public var description: String {
        switch self {
        case .certificateFile(let path, let reason): "cannot read the kubelet certificate \(path): \(reason)"
        case .keyFile(let path, let reason): "cannot read the kubelet key \(path): \(reason)"
        case .clientCAFile(let path, let reason): "cannot read the client CA file \(path): \(reason)"
        case .selfSignedCertificate(let reason): "cannot make a self-signed kubelet certificate: \(reason)"
        case .tls(let reason): "the kubelet API's TLS settings were refused: \(reason)"
        case .listen(let address, let reason): "the kubelet API cannot listen on \(address): \(reason)"
        }
    }
}

/// A serving certificate chain and key ready for NIOSSL, plus the PEM of a self-signed one's CA.
struct LoadedCertificate {
    var chain: [NIOSSLCertificate]
    var key: NIOSSLPrivateKey
    /// For `.selfSigned`: the CA certificate (PEM) a client can trust to reach this server.
    var selfSignedCAPEM: String?

    static func load(_ source: ServingCertificate, now: Date = Date()) throws(KubeletServerError) -> LoadedCertificate {
        switch source {
        case .files(let certificatePath, let keyPath):
            let chain: [NIOSSLCertificate]
            do {
                chain = try NIOSSLCertificate.fromPEMFile(certificatePath)
            } catch {
                throw .certificateFile(path: certificatePath, reason: String(describing: error))
            }
            guard !chain.isEmpty else { throw .certificateFile(path: certificatePath, reason: "no certificate in the file") }
            do {
                return LoadedCertificate(chain: chain, key: try NIOSSLPrivateKey(file: keyPath, format: .pem))
            } catch {
                throw .keyFile(path: keyPath, reason: String(describing: error))
            }
        case .selfSigned(let hosts):
            do {
                let made = try SelfSignedCertificate.make(hosts: hosts, now: now)
                return LoadedCertificate(
                    chain: try NIOSSLCertificate.fromPEMBytes(Array((made.certificatePEM + "\n" + made.caPEM + "\n").utf8)),
                    key: try NIOSSLPrivateKey(bytes: Array(made.keyPEM.utf8), format: .pem),
                    selfSignedCAPEM: made.caPEM)
            } catch let error as KubeletServerError {
                throw error
            } catch {
                throw .selfSignedCertificate(reason: String(describing: error))
            }
        }
    }
}

/// Mints the kubelet's self-signed serving certificate: a CA and a certificate it signs (a client
/// trusts the CA; the file-less kubelet does the same).
enum SelfSignedCertificate {
    struct Made {
        var certificatePEM: String
        var keyPEM: String
        var caPEM: String
    }

    static let validity: TimeInterval = 365 * 86400

    static func make(hosts: [String], now: Date) throws -> Made {
        let hosts = hosts.isEmpty ? ["localhost"] : hosts
        let stamp = Int(now.timeIntervalSince1970)
        let caKey = P256.Signing.PrivateKey()
        let caName = try DistinguishedName { CommonName("\(hosts[0])-ca@\(stamp)") }
        let start = now.addingTimeInterval(-3600)
        let end = now.addingTimeInterval(validity)
        let ca = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(caKey.publicKey),
            notValidBefore: start, notValidAfter: end, issuer: caName, subject: caName,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(digitalSignature: true, keyCertSign: true))
            },
            issuerPrivateKey: .init(caKey))
        let key = P256.Signing.PrivateKey()
        let sans: [GeneralName] = hosts.map { host in
            if let bytes = ipAddressBytes(host) { return .ipAddress(ASN1OctetString(contentBytes: bytes[...])) }
            return .dnsName(host)
        }
        let certificate = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey),
            notValidBefore: start, notValidAfter: end, issuer: caName,
            subject: try DistinguishedName { CommonName("\(hosts[0])@\(stamp)") },
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true, keyEncipherment: true))
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames(sans)
            },
            issuerPrivateKey: .init(caKey))
        return Made(certificatePEM: try certificate.serializeAsPEM().pemString, keyPEM: key.pemRepresentation,
                    caPEM: try ca.serializeAsPEM().pemString)
    }

    /// IPv4 or IPv6 address bytes, nil for a DNS name.
    static func ipAddressBytes(_ host: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, host, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, host, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }
}
