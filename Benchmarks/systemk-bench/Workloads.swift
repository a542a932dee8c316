import Foundation
import PodCompiler

/// One benchmark input: a manifest file as bytes, what compiling it needs besides the manifest, and
/// what a correct render of it must look like. Built in the program, deterministically: the same
/// bytes on every run and every machine.
struct Workload {
    var name: String
    /// A short description for the report.
    var summary: String
    var fileName: String
    var manifest: [UInt8]
    var packageUnits: [String: PackageUnit]
    var node: NodeFacts
    var expected: Expectation
}

/// What a correct render of a workload holds. Checked once in full before any timing, and in part on
/// every timed iteration, so that a benchmark never times an error path.
struct Expectation {
    /// Non-empty documents in the manifest (the pod and the ConfigMaps and Secrets it uses).
    var documents: Int
    /// Unit names in start order.
    var unitNames: [String]
    var probes: Int
    /// `BindPaths=` plus `BindReadOnlyPaths=` lines of the form `SOURCE:DESTINATION` over all units:
    /// volume mounts and service-account tokens.
    var bindLines: Int
    /// `Environment=` lines over all units (plain values only; secret values go to a file).
    var environmentLines: Int
    /// Units with an `EnvironmentFile=` (containers with a secret in their environment).
    var environmentFiles: Int
    /// Planned files with bytes known at compile time that come from ConfigMap, Secret, downwardAPI
    /// and projected volumes.
    var volumeFiles: Int
    var tmpfsMounts: Int
}

/// Node facts shared by both workloads: a cluster node with an API server, so service-account
/// tokens and KUBERNETES_SERVICE_* are part of the work, as they are on a real node.
let benchmarkNode = NodeFacts(
    nodeName: "node-1", internalIP: "10.0.0.10", systemdVersion: 252, stateDirectory: "/var/lib/systemk",
    kubernetesServiceHost: "10.43.0.1", kubernetesServicePort: 443, serviceAccountTokens: true,
    allocatableMilliCPU: 4000, allocatableMemory: 8 << 30)

/// Variables every container gets before its own: HOSTNAME, KUBERNETES_SERVICE_HOST and _PORT,
/// SYSTEMK_NODE_INTERNAL_IP (see EnvironmentLowering).
let implicitEnvironment = 4

/// Package unit files as Debian ships them (trimmed of comments). Parsed once, outside the timed
/// loops: the agent reads a package's unit file once per package, not once per render.
enum PackageUnitTexts {
    static let nodeExporter = """
        [Unit]
        Description=Prometheus exporter for machine metrics
        Documentation=https://github.com/prometheus/node_exporter

        [Service]
        Restart=on-failure
        User=prometheus
        EnvironmentFile=/etc/default/prometheus-node-exporter
        ExecStart=/usr/bin/prometheus-node-exporter $ARGS
        ExecReload=/bin/kill -HUP $MAINPID
        TimeoutStopSec=20s
        SendSIGKILL=no

        [Install]
        WantedBy=multi-user.target

        """

    static let nginx = """
        [Unit]
        Description=A high performance web server and a reverse proxy server
        Documentation=man:nginx(8)
        After=network.target nss-lookup.target

        [Service]
        Type=forking
        PIDFile=/run/nginx.pid
        ExecStartPre=/usr/sbin/nginx -t -q -g 'daemon on; master_process on;'
        ExecStart=/usr/sbin/nginx -g 'daemon on; master_process on;'
        ExecReload=/usr/sbin/nginx -g 'daemon on; master_process on;' -s reload
        ExecStop=-/sbin/start-stop-daemon --quiet --stop --retry QUIT/5 --pidfile /run/nginx.pid
        TimeoutStopSec=5
        KillMode=mixed

        [Install]
        WantedBy=multi-user.target

        """

