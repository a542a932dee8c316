import Foundation
import PodCompiler

/// (b) A large pod: 20 containers (an init container, a sidecar and 18 app containers), 50 volumes of
/// every supported kind, 200 env vars (10 per container, of every kind of source), with the 5
/// ConfigMaps and 3 Secrets it uses in the same file. Every volume is mounted at least once, so every
/// volume is materialized.
func largePod() throws -> Workload {
    let gen = LargePodGenerator()
    return Workload(
        name: "large",
        summary: "\(gen.containerCount) containers, \(gen.volumeCount) volumes of 8 kinds, \(gen.containerCount * gen.envPerContainer) env vars, 8 ConfigMaps/Secrets",
        fileName: "large.yaml",
        manifest: Array(gen.manifest().utf8),
        packageUnits: [
            "nginx": try PackageUnitTexts.parsed(package: "nginx", text: PackageUnitTexts.nginx),
            "prometheus-node-exporter": try PackageUnitTexts.parsed(package: "prometheus-node-exporter", text: PackageUnitTexts.nodeExporter),
            "redis-server": try PackageUnitTexts.parsed(package: "redis-server", text: PackageUnitTexts.redis),
        ],
        node: benchmarkNode,
        expected: gen.expectation())
}

/// Writes the large pod's manifest and counts, as it writes, what the compiler must produce from it.
struct LargePodGenerator {
    let containerCount = 20
    let volumeCount = 50
    let envPerContainer = 10
    let configMapCount = 5
    let secretCount = 3
    let keysPerConfigMap = 4
    let keysPerSecret = 3

    enum VolumeKind: CaseIterable {
        case emptyDir, memoryEmptyDir, hostPath, configMap, configMapItems, secret, downwardAPI, projected
    }

    func kind(ofVolume v: Int) -> VolumeKind { VolumeKind.allCases[v % VolumeKind.allCases.count] }
    func volumeName(_ v: Int) -> String { String(format: "vol-%02d", v) }

    /// Container c in start order: 0 is a plain init container, 1 a sidecar, the rest app containers.
    func containerName(_ c: Int) -> String {
        switch c {
        case 0: return "init-setup"
        case 1: return "log-shipper"
        default: return String(format: "app-%02d", c - 2)
        }
    }

    /// Volumes container c mounts: every volume v with v % containers == c, and the shared scratch
    /// volume 0 in every container.
    func mounts(ofContainer c: Int) -> [Int] {
        var out = stride(from: c, to: volumeCount, by: containerCount).map { $0 }
        if c != 0 { out.insert(0, at: 0) }
        return out
    }

    // MARK: Manifest

    func manifest() -> String {
        var docs: [String] = []
        for i in 0..<configMapCount { docs.append(configMap(i)) }
        for i in 0..<secretCount { docs.append(secret(i)) }
        docs.append(pod())
        return docs.joined(separator: "---\n")
    }

    func configMap(_ i: Int) -> String {
        var out = """
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: app-config-\(i)
              namespace: shop
            data:

            """
        for k in 0..<keysPerConfigMap {
            out += "  key-\(k).conf: |\n"
            for line in 0..<8 {
                out += "    # setting \(line) of file \(k) in config \(i)\n    option_\(line) = \"value \(i * 100 + k * 10 + line)\"\n"
            }
        }
        return out
    }

    func secret(_ i: Int) -> String {
        func b64(_ s: String) -> String { Data(s.utf8).base64EncodedString() }
        return """
            apiVersion: v1
            kind: Secret
            metadata:
              name: app-secret-\(i)
              namespace: shop
            type: Opaque
            data:
              username: \(b64("service-user-\(i)"))
              password: \(b64("correct horse battery staple \(i)"))
              token: \(b64(String(repeating: "t0k3n-\(i)-", count: 8)))

            """
    }

    func pod() -> String {
        var out = """
            apiVersion: v1
            kind: Pod
            metadata:
              name: storefront
              namespace: shop
              uid: 3f0c9a52-6a1e-4c8b-9d55-0c2b7e1f4a10
              labels:
                app.kubernetes.io/name: storefront
                app.kubernetes.io/part-of: shop
                app.kubernetes.io/version: "2.14.1"
                tier: backend
              annotations:
                example.com/owner: team-shop
                example.com/description: "the shop's storefront, with its caches and workers"
            spec:
              restartPolicy: Always
              terminationGracePeriodSeconds: 45
              securityContext:
                fsGroup: 2000
                supplementalGroups: [3000, 3001]
              initContainers:

            """
        out += container(0)
        out += container(1)
        out += "  containers:\n"
        for c in 2..<containerCount { out += container(c) }
        out += "  volumes:\n"
        for v in 0..<volumeCount { out += volume(v) }
        return out
    }

