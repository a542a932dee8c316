/// The filesystem every container sees: the host, read-only; a private, writable /tmp; empty
/// temporary file systems on /var and /run (as in the original systemk) and on /home, /root and
/// /run/user; the pod's volumes bound in on top. The package unit's own sandboxing stays, and its
/// StateDirectory=, CacheDirectory=, LogsDirectory= and RuntimeDirectory= keep working: they are bound
/// back in over the temporary file systems. systemd itself reads a PIDFile= in its own view of the
/// file system, where these temporary file systems are not: a PIDFile= in them (but outside the
/// directories bound back) is removed, and systemd guesses the main PID as it does without one;
/// otherwise a forking package (nginx: PIDFile=/run/nginx.pid) would never finish starting.
///
/// A user manager (`--user`) may set up mount namespaces only inside a user namespace: without
/// `PrivateUsers=yes` every one of these settings makes the unit fail with 226/NAMESPACE (checked
/// against systemd 252 with an unprivileged user's manager).
enum SandboxLowering {
    static let origin = "systemk: sandbox"

    static func apply(
        to unit: inout UnitBuilder, userManager: Bool, readOnlyRoot: Bool, readOnlyRootPath: FieldPath
    ) {
        if userManager {
            unit.set("PrivateUsers", "yes", in: "Service", origin: "systemk: --user (mount namespaces need a user namespace)")
        }
        unit.append("ProtectSystem", "strict", in: "Service", origin: origin)
        unit.append("ReadOnlyPaths", "/", in: "Service", origin: origin)
        unit.append("ProtectHome", "tmpfs", in: "Service", origin: origin)
        unit.append("PrivateTmp", "yes", in: "Service", origin: origin)
        unit.append("PrivateMounts", "yes", in: "Service", origin: origin)
        unit.append("TemporaryFileSystem", "/var /run", in: "Service", origin: origin)
        if readOnlyRoot {
            // Not `TemporaryFileSystem=/var:ro`: systemd must still create the mount points of the
            // binds below inside it. Read-only paths are applied after every mount, and a bind under
            // them keeps its own flags (checked against systemd 252).
            unit.append("ReadOnlyPaths", "/var /run /tmp /var/tmp", in: "Service", origin: readOnlyRootPath.description)
        }
        // Logging through syslog(3) and sd_notify(3) go through sockets under /run, and so does name
        // resolution where /etc/resolv.conf points into systemd-resolved's directory.
        unit.append(
            "BindReadOnlyPaths", "-/run/systemd/journal -/run/systemd/notify -/run/systemd/resolve", in: "Service",
            origin: origin)
        // Keep the package's managed directories reachable under the temporary file systems.
        let managed: [(String, String)] = [
            ("StateDirectory", "/var/lib"), ("CacheDirectory", "/var/cache"), ("LogsDirectory", "/var/log"),
            ("RuntimeDirectory", "/run"),
        ]
        for (key, root) in managed {
            for value in unit.effectiveValues(key, in: "Service") {
                for word in value.split(whereSeparator: { $0 == " " || $0 == "\t" }) {
                    // `name` or `name:alias` (systemd 250+): the directory is the first part.
                    let name = word.split(separator: ":", maxSplits: 1).first.map(String.init) ?? String(word)
                    guard Paths.isSafeRelative(name), !name.contains("%") else { continue }
                    unit.append("BindPaths", root + "/" + name, in: "Service", origin: "systemk: package \(key)=\(name)")
                }
            }
        }
        // The package's own ReadWritePaths= under /var or /run would point into the empty temporary
        // file systems: bind the host's directory there (when it exists).
        for value in unit.effectiveValues("ReadWritePaths", in: "Service") {
            for word in value.split(whereSeparator: { $0 == " " || $0 == "\t" }) {
                var p = String(word)
                if p.hasPrefix("-") { p.removeFirst() }
                if p.hasPrefix("+") { p.removeFirst() }
                guard Paths.isCleanAbsolute(p), !p.contains("%"), !p.contains("\\"),
                    Paths.isWithin(p, "/var") || Paths.isWithin(p, "/run"), p != "/var", p != "/run"
                else { continue }
                unit.append("BindPaths", "-" + p, in: "Service", origin: "systemk: package ReadWritePaths=\(p)")
            }
        }
        if var pidFile = unit.lastValue("PIDFile", in: "Service") {
            if pidFile.hasPrefix("%t/") { pidFile = "/run/" + pidFile.dropFirst(3) }
            let hidden = ["/run", "/var", "/tmp", "/home", "/root"].contains { Paths.isWithin(pidFile, $0) }
            let boundBack = unit.values("BindPaths", in: "Service").contains { bind in
                bind.split(separator: " ").contains { Paths.isWithin(pidFile, String($0.drop(while: { $0 == "-" }))) }
            }
            if hidden && !boundBack { unit.remove("PIDFile", in: "Service") }
        }
    }
}
