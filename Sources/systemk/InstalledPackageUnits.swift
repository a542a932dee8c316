import Foundation
import HostUnits
import PodCompiler
import SystemkRuntime

/// Package unit files for standalone mode: the unit an installed package ships (with its drop-ins).
/// Packages that are not installed are installed with apt-get first, one at a time, unless this is a
/// dry run; the package's own service is masked when systemk installed the package, so only the pod
/// runs it (a service that was there before is left alone).
actor InstalledPackageUnits: PackageUnitSource {
    let install: Bool
    let systemd: (any SystemdManager)?
    let log: @Sendable (String) -> Void

    init(install: Bool, systemd: (any SystemdManager)?, log: @escaping @Sendable (String) -> Void) {
        self.install = install
        self.systemd = systemd
        self.log = log
    }

    struct InstallFailed: Error, CustomStringConvertible {
        var description: String
    }

    func packageUnit(for image: ImageReference) async throws -> PackageUnit? {
        guard let package = image.packageName else { return nil }
        if let unit = Inputs.installedUnit(package: package) { return unit }
        guard install, Inputs.packageFiles(package).isEmpty else { return nil }
        let argument: String
        switch image {
        case let .package(name, version): argument = version.map { "\(name)=\($0)" } ?? name
        case let .deb(url, _): throw InstallFailed(description: "installing \(url) needs a download, which standalone mode does not do yet; install it with apt and restart")
        case .path: return nil
        }
        log("installing package \(argument)")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/apt-get")
        p.arguments = ["install", "-y", "--no-install-recommends", argument]
        var env = ProcessInfo.processInfo.environment
        env["DEBIAN_FRONTEND"] = "noninteractive"
        p.environment = env
        p.standardInput = FileHandle.nullDevice
        let output = Pipe()
        p.standardOutput = output
        p.standardError = output
        try p.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        for line in text.split(separator: "\n").suffix(20) { log("apt-get: \(line)") }
        guard p.terminationStatus == 0 else {
            throw InstallFailed(description: "apt-get install \(argument) failed with status \(p.terminationStatus)")
        }
        guard let unit = Inputs.installedUnit(package: package) else { return nil }
        let name = (unit.path as NSString).lastPathComponent
        if let systemd {
            try await systemd.stop([name])
            try await systemd.mask([name])
            try await systemd.daemonReload()
            log("masked \(name): package \(package) was installed by systemk, its pods run it")
        }
        return unit
    }
}
