import ArgumentParser
import Foundation
import KubeClient
import PodCompiler
import SystemkRuntime

/// `systemk`: runs Kubernetes pods as systemd services: as a node of a cluster (live mode,
/// docs/live.md), or the pods of a directory of manifests with no cluster (docs/standalone.md).
struct SystemkCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "systemk",
        abstract: "Run Kubernetes pods as systemd services, with no containers.",
        discussion: """
            Live mode (--kubeconfig, or KUBECONFIG, or ~/.kube/config when no --manifests is given): \
            systemk registers a Node, renews its Lease, runs the pods the cluster binds to it and reports \
            their status; it serves the kubelet API (logs) on --port. \
            Standalone mode (--manifests without --kubeconfig): systemk runs every Pod (and pod template) \
            in the manifests of DIR, with the ConfigMaps and Secrets found there, reconciling when files \
            are added, changed or removed. With both, the manifests' pods run alongside the cluster's, \
            like a kubelet's static pods. After a restart systemk adopts the pods already running and \
            restarts none of them.
            """,
        version: SystemkVersion.version)

    @Option(name: .long, help: ArgumentHelp("The cluster to join (live mode).", valueName: "FILE"))
    var kubeconfig: String?

    @Option(name: .long, help: ArgumentHelp("Run the pods of the manifests in DIR (standalone, or static pods alongside a cluster).", valueName: "DIR"))
    var manifests: String?

    @Flag(name: .customLong("disable-taint"), help: "Do not taint the node with virtual-kubelet.io/provider=systemk:NoSchedule.")
    var disableTaint = false

    @Option(name: .customLong("certfile"), help: ArgumentHelp("The kubelet API's serving certificate (PEM). Default: a self-signed one.", valueName: "FILE"))
    var certFile: String?

    @Option(name: .customLong("keyfile"), help: ArgumentHelp("The key of --certfile (PEM).", valueName: "FILE"))
    var keyFile: String?

    @Option(name: .customLong("client-ca-file"), help: ArgumentHelp("Clients of the kubelet API must present a certificate signed by this CA (PEM). Without it anyone who reaches the port may read logs.", valueName: "FILE"))
    var clientCAFile: String?

    @Option(name: .long, help: "The kubelet API's port.")
    var port: Int = 10250

    @Option(name: .customLong("max-pods"), help: "How many pods the node offers to run (capacity and allocatable pods).")
    var maxPods: Int = 500

    @Flag(name: [.short, .customLong("user")], help: "Use the calling user's systemd (no root; pods run as that user).")
    var userMode = false

    @Flag(name: .customLong("dry-run"), help: "Render and log what would change; change nothing.")
    var dryRun = false

    @Option(name: .customLong("nodename"), help: "The node's name (spec.nodeName). Default: the host name.")
    var nodeName: String?

    @Option(name: .customLong("node-ip"), help: "The node's internal address. Default: the first private address of an interface.")
    var nodeIP: String?

    @Option(name: .customLong("node-external-ip"), help: "The node's external address. Default: the first other address of an interface.")
    var nodeExternalIP: String?

    @Option(name: .customLong("override-root-uid"), help: "Run containers that would run as root as this uid.")
    var overrideRootUID: Int64?

    @Option(
        name: .customLong("state-dir"),
        help: ArgumentHelp(
            "Where pods' files live. Default: /var/lib/systemk; with --user, $XDG_DATA_HOME/systemk (~/.local/share/systemk).",
            valueName: "DIR"))
    var stateDirectoryFlag: String?

    /// `--state-dir`, or the default for the system or the user's systemd.
    var stateDirectory: String {
        if let stateDirectoryFlag { return stateDirectoryFlag }
        guard userMode else { return "/var/lib/systemk" }
        let environment = ProcessInfo.processInfo.environment
        if let data = environment["XDG_DATA_HOME"], data.hasPrefix("/") { return data + "/systemk" }
        return NSHomeDirectory() + "/.local/share/systemk"
    }

    @Option(name: .customLong("log-level"), help: "debug, info, warning or error.")
    var logLevel: LogLevel = .info

    enum LogLevel: String, ExpressibleByArgument, CaseIterable {
        case debug, info, warning, error
    }

    /// Live mode: a cluster to join.
    var isLive: Bool { kubeconfig != nil || manifests == nil }

    func validate() throws {
        if let manifests {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: manifests, isDirectory: &isDir), isDir.boolValue else {
                throw ValidationError("--manifests \(manifests) is not a directory")
            }
        }
        if (certFile == nil) != (keyFile == nil) {
            throw ValidationError("--certfile and --keyfile go together")
        }
        for (flag, path) in [("--certfile", certFile), ("--keyfile", keyFile), ("--client-ca-file", clientCAFile), ("--kubeconfig", kubeconfig)] {
            if let path, !FileManager.default.isReadableFile(atPath: path) {
                throw ValidationError("\(flag) \(path) cannot be read")
            }
        }
        guard (0...65535).contains(port) else { throw ValidationError("--port must be between 0 and 65535") }
        guard maxPods > 0 else { throw ValidationError("--max-pods must be at least 1") }
        if let uid = overrideRootUID, uid < 0 || uid > 4_294_967_294 {
            throw ValidationError("--override-root-uid must be a uid between 0 and 4294967294")
        }
        if !userMode && geteuid() != 0 && !dryRun {
            throw ValidationError("the system systemd needs root: run as root, or use --user")
        }
    }

    func run() async throws {
        let log = Log(level: logLevel)
        let addresses: NodeAddresses
        do {
            addresses = try NodeAddresses.choose(
                internalFlag: nodeIP, externalFlag: nodeExternalIP, candidates: NodeAddresses.interfaceAddresses())
        } catch {
            throw Fatal(message: error.description)
        }
        // systemk's own metrics, served on the kubelet API's /metrics in live mode.
        let (metrics, exposition) = AgentMetrics.prometheus()
        // The cluster's settings first: a wrong kubeconfig is reported before anything is touched.
        let cluster = isLive ? try clusterClient(metrics: metrics) : nil
        let systemd: BusSystemdManager
        do {
            systemd = try await BusSystemdManager.connect(scope: userMode ? .user : .system)
        } catch {
            await cluster?.client.shutdown()
            throw error
        }
        let systemdVersion = (try? await systemd.version()) ?? 252
        let name = nodeName ?? ProcessInfo.processInfo.hostName
        let reconciler = PodReconciler(
            systemd: systemd, materializer: PlanMaterializer(stateDirectory: stateDirectory), dryRun: dryRun,
            log: { log.info($0) })
        let packages = InstalledPackageUnits(packages: packageManager(systemd: systemd, metrics: metrics, log: log))
        var node = NodeFacts(
            nodeName: name, internalIP: addresses.internalIP, externalIP: addresses.externalIP,
            systemdVersion: systemdVersion, stateDirectory: stateDirectory, serviceAccountTokens: false,
            overrideRootUID: overrideRootUID, allocatableMilliCPU: HostResources.milliCPU(),
            allocatableMemory: HostResources.memoryBytes(), userMode: userMode)
        if let cluster {
            // Pods use the host's network and there is no kube-proxy: they reach the API server at the
            // address the node itself uses.
            node.kubernetesServiceHost = cluster.serviceHost
            node.kubernetesServicePort = cluster.servicePort
            node.serviceAccountTokens = true
        }
        log.info("node \(name): internal \(addresses.internalIP), external \(addresses.externalIP), systemd \(systemdVersion)\(dryRun ? ", dry run" : "")")
        guard let cluster else {
            let agent = StandaloneAgent(
                directory: manifests ?? ".", node: node, systemd: systemd, reconciler: reconciler, packages: packages,
                probes: dryRun ? nil : HostProbeExecutor(), log: { log.info($0) })
            try await agent.run()
            return
        }
        // The client must be shut down before it goes (AsyncHTTPClient insists), also on errors.
        do {
            try await LiveMode(
                command: self, node: node, addresses: addresses, systemd: systemd, reconciler: reconciler, packages: packages,
                client: cluster.client, metrics: metrics, exposition: exposition, log: log
            ).run()
        } catch {
            await cluster.client.shutdown()
            throw error
        }
        await cluster.client.shutdown()
    }

    /// The client of the cluster to join, and where its API server is.
    func clusterClient(metrics: AgentMetrics) throws -> (client: KubeClient, serviceHost: String?, servicePort: Int?) {
        let configuration: ClientConfiguration
        do {
            configuration = try KubeconfigLoader.load(explicitPath: kubeconfig).clientConfiguration()
        } catch {
            throw Fatal(message: "\(error)")
        }
        let url = URLComponents(string: configuration.server)
        do {
            var options = KubeClientOptions()
            options.onError = { method, error in metrics.apiError(method: method, error) }
            return (try KubeClient(configuration: configuration, options: options), url?.host, url?.host == nil ? nil : url?.port ?? 443)
        } catch {
            throw Fatal(message: "cannot make a client for \(configuration.server): \(error)")
        }
    }
}

