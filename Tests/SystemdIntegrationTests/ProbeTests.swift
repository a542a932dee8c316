import Foundation
import SystemdTestSupport
import Testing

/// Real probes against real processes: an HTTP server whose page goes away (readiness, httpGet), a TCP
/// port that closes (liveness, tcpSocket: the container restarts), an exec that starts failing
/// (readiness, run in the container's mount namespace, as its user). Driven through the standalone
/// agent; the states are read from its status lines.
@Suite(.enabled(if: NamespacedSystemd.isAvailable, "\(NamespacedSystemd.unavailableReason ?? "")"))
struct ProbeTests {
    static let pod = """
        apiVersion: v1
        kind: Pod
        metadata: {name: probed}
        spec:
          securityContext: {runAsUser: 65534, runAsGroup: 65534}
          containers:
          - name: web
            image: /usr/bin/python3
            command: ["/bin/sh", "-c", "echo ok > /var/lib/www/ok; exec /usr/bin/python3 -m http.server 18081 --bind 127.0.0.1 --directory /var/lib/www"]
            volumeMounts: [{name: www, mountPath: /var/lib/www}]
            readinessProbe: {httpGet: {path: /ok, port: 18081}, periodSeconds: 1, timeoutSeconds: 5, failureThreshold: 1}
          - name: tcp
            image: /usr/bin/python3
            command:
            - /usr/bin/python3
            - -c
            - |
              import os, socket, time
              s = socket.socket()
              s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
              s.bind(("127.0.0.1", 18082))
              s.listen()
              while not os.path.exists("/var/lib/flags/close-tcp"):
                  time.sleep(0.1)
              s.close()
              time.sleep(3600)
            volumeMounts: [{name: flags, mountPath: /var/lib/flags}]
            livenessProbe: {tcpSocket: {port: 18082}, periodSeconds: 1, timeoutSeconds: 5, failureThreshold: 2}
          - name: exec
            image: /bin/sleep
            args: ["infinity"]
            volumeMounts: [{name: flags, mountPath: /var/lib/flags}]
            readinessProbe:
              exec: {command: ["/bin/sh", "-c", "id -u > /var/lib/flags/probed-as; test ! -e /var/lib/flags/unready"]}
              periodSeconds: 1
              timeoutSeconds: 5
              failureThreshold: 1
          volumes:
          - {name: www, emptyDir: {}}
          - {name: flags, emptyDir: {}}
        """

    /// The pod's last status line in the agent's log.
    static func lastLine(_ log: String) -> String? {
        log.split(separator: "\n").last { $0.hasPrefix("pod default/probed: ") }.map(String.init)
    }

    static func line(exec: String, tcp: String, web: String) -> String {
        "pod default/probed: Running; exec \(exec); tcp \(tcp); web \(web)"
    }

