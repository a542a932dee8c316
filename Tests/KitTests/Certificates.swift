import Foundation
import KubeTestServer

/// A directory laid out like k3s's `server/tls`: `server-ca.crt/.key` and `client-ca.crt/.key`.
struct K3sTLSDirectory {
    let path: String

    var serverCA: String { path + "/server-ca.crt" }
    var clientCA: String { path + "/client-ca.crt" }

    /// Two separate CAs minted with openssl, as k3s makes them (EC P-256, self-signed).
    static func minted(in scratch: Scratch, name: String = "tls") throws -> K3sTLSDirectory {
        let directory = scratch.path + "/" + name
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for ca in ["server", "client"] {
            let result = try run(Tools.openssl ?? "/usr/bin/openssl", [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", "\(directory)/\(ca)-ca.key", "-out", "\(directory)/\(ca)-ca.crt",
                "-subj", "/CN=k3s-\(ca)-ca@1700000000", "-days", "3650",
            ])
            guard result.status == 0 else { throw KitTestError("openssl could not make the \(ca) CA: \(result)") }
        }
        return K3sTLSDirectory(path: directory)
    }

    /// The test API server's one CA as both of k3s's CAs (the test server signs and trusts with one CA).
    static func from(_ pki: TestPKI, in scratch: Scratch) throws -> K3sTLSDirectory {
        let directory = scratch.path + "/tls"
        for ca in ["server", "client"] {
            try scratch.write("tls/\(ca)-ca.crt", pki.ca.certificatePEM)
            try scratch.write("tls/\(ca)-ca.key", pki.ca.privateKeyPEM, mode: 0o600)
        }
        return K3sTLSDirectory(path: directory)
    }
}

struct KitTestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// What openssl says about a certificate file.
enum CertificateInfo {
    private static func openssl(_ arguments: [String]) throws -> ProcessResult {
        try run(Tools.openssl ?? "/usr/bin/openssl", arguments)
    }

    /// The subject's attributes in RFC 2253 order, e.g. ["CN=system:node:n1", "O=system:nodes"].
    static func subject(_ file: String) throws -> [String] {
        let result = try openssl(["x509", "-in", file, "-noout", "-subject", "-nameopt", "RFC2253"])
        guard result.status == 0 else { throw KitTestError("openssl x509 -subject \(file): \(result)") }
        let line = result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        return line.replacingOccurrences(of: "subject=", with: "").split(separator: ",").map {
            $0.trimmingCharacters(in: .whitespaces)
        }
    }

    /// The subject alternative names, as "DNS:n1" and "IP:10.0.0.5" (IPv6 as openssl prints it).
    static func subjectAlternativeNames(_ file: String) throws -> Set<String> {
        try extensionValues("subjectAltName", file).map { $0.replacingOccurrences(of: "IP Address:", with: "IP:") }
            .reduce(into: Set<String>()) { $0.insert($1) }
    }

    /// The extended key usages, e.g. ["TLS Web Client Authentication"].
    static func extendedKeyUsages(_ file: String) throws -> [String] {
        try extensionValues("extendedKeyUsage", file)
    }

    private static func extensionValues(_ name: String, _ file: String) throws -> [String] {
        let result = try openssl(["x509", "-in", file, "-noout", "-ext", name])
        guard result.status == 0 else { throw KitTestError("openssl x509 -ext \(name) \(file): \(result)") }
        let lines = result.stdout.split(separator: "\n").dropFirst()
        return lines.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
    }

    /// Whether `file` verifies against `ca` for `purpose` (sslclient, sslserver), with extra checks
    /// such as ["-verify_ip", "10.0.0.5"].
    static func verifies(_ file: String, ca: String, purpose: String, _ extra: [String] = []) throws -> Bool {
        try openssl(["verify", "-CAfile", ca, "-purpose", purpose] + extra + [file]).status == 0
    }
}
