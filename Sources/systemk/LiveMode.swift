import Foundation
import KubeClient
import KubeletAPI
import PodCompiler
import SystemkRuntime

/// Live mode wired together: the Node (registration, Lease, status), the pods (`LiveAgent`) and the
/// kubelet API, with systemd told when systemk is ready and fed its watchdog.
struct LiveMode {
    let command: SystemkCommand
    let node: NodeFacts
    let addresses: NodeAddresses
    let systemd: BusSystemdManager
    let reconciler: PodReconciler
    let packages: InstalledPackageUnits
    let client: KubeClient
    let metrics: AgentMetrics
    let exposition: MetricsExposition
    let log: Log

    func run() async throws {
        let info: @Sendable (String) -> Void = { [log] in log.info($0) }
        let systemd = self.systemd
        let systemdVersion = node.systemdVersion
        let stateDirectory = node.stateDirectory

        if command.dryRun {
            // Read only: what would run, from the pods bound to this node now.
            let agent = LiveAgent(
                client: client, node: node, systemd: systemd, reconciler: reconciler, packages: packages,
                // One look, so wait longer for a slow API server than the agent does (it reconciles again
                // when a late object arrives).
                objects: ReferencedObjects(client: client, firstListTimeout: .seconds(30), log: info),
                tokens: ServiceAccountTokens(client: client, clusterCAPEM: nil, log: info), manifests: command.manifests,
                dryRun: true, log: info)
            do {
                _ = try await agent.dryRunOnce()
            } catch {
                throw Fatal(message: "listing the pods of node \(node.nodeName): \(error)")
            }
            return
        }
        // The kubelet API first: a port in use is a start-up error, not something to find out later.
        let store = PodStore()
        let journal = try await JournalReader.open()
        let certificate: ServingCertificate =
            if let cert = command.certFile, let key = command.keyFile {
                .files(certificate: cert, key: key)
            } else {
                .selfSigned(hosts: Array(Set([addresses.internalIP, addresses.externalIP, node.nodeName])).sorted())
            }
        let server: KubeletServer
        do {
            server = try await KubeletServer.start(
                KubeletServer.Configuration(port: command.port, certificate: certificate, clientCAFile: command.clientCAFile),
                logs: JournalContainerLogSource(ContainerLogs(systemd: systemd, journal: journal, userManager: command.userMode)),
                pods: store, stats: ResourceStats(systemd: systemd, nodeName: node.nodeName), metrics: exposition)
        } catch {
            throw Fatal(message: error.description)
        }
        if command.clientCAFile == nil {
            info("warning: the kubelet API on port \(server.port) has no --client-ca-file: anyone who reaches it can read every container's logs")
        }

        let controller = NodeController(
            client: client,
            parameters: NodeParameters(
                nodeName: node.nodeName, addresses: addresses, taint: !command.disableTaint, maxPods: command.maxPods,
                kubeletPort: server.port),
            facts: { HostFacts.read(stateDirectory: stateDirectory, systemdVersion: String(systemdVersion)) },
            health: {
                do {
                    _ = try await systemd.version()
                    return (true, "systemk is posting ready status")
                } catch {
                    return (false, "systemd cannot be reached: \(error)")
                }
            },
            log: info)
        // Register, trying again while the API server cannot be reached (a node that boots before its
        // control plane waits for it).
        var delay = 1
        while true {
            do {
                let registered = try await controller.register()
                info("registered node \(node.nodeName) (uid \(registered.metadata.uid ?? "?"))")
                break
            } catch {
                info("error: registering node \(node.nodeName): \(error); again in \(delay)s")
                try await Task.sleep(for: .seconds(delay))
                delay = min(30, delay * 2)
            }
        }

        let objects = ReferencedObjects(client: client, log: info)
        let tokens = ServiceAccountTokens(client: client, clusterCAPEM: client.configuration.certificateAuthorityPEM, log: info)
        let agent = LiveAgent(
            client: client, node: node, systemd: systemd, reconciler: reconciler, packages: packages, objects: objects,
            tokens: tokens, manifests: command.manifests, probes: HostProbeExecutor(),
            events: APIEventRecorder(client: client, node: node.nodeName, log: info), metrics: metrics, log: info,
            onPod: { pod, removed in
                if removed {
                    await store.remove(namespace: pod.metadata.namespace ?? "default", name: pod.metadata.name ?? "")
                } else if let raw = pod.raw {
                    try? await store.set(podJSON: Array(raw))
                }
            })
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await controller.run() }
            group.addTask {
                try await agent.run(ready: { count in
                    _ = ServiceNotifier.status("node \(node.nodeName): \(count) pod\(count == 1 ? "" : "s")")
                    _ = ServiceNotifier.ready()
                    info("ready: \(count) pod\(count == 1 ? "" : "s") bound to this node")
                })
            }
            if let interval = ServiceNotifier.watchdogInterval() {
                group.addTask {
                    // Fed only while the agent's actor gets to run.
                    while !Task.isCancelled {
                        await agent.heartbeat()
                        try await Task.sleep(for: interval)
                    }
                }
            }
            try await group.next()
            group.cancelAll()
        }
        await server.stop()
    }
}

extension ResourceStats: NodeStatsSource {}
extension MetricsExposition: AgentMetricsSource {}