    @Test func readinessFollowsHTTPAndExecProbesAndALivenessFailureRestarts() async throws {
        try await NamespacedSystemd.with { systemd in
            var agent = try StandaloneAgentTests.Agent(systemd: systemd)
            try agent.write("probed.yaml", Self.pod)
            // Probes without a host go to the node's address.
            try agent.start(nodeIP: "127.0.0.1")

            let ready = Self.line(exec: "running, restarts 0", tcp: "running, restarts 0", web: "running, restarts 0")
            try await agent.wait("every container ready") { agent.log().contains(ready) }
            let directory = try StandaloneAgentTests.podDirectory(agent, unit: "systemk.default.probed.web.service")
            // The exec probe ran inside the container: as its user, seeing its volume at its path.
            #expect(try String(contentsOfFile: directory + "/volumes/flags/probed-as", encoding: .utf8) == "65534\n")

            // The page goes: the web container is no longer ready (the pod runs on).
            try FileManager.default.removeItem(atPath: directory + "/volumes/www/ok")
            // (Waits look at the last status line: the pod was not ready before its first probes, too.)
            let webNotReady = Self.line(exec: "running, restarts 0", tcp: "running, restarts 0", web: "running (not ready), restarts 0")
            try await agent.wait("web not ready, for a 404") {
                let log = agent.log()
                return Self.lastLine(log) == webNotReady
                    && log.contains("container web: Unhealthy: readiness probe failed: HTTP probe failed with statuscode: 404")
            }
            // It comes back: ready again.
            try Data("ok\n".utf8).write(to: URL(fileURLWithPath: directory + "/volumes/www/ok"))
            try await agent.wait("web ready again") { Self.lastLine(agent.log()) == ready }

            // The exec probe exits 1: not ready.
            FileManager.default.createFile(atPath: directory + "/volumes/flags/unready", contents: nil)
            try await agent.wait("exec not ready") { Self.lastLine(agent.log())?.contains("exec running (not ready), restarts 0") == true }

            // The port closes: after two failed liveness probes the container is restarted, and counted.
            let tcp = "systemk.default.probed.tcp.service"
            let invocation = try agent.property(tcp, "InvocationID")
            FileManager.default.createFile(atPath: directory + "/volumes/flags/close-tcp", contents: nil)
            try await agent.wait("tcp restarted") { agent.log().contains("tcp running, restarts 1") }
            #expect(try agent.property(tcp, "InvocationID") != invocation)
            #expect(agent.log().contains("container tcp: Unhealthy: liveness probe failed: dial tcp 127.0.0.1:18082"))
            _ = try agent.systemd.systemctl("stop", "systemk-agent-\(agent.runs).service")
        }
    }

    /// A container that ignores SIGTERM, in a pod with 60 s of grace: its liveness probe's own
    /// terminationGracePeriodSeconds (1) is what a probe restart waits, not the pod's.
    static let stubborn = """
        apiVersion: v1
        kind: Pod
        metadata: {name: stubborn}
        spec:
          terminationGracePeriodSeconds: 60
          containers:
          - name: app
            image: /bin/sh
            command: ["/bin/sh", "-c", "trap '' TERM; while :; do sleep 1; done"]
            volumeMounts: [{name: flags, mountPath: /var/lib/flags}]
            livenessProbe:
              exec: {command: ["/bin/sh", "-c", "test ! -e /var/lib/flags/sick"]}
              periodSeconds: 1
              failureThreshold: 1
              terminationGracePeriodSeconds: 1
          volumes:
          - {name: flags, emptyDir: {}}
        """

    @Test func aProbesOwnGracePeriodBoundsItsRestart() async throws {
        try await NamespacedSystemd.with { systemd in
            var agent = try StandaloneAgentTests.Agent(systemd: systemd)
            try agent.write("stubborn.yaml", Self.stubborn)
            try agent.start(nodeIP: "127.0.0.1")
            try await agent.wait("running") { agent.log().contains("pod default/stubborn: Running; app running, restarts 0") }
            let unit = "systemk.default.stubborn.app.service"
            let directory = try StandaloneAgentTests.podDirectory(agent, unit: unit)
            let invocation = try agent.property(unit, "InvocationID")
            let clock = ContinuousClock()
            let sick = clock.now
            FileManager.default.createFile(atPath: directory + "/volumes/flags/sick", contents: nil)
            // SIGTERM is ignored: only the probe's 1 s (and a probe period) stands before SIGKILL, not the
            // pod's 60 s. (Loose bounds: a loaded machine can delay this test's own tasks by tens of seconds.)
            try await agent.wait("restarted", seconds: 55) { agent.log().contains("app running, restarts 1") }
            #expect(clock.now - sick < .seconds(55))
            #expect(try agent.property(unit, "InvocationID") != invocation)
            #expect(try agent.property(unit, "TimeoutStopUSec") == "1min")
            _ = try agent.systemd.systemctl("stop", "--no-block", "systemk-agent-\(agent.runs).service")
        }
    }
}