    func container(_ c: Int) -> String {
        let name = containerName(c)
        var out = "  - name: \(name)\n"
        switch c {
        case 0:
            out += """
                    image: /bin/sh
                    command: ["/bin/sh", "-c", "mkdir -p /var/lib/app/vol-00/cache && echo ready > /var/lib/app/vol-00/ready"]

                """
        case 1:
            out += """
                    image: /usr/local/bin/log-shipper
                    restartPolicy: Always
                    args: ["--from", "/var/lib/app/vol-00/logs", "--to", "https://logs.example.com/ingest"]

                """
        default:
            switch c % 4 {
            case 0:
                out += "    image: nginx\n"
            case 1:
                out += """
                        image: prometheus-node-exporter=1.5.0-1+b6
                        args: ["--web.listen-address=:\(8000 + c)", "--collector.textfile.directory=/etc/app/\(volumeName(c))"]

                    """
            case 2:
                out += """
                        image: redis-server
                        command: ["/usr/bin/redis-server"]
                        args: ["--port", "\(8000 + c)", "--maxmemory", "$(MAXMEMORY_MB)mb", "--dir", "/var/lib/app/\(volumeName(c))"]

                    """
            default:
                out += """
                        image: /usr/local/bin/worker-\(c)
                        args: ["--queue", "orders-$(POD_NAME)", "--listen", ":\(8000 + c)", "--verbose"]

                    """
            }
            out += """
                    ports:
                    - name: http
                      containerPort: \(8000 + c)
                    - name: admin
                      containerPort: \(9000 + c)
                      protocol: TCP
                    readinessProbe:
                      httpGet:
                        path: /healthz
                        port: http
                      periodSeconds: 5
                    livenessProbe:
                      tcpSocket:
                        port: \(9000 + c)
                      initialDelaySeconds: 10

                """
        }
        if c == 1 {
            out += """
                    livenessProbe:
                      exec:
                        command: ["/usr/local/bin/log-shipper", "--check"]

                """
        }
        out += """
                resources:
                  requests:
                    cpu: \(50 + c * 5)m
                    memory: \(32 + c)Mi
                  limits:
                    cpu: "\(c % 2 == 0 ? "1" : "250m")"
                    memory: \(256 + c * 16)Mi
                securityContext:
                  runAsUser: \(1000 + c)
                  runAsGroup: 1000
                  allowPrivilegeEscalation: false
                  capabilities:
                    drop: ["ALL"]
                    add: ["NET_BIND_SERVICE"]
                env:

            """
        out += environment(c)
        out += "    volumeMounts:\n"
        for v in mounts(ofContainer: c) {
            let base = kind(ofVolume: v) == .configMap ? "/etc/app" : "/var/lib/app"
            out += "    - name: \(volumeName(v))\n      mountPath: \(base)/\(volumeName(v))\n"
            if v % 5 == 4 { out += "      readOnly: true\n" }
        }
        return out
    }

    /// Ten variables per container, from every kind of source; the sixth comes from a Secret.
    func environment(_ c: Int) -> String {
        let prefix = "ENV_\(c)"
        var out = ""
        for k in 0..<envPerContainer {
            let name = k == 0 ? "POD_NAME" : (k == 1 ? "MAXMEMORY_MB" : "\(prefix)_\(k)")
            out += "    - name: \(name)\n"
            switch k {
            case 0:
                out += "      valueFrom:\n        fieldRef:\n          fieldPath: metadata.name\n"
            case 1:
                out += "      valueFrom:\n        resourceFieldRef:\n          resource: limits.memory\n          divisor: 1Mi\n"
            case 2:
                out += "      value: \"plain value \(c)\"\n"
            case 3:
                out += "      value: \"$(POD_NAME)-\(c)-$(\(prefix)_2)\"\n"
            case 4:
                out += "      valueFrom:\n        fieldRef:\n          fieldPath: status.podIP\n"
            case 5:
                out += "      valueFrom:\n        secretKeyRef:\n          name: app-secret-\(c % secretCount)\n          key: password\n"
            case 6:
                out += "      valueFrom:\n        configMapKeyRef:\n          name: app-config-\(c % configMapCount)\n          key: key-1.conf\n"
            case 7:
                out += "      value: 'say \"hello\" to 100% of \\users\\ at $HOME'\n"
            case 8:
                out += "      valueFrom:\n        fieldRef:\n          fieldPath: metadata.labels['app.kubernetes.io/version']\n"
            default:
                out += "      value: \"\(k)\"\n"
            }
        }
        return out
    }

