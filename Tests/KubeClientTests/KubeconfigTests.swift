import Foundation
import KubeTestServer
import Testing

@testable import KubeClient

@Suite("Kubeconfig parsing and resolution")
struct KubeconfigTests {
    let pki = sharedPKI

    func configuration(_ yaml: String, path: String = "/cfg/config", context: String? = nil, files: [String: String] = [:])
        throws(KubeconfigError) -> ClientConfiguration
    {
        let document = try KubeconfigDocument.parse(yaml, path: path)
        return try Kubeconfig(merging: [document]).clientConfiguration(
            context: context, files: .memory(files.mapValues { Data($0.utf8) }))
    }

    func error(_ yaml: String, path: String = "/cfg/config", context: String? = nil, files: [String: String] = [:])
        -> String?
    {
        do throws(KubeconfigError) {
            _ = try configuration(yaml, path: path, context: context, files: files)
            return nil
        } catch {
            return error.description
        }
    }

    @Test func everyClusterAndUserFieldWithDataForms() throws {
        let client = try pki.issueClient(commonName: "system:node:n1", organizations: ["system:nodes"])
        let yaml = """
            apiVersion: v1
            kind: Config
            clusters:
            - name: c
              cluster:
                server: https://10.0.0.1:6443/prefix
                certificate-authority-data: \(base64(pki.ca.certificatePEM))
                tls-server-name: kubernetes.default
            users:
            - name: u
              user:
                client-certificate-data: \(base64(client.certificatePEM))
                client-key-data: \(base64(client.privateKeyPEM))
                token: abc
            contexts:
            - name: ctx
              context: {cluster: c, user: u, namespace: team}
            current-context: ctx
            """
        let config = try configuration(yaml)
        #expect(config.server == "https://10.0.0.1:6443/prefix")
        #expect(config.tlsServerName == "kubernetes.default")
        #expect(config.certificateAuthorityPEM == Data(pki.ca.certificatePEM.utf8))
        #expect(config.clientCertificatePEM == Data(client.certificatePEM.utf8))
        #expect(config.clientKeyPEM == Data(client.privateKeyPEM.utf8))
        #expect(config.authentication == .token("abc"))
        #expect(config.namespace == "team")
        #expect(config.insecureSkipTLSVerify == false)
    }

    @Test func relativeFilesAreResolvedAgainstTheKubeconfigFolder() throws {
        let client = try pki.issueClient(commonName: "u")
        let yaml = """
            clusters:
            - name: c
              cluster: {server: "https://h:1", certificate-authority: pki/ca.crt}
            users:
            - name: u
              user: {client-certificate: ../certs/u.crt, client-key: /abs/u.key, tokenFile: tok}
            contexts:
            - {name: x, context: {cluster: c, user: u}}
            current-context: x
            """
        let files = [
            "/home/me/.kube/pki/ca.crt": pki.ca.certificatePEM, "/home/me/certs/u.crt": client.certificatePEM,
            "/abs/u.key": client.privateKeyPEM, "/home/me/.kube/tok": "t0k\n",
        ]
        let config = try configuration(yaml, path: "/home/me/.kube/config", files: files)
        #expect(config.certificateAuthorityPEM == Data(pki.ca.certificatePEM.utf8))
        #expect(config.clientCertificatePEM == Data(client.certificatePEM.utf8))
        #expect(config.authentication == .tokenFile(path: "/home/me/.kube/tok", fallback: nil))
        #expect(config.namespace == "default")
    }

    @Test func insecureSkipTLSVerifyAndPlainToken() throws {
        let config = try configuration(
            """
            clusters: [{name: c, cluster: {server: "https://h:6443", insecure-skip-tls-verify: true}}]
            users: [{name: u, user: {token: secret}}]
            contexts: [{name: x, context: {cluster: c, user: u}}]
            current-context: x
            """)
        #expect(config.insecureSkipTLSVerify)
        #expect(config.authentication == .token("secret"))
    }

