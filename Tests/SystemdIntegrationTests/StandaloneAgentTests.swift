import SystemdTestSupport
import Foundation
import Testing

/// `systemk --manifests DIR` against a real systemd: pods are created, changed and removed with their
/// manifest files, a ConfigMap change reaches the files on disk, a restarted agent adopts running pods
/// without restarting them, a failed init container is retried, and many pods at once cost a handful of
/// daemon-reloads.
@Suite(.serialized, .enabled(if: NamespacedSystemd.isAvailable, "\(NamespacedSystemd.unavailableReason ?? "")"))
struct StandaloneAgentTests {
    /// The `systemk` executable SwiftPM built next to this test bundle.
    static var binary: String { NamespacedSystemd.builtExecutable("systemk") }

    static func pod(_ name: String, args: String = "infinity", config: String = "v1", initScript: String = "echo init > /var/lib/data/init") -> String {
        """
        apiVersion: v1
        kind: Pod
        metadata: {name: \(name)}
        spec:
          initContainers:
          - name: setup
            image: /bin/sh
            command: ["/bin/sh", "-c", "\(initScript)"]
            volumeMounts: [{name: data, mountPath: /var/lib/data}]
          containers:
          - name: app
            image: /bin/sleep
            args: ["\(args)"]
            volumeMounts: [{name: config, mountPath: /run/app}, {name: data, mountPath: /var/lib/data}]
          volumes:
          - {name: data, emptyDir: {}}
          - {name: config, configMap: {name: \(name)-config}}
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: \(name)-config}
        data: {setting: "\(config)"}
        """
    }

    struct Agent {
        let systemd: NamespacedSystemd
        let manifests: String
        let state: String
        var runs = 0

        mutating func start(nodeIP: String = "10.0.0.10") throws {
            runs += 1
            let r = try systemd.run([
                "systemd-run", "--unit=systemk-agent-\(runs).service", "-p", "Restart=no", StandaloneAgentTests.binary,
                "--manifests", manifests, "--state-dir", state, "--node-ip", nodeIP, "--nodename", "node-1",
            ])
            if r.status != 0 { throw NamespacedSystemd.Failure(description: "starting systemk: \(r)") }
        }

        func kill() throws {
            _ = try systemd.systemctl("kill", "-s", "KILL", "systemk-agent-\(runs).service")
        }

        func log() -> String { systemd.journal("systemk-agent-\(runs).service") }

        func write(_ name: String, _ text: String) throws {
            // Write then rename, as an editor or `kubectl`-less deploy script would.
            let tmp = manifests + "/.\(name).tmp"
            try Data(text.utf8).write(to: URL(fileURLWithPath: tmp))
            guard rename(tmp, manifests + "/" + name) == 0 else {
                throw NamespacedSystemd.Failure(description: "rename to \(name) failed: errno \(errno)")
            }
        }

        func property(_ unit: String, _ name: String) throws -> String {
            let out = try systemd.systemctl("show", "-p", name, "--value", unit).stdout
            return out.trimmingCharacters(in: .whitespacesAndNewlines)
        }

        /// Polls (test side only) until `condition` holds, failing with the agent's log after `seconds`.
        /// Sleeps without holding a cooperative thread (two tests blocking both on 2 cores stall every task).
        func wait(_ what: String, seconds: Double = 30, _ condition: () throws -> Bool) async throws {
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline {
                if try condition() { return }
                try await Task.sleep(for: .milliseconds(200))
            }
            throw NamespacedSystemd.Failure(description: "timed out waiting for \(what)\nagent log:\n\(log())")
        }
    }

    static func podDirectory(_ agent: Agent, unit: String) throws -> String {
        let text = try String(contentsOfFile: agent.systemd.unitDirectory + "/" + unit, encoding: .utf8)
        let line = text.split(separator: "\n").first { $0.hasPrefix("PodDirectory=") }
        return String(line?.dropFirst("PodDirectory=".count) ?? "")
    }