    static let redis = """
        [Unit]
        Description=Advanced key-value store
        After=network.target
        Documentation=http://redis.io/documentation, man:redis-server(1)

        [Service]
        Type=notify
        ExecStart=/usr/bin/redis-server /etc/redis/redis.conf --supervised systemd --daemonize no
        PIDFile=/run/redis/redis-server.pid
        TimeoutStopSec=0
        Restart=always
        User=redis
        Group=redis
        RuntimeDirectory=redis
        RuntimeDirectoryMode=2755
        UMask=007
        PrivateTmp=yes
        LimitNOFILE=65535
        PrivateDevices=yes
        ProtectHome=yes
        ReadOnlyDirectories=/
        ReadWriteDirectories=-/var/lib/redis
        ReadWriteDirectories=-/var/log/redis
        ReadWriteDirectories=-/var/run/redis
        NoNewPrivileges=true
        CapabilityBoundingSet=CAP_SETGID CAP_SETUID CAP_SYS_RESOURCE
        MemoryDenyWriteExecute=true
        ProtectKernelModules=true
        ProtectKernelTunables=true
        ProtectControlGroups=true
        RestrictRealtime=true
        RestrictNamespaces=true
        RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX
        ProtectSystem=true
        ReadWriteDirectories=-/etc/redis

        [Install]
        WantedBy=multi-user.target

        """

    static func parsed(package: String, text: String) throws -> PackageUnit {
        let path = "/lib/systemd/system/\(package).service"
        return PackageUnit(path: path, unit: try UnitFile.parse(text, fileName: path))
    }
}

/// (a) A typical pod: one container whose package ships a unit file, four env vars (one from the
/// downward API), a ConfigMap volume, requests and limits, a readiness probe; the ConfigMap is a
/// second document of the same file, as `kubectl apply -f` users write it.
func typicalPod() throws -> Workload {
    let yaml = """
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: node-exporter-textfiles
          namespace: monitoring
        data:
          node-role.prom: |
            node_role{role="edge"} 1
          build-info.prom: |
            systemk_build_info{version="0.1.0"} 1
        ---
        apiVersion: v1
        kind: Pod
        metadata:
          name: node-exporter
          namespace: monitoring
          labels:
            app.kubernetes.io/name: node-exporter
            app.kubernetes.io/part-of: monitoring
        spec:
          containers:
          - name: node-exporter
            image: prometheus-node-exporter
            args:
            - --web.listen-address=:9100
            - --collector.textfile.directory=/etc/node-exporter/textfiles
            env:
            - name: GOMAXPROCS
              value: "1"
            - name: NODE_NAME
              valueFrom:
                fieldRef:
                  fieldPath: spec.nodeName
            - name: LOG_LEVEL
              value: info
            - name: LISTEN_ADDRESS
              value: ":9100"
            ports:
            - name: metrics
              containerPort: 9100
            resources:
              requests:
                cpu: 100m
                memory: 64Mi
              limits:
                cpu: 500m
                memory: 128Mi
            volumeMounts:
            - name: textfiles
              mountPath: /etc/node-exporter/textfiles
              readOnly: true
            readinessProbe:
              httpGet:
                path: /metrics
                port: metrics
              periodSeconds: 15
          volumes:
          - name: textfiles
            configMap:
              name: node-exporter-textfiles

        """
    return Workload(
        name: "typical",
        summary: "1 container on a package unit file, 4 env vars, 1 ConfigMap volume, resources, 1 probe",
        fileName: "typical.yaml",
        manifest: Array(yaml.utf8),
        packageUnits: ["prometheus-node-exporter": try PackageUnitTexts.parsed(package: "prometheus-node-exporter", text: PackageUnitTexts.nodeExporter)],
        node: benchmarkNode,
        expected: Expectation(
            documents: 2,
            unitNames: ["systemk.monitoring.node-exporter.node-exporter.service"],
            probes: 1,
            bindLines: 2,  // the ConfigMap volume and the service-account token
            environmentLines: implicitEnvironment + 4,
            environmentFiles: 0,
            volumeFiles: 2,
            tmpfsMounts: 0))
}
