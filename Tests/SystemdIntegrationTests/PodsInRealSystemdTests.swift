import SystemdTestSupport
import Foundation
import PodCompiler
import Testing

/// Rendered pods run by a real systemd: what the manifests say is what the processes get.
@Suite(.serialized, .enabled(if: NamespacedSystemd.isAvailable, "\(NamespacedSystemd.unavailableReason ?? "")"))
struct PodsInRealSystemdTests {
    /// A probe container: python3 writes what it sees (argv, environment, ids, working directory, what
    /// it can write and read) to /var/lib/data/result.json.
    static let probeScript = """
        import json, os, sys
        out = {"argv": sys.argv[1:], "env": dict(os.environ), "uid": os.getuid(), "gid": os.getgid(),
               "groups": sorted(os.getgroups()), "cwd": os.getcwd()}
        def can_write(p):
            try:
                open(p, "w").write("x")
                return True
            except OSError:
                return False
        out["write"] = {p: can_write(p) for p in ["/etc/systemk-probe", "/usr/systemk-probe", "/tmp/probe", "/var/tmp/probe", "/var/lib/data/probe", "/run/app/probe"]}
        out["init"] = open("/var/lib/data/init").read()
        out["config"] = open("/run/app/app.conf").read()
        out["secret"] = open("/run/secrets/creds/password").read()
        out["secret_mode"] = oct(os.stat("/run/secrets/creds/password").st_mode & 0o777)
        open("/var/lib/data/result.json", "w").write(json.dumps(out))
        """

    static func probePod(restartPolicy: String = "Never") -> String {
        """
        apiVersion: v1
        kind: Pod
        metadata: {name: probe.example, namespace: tests, uid: 0a1b2c3d-0000-4000-8000-000000000001, labels: {app: probe}}
        spec:
          restartPolicy: \(restartPolicy)
          securityContext: {supplementalGroups: [1], fsGroup: 4}
          initContainers:
          - name: first
            image: /bin/sh
            command: ["/bin/sh", "-c", "echo first >> /var/lib/data/init"]
            volumeMounts: [{name: data, mountPath: /var/lib/data}]
          - name: second
            image: /bin/sh
            command: ["/bin/sh", "-c", "sleep 0.3; echo second >> /var/lib/data/init"]
            volumeMounts: [{name: data, mountPath: /var/lib/data}]
          containers:
          - name: probe
            image: /usr/bin/python3
            command: ["/usr/bin/python3", "-c", \(jsonString(probeScript))]
            args: ["plain", "two  spaces", "quote \\" and ' ", "100% $HOME $(GREETING) $$(GREETING)", "", "back\\\\slash", "new\\nline", "héllo ☃", ";"]
            workingDir: /etc
            env:
            - {name: GREETING, value: "hi \\"there\\" $ % \\\\ end "}
            - {name: EMPTY, value: ""}
            - {name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
            - {name: APP_LABEL, valueFrom: {fieldRef: {fieldPath: "metadata.labels['app']"}}}
            - {name: PASSWORD, valueFrom: {secretKeyRef: {name: creds, key: password}}}
            - {name: MEM_LIMIT, valueFrom: {resourceFieldRef: {resource: limits.memory}}}
            securityContext: {runAsUser: 65534, runAsGroup: 65534, allowPrivilegeEscalation: false}
            resources:
              requests: {cpu: 250m, memory: 32Mi}
              limits: {cpu: 500m, memory: 100Mi}
            volumeMounts:
            - {name: data, mountPath: /var/lib/data}
            - {name: config, mountPath: /run/app}
            - {name: creds, mountPath: /run/secrets/creds}
          volumes:
          - {name: data, emptyDir: {}}
          - {name: config, configMap: {name: app-config}}
          - {name: creds, secret: {secretName: creds}}
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: app-config, namespace: tests}
        data: {app.conf: "port=8080\\n"}
        ---
        apiVersion: v1
        kind: Secret
        metadata: {name: creds, namespace: tests}
        stringData: {password: "s3cr3t $x %n \\"q\\""}
        """
    }

    static func jsonString(_ s: String) -> String {
        let data = try! JSONEncoder().encode(s)
        return String(decoding: data, as: UTF8.self)
    }

