import Foundation
import NIOSSL

/// Builds NIOSSL client configurations from a `ClientConfiguration`.
enum TLSFactory {
    /// The base configuration: trust (custom CA, system roots, or none) and the static client certificate.
    static func configuration(for configuration: ClientConfiguration) throws(KubeError) -> TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        // Closing a connection waits this long for the server's close_notify; a server in the middle of a
        // watch stream may never send one, and waiting only delays shutdown.
        tls.shutdownTimeout = .milliseconds(200)
        do {
            if configuration.insecureSkipTLSVerify {
                tls.certificateVerification = .none
            } else if let ca = configuration.certificateAuthorityPEM {
                // A CA in the kubeconfig replaces the system roots, as in client-go.
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(ca)))
            }
        } catch {
            throw .configuration(
                KubeconfigError(
                    origin: configuration.origin, field: "certificate-authority",
                    reason: .invalidValue(detail: "no usable PEM certificate: \(error)")))
        }
        if let certificate = configuration.clientCertificatePEM, let key = configuration.clientKeyPEM {
            do {
                tls = try self.configuration(base: tls, certificatePEM: certificate, keyPEM: key)
            } catch {
                throw .configuration(
                    KubeconfigError(
                        origin: configuration.origin, field: "client-certificate",
                        reason: .invalidValue(detail: "unusable client certificate or key: \(error)")))
            }
        }
        return tls
    }

    /// `base` with a client certificate chain and key.
    static func configuration(base: TLSConfiguration, certificatePEM: Data, keyPEM: Data) throws -> TLSConfiguration {
        var tls = base
        let chain = try NIOSSLCertificate.fromPEMBytes(Array(certificatePEM))
        tls.certificateChain = chain.map { .certificate($0) }
        tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: Array(keyPEM), format: .pem))
        return tls
    }
}
