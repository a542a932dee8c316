// swift-tools-version:6.1
import PackageDescription

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
    ],
    targets: [
        // Pure: manifest + package unit file + node facts -> Plan. Foundation and Yams only.
        .target(
            name: "PodCompiler",
            dependencies: [.product(name: "Yams", package: "Yams")]
        ),
        // The only part that touches the machine: systemd over sd-bus, the file system, packages.
        // (A module named `Runtime` collides with a toolchain module, hence the name.)
        // libsystemd (sd-bus, sd-journal, sd-daemon); needs libsystemd-dev and pkg-config.
        .systemLibrary(
            name: "CSystemd",
            pkgConfig: "libsystemd",
            providers: [.apt(["libsystemd-dev"])]
        ),
        .target(
            name: "SystemkRuntime",
            dependencies: [
                "PodCompiler",
                "CSystemd",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/Runtime"
        ),
        .executableTarget(
            name: "systemk",
            dependencies: [
                "PodCompiler",
                "HostUnits",
                "SystemkRuntime",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
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
        .testTarget(
            name: "RuntimeTests",
            dependencies: ["SystemkRuntime", "CSystemd"],
            path: "Tests/RuntimeTests",
            exclude: ["Support/nsystemd.sh"]
        ),
        .testTarget(
            name: "RuntimeApplyTests",
            dependencies: ["SystemkRuntime", "PodCompiler"],
            path: "Tests/RuntimeApplyTests"
        ),
        .testTarget(
            name: "RuntimeAgentTests",
            dependencies: ["SystemkRuntime"]
        ),
        .testTarget(
            name: "RenderCLITests",
            dependencies: ["systemk-render"]
        ),
        .testTarget(
            name: "SystemdIntegrationTests",
            dependencies: ["PodCompiler", "systemk"],
            path: "Tests/SystemdIntegrationTests",
            exclude: ["nsystemd.sh"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
