import Foundation
import Synchronization
import Testing

@testable import SystemkRuntime

/// A pretend Debian node for `FakeRunner`: dpkg's database, apt's lists, the files of packages,
/// the `.deb` files behind URLs.
final class AptWorld: Sendable {
    let installed: Mutex<[String: String]>
    /// What apt's lists offer once they are up to date: name → version.
    let available: [String: String]
    let listsAreFresh: Mutex<Bool>
    let files: [String: [String]]
    /// URL → the package inside the `.deb` (and its version).
    let debs: [String: (package: String, version: String)]
    let updateFails: Bool

    init(
        installed: [String: String] = [:], available: [String: String] = [:], listsAreFresh: Bool = true,
        files: [String: [String]] = [:], debs: [String: (package: String, version: String)] = [:], updateFails: Bool = false
    ) {
        self.installed = Mutex(installed)
        self.available = available
        self.listsAreFresh = Mutex(listsAreFresh)
        self.files = files
        self.debs = debs
        self.updateFails = updateFails
    }

    func runner(policyRcD: String? = nil) -> FakeRunner {
        FakeRunner(policyRcD: policyRcD) { command in self.handle(command) }
    }

    func handle(_ command: Command) -> CommandResult {
        let args = command.arguments
        switch (command.executable, args.first) {
        case ("/usr/bin/dpkg-query", "--show"):
            let name = args.last ?? ""
            if let version = installed.withLock({ $0[name] }) { return FakeRunner.ok(["installed\t\(version)"]) }
            return FakeRunner.fail(1, ["dpkg-query: no packages found matching \(name)"])
        case ("/usr/bin/dpkg-query", "--listfiles"):
            let name = args.last ?? ""
            guard installed.withLock({ $0[name] }) != nil else { return FakeRunner.fail(1, ["dpkg-query: package '\(name)' is not installed"]) }
            return FakeRunner.ok(files[name] ?? ["/.", "/usr/bin/\(name)"])
        case ("/usr/bin/apt-get", "update"):
            if updateFails { return FakeRunner.fail(100, ["W: Failed to fetch http://deb.debian.org/debian/dists/bookworm/InRelease", "E: Some index files failed to download."]) }
            listsAreFresh.withLock { $0 = true }
            return FakeRunner.ok(["Reading package lists..."])
        case ("/usr/bin/apt-get", "install"):
            let target = args.last ?? ""
            if target.hasSuffix(".deb"), let data = FileManager.default.contents(atPath: target) {
                let url = String(decoding: data, as: UTF8.self)
                guard let deb = debs[url] else { return FakeRunner.fail(100, ["E: Invalid archive"]) }
                installed.withLock { $0[deb.package] = deb.version }
                return FakeRunner.ok(["Setting up \(deb.package) (\(deb.version)) ..."])
            }
            let parts = target.split(separator: "=", maxSplits: 1).map(String.init)
            let name = parts[0]
            guard listsAreFresh.withLock({ $0 }), let version = available[name] else {
                return FakeRunner.fail(100, ["Reading package lists...", "E: Unable to locate package \(name)"])
            }
            if parts.count == 2, parts[1] != version {
                return FakeRunner.fail(100, ["E: Version '\(parts[1])' for '\(name)' was not found"])
            }
            installed.withLock { $0[name] = version }
            return FakeRunner.ok(["Unpacking \(name) (\(version)) ...", "Setting up \(name) (\(version)) ..."])
        case ("/usr/bin/dpkg-deb", "--field"):
            guard let data = FileManager.default.contents(atPath: args[1]), let deb = debs[String(decoding: data, as: UTF8.self)] else {
                return FakeRunner.fail(2, ["dpkg-deb: error: '\(args[1])' is not a Debian format archive"])
            }
            return FakeRunner.ok([deb.package])
        case ("/usr/bin/curl", _):
            guard let output = args.firstIndex(of: "--output").map({ args[$0 + 1] }), let url = args.last else { return FakeRunner.fail(2, []) }
            guard debs[url] != nil || url.contains("mismatch") else { return FakeRunner.fail(22, ["curl: (22) The requested URL returned error: 404"]) }
            writeText(output, url)
            return FakeRunner.ok()
        default:
            return FakeRunner.fail(127, ["unexpected command \(command)"])
        }
    }
}