    @Test func contextOverrideWinsOverCurrentContext() throws {
        let yaml = """
            clusters: [{name: a, cluster: {server: "http://a:1"}}, {name: b, cluster: {server: "http://b:2"}}]
            contexts: [{name: one, context: {cluster: a}}, {name: two, context: {cluster: b}}]
            current-context: one
            """
        #expect(try configuration(yaml).server == "http://a:1")
        #expect(try configuration(yaml, context: "two").server == "http://b:2")
    }

    @Test func execPluginConfiguration() throws {
        let config = try configuration(
            """
            clusters: [{name: c, cluster: {server: "https://h:1", insecure-skip-tls-verify: true}}]
            users:
            - name: u
              user:
                exec:
                  apiVersion: client.authentication.k8s.io/v1
                  command: ./bin/plugin
                  args: [get, token]
                  env: [{name: A, value: "1"}]
                  interactiveMode: Never
                  provideClusterInfo: true
            contexts: [{name: x, context: {cluster: c, user: u}}]
            current-context: x
            """, path: "/etc/k/config")
        guard case .exec(let plugin) = config.authentication else {
            Issue.record("expected exec, got \(config.authentication)")
            return
        }
        #expect(plugin.command == "/etc/k/bin/plugin")
        #expect(plugin.args == ["get", "token"])
        #expect(plugin.env == [.init(name: "A", value: "1")])
        #expect(plugin.provideClusterInfo)
        #expect(plugin.cluster.server == "https://h:1")
        #expect(plugin.field == "users[0].user.exec")
    }

