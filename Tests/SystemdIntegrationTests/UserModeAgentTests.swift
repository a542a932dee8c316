import SystemdTestSupport
import Foundation
import Testing

/// `systemk --user`: an unprivileged user's systemd runs the pods. Inside the test's namespace a user
/// exists only there (copies of passwd, group and shadow with one more line are bound over the
/// host's files in the namespace's own mount table), and its manager is started as `user@UID.service`.
@Suite(.serialized, .enabled(if: NamespacedSystemd.isAvailable, "\(NamespacedSystemd.unavailableReason ?? "")"))
struct UserModeAgentTests {
    static let uid = 64242
    static let user = "skuser"

    /// Adds the test user inside the namespace and starts its systemd; returns its home.
    static func addUser(_ systemd: NamespacedSystemd) throws -> String {
        let home = systemd.dataDirectory + "/home"
        try FileManager.default.createDirectory(atPath: home + "/etc", withIntermediateDirectories: true)
        let lines = [
            "passwd": "\(user):x:\(uid):\(uid):systemk test user:\(home):/bin/sh",
            "group": "\(user):x:\(uid):",
            "shadow": "\(user):*:19000:0:99999:7:::",
        ]
        for (file, line) in lines {
            let host = try String(contentsOfFile: "/etc/" + file, encoding: .utf8)
            #expect(!host.contains("\n\(user):") && !host.hasPrefix("\(user):"), "the host must not have \(user) already")
            let copy = home + "/etc/" + file
            try (host + (host.hasSuffix("\n") ? "" : "\n") + line + "\n").write(toFile: copy, atomically: true, encoding: .utf8)
            let r = try systemd.run(["mount", "--bind", copy, "/etc/" + file])
            if r.status != 0 { throw NamespacedSystemd.Failure(description: "binding \(file): \(r)") }
        }
        let r = try systemd.systemctl("start", "user@\(uid).service")
        if r.status != 0 { throw NamespacedSystemd.Failure(description: "starting the user's systemd: \(r)") }
        return home
    }

    /// `systemctl --user` as the test user (over its manager's private socket).
    static func userctl(_ systemd: NamespacedSystemd, _ arguments: String...) throws -> String {
        let r = try systemd.run(
            ["runuser", "-u", user, "--", "env", "XDG_RUNTIME_DIR=/run/user/\(uid)", "systemctl", "--user"] + arguments)
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test func anUnprivilegedUsersSystemdRunsThePods() async throws {
        try await NamespacedSystemd.with { systemd in
            let home = try Self.addUser(systemd)
            let manifests = home + "/manifests"
            let state = home + "/state"
            try FileManager.default.createDirectory(atPath: manifests, withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
            for path in [home, manifests, state] {
                #expect(chown(path, uid_t(Self.uid), gid_t(Self.uid)) == 0)
            }
            var agent = StandaloneAgentTests.Agent(systemd: systemd, manifests: manifests, state: state)
            try agent.write("web.yaml", StandaloneAgentTests.pod("web", initScript: "id -u > /var/lib/data/init"))
            let r = try systemd.run([
                "systemd-run", "--unit=systemk-agent-1.service", "-p", "Restart=no", "-p", "User=\(Self.user)",
                "-p", "Environment=XDG_RUNTIME_DIR=/run/user/\(Self.uid)", StandaloneAgentTests.binary, "--user",
                "--manifests", manifests, "--state-dir", state, "--node-ip", "10.0.0.10", "--nodename", "node-1",
            ])
            if r.status != 0 { throw NamespacedSystemd.Failure(description: "starting systemk: \(r)") }
            agent.runs = 1

            let app = "systemk.default.web.app.service"
            try await agent.wait("the pod running in the user's systemd") {
                try Self.userctl(systemd, "show", "-p", "ActiveState", "--value", app) == "active"
            }
            try await agent.wait("the pod's status in the log") {
                agent.log().contains("pod default/web: Running; setup terminated (Completed), restarts 0; app running, restarts 0")
            }
            // The unit is the user manager's, not the system's, and runs as the user.
            let unitFile = "/proc/\(systemd.pid)/root/run/user/\(Self.uid)/systemd/user/" + app
            #expect(FileManager.default.fileExists(atPath: unitFile))
            #expect(try systemd.systemctl("show", "-p", "LoadState", "--value", app).stdout.hasPrefix("not-found"))
            let podDirectory = try String(contentsOfFile: unitFile, encoding: .utf8).split(separator: "\n")
                .first { $0.hasPrefix("PodDirectory=") }.map { String($0.dropFirst("PodDirectory=".count)) } ?? ""
            #expect(podDirectory.hasPrefix(state + "/"))
            // The init container ran as the user and wrote into the pod's emptyDir.
            #expect(try String(contentsOfFile: podDirectory + "/volumes/data/init", encoding: .utf8) == "\(Self.uid)\n")
            #expect(try String(contentsOfFile: podDirectory + "/volumes/config/setting", encoding: .utf8) == "v1")

            // Removing the manifest removes the pod.
            try FileManager.default.removeItem(atPath: manifests + "/web.yaml")
            try await agent.wait("the pod removed") {
                try Self.userctl(systemd, "show", "-p", "LoadState", "--value", app) == "not-found"
                    && !FileManager.default.fileExists(atPath: podDirectory)
            }
        }
    }
}
