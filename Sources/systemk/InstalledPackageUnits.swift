import Foundation
import HostUnits
import PodCompiler
import SystemkRuntime

/// Package unit files for standalone mode: the unit an installed package ships (with its drop-ins).
/// A package that is not installed is installed first by the node's package manager (one at a time;
/// its own service masked, since systemk installed it), unless this is a dry run.
struct InstalledPackageUnits: PackageUnitSource {
    let packages: (any PackageManager)?

    func packageUnit(for image: ImageReference, installing: @Sendable () async -> Void) async throws -> PackageUnit? {
        guard let package = image.packageName else { return nil }
        if let unit = Inputs.installedUnit(package: package) { return unit }
        guard let packages, Inputs.packageFiles(package).isEmpty else { return nil }
        await installing()
        let installed = try await packages.install(image)
        return Inputs.installedUnit(package: installed.package ?? package)
    }
}
