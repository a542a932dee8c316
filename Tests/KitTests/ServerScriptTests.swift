import Foundation
import Testing

/// k3s/server.sh with the machine replaced by stubs on PATH (id, curl, systemctl, k3s) that record what
/// they are asked: no k3s is installed or downloaded here.
@Suite(.enabled(if: Tools.bash != nil, "bash is missing"))
struct ServerScriptTests {
    /// A folder with the stubs and their record (`state/log`).
    struct FakeMachine {
        let scratch: Scratch
        var state: String { scratch.path + "/state" }

        init() throws {
            scratch = try Scratch("kit-server")
            try FileManager.default.createDirectory(atPath: scratch.path + "/state", withIntermediateDirectories: true)
            try scratch.write("bin/id", "#!/bin/sh\necho 0\n", mode: 0o755)
            // curl -sfL URL -o FILE: writes an installer that records its environment and "installs" k3s.
            try scratch.write("bin/curl", """
                #!/bin/sh
                echo "curl $*" >> "$STATE/log"
                out=""
                while [ $# -gt 0 ]; do
                  if [ "$1" = -o ]; then out="$2"; shift 2; else shift; fi
                done
                cat > "$out" <<'EOF'
                echo "installer INSTALL_K3S_EXEC=$INSTALL_K3S_EXEC SKIP_DOWNLOAD=${INSTALL_K3S_SKIP_DOWNLOAD:-}" >> "$STATE/log"
                printf '%s' "$INSTALL_K3S_EXEC" > "$STATE/execstart"
                touch "$STATE/installed"
                EOF

                """, mode: 0o755)
            // systemctl cat k3s.service succeeds once installed; show prints ExecStart as systemd does.
            try scratch.write("bin/systemctl", """
                #!/bin/sh
                echo "systemctl $*" >> "$STATE/log"
                case "$1" in
                  cat) [ -e "$STATE/installed" ] ;;
                  show) echo "{ path=/usr/local/bin/k3s ; argv[]=/usr/local/bin/k3s $(cat "$STATE/execstart") ; ignore_errors=no ; start_time=[n/a] }" ;;
                  *) exit 0 ;;
                esac

                """, mode: 0o755)
            try scratch.write("bin/k3s", "#!/bin/sh\necho \"k3s $*\" >> \"$STATE/log\"\n[ -e \"$STATE/installed\" ]\n",
                              mode: 0o755)
        }

        /// k3s as installed earlier with `execStart` as its arguments.
        func installed(_ execStart: String) throws {
            try scratch.write("state/installed", "")
            try scratch.write("state/execstart", execStart)
        }

        func run(_ arguments: [String]) throws -> ProcessResult {
            var environment = ProcessInfo.processInfo.environment
            environment["PATH"] = scratch.path + "/bin:/usr/bin:/bin"
            environment["STATE"] = state
            environment["SYSTEMK_K3S_INSTALLER_URL"] = "https://installer.invalid/k3s"
            return try KitTests.run(Tools.bash ?? "bash", [KitPaths.server] + arguments, environment: environment)
        }

        var log: [String] {
            ((try? scratch.read("state/log")) ?? "").split(separator: "\n").map(String.init)
        }
    }

    static let flags = [
        "--disable-agent", "--disable=traefik,servicelb,local-storage,metrics-server,coredns",
        "--disable-cloud-controller", "--disable-kube-proxy", "--disable-network-policy", "--flannel-backend=none",
        "--egress-selector-mode=disabled",
    ]

    @Test func printsTheServerOnlyFlags() throws {
        let machine = try FakeMachine()
        defer { machine.scratch.remove() }
        let r = try machine.run(["--print-flags"])
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout == Self.flags.joined(separator: "\n") + "\n")
        #expect(machine.log.isEmpty, "printing the flags touches nothing")
    }

    @Test func installsK3sWithTheOfficialInstallerWhenMissing() throws {
        let machine = try FakeMachine()
        defer { machine.scratch.remove() }
        let r = try machine.run(["--", "--tls-san=k3s.example"])
        #expect(r.status == 0, "\(r)")
        let expected = "installer INSTALL_K3S_EXEC=server \(Self.flags.joined(separator: " ")) --tls-san=k3s.example SKIP_DOWNLOAD="
        #expect(machine.log.contains(expected), "\(machine.log)")
        #expect(machine.log.contains { $0.hasPrefix("curl ") && $0.contains("https://installer.invalid/k3s") })
        #expect(machine.log.contains("k3s kubectl get --raw=/readyz"), "it waits for the API server")
        #expect(r.stdout.contains("node-credentials.sh NODE_NAME NODE_IP"), "it prints the next step: \(r.stdout)")
    }

    @Test func isIdempotentWhenK3sHasTheFlags() throws {
        let machine = try FakeMachine()
        defer { machine.scratch.remove() }
        try machine.installed("server " + Self.flags.joined(separator: " "))
        let r = try machine.run([])
        #expect(r.status == 0, "\(r)")
        #expect(!machine.log.contains { $0.hasPrefix("installer") || $0.hasPrefix("curl") }, "\(machine.log)")
        #expect(machine.log.contains("systemctl enable --now k3s.service"), "\(machine.log)")
    }

    @Test func refusesToChangeAK3sInstalledWithOtherFlags() throws {
        let machine = try FakeMachine()
        defer { machine.scratch.remove() }
        try machine.installed("server --disable=traefik")
        let r = try machine.run([])
        #expect(r.status == 1, "\(r)")
        #expect(r.stderr.contains("k3s is installed, but without --disable-agent"), "\(r)")
        #expect(r.stderr.contains("--reconfigure"), "\(r)")
        #expect(!machine.log.contains { $0.hasPrefix("installer") }, "\(machine.log)")
    }

    @Test func reconfiguresWithoutDownloadingK3sAgain() throws {
        let machine = try FakeMachine()
        defer { machine.scratch.remove() }
        try machine.installed("server --disable=traefik")
        let r = try machine.run(["--reconfigure"])
        #expect(r.status == 0, "\(r)")
        #expect(machine.log.contains("installer INSTALL_K3S_EXEC=server \(Self.flags.joined(separator: " ")) SKIP_DOWNLOAD=true"),
                "\(machine.log)")
    }

    @Test func refusesExtraFlagsWithWhiteSpaceAndUnknownOptions() throws {
        let machine = try FakeMachine()
        defer { machine.scratch.remove() }
        let spaced = try machine.run(["--", "--tls-san k3s.example"])
        #expect(spaced.status == 1)
        #expect(spaced.stderr.contains("contains white space"), "\(spaced)")
        let unknown = try machine.run(["--tls-san=x"])
        #expect(unknown.status == 1)
        #expect(unknown.stderr.contains("unknown option --tls-san=x (extra k3s flags go after --)"), "\(unknown)")
        #expect(machine.log.isEmpty)
    }
}