extension SystemkCommand {
    /// The node's package manager (apt, else pacman), or nil in a dry run or when there is none.
    func packageManager(systemd: any SystemdManager, metrics: AgentMetrics, log: Log) -> (any PackageManager)? {
        guard !dryRun, let backend = NodePackageManager.detectBackend() else { return nil }
        let masker = SystemdServiceMasker(
            systemd: systemd, directory: userMode ? NSHomeDirectory() + "/.config/systemd/user" : "/etc/systemd/system",
            metrics: metrics)
        return NodePackageManager(backend: backend, masker: masker, log: { log.info($0) })
    }
}

struct Fatal: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// Log lines on standard error (the journal when systemk runs as a service), with a level filter.
struct Log: Sendable {
    let level: SystemkCommand.LogLevel

    func info(_ message: String) {
        guard level == .debug || level == .info else { return }
        write(message.hasPrefix("error: ") ? "<3>" + message : "<6>" + message)
    }

    func write(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}

@main
enum Main {
    static func main() async {
        HeapTrimmer.limitArenas(environment: ProcessInfo.processInfo.environment)
        do {
            let command = try SystemkCommand.parse(Array(CommandLine.arguments.dropFirst()))
            try await command.run()
        } catch let error as Fatal {
            FileHandle.standardError.write(Data("systemk: \(error.message)\n".utf8))
            exit(1)
        } catch {
            let code = SystemkCommand.exitCode(for: error)
            if code == .success {
                print(SystemkCommand.fullMessage(for: error))
                exit(0)
            }
            if error is ValidationError || String(describing: type(of: error)).contains("CommandError") {
                FileHandle.standardError.write(Data("systemk: \(SystemkCommand.message(for: error))\n\(SystemkCommand.usageString())\n".utf8))
                exit(2)
            }
            FileHandle.standardError.write(Data("systemk: \(error)\n".utf8))
            exit(1)
        }
    }
}