    @Test func probePodGetsExactlyWhatTheManifestSays() async throws {
        try await NamespacedSystemd.with { systemd in
            let plan = try Self.render(Self.probePod(), stateDirectory: systemd.dataDirectory + "/state")
            let pod = try #require(plan.pods.first)
            try Self.materialize(pod)
            try Self.start(pod, in: systemd)
            let resultPath = pod.podDirectory + "/volumes/data/result.json"
            try await Self.waitFor(resultPath, systemd: systemd, unit: pod.units.last!.name)
            let result = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: resultPath))) as! [String: Any]

            #expect(result["argv"] as? [String] == ["plain", "two  spaces", "quote \" and ' ", "100% $HOME hi \"there\" $ % \\ end  $(GREETING)", "", "back\\slash", "new\nline", "héllo ☃", ";"])
            let env = try #require(result["env"] as? [String: String])
            #expect(env["GREETING"] == "hi \"there\" $ % \\ end ")
            #expect(env["EMPTY"] == "")
            #expect(env["POD_NAME"] == "probe.example")
            #expect(env["APP_LABEL"] == "probe")
            #expect(env["PASSWORD"] == "s3cr3t $x %n \"q\"")
            #expect(env["MEM_LIMIT"] == "104857600")
            #expect(env["HOSTNAME"] == "probe.example")
            #expect(result["uid"] as? Int == 65534)
            #expect(result["gid"] as? Int == 65534)
            #expect(result["groups"] as? [Int] == [1, 4, 65534])
            #expect(result["cwd"] as? String == "/etc")
            let writes = try #require(result["write"] as? [String: Bool])
            #expect(writes == ["/etc/systemk-probe": false, "/usr/systemk-probe": false, "/tmp/probe": true, "/var/tmp/probe": true, "/var/lib/data/probe": true, "/run/app/probe": false])
            #expect(!FileManager.default.fileExists(atPath: "/tmp/probe"), "the container's /tmp must be private")
            #expect(result["init"] as? String == "first\nsecond\n", "init containers run in order, before the app")
            #expect(result["config"] as? String == "port=8080\n")
            #expect(result["secret"] as? String == "s3cr3t $x %n \"q\"")
            #expect(result["secret_mode"] as? String == "0o640", "owner read-write, the pod's fsGroup read, nobody else")

            let unit = pod.units.last!.name
            let shown = try systemd.systemctl("show", "-p", "MemoryMax", "-p", "MemoryLow", "-p", "CPUQuotaPerSecUSec", "-p", "CPUWeight", "-p", "Slice", "-p", "NoNewPrivileges", unit).stdout
            #expect(shown.contains("MemoryMax=104857600"))
            #expect(shown.contains("MemoryLow=33554432"))
            #expect(shown.contains("CPUQuotaPerSecUSec=500ms"))
            #expect(shown.contains("CPUWeight=25"))
            #expect(shown.contains("Slice=systemk.slice"))
            #expect(shown.contains("NoNewPrivileges=yes"))
            // The secret is in the root-only environment file, never in a unit or in `systemctl show`.
            for u in pod.units { #expect(!u.contents.contains("s3cr3t")) }
            let environment = try systemd.systemctl("show", "-p", "Environment", unit).stdout
            #expect(!environment.contains("s3cr3t"))
        }
    }

    @Test func failedInitContainerKeepsAppContainersFromStarting() async throws {
        let manifest = """
            apiVersion: v1
            kind: Pod
            metadata: {name: init-fails, uid: 0a1b2c3d-0000-4000-8000-000000000002}
            spec:
              restartPolicy: Never
              initContainers:
              - {name: fails, image: /bin/sh, command: ["/bin/sh", "-c", "exit 3"]}
              containers:
              - name: app
                image: /bin/sh
                command: ["/bin/sh", "-c", "touch /var/lib/data/app-ran"]
                volumeMounts: [{name: data, mountPath: /var/lib/data}]
              volumes: [{name: data, emptyDir: {}}]
            """
        try await NamespacedSystemd.with { systemd in
            let plan = try Self.render(manifest, stateDirectory: systemd.dataDirectory + "/state")
            let pod = try #require(plan.pods.first)
            try Self.materialize(pod)
            _ = try? Self.start(pod, in: systemd)
            let initUnit = pod.units[0].name
            let appUnit = pod.units[1].name
            var state = ""
            for _ in 0..<100 {
                state = try systemd.systemctl("show", "-p", "ActiveState", "-p", "ExecMainStatus", initUnit).stdout
                if state.contains("ActiveState=failed") { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(state.contains("ActiveState=failed"))
            #expect(state.contains("ExecMainStatus=3"))
            let app = try systemd.systemctl("show", "-p", "ActiveState", "-p", "ExecMainStartTimestampMonotonic", appUnit).stdout
            #expect(app.contains("ActiveState=inactive"))
            #expect(app.contains("ExecMainStartTimestampMonotonic=0"), "the app container never started")
            #expect(!FileManager.default.fileExists(atPath: pod.podDirectory + "/volumes/data/app-ran"))
        }
    }

    /// Kubernetes' restart policies as systemd carries them out: a crashing container under Always and
    /// OnFailure is restarted (after the kubelet-like 10 s delay) and counted; one that succeeds under
    /// OnFailure, or crashes under Never, is not. Death by SIGTERM counts as a failure for OnFailure.
    @Test func restartPoliciesRestartAndCountLikeKubernetes() async throws {
        func pod(_ name: String, uid: String, policy: String, script: String) -> String {
            """
            apiVersion: v1
            kind: Pod
            metadata: {name: \(name), uid: \(uid)}
            spec:
              restartPolicy: \(policy)
              containers:
              - {name: app, image: /bin/sh, command: ["/bin/sh", "-c", "\(script)"]}
            """
        }
        let cases: [(name: String, policy: String, script: String, restarts: Bool)] = [
            ("always-crash", "Always", "exit 3", true),
            ("onfailure-crash", "OnFailure", "exit 3", true),
            ("onfailure-sigterm", "OnFailure", "kill -TERM $$$$", true),
            ("onfailure-ok", "OnFailure", "exit 0", false),
            ("never-crash", "Never", "exit 3", false),
        ]
        try await NamespacedSystemd.with { systemd in
            var pods: [PodPlan] = []
            for (i, c) in cases.enumerated() {
                let manifest = pod(c.name, uid: "0a1b2c3d-0000-4000-8000-00000000010\(i)", policy: c.policy, script: c.script)
                let plan = try Self.render(manifest, stateDirectory: systemd.dataDirectory + "/state")
                pods.append(try #require(plan.pods.first))
            }
            for p in pods {
                try Self.materialize(p)
                for unit in p.units { try systemd.writeUnit(unit.name, unit.contents) }
            }
            _ = try systemd.systemctl("daemon-reload")
            _ = try systemd.run(["systemctl", "start", "--no-block"] + pods.flatMap { $0.units.map(\.name) })
            // The first restart comes 10 s after the first exit.
            try await Task.sleep(for: .seconds(13))
            for (c, p) in zip(cases, pods) {
                let unit = p.units[0].name
                let shown = try systemd.systemctl("show", "-p", "NRestarts", "-p", "ActiveState", "-p", "Result", unit).stdout
                let restarts = Int(shown.split(separator: "\n").first { $0.hasPrefix("NRestarts=") }?.dropFirst("NRestarts=".count) ?? "") ?? -1
                if c.restarts {
                    #expect(restarts >= 1, "\(c.name) (\(c.policy), \(c.script)) should have been restarted: \(shown)")
                } else {
                    #expect(restarts == 0, "\(c.name) (\(c.policy), \(c.script)) must not be restarted: \(shown)")
                }
            }
            let never = try systemd.systemctl("show", "-p", "ActiveState", "-p", "ExecMainStatus", pods[4].units[0].name).stdout
            #expect(never.contains("ActiveState=failed") && never.contains("ExecMainStatus=3"), "\(never)")
            let ok = try systemd.systemctl("show", "-p", "ActiveState", "-p", "Result", pods[3].units[0].name).stdout
            #expect(ok.contains("ActiveState=inactive") && ok.contains("Result=success"), "\(ok)")
        }
    }

    // MARK: - Helpers

    static func render(_ manifest: String, stateDirectory: String) throws -> Plan {
        var set = ManifestSet()
        try set.add(Array(manifest.utf8), file: "test.yaml")
        let node = NodeFacts(nodeName: "node-1", internalIP: "10.0.0.10", stateDirectory: stateDirectory, serviceAccountTokens: false)
        switch set.compile(packageUnits: [:], node: node) {
        case let .success(plan): return plan
        case let .failure(errors): throw errors
        }
    }

    /// What the runtime will do (issue 3), reduced to what these tests need: directories and files
    /// with their modes and numeric owners.
    static func materialize(_ pod: PodPlan) throws {
        let fm = FileManager.default
        for d in pod.directories {
            try fm.createDirectory(atPath: d.path, withIntermediateDirectories: true)
            try fm.setAttributes([.posixPermissions: Int(d.mode, radix: 8)!], ofItemAtPath: d.path)
            #expect(chown(d.path, uid_t(d.owner)!, gid_t(d.group)!) == 0)
        }
        for f in pod.files {
            guard case let .bytes(bytes) = f.content else { continue }
            #expect(fm.createFile(atPath: f.path, contents: Data(bytes), attributes: [.posixPermissions: Int(f.mode, radix: 8)!]))
            #expect(chown(f.path, uid_t(f.owner)!, gid_t(f.group)!) == 0)
        }
    }

    /// Installs the pod's units, reloads once, and starts all of them in one call.
    static func start(_ pod: PodPlan, in systemd: NamespacedSystemd) throws {
        for unit in pod.units { try systemd.writeUnit(unit.name, unit.contents) }
        _ = try systemd.systemctl("daemon-reload")
        let result = try systemd.run(["systemctl", "start", "--no-block"] + pod.units.map(\.name))
        if result.status != 0 { throw NamespacedSystemd.Failure(description: "start failed: \(result)") }
    }

    static func waitFor(_ path: String, systemd: NamespacedSystemd, unit: String) async throws {
        for _ in 0..<200 {
            if FileManager.default.fileExists(atPath: path) {
                try await Task.sleep(for: .milliseconds(50))
                return
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw NamespacedSystemd.Failure(description: "\(path) never appeared; \(unit): \((try? systemd.systemctl("status", "--no-pager", unit).stdout) ?? "")\n\(systemd.journal(unit))")
    }
}
