import Foundation
import HummingbirdCore
import Logging
import NIOCore
import NIOSSL
import SwiftASN1
import X509

/// TLS for the kubelet API with a client CA: the server asks every client for a certificate but never
/// fails the handshake over it. A presented chain is verified against the client CA (RFC 5280 path
/// validation, the leaf usable for client authentication) and, when valid, kept on the connection as its
/// validated chain; a request on a connection without one is answered 401, as the kubelet answers a
/// request without a certificate or with one its CA did not sign.
///
/// (Hummingbird's own `TLSChannel` takes only a pass/fail verification callback, which cannot tell the
/// request handler what was verified, so this channel installs NIOSSL's handler with the metadata callback.)
struct ClientCertificateTLSChannel<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value

    let base: Base
    let context: NIOSSLContext
    let verifier: ClientCertificateVerifier

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let verifier = self.verifier
        let context = self.context
        return channel.eventLoop.makeCompletedFuture {
            let handler = NIOSSLServerHandler(context: context) { certificates, promise in
                promise.completeWithTask { await verifier.verify(certificates) }
            }
            try channel.pipeline.syncOperations.addHandler(handler)
        }.flatMap {
            self.base.setup(channel: channel, logger: logger)
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

/// Checks client certificate chains against the client CA the way the kubelet's x509 authenticator does.
struct ClientCertificateVerifier: Sendable {
    let roots: [Certificate]

    /// Reads the CA certificates of a `--client-ca-file`.
    init(caCertificates: [NIOSSLCertificate]) throws {
        roots = try caCertificates.map { try Certificate(derEncoded: try $0.toDERBytes()) }
    }

    /// Always lets the handshake complete; the metadata carries the validated chain only when the
    /// presented certificate chains to the CA.
    func verify(_ presented: [NIOSSLCertificate]) async -> NIOSSLVerificationResultWithMetadata {
        guard let chain = try? presented.map({ try Certificate(derEncoded: try $0.toDERBytes()) }),
              let leaf = chain.first else { return .certificateVerified(VerificationMetadata(nil)) }
        var verifier = Verifier(rootCertificates: CertificateStore(roots)) {
            RFC5280Policy()
            ClientAuthenticationPolicy()
        }
        let result = await verifier.validate(leaf: leaf, intermediates: CertificateStore(chain.dropFirst()))
        guard case .validCertificate(let validated) = result,
              let certificates = try? validated.map({ certificate -> NIOSSLCertificate in
                  var serializer = DER.Serializer()
                  try serializer.serialize(certificate)
                  return try NIOSSLCertificate(bytes: serializer.serializedBytes, format: .der)
              }), !certificates.isEmpty
        else { return .certificateVerified(VerificationMetadata(nil)) }
        return .certificateVerified(VerificationMetadata(ValidatedCertificateChain(certificates)))
    }
}

/// The leaf may be used for client authentication: no extended key usage, or one naming `clientAuth`
/// or `any` (Go's `x509.ExtKeyUsageClientAuth` check in the kubelet's authenticator).
struct ClientAuthenticationPolicy: VerifierPolicy {
    let verifyingCriticalExtensions: [ASN1ObjectIdentifier] = [.X509ExtensionID.extendedKeyUsage]

    func chainMeetsPolicyRequirements(chain: UnverifiedCertificateChain) async -> PolicyEvaluationResult {
        let usage: ExtendedKeyUsage?
        do {
            usage = try chain.leaf.extensions.extendedKeyUsage
        } catch {
            return .failsToMeetPolicy(reason: "unreadable extended key usage: \(error)")
        }
        guard let usage else { return .meetsPolicy }
        return usage.contains(.clientAuth) || usage.contains(.any)
            ? .meetsPolicy : .failsToMeetPolicy(reason: "the certificate is not for client authentication")
    }
}
