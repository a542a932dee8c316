import Foundation
import Testing

/// k3s/install-node.sh placing what node-credentials.sh minted, into a root folder of the test's own
/// (`--root`, which also keeps systemctl out of it).
@Suite(.enabled(if: Tools.canMint, "bash and openssl are needed: apt-get install bash openssl"))
struct InstallNodeTests {
    /// Mints credentials for n1 into scratch/n1 and makes scratch/root.
    static func minted(_ scratch: Scratch) throws -> (credentials: String, root: String) {
        let tls = try K3sTLSDirectory.minted(in: scratch)
        let r = try nodeCredentials(["--tls-dir", tls.path, "--server", "https://10.0.0.1:6443", "n1", "10.0.0.5"],
                                    in: scratch.path)
        guard r.status == 0 else { throw KitTestError("node-credentials.sh failed: \(r)") }
        try FileManager.default.createDirectory(atPath: scratch.path + "/root", withIntermediateDirectories: true)
        return (scratch.path + "/n1", scratch.path + "/root")
    }

    func installNode(_ arguments: [String], script: String = KitPaths.installNode) throws -> ProcessResult {
        try run(Tools.bash ?? "bash", [script] + arguments)
    }

    @Test func placesTheFilesWhereTheUnitReadsThem() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let (credentials, root) = try Self.minted(scratch)
        let r = try installNode(["--root", root, "--binary", "/bin/true", credentials])
        #expect(r.status == 0, "\(r)")
        let etc = root + "/etc/systemk"
        #expect(try FileManager.default.contentsOfDirectory(atPath: etc).sorted() == [
            "client-ca.crt", "client-kubelet.crt", "client-kubelet.key", "kubeconfig", "node.env", "server-ca.crt",
            "serving-kubelet.crt", "serving-kubelet.key",
        ], "and no .new file left")
        for file in ["client-kubelet.key", "serving-kubelet.key", "kubeconfig"] {
            #expect(mode(etc + "/" + file) == 0o600, "\(file)")
        }
        for file in ["client-kubelet.crt", "serving-kubelet.crt", "client-ca.crt", "server-ca.crt", "node.env"] {
            #expect(mode(etc + "/" + file) == 0o644, "\(file)")
            #expect(FileManager.default.contentsEqual(atPath: etc + "/" + file, andPath: credentials + "/" + file))
        }
        #expect(FileManager.default.contentsEqual(atPath: root + "/etc/systemd/system/systemk.service",
                                                  andPath: KitPaths.liveUnit))
        #expect(FileManager.default.isExecutableFile(atPath: root + "/usr/local/bin/systemk"))
        #expect(r.stdout.contains("Not started"), "--root never starts anything: \(r)")
    }

    @Test func runsFromTheCredentialsDirectoryItself() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let (credentials, root) = try Self.minted(scratch)
        // node-credentials.sh put a copy of this script in the directory: run that one, with no argument.
        let r = try installNode(["--root", root, "--binary", "/bin/true"], script: credentials + "/install-node.sh")
        #expect(r.status == 0, "\(r)")
        #expect(FileManager.default.fileExists(atPath: root + "/etc/systemk/kubeconfig"))
    }

    @Test func keepsAnotherUnitItReplaces() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let (credentials, root) = try Self.minted(scratch)
        try scratch.write("root/etc/systemd/system/systemk.service", "[Service]\nExecStart=/usr/local/bin/systemk --manifests /etc/systemk/pods\n")
        let r = try installNode(["--root", root, "--binary", "/bin/true", credentials])
        #expect(r.status == 0, "\(r)")
        let kept = scratch.entries("root/etc/systemd/system").filter { $0.hasPrefix("systemk.service.bak-") }
        #expect(kept.count == 1, "\(scratch.entries("root/etc/systemd/system"))")
        #expect(r.stderr.contains("is kept as"), "\(r)")
    }

    @Test func refusesADirectoryThatIsNotNodeCredentials() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let (credentials, root) = try Self.minted(scratch)
        try FileManager.default.removeItem(atPath: credentials + "/serving-kubelet.key")
        let r = try installNode(["--root", root, "--binary", "/bin/true", credentials])
        #expect(r.status == 1, "\(r)")
        #expect(r.stderr.contains("serving-kubelet.key is missing"), "\(r)")
        #expect(scratch.entries("root").isEmpty, "nothing installed")
    }

    @Test func refusesANodeWithoutSystemk() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let (credentials, root) = try Self.minted(scratch)
        let r = try installNode(["--root", root, credentials])
        #expect(r.status == 1, "\(r)")
        #expect(r.stderr.contains("systemk is not installed as \(root)/usr/local/bin/systemk"), "\(r)")
        #expect(scratch.entries("root").isEmpty, "nothing installed")
    }
}
