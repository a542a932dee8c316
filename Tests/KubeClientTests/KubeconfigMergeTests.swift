import Foundation
import Testing

@testable import KubeClient

@Suite("KUBECONFIG lists merge as in client-go")
struct KubeconfigMergeTests {
    let first = """
        clusters: [{name: shared, cluster: {server: "https://first:1"}}, {name: only-first, cluster: {server: "https://f:1"}}]
        users: [{name: shared, user: {token: first-token}}]
        contexts: [{name: shared, context: {cluster: shared, user: shared, namespace: first-ns}}]
        """
    let second = """
        clusters: [{name: shared, cluster: {server: "https://second:2", insecure-skip-tls-verify: true}}, {name: only-second, cluster: {server: "https://s:2"}}]
        users: [{name: shared, user: {token: second-token}}, {name: other, user: {token: other-token}}]
        contexts: [{name: shared, context: {cluster: shared, user: shared}}, {name: other, context: {cluster: only-second, user: other}}]
        current-context: shared
        """
    let third = "current-context: other"

    func files(_ entries: [String: String]) -> FileSource {
        .memory(entries.mapValues { Data($0.utf8) })
    }

    @Test func firstFileToDefineANameWinsTheWholeEntry() throws {
        let source = files(["/a/one": first, "/b/two": second, "/c/three": third])
        let config = try KubeconfigLoader.load(
            environment: ["KUBECONFIG": "/a/one:/b/two:/c/three"], files: source)
        #expect(config.files == ["/a/one", "/b/two", "/c/three"])
        #expect(config.clusters["shared"]?.entry.server == "https://first:1")
        #expect(config.clusters["shared"]?.entry.insecureSkipTLSVerify == nil, "entries are not merged field by field")
        #expect(config.clusters["only-second"]?.entry.server == "https://s:2")
        #expect(config.users["shared"]?.entry.token == "first-token")
        #expect(config.users["other"]?.file == "/b/two")
        // current-context: the first file that sets it (the second), not the last.
        #expect(config.currentContext == "shared")
        let resolved = try config.clientConfiguration(files: source)
        #expect(resolved.server == "https://first:1")
        #expect(resolved.authentication == .token("first-token"))
        #expect(resolved.namespace == "first-ns")
    }

    @Test func orderDecides() throws {
        let source = files(["/a/one": first, "/b/two": second, "/c/three": third])
        let config = try KubeconfigLoader.load(environment: ["KUBECONFIG": "/c/three:/b/two:/a/one"], files: source)
        #expect(config.currentContext == "other")
        #expect(config.clusters["shared"]?.entry.server == "https://second:2")
        let resolved = try config.clientConfiguration(files: source)
        #expect(resolved.server == "https://s:2")
        #expect(resolved.authentication == .token("other-token"))
    }

    @Test func missingAndEmptyEntriesAreSkippedAndDuplicatesReadOnce() throws {
        let source = files(["/b/two": second])
        let config = try KubeconfigLoader.load(
            environment: ["KUBECONFIG": "/missing::/b/two:/b/two"], files: source)
        #expect(config.files == ["/b/two"])
    }

    @Test func allMissingIsAnError() {
        #expect(throws: KubeconfigError.self) {
            try KubeconfigLoader.load(environment: ["KUBECONFIG": "/nope:/nada"], files: files([:]))
        }
    }

    @Test func explicitPathMustExistAndIgnoresKUBECONFIG() throws {
        let source = files(["/b/two": second, "/a/one": first])
        do throws(KubeconfigError) {
            _ = try KubeconfigLoader.load(explicitPath: "/x/config", environment: ["KUBECONFIG": "/a/one"], files: source)
            Issue.record("expected an error")
        } catch {
            #expect(error.description == "kubeconfig /x/config: file not found")
        }
        let config = try KubeconfigLoader.load(explicitPath: "/b/two", environment: ["KUBECONFIG": "/a/one"], files: source)
        #expect(config.files == ["/b/two"])
    }

    @Test func homeConfigIsTheDefault() throws {
        let source = files(["/home/me/.kube/config": second])
        let config = try KubeconfigLoader.load(environment: ["HOME": "/home/me"], files: source)
        #expect(config.files == ["/home/me/.kube/config"])
    }

    @Test func malformedFileInTheListIsAnErrorNamingIt() {
        let source = files(["/a/one": first, "/b/bad": "clusters: {oops"])
        do throws(KubeconfigError) {
            _ = try KubeconfigLoader.load(environment: ["KUBECONFIG": "/a/one:/b/bad"], files: source)
            Issue.record("expected an error")
        } catch {
            #expect(error.description.hasPrefix("kubeconfig /b/bad: malformed"), "\(error)")
        }
    }

    @Test func errorsAboutMergedEntriesNameTheFileTheEntryCameFrom() {
        let bad = "users: [{name: u, user: {client-certificate: c.pem, client-key: k.pem}}]"
        let ctx = "clusters: [{name: c, cluster: {server: \"https://h:1\"}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x"
        let source = files(["/etc/one": ctx, "/srv/two": bad])
        do throws(KubeconfigError) {
            _ = try KubeconfigLoader.load(environment: ["KUBECONFIG": "/etc/one:/srv/two"], files: source)
                .clientConfiguration(files: source)
            Issue.record("expected an error")
        } catch {
            #expect(error.description == "kubeconfig /srv/two: users[0].user.client-certificate: file /srv/c.pem not found")
        }
    }
}

