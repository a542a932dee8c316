// swift-tools-version:6.1
import PackageDescription

/// How systemk is linked, for its resident memory on a node (BENCHMARKS.md, "Link order"):
/// - with lld, which can lay functions out in a given order: the functions a profiled run executed
///   (`Sources/systemk/systemk.order`, made by `Benchmarks/link-order/run.sh`) come first and together,
///   so the code systemk runs fills a few MiB of pages instead of being scattered over 30 MiB of code that
///   the kernel maps 64 KiB at a time. It takes effect in builds with a section per function
///   (`scripts/build-release.sh`); names the build lacks are skipped.
///   The functions the compiler emits without a symbol, which no order can name, are laid out together
///   just before them (`Sources/systemk/private-code.ld`).
/// - relative relocations packed (`DT_RELR`, glibc 2.36): 3.5 MB of relocation records become 30 KB;
/// - no dynamic symbol table of systemk's own functions: the Swift runtime's link flags export them all
///   (`-export-dynamic`), which adds 4.5 MB that the loader reads and nothing looks up.
let systemkLinkFlags = [
    "-use-ld=lld",
    "-Xlinker", "--symbol-ordering-file=\(Context.packageDirectory)/Sources/systemk/systemk.order",
    "-Xlinker", "--no-warn-symbol-ordering",
    "-Xlinker", "-T\(Context.packageDirectory)/Sources/systemk/private-code.ld",
    "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs",
    "-Xlinker", "--no-export-dynamic",
]

let package = Package(
    name: "systemk",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "PodCompiler", targets: ["PodCompiler"]),
        .executable(name: "systemk-render", targets: ["systemk-render"]),
        .executable(name: "systemk", targets: ["systemk"]),
    ],
    dependencies: [
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.1"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    ],
    targets: [
        // Pure: manifest + package unit file + node facts -> Plan. Foundation and Yams only.
        .target(
            name: "PodCompiler",
            dependencies: [.product(name: "Yams", package: "Yams")]
        ),
        // libsystemd (sd-bus, sd-journal, sd-daemon); needs libsystemd-dev and pkg-config.
        .systemLibrary(
            name: "CSystemd",
            pkgConfig: "libsystemd",
            providers: [.apt(["libsystemd-dev"])]
        ),
        // The part that touches the machine and the cluster: systemd over sd-bus, the file system,
        // packages, the journal, and (live mode) the node and its pods in the API server.
        // (A module named `Runtime` collides with a toolchain module, hence the name.)
        .target(
            name: "SystemkRuntime",
            dependencies: [
                "PodCompiler",
                "CSystemd",
                "KubeClient",
                .product(name: "Logging", package: "swift-log"),
                // Probes: httpGet over AsyncHTTPClient, tcpSocket over NIO.
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                // systemk's own metrics (/metrics): counted through swift-metrics' API, kept and
                // written in Prometheus' text format by swift-prometheus.
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            path: "Sources/Runtime"
        ),
        .executableTarget(
            name: "systemk",
            dependencies: [
                "PodCompiler",
                "HostUnits",
                "SystemkRuntime",
                "KubeClient",
                "KubeletAPI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            exclude: ["systemk.order", "private-code.ld"],
            linkerSettings: [.unsafeFlags(systemkLinkFlags)]
        ),
        // What both executables read from the machine for the compiler: manifest files, installed
        // packages' unit files with their drop-ins, systemd's version. Foundation only, so that
        // systemk-render builds without libsystemd.
        .target(
            name: "HostUnits",
            dependencies: ["PodCompiler"]
        ),
        .executableTarget(
            name: "systemk-render",
            dependencies: [
                "PodCompiler",
                "HostUnits",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "systemk-bench",
            dependencies: ["PodCompiler", .product(name: "Yams", package: "Yams")],
            path: "Benchmarks/systemk-bench"
        ),
        .executableTarget(
            name: "systemk-live-bench", dependencies: ["KubeClient", "KubeTestServer", "SystemdTestSupport", "PodCompiler"],
            path: "Benchmarks/live", exclude: ["run.sh", "resident-pages.py", "async-frames.py"]),
        // What probing costs: N pods' probes run by systemk's prober against real targets (BENCHMARKS.md).
        .executableTarget(name: "systemk-probe-bench", dependencies: ["SystemkRuntime", "PodCompiler"], path: "Benchmarks/probes"),
        // The Kubernetes API client: kubeconfig, typed calls, watches. AsyncHTTPClient + NIOSSL because
        // Foundation's URLSession on Linux can neither present a client certificate nor stream a body.
        .target(
            name: "KubeClient",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        // Test support, not shipped: an API server with real semantics (resourceVersions, watches,
        // 410/409, selectors, graceful deletion, kubectl's discovery) and fault injection.
        .target(
            name: "KubeTestServer",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HummingbirdHTTP2", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The kubelet's HTTPS API on the node (logs for `kubectl logs`, /healthz, /pods), served from
        // the runtime's state; TLS with a given or a self-signed certificate, client certificates
        // checked against --client-ca-file.
        .target(
            name: "KubeletAPI",
            dependencies: [
                "SystemkRuntime",
                "PodCompiler",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "KubeletAPITests",
            dependencies: [
                "KubeletAPI",
                "KubeTestServer",
                "SystemkRuntime",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .testTarget(
            name: "KubeClientTests",
            dependencies: ["KubeClient", "KubeTestServer"]
        ),
        .testTarget(
            name: "KubeTestServerTests",
            dependencies: [
                "KubeTestServer",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "PodCompilerTests",
            dependencies: [
                "PodCompiler",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
        .testTarget(
            name: "GoldenTests",
            dependencies: ["PodCompiler"],
            path: "Tests/Golden",
            exclude: ["cases"]
        ),
        // Test support: a real systemd booted as PID 1 of a private PID+mount namespace, one per test.
        .target(
            name: "SystemdTestSupport",
            path: "Tests/SystemdTestSupport",
            exclude: ["nsystemd.sh"]
        ),
        .testTarget(
            name: "RuntimeTests",
            dependencies: ["SystemkRuntime", "CSystemd", "SystemdTestSupport"],
            path: "Tests/RuntimeTests"
        ),
        .testTarget(
            name: "RuntimeApplyTests",
            dependencies: ["SystemkRuntime", "PodCompiler", "KubeClient"],
            path: "Tests/RuntimeApplyTests"
        ),
        .testTarget(
            name: "RuntimeAgentTests",
            dependencies: ["SystemkRuntime", "PodCompiler"]
        ),
        // Live mode against the test API server (and, as root, a real systemd in a private namespace).
        .testTarget(
            name: "LiveTests",
            dependencies: ["SystemkRuntime", "KubeClient", "KubeTestServer", "SystemdTestSupport", "PodCompiler", "systemk"],
            path: "Tests/LiveTests"
        ),
        // The k3s kit (k3s/): its scripts against a test PKI and API server, its manifests compiled; and how
        // the systemk executable nodes run is linked (LinkLayoutTests).
        .testTarget(
            name: "KitTests",
            dependencies: ["KubeClient", "KubeTestServer", "PodCompiler"],
            path: "Tests/KitTests"
        ),
        .testTarget(
            name: "RenderCLITests",
            dependencies: ["systemk-render"]
        ),
        .testTarget(
            name: "SystemdIntegrationTests",
            dependencies: ["PodCompiler", "systemk", "SystemdTestSupport"],
            path: "Tests/SystemdIntegrationTests"
        ),
    ],
    swiftLanguageModes: [.v6]
)