    @Test func podsFollowTheirManifestsAndSurviveAnAgentRestart() async throws {
        try await NamespacedSystemd.with { systemd in
            var agent = try Agent(systemd: systemd)
            try agent.write("one.yaml", Self.pod("one"))
            try agent.start()
            let one = "systemk.default.one.app.service"
            try await agent.wait("pod one running") { try agent.property(one, "ActiveState") == "active" }
            #expect(try agent.property("systemk.default.one.setup.service", "Result") == "success")
            // The pod's status, rebuilt from systemd, is logged when it changes.
            try await agent.wait("pod one's status in the log") {
                agent.log().contains("pod default/one: Running; setup terminated (Completed), restarts 0; app running, restarts 0")
            }
            let oneDir = try Self.podDirectory(agent, unit: one)
            #expect(try String(contentsOfFile: oneDir + "/volumes/data/init", encoding: .utf8) == "init\n")

            // A new file: a new pod.
            try agent.write("two.yaml", Self.pod("two"))
            let two = "systemk.default.two.app.service"
            try await agent.wait("pod two running") { try agent.property(two, "ActiveState") == "active" }

            // A changed pod is replaced.
            let before = try agent.property(two, "InvocationID")
            try agent.write("two.yaml", Self.pod("two", args: "100000"))
            try await agent.wait("pod two replaced") {
                try agent.property(two, "ExecStart").contains("100000") && agent.property(two, "ActiveState") == "active"
                    && agent.property(two, "InvocationID") != before
            }

            // A ConfigMap change reaches the file on disk, without restarting the pod.
            let oneInvocation = try agent.property(one, "InvocationID")
            try agent.write("one.yaml", Self.pod("one", config: "v2"))
            try await agent.wait("the ConfigMap's new value on disk") {
                (try? String(contentsOfFile: oneDir + "/volumes/config/setting", encoding: .utf8)) == "v2"
            }
            #expect(try agent.property(one, "InvocationID") == oneInvocation)

            // A removed file: the pod's units and directory go.
            let twoDir = try Self.podDirectory(agent, unit: two)
            try FileManager.default.removeItem(atPath: agent.manifests + "/two.yaml")
            try await agent.wait("pod two removed") {
                try agent.property(two, "LoadState") == "not-found" && !FileManager.default.fileExists(atPath: twoDir)
            }

            // Kill the agent, start another: the running pod is adopted, not restarted.
            let pid = try agent.property(one, "MainPID")
            try agent.kill()
            try agent.start()
            try await agent.wait("the new agent's first pass") { agent.log().contains("node node-1") }
            try await Task.sleep(for: .seconds(2))
            #expect(try agent.property(one, "MainPID") == pid, "a restarted agent must not restart a healthy pod")
            #expect(try agent.property(one, "InvocationID") == oneInvocation)
            #expect(!agent.log().contains("replaced pod default/one"))
        }
    }

    @Test func failedInitContainerIsRetriedUnderRestartPolicyAlways() async throws {
        try await NamespacedSystemd.with { systemd in
            var agent = try Agent(systemd: systemd)
            // Fails the first time, succeeds the second.
            try agent.write("flaky.yaml", Self.pod("flaky", initScript: "if [ -f /var/lib/data/tried ]; then echo ok > /var/lib/data/init; else touch /var/lib/data/tried; exit 1; fi"))
            try agent.start()
            let app = "systemk.default.flaky.app.service"
            try await agent.wait("the init container's first failure") {
                try agent.property("systemk.default.flaky.setup.service", "ActiveState") == "failed"
            }
            #expect(try agent.property(app, "ActiveState") == "inactive", "app containers wait for init containers")
            try await agent.wait("the retry after the 10 s back-off", seconds: 40) { try agent.property(app, "ActiveState") == "active" }
            #expect(agent.log().contains("retrying the pod's init containers in 10s"))
        }
    }

    @Test func manyPodsAtOnceCostAHandfulOfReloads() async throws {
        try await NamespacedSystemd.with { systemd in
            var agent = try Agent(systemd: systemd)
            try agent.start()
            try await agent.wait("the agent's first pass") { agent.log().contains("node node-1") }
            for i in 0..<50 { try agent.write("p\(i).yaml", Self.pod("p\(i)")) }
            try await agent.wait("50 pods running", seconds: 60) {
                let out = try systemd.systemctl("list-units", "--state=active", "--no-legend", "systemk.default.p*.app.service").stdout
                return out.split(separator: "\n").count == 50
            }
            let reloads = agent.log().split(separator: "\n").filter { $0.contains("reloaded systemd") }.count
            #expect(reloads >= 1 && reloads <= 5, "50 pods caused \(reloads) daemon-reloads")
        }
    }

