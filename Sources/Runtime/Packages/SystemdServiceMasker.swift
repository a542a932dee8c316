import Foundation

/// Masks a package's own service when systemk installed the package, so that only the pod runs the
/// program: the service is stopped and a link to /dev/null is put in the administrator's unit
/// directory (`/etc/systemd/system`), which outlives a reboot (a runtime mask would not, and package
/// scripts usually enable their service). A unit file an administrator put there is left alone.
public struct SystemdServiceMasker: ServiceMasker {
    let systemd: any SystemdManager
    let directory: String
    let metrics: AgentMetrics

    public init(systemd: any SystemdManager, directory: String = "/etc/systemd/system", metrics: AgentMetrics = .none) {
        self.systemd = systemd
        self.directory = directory
        self.metrics = metrics
    }

    public struct Refused: Error, CustomStringConvertible {
        public var description: String
    }

    public func mask(unit: String) async throws {
        guard UnitName.isValid(unit) else { throw Refused(description: "\(unit) is not a unit name") }
        try await systemd.stop([unit])
        let path = directory + "/" + unit
        if let existing = try? FileManager.default.destinationOfSymbolicLink(atPath: path), existing == "/dev/null" {
            return
        }
        guard !FileManager.default.fileExists(atPath: path) else {
            throw Refused(description: "\(path) exists: an administrator's unit file is left alone, so \(unit) is not masked")
        }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: "/dev/null")
        try await systemd.daemonReload()
        metrics.reloaded()
    }
}