    static let errorCases: [(String, String, [String: String], String)] = [
        (
            "missing client key file",
            """
            clusters: [{name: c, cluster: {server: "https://h:1"}}]
            users: [{name: u, user: {client-certificate: /x/cert.pem, client-key: /x/key.pem}}]
            contexts: [{name: x, context: {cluster: c, user: u}}]
            current-context: x
            """, ["/x/cert.pem": "CERT"],
            "kubeconfig /x/config: users[0].user.client-key: file /x/key.pem not found"
        ),
        (
            "basic auth",
            """
            clusters: [{name: c, cluster: {server: "https://h:1"}}]
            users: [{name: u, user: {username: admin, password: pw}}]
            contexts: [{name: x, context: {cluster: c, user: u}}]
            current-context: x
            """, [:],
            "kubeconfig /x/config: users[0].user.username: basic authentication (username/password) is not supported: use a client certificate, a token or an exec credential plugin"
        ),
        (
            "no current context",
            "clusters: [{name: c, cluster: {server: \"https://h:1\"}}]", [:],
            "kubeconfig /x/config: no current-context is set and no context was given"
        ),
        (
            "undefined context",
            "current-context: nope", [:],
            "kubeconfig /x/config: current-context: context \"nope\" is not defined"
        ),
        (
            "undefined cluster",
            "contexts: [{name: x, context: {cluster: gone}}]\ncurrent-context: x", [:],
            "kubeconfig /x/config: contexts[0].context.cluster: cluster \"gone\" is not defined"
        ),
        (
            "undefined user",
            """
            clusters: [{name: c, cluster: {server: "https://h:1"}}]
            contexts: [{name: x, context: {cluster: c, user: who}}]
            current-context: x
            """, [:],
            "kubeconfig /x/config: contexts[0].context.user: user \"who\" is not defined"
        ),
        (
            "missing server",
            "clusters: [{name: c, cluster: {}}]\ncontexts: [{name: x, context: {cluster: c}}]\ncurrent-context: x", [:],
            "kubeconfig /x/config: clusters[0].cluster.server: required but missing or empty"
        ),
        (
            "bad server URL",
            "clusters: [{name: c, cluster: {server: \"h:1\"}}]\ncontexts: [{name: x, context: {cluster: c}}]\ncurrent-context: x",
            [:],
            "kubeconfig /x/config: clusters[0].cluster.server: \"h:1\" is not an http or https URL with a host"
        ),
        (
            "bad base64",
            """
            clusters: [{name: c, cluster: {server: "https://h:1", certificate-authority-data: "!!!"}}]
            contexts: [{name: x, context: {cluster: c}}]
            current-context: x
            """, [:],
            "kubeconfig /x/config: clusters[0].cluster.certificate-authority-data: not valid base64"
        ),
        (
            "CA file without a certificate",
            """
            clusters: [{name: c, cluster: {server: "https://h:1", certificate-authority: ca.pem}}]
            contexts: [{name: x, context: {cluster: c}}]
            current-context: x
            """, ["/x/ca.pem": "not a certificate"],
            "kubeconfig /x/config: clusters[0].cluster.certificate-authority: file /x/ca.pem holds no PEM certificate"
        ),
        (
            "wrong type",
            "clusters: [{name: c, cluster: {server: [1, 2]}}]", [:],
            "kubeconfig /x/config: clusters[0].cluster.server: malformed: expected a single value"
        ),
        (
            "duplicate user name",
            "users: [{name: u, user: {}}, {name: u, user: {}}]", [:],
            "kubeconfig /x/config: users[1].name: duplicate name \"u\" in list"
        ),
        (
            "certificate without key",
            """
            clusters: [{name: c, cluster: {server: "https://h:1"}}]
            users: [{name: u, user: {client-certificate-data: QQ==}}]
            contexts: [{name: x, context: {cluster: c, user: u}}]
            current-context: x
            """, [:],
            "kubeconfig /x/config: users[0].user.client-key: a client certificate is given without its key"
        ),
        (
            "missing token file",
            """
            clusters: [{name: c, cluster: {server: "https://h:1"}}]
            users: [{name: u, user: {tokenFile: /run/tok}}]
            contexts: [{name: x, context: {cluster: c, user: u}}]
            current-context: x
            """, [:],
            "kubeconfig /x/config: users[0].user.tokenFile: file /run/tok not found"
        ),
        (
            "exec v1 without interactiveMode",
            """
            clusters: [{name: c, cluster: {server: "https://h:1"}}]
            users: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1, command: p}}}]
            contexts: [{name: x, context: {cluster: c, user: u}}]
            current-context: x
            """, [:],
            "kubeconfig /x/config: users[0].user.exec.interactiveMode: required but missing or empty"
        ),
        (
            "exec with an old apiVersion",
            """
            clusters: [{name: c, cluster: {server: "https://h:1"}}]
            users: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1alpha1, command: p}}}]
            contexts: [{name: x, context: {cluster: c, user: u}}]
            current-context: x
            """, [:],
            "kubeconfig /x/config: users[0].user.exec.apiVersion: \"client.authentication.k8s.io/v1alpha1\" is not supported (use client.authentication.k8s.io/v1 or v1beta1)"
        ),
        (
            "auth-provider",
            """
            clusters: [{name: c, cluster: {server: "https://h:1"}}]
            users: [{name: u, user: {auth-provider: {name: gcp}}}]
            contexts: [{name: x, context: {cluster: c, user: u}}]
            current-context: x
            """, [:],
            "kubeconfig /x/config: users[0].user.auth-provider: not supported: auth-provider gcp (use an exec credential plugin)"
        ),
    ]

    @Test(arguments: errorCases.indices)
    func errorsNameTheFileAndTheField(_ index: Int) {
        let (name, yaml, files, expected) = Self.errorCases[index]
        #expect(error(yaml, path: "/x/config", files: files) == expected, "\(name)")
    }

    @Test func malformedYAMLNamesTheFile() {
        let message = error("clusters: [unclosed", path: "/x/config")
        #expect(message?.hasPrefix("kubeconfig /x/config: malformed: ") == true, "\(message ?? "")")
    }

    @Test func insecureWithACertificateAuthorityIsRefused() {
        let message = error(
            """
            clusters: [{name: c, cluster: {server: "https://h:1", insecure-skip-tls-verify: true, certificate-authority-data: \(base64(pki.ca.certificatePEM))}}]
            contexts: [{name: x, context: {cluster: c}}]
            current-context: x
            """)
        #expect(
            message
                == "kubeconfig /cfg/config: clusters[0].cluster.insecure-skip-tls-verify: a certificate authority and insecure-skip-tls-verify cannot both be set"
        )
    }
}
