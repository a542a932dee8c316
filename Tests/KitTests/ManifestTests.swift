import Foundation
import PodCompiler
import Testing

/// The kit's manifests (k3s/*.yaml): each parses, each pod and pod template compiles as a systemk node
/// would compile it, and each is meant for systemk nodes (tolerates the taint, selects the label).
@Suite struct ManifestTests {
    static let manifests = KitPaths.kitFiles(suffix: ".yaml")

    /// A node as live mode compiles for: a name, addresses, the API server for KUBERNETES_SERVICE_*.
    static let node = NodeFacts(
        nodeName: "n1", internalIP: "10.0.0.21", externalIP: "203.0.113.21", systemdVersion: 252,
        kubernetesServiceHost: "10.0.0.1", kubernetesServicePort: 6443, serviceAccountTokens: true)

    /// Kinds that are for the API server alone: the compiler notes and skips them.
    static let apiOnlyKinds: Set<String> = ["Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding"]

    static func load(_ file: String) throws -> ManifestSet {
        var set = ManifestSet()
        let data = try [UInt8](Data(contentsOf: URL(fileURLWithPath: file)))
        try set.add(data, file: (file as NSString).lastPathComponent)
        return set
    }

    /// The Debian packages a manifest's images name.
    static func packages(_ set: ManifestSet) -> Set<String> {
        var names: Set<String> = []
        for entry in set.pods {
            for container in (entry.pod.spec.initContainers ?? []) + entry.pod.spec.containers {
                guard let image = container.image, case let .success(reference) = ImageReference.parse(image),
                    let package = reference.packageName
                else { continue }
                names.insert(package)
            }
        }
        return names
    }

    /// The package's real unit from examples/units when there is one, else a minimal one.
    static func packageUnit(_ package: String) throws -> PackageUnit {
        let path = KitPaths.exampleUnits + "/\(package).service"
        if FileManager.default.fileExists(atPath: path) {
            return PackageUnit(path: path, unit: try UnitFile.parse(String(contentsOfFile: path, encoding: .utf8), fileName: path))
        }
        let text = "[Service]\nExecStart=/usr/bin/\(package)\n"
        return PackageUnit(path: "/lib/systemd/system/\(package).service", unit: try UnitFile.parse(text))
    }

    @Test func theKitHasItsManifests() {
        let names = Self.manifests.map { ($0 as NSString).lastPathComponent }
        for expected in ["coredns.yaml", "openssh-server.yaml", "prometheus.yaml", "uptimed.yaml", "web.yaml"] {
            #expect(names.contains(expected), "k3s/\(expected) is missing")
        }
    }

    @Test(arguments: manifests.map { ($0 as NSString).lastPathComponent })
    func compilesWithAndWithoutThePackagesUnits(_ name: String) throws {
        let set = try Self.load(KitPaths.kit + "/" + name)
        #expect(!set.pods.isEmpty, "\(name) has no pod")
        for note in set.skipped {
            #expect(Self.apiOnlyKinds.contains { note.contains("kind \($0) is not rendered") },
                    "\(name): only API-server kinds may be skipped: \(note)")
        }
        // As on a node where the packages are installed (their unit files), and where none is known.
        var units: [String: PackageUnit] = [:]
        for package in Self.packages(set) { units[package] = try Self.packageUnit(package) }
        for packageUnits in [units, [:]] {
            switch set.compile(packageUnits: packageUnits, node: Self.node) {
            case .success(let plan):
                #expect(plan.pods.count == set.pods.count)
                for pod in plan.pods {
                    #expect(!pod.units.isEmpty)
                    // A mount point outside /tmp, /var, /run, /home and /root must exist on the node:
                    // only the ones a package or every Debian system provides.
                    for check in pod.hostPathChecks where check.type == "MountPoint" {
                        #expect(["/etc/prometheus", "/home"].contains(check.path),
                                "\(name): pod \(pod.name) needs \(check.path) to exist on the node")
                    }
                }
            case .failure(let errors):
                Issue.record("\(name) does not compile (\(packageUnits.isEmpty ? "no" : "with") package units):\n\(errors)")
            }
        }
    }

    /// Every pod of the kit is meant for systemk nodes: it tolerates their taint and selects them.
    @Test(arguments: manifests.map { ($0 as NSString).lastPathComponent })
    func everyPodToleratesTheTaintAndSelectsSystemkNodes(_ name: String) throws {
        let set = try Self.load(KitPaths.kit + "/" + name)
        for entry in set.pods {
            let what = "\(name): \(entry.source.object ?? entry.pod.name)"
            let spec = try #require(entry.source.node?["spec"], "\(what) has no spec")
            let selector = spec["nodeSelector"]
            #expect(selector?["node.kubernetes.io/instance-type"]?.scalarText == "systemk"
                    || selector?["type"]?.scalarText == "virtual-kubelet",
                    "\(what) must select systemk nodes (node.kubernetes.io/instance-type: systemk)")
            guard case .sequence(let tolerations)? = spec["tolerations"]?.kind else {
                Issue.record("\(what) has no tolerations")
                continue
            }
            let tolerates = tolerations.contains { t in
                t["key"]?.scalarText == "virtual-kubelet.io/provider"
                    && (t["effect"]?.scalarText ?? "NoSchedule") == "NoSchedule"
                    && (t["operator"]?.scalarText == "Exists" || t["value"]?.scalarText == "systemk")
            }
            #expect(tolerates, "\(what) must tolerate virtual-kubelet.io/provider=systemk:NoSchedule")
        }
    }

    /// Host networking: a workload with several pods must give the scheduler its ports as host ports,
    /// or two replicas on one node would fight over them.
    @Test func replicatedWorkloadsDeclareHostPorts() throws {
        for file in Self.manifests {
            let set = try Self.load(file)
            for entry in set.pods where (entry.source.object ?? "").hasPrefix("Deployment")
                || (entry.source.object ?? "").hasPrefix("StatefulSet")
            {
                let ports = entry.pod.spec.containers.flatMap { $0.ports ?? [] }
                #expect(ports.contains { ($0.hostPort ?? 0) != 0 },
                        "\(file): \(entry.source.object ?? "") declares no hostPort")
            }
        }
    }

    @Test func theWebDeploymentSpreadsItsReplicasOnePerNode() throws {
        let set = try Self.load(KitPaths.kit + "/web.yaml")
        let deployment = try #require(set.pods.first { $0.source.object == "Deployment default/web" })
        let document = try #require(try ManifestReader().read(String(contentsOfFile: KitPaths.kit + "/web.yaml", encoding: .utf8), file: "web.yaml")
            .first { $0["kind"]?.scalarText == "Deployment" })
        #expect(document["spec"]?["replicas"]?.scalarText == "3")
        #expect(document["spec"]?["strategy"]?["rollingUpdate"]?["maxSurge"]?.scalarText == "0")
        #expect(deployment.pod.spec.containers.first?.ports?.first?.hostPort == 8080)
    }
}
