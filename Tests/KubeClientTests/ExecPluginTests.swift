import Foundation
import Testing

@testable import KubeClient

@Suite("Exec credential plugins")
struct ExecPluginTests {
    func plugin(_ command: String, args: [String] = [], env: [ExecPlugin.EnvironmentVariable] = [],
                apiVersion: String = "client.authentication.k8s.io/v1", clusterInfo: Bool = false) -> ExecPlugin {
        ExecPlugin(
            command: command, args: args, env: env, apiVersion: apiVersion, installHint: "install it with apt",
            provideClusterInfo: clusterInfo, interactiveMode: "Never",
            cluster: .init(server: "https://h:6443", tlsServerName: "api", insecureSkipTLSVerify: false,
                           certificateAuthorityData: Data("CA".utf8)),
            origin: "kubeconfig /k/config", field: "users[0].user.exec")
    }

    /// A plugin script that records how it was run and prints a token credential.
    func tokenScript(_ folder: TemporaryFolder, expiry: String = "2030-01-01T00:00:00Z") throws -> String {
        try folder.write(
            "plugin.sh",
            """
            #!/bin/sh
            echo run >> "\(folder.path)/runs"
            printf '%s' "$KUBERNETES_EXEC_INFO" > "\(folder.path)/info"
            echo "$@" > "\(folder.path)/args"
            echo "$PLUGIN_VAR" > "\(folder.path)/env"
            cat <<EOF
            {"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"tok-$(wc -l < "\(folder.path)/runs" | tr -d ' ')","expirationTimestamp":"\(expiry)"}}
            EOF
            """, mode: 0o755)
    }

    @Test func runsThePluginWithArgsEnvAndExecInfo() async throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let script = try tokenScript(folder)
        let status = try await ExecCredentialRunner.run(
            plugin(script, args: ["get", "token"], env: [.init(name: "PLUGIN_VAR", value: "hello")], clusterInfo: true))
        #expect(status.token == "tok-1")
        #expect(status.expirationTimestamp == Timestamp(rfc3339: "2030-01-01T00:00:00Z")?.date)
        let args = try String(contentsOfFile: folder.path + "/args", encoding: .utf8)
        #expect(args == "get token\n")
        let env = try String(contentsOfFile: folder.path + "/env", encoding: .utf8)
        #expect(env == "hello\n")
        let info = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder.path + "/info")))
            as? [String: Any]
        #expect(info?["kind"] as? String == "ExecCredential")
        #expect(info?["apiVersion"] as? String == "client.authentication.k8s.io/v1")
        let spec = info?["spec"] as? [String: Any]
        #expect(spec?["interactive"] as? Bool == false)
        let cluster = spec?["cluster"] as? [String: Any]
        #expect(cluster?["server"] as? String == "https://h:6443")
        #expect(cluster?["tls-server-name"] as? String == "api")
        #expect(cluster?["certificate-authority-data"] as? String == Data("CA".utf8).base64EncodedString())
    }

    @Test func credentialsAreCachedUntilTheyExpire() async throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let script = try tokenScript(folder, expiry: "2030-01-01T00:00:00Z")
        let clock = TestClock(Date(timeIntervalSince1970: 1_800_000_000))  // 2027
        let source = CredentialSource(
            configuration: ClientConfiguration(server: "https://h:1", authentication: .exec(plugin(script))),
            files: .disk, refreshInterval: .seconds(60), baseTLS: nil, now: { clock.now })
        #expect(try await source.current().bearerToken == "tok-1")
        #expect(try await source.current().bearerToken == "tok-1")
        clock.now = Date(timeIntervalSince1970: 1_950_000_000)  // 2031: expired
        #expect(try await source.current().bearerToken == "tok-2")
        // A 401 forgets the credentials even before they expire.
        clock.now = Date(timeIntervalSince1970: 1_800_000_000)
        let rejected = try await source.current()
        #expect(await source.rejected(rejected))
        #expect(try await source.current().bearerToken == "tok-3")
    }

    @Test func failuresSayWhatWentWrong() async throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let failing = try folder.write("fail.sh", "#!/bin/sh\necho 'no credentials for you' >&2\nexit 3\n", mode: 0o755)
        let wrongVersion = try folder.write(
            "old.sh",
            "#!/bin/sh\necho '{\"apiVersion\":\"client.authentication.k8s.io/v1beta1\",\"kind\":\"ExecCredential\",\"status\":{\"token\":\"x\"}}'\n",
            mode: 0o755)
        let empty = try folder.write(
            "empty.sh",
            "#!/bin/sh\necho '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{}}'\n",
            mode: 0o755)
        func message(_ p: ExecPlugin) async -> String {
            do throws(KubeconfigError) {
                _ = try await ExecCredentialRunner.run(p, environment: ["PATH": "/nonexistent"])
                return "no error"
            } catch {
                return error.description
            }
        }
        #expect(
            await message(plugin(failing))
                == "kubeconfig /k/config: users[0].user.exec: exec credential plugin: \(failing) exited with status 3: no credentials for you"
        )
        #expect(
            await message(plugin(wrongVersion))
                == "kubeconfig /k/config: users[0].user.exec: exec credential plugin: configured for client.authentication.k8s.io/v1 but the plugin returned client.authentication.k8s.io/v1beta1"
        )
        #expect(
            await message(plugin(empty))
                == "kubeconfig /k/config: users[0].user.exec: exec credential plugin: returned neither a token nor a client certificate and key"
        )
        #expect(
            await message(plugin("no-such-plugin"))
                == "kubeconfig /k/config: users[0].user.exec: exec credential plugin: command \"no-such-plugin\" not found in PATH: install it with apt"
        )
    }
}

/// A settable clock for credential expiry.
final class TestClock: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Date
    init(_ start: Date) { value = start }
    var now: Date {
        get { lock.withLock { value } }
        set { lock.withLock { value = newValue } }
    }
}