    func volume(_ v: Int) -> String {
        var out = "  - name: \(volumeName(v))\n"
        switch kind(ofVolume: v) {
        case .emptyDir:
            out += "    emptyDir: {}\n"
        case .memoryEmptyDir:
            out += "    emptyDir:\n      medium: Memory\n      sizeLimit: 64Mi\n"
        case .hostPath:
            out += "    hostPath:\n      path: /srv/shop/\(volumeName(v))\n      type: DirectoryOrCreate\n"
        case .configMap:
            out += "    configMap:\n      name: app-config-\(v % configMapCount)\n"
        case .configMapItems:
            out += """
                    configMap:
                      name: app-config-\(v % configMapCount)
                      defaultMode: 420
                      items:
                      - key: key-0.conf
                        path: conf/main.conf
                      - key: key-2.conf
                        path: conf/extra.conf
                        mode: 384

                """
        case .secret:
            out += "    secret:\n      secretName: app-secret-\(v % secretCount)\n      defaultMode: 256\n"
        case .downwardAPI:
            out += """
                    downwardAPI:
                      items:
                      - path: labels
                        fieldRef:
                          fieldPath: metadata.labels
                      - path: name
                        fieldRef:
                          fieldPath: metadata.name
                      - path: cpu_limit
                        resourceFieldRef:
                          containerName: app-00
                          resource: limits.cpu
                          divisor: 1m

                """
        case .projected:
            out += """
                    projected:
                      defaultMode: 288
                      sources:
                      - configMap:
                          name: app-config-\(v % configMapCount)
                          items:
                          - key: key-3.conf
                            path: app.conf
                      - secret:
                          name: app-secret-\(v % secretCount)
                          items:
                          - key: token
                            path: credentials/token
                      - downwardAPI:
                          items:
                          - path: namespace
                            fieldRef:
                              fieldPath: metadata.namespace
                      - serviceAccountToken:
                          path: sa/token
                          expirationSeconds: 3600
                          audience: shop

                """
        }
        return out
    }

    // MARK: Expectation

    /// Counts what a correct render holds, from the same parameters the manifest was written from.
    func expectation() -> Expectation {
        var bindLines = 0
        var probes = 0
        var shared = Set<Int>()
        var volumeFiles = 0
        for c in 0..<containerCount {
            bindLines += mounts(ofContainer: c).count + 1  // + the service-account token
            probes += c >= 2 ? 2 : (c == 1 ? 1 : 0)
            for v in mounts(ofContainer: c) {
                switch kind(ofVolume: v) {
                case .emptyDir, .memoryEmptyDir, .hostPath: break
                // Shared volumes are written once per pod; volumes with secrets once per container.
                case .configMap: if shared.insert(v).inserted { volumeFiles += keysPerConfigMap }
                case .configMapItems: if shared.insert(v).inserted { volumeFiles += 2 }
                case .downwardAPI: if shared.insert(v).inserted { volumeFiles += 3 }
                case .secret: volumeFiles += keysPerSecret
                case .projected: volumeFiles += 3  // + the token, filled in by the runtime
                }
            }
        }
        return Expectation(
            documents: configMapCount + secretCount + 1,
            unitNames: (0..<containerCount).map { "systemk.shop.storefront.\(containerName($0)).service" },
            probes: probes,
            bindLines: bindLines,
            // One variable of each container comes from a Secret: it goes to the environment file.
            environmentLines: containerCount * (implicitEnvironment + envPerContainer - 1),
            environmentFiles: containerCount,
            volumeFiles: volumeFiles,
            tmpfsMounts: (0..<volumeCount).filter { kind(ofVolume: $0) == .memoryEmptyDir }.count)
    }
}
