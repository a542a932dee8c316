import Foundation
import Testing

/// node-credentials.sh and scrape-credentials.sh source k3s/lib/credentials.sh from beside themselves: the
/// k3s/ folder copied anywhere (as docs/live.md says to) works from any working directory, and a script
/// copied without the library says what is missing.
@Suite(.enabled(if: Tools.canMint, "bash and openssl are needed: apt-get install bash openssl"))
struct CredentialsLibraryTests {
    static let scripts = [KitPaths.nodeCredentials, KitPaths.scrapeCredentials]

    /// What each script is given to mint, and what its success looks like on stdout.
    static func mint(_ script: String, tls: K3sTLSDirectory) -> (arguments: [String], says: String) {
        script == KitPaths.nodeCredentials
            ? (["--tls-dir", tls.path, "--server", "https://10.0.0.1:6443", "n1", "10.0.0.5"], "Wrote ./n1/ for node n1")
            : (["--tls-dir", tls.path], "kind: Secret")
    }

    @Test(arguments: scripts)
    func runsFromACopyOfTheKitFolderInAnotherWorkingDirectory(_ script: String) throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let tls = try K3sTLSDirectory.minted(in: scratch)
        try FileManager.default.createDirectory(atPath: scratch.path + "/server", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: KitPaths.kit, toPath: scratch.path + "/server/k3s")
        try FileManager.default.createDirectory(atPath: scratch.path + "/work/tmp", withIntermediateDirectories: true)
        let name = (script as NSString).lastPathComponent
        let (arguments, says) = Self.mint(script, tls: tls)
        // A relative path to the script, from a folder that is neither the kit's nor its parent.
        let environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("SYSTEMK_K3S_") }
            .merging(["TMPDIR": scratch.path + "/work/tmp"]) { $1 }
        let r = try run(Tools.bash ?? "/bin/bash", ["../server/k3s/" + name] + arguments, environment: environment,
                        directory: scratch.path + "/work")
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout.contains(says), "\(r)")
    }

    @Test(arguments: scripts)
    func saysTheLibraryIsMissingWhenCopiedWithoutIt(_ script: String) throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let name = (script as NSString).lastPathComponent
        try FileManager.default.copyItem(atPath: script, toPath: scratch.path + "/" + name)
        let r = try run(Tools.bash ?? "/bin/bash", [scratch.path + "/" + name, "--help"], directory: scratch.path)
        #expect(r.status == 1, "\(r)")
        #expect(r.stdout.isEmpty, "\(r)")
        #expect(r.stderr.hasPrefix("\(name): cannot read "), "\(r)")
        #expect(r.stderr.hasSuffix("/lib/credentials.sh, which this script needs: copy the whole k3s/ folder, lib/ included\n"),
                "\(r)")
    }
}