    @Test func aPodWhoseUserTheNodeLacksWaitsWithAClearReason() async throws {
        try await NamespacedSystemd.with { systemd in
            var agent = try Agent(systemd: systemd)
            try agent.write("ghost.yaml", """
                apiVersion: v1
                kind: Pod
                metadata: {name: ghost}
                spec:
                  containers:
                  - {name: app, image: /bin/sleep, args: [infinity], securityContext: {runAsUser: 64999}}
                """)
            try agent.write("one.yaml", Self.pod("one"))
            try agent.start()
            try await agent.wait("pod one running") { try agent.property("systemk.default.one.app.service", "ActiveState") == "active" }
            try await agent.wait("the ghost pod's status") {
                agent.log().contains("pod default/ghost: Pending; app waiting (CreateContainerConfigError), restarts 0")
            }
            #expect(agent.log().contains("error: pod default/ghost: container app: uid 64999 not found on this node"))
            // Nothing of it was installed, so systemd never failed it.
            #expect(try agent.property("systemk.default.ghost.app.service", "LoadState") == "not-found")
        }
    }

    @Test func aPodWhoseImageCannotBeInstalledWaitsWithErrImagePull() async throws {
        try await NamespacedSystemd.with { systemd in
            var agent = try Agent(systemd: systemd)
            // Nothing listens on port 1: the download fails at once.
            try agent.write("pull.yaml", """
                apiVersion: v1
                kind: Pod
                metadata: {name: pull}
                spec:
                  containers:
                  - {name: app, image: "https://127.0.0.1:1/systemk-none_1.0_all.deb"}
                """)
            try agent.start()
            try await agent.wait("the pod's status") {
                agent.log().contains("pod default/pull: Pending; app waiting (ErrImagePull), restarts 0")
            }
            #expect(agent.log().contains("error: pod default/pull: image https://127.0.0.1:1/systemk-none_1.0_all.deb:"))
            #expect(agent.log().contains("retrying the images that failed in 10s"))
            #expect(try agent.property("systemk.default.pull.app.service", "LoadState") == "not-found")
            // Tried again after the back-off, and again held back, now for 20 s.
            try await agent.wait("the second try", seconds: 30) { agent.log().contains("retrying the images that failed in 20s") }
        }
    }

    @Test func asANotifyServiceItIsReadyAfterItsFirstPassAndFeedsTheWatchdog() async throws {
        try await NamespacedSystemd.with { systemd in
            var agent = try Agent(systemd: systemd)
            try agent.write("one.yaml", Self.pod("one"))
            agent.runs = 1
            // systemd-run returns when the start job is done: for Type=notify, at READY=1.
            let r = try systemd.run([
                "systemd-run", "--unit=systemk-agent-1.service", "-p", "Type=notify", "-p", "WatchdogSec=2s",
                "-p", "Restart=no", Self.binary, "--manifests", agent.manifests, "--state-dir", agent.state,
                "--node-ip", "10.0.0.10", "--nodename", "node-1",
            ])
            if r.status != 0 { throw NamespacedSystemd.Failure(description: "starting systemk: \(r)") }
            #expect(try agent.property("systemk-agent-1.service", "ActiveState") == "active")
            // Ready means the first pass is done: the pod's units are in place and started.
            #expect(try agent.property("systemk.default.one.app.service", "LoadState") == "loaded")
            #expect(try agent.property("systemk-agent-1.service", "StatusText") == "1 pod from the manifests")
            // Three watchdog periods later it still runs: it pings.
            try await Task.sleep(for: .seconds(6))
            #expect(try agent.property("systemk-agent-1.service", "ActiveState") == "active")
            #expect(try agent.property("systemk-agent-1.service", "Result") == "success")
        }
    }
}

extension StandaloneAgentTests.Agent {
    /// An agent of the namespace's data directory: `manifests/` (made here) and `state/`.
    init(systemd: NamespacedSystemd) throws {
        let manifests = systemd.dataDirectory + "/manifests"
        try FileManager.default.createDirectory(atPath: manifests, withIntermediateDirectories: true)
        self.init(systemd: systemd, manifests: manifests, state: systemd.dataDirectory + "/state")
    }
}
