// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "systemk",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "PodCompiler", targets: ["PodCompiler"]),
        .executable(name: "systemk-render", targets: ["systemk-render"]),
    ],
    dependencies: [
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.1"),
    ],
    targets: [
        // Pure: manifest + package unit file + node facts -> Plan. Foundation and Yams only.
        .target(
            name: "PodCompiler",
            dependencies: [.product(name: "Yams", package: "Yams")]
        ),
        // The only part that touches the machine: systemd over sd-bus, the file system, packages.
        // (A module named `Runtime` collides with a toolchain module, hence the name.)
        .target(
            name: "SystemkRuntime",
            dependencies: ["PodCompiler"],
            path: "Sources/Runtime"
        ),
        .executableTarget(
            name: "systemk-render",
            dependencies: [
                "PodCompiler",
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
            name: "RuntimeAgentTests",
            dependencies: ["SystemkRuntime"]
        ),
        .testTarget(
            name: "RenderCLITests",
            dependencies: ["systemk-render"]
        ),
        .testTarget(
            name: "SystemdIntegrationTests",
            dependencies: ["PodCompiler"],
            path: "Tests/SystemdIntegrationTests",
            exclude: ["nsystemd.sh"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