@Suite("In-cluster configuration")
struct InClusterConfigTests {
    let root = "/fake/sa"

    @Test func readsTheServiceAccountFiles() throws {
        let source = FileSource.memory([
            "/fake/sa/token": Data("tok".utf8), "/fake/sa/ca.crt": Data(sharedPKI.ca.certificatePEM.utf8),
            "/fake/sa/namespace": Data("kube-system\n".utf8),
        ])
        let config = try ClientConfiguration.inCluster(
            environment: ["KUBERNETES_SERVICE_HOST": "10.43.0.1", "KUBERNETES_SERVICE_PORT": "443"], root: root,
            files: source)
        #expect(config.server == "https://10.43.0.1:443")
        #expect(config.authentication == .tokenFile(path: "/fake/sa/token", fallback: nil))
        #expect(config.namespace == "kube-system")
        #expect(config.certificateAuthorityPEM == Data(sharedPKI.ca.certificatePEM.utf8))

        let v6 = try ClientConfiguration.inCluster(
            environment: ["KUBERNETES_SERVICE_HOST": "fd00::1", "KUBERNETES_SERVICE_PORT": "6443"], root: root,
            files: source)
        #expect(v6.server == "https://[fd00::1]:6443")
    }

    @Test func errorsNameWhatIsMissing() {
        func message(_ env: [String: String], _ files: [String: String]) -> String {
            do throws(KubeconfigError) {
                _ = try ClientConfiguration.inCluster(
                    environment: env, root: root, files: .memory(files.mapValues { Data($0.utf8) }))
                return "no error"
            } catch {
                return error.description
            }
        }
        #expect(message([:], [:]) == "in-cluster config: KUBERNETES_SERVICE_HOST: required but missing or empty")
        #expect(
            message(["KUBERNETES_SERVICE_HOST": "h", "KUBERNETES_SERVICE_PORT": "x"], [:])
                == "in-cluster config: KUBERNETES_SERVICE_PORT: \"x\" is not a port")
        #expect(
            message(["KUBERNETES_SERVICE_HOST": "h", "KUBERNETES_SERVICE_PORT": "443"], [:])
                == "in-cluster config: token: file /fake/sa/token not found")
        #expect(
            message(["KUBERNETES_SERVICE_HOST": "h", "KUBERNETES_SERVICE_PORT": "443"], ["/fake/sa/token": "t"])
                == "in-cluster config: ca.crt: file /fake/sa/ca.crt not found")
    }

    @Test func loadPrefersAKubeconfigAndFallsBackToInCluster() throws {
        let source = FileSource.memory([
            "/fake/sa/token": Data("tok".utf8), "/fake/sa/ca.crt": Data(sharedPKI.ca.certificatePEM.utf8),
        ])
        let env = ["KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": "443", "HOME": "/home/none"]
        // No kubeconfig anywhere: in-cluster (with the standard root, absent here, so point at ours).
        do throws(KubeconfigError) {
            _ = try ClientConfiguration.load(environment: env, files: source)
            Issue.record("the standard service-account root does not exist in this fake")
        } catch {
            #expect(error.description.hasPrefix("in-cluster config: token: file /var/run/secrets"))
        }
        let withHome = FileSource.memory([
            "/home/none/.kube/config": Data(
                "clusters: [{name: c, cluster: {server: \"http://k:1\"}}]\ncontexts: [{name: x, context: {cluster: c}}]\ncurrent-context: x"
                    .utf8)
        ])
        #expect(try ClientConfiguration.load(environment: env, files: withHome).server == "http://k:1")
    }
}
