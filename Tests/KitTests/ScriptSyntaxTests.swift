import Foundation
import Testing

/// Every script of the kit, and every library in k3s/lib that scripts source, parses (`bash -n`) and
/// passes shellcheck.
@Suite struct ScriptSyntaxTests {
    /// The scripts a user runs.
    static let scripts = KitPaths.kitFiles(suffix: ".sh")
    /// What scripts source (never run on their own).
    static let libraries = KitPaths.kitFiles(suffix: ".sh", in: "lib")

    @Test func theKitHasItsScripts() {
        let names = Self.scripts.map { ($0 as NSString).lastPathComponent }
        for expected in ["server.sh", "node-credentials.sh", "install-node.sh", "scrape-credentials.sh"] {
            #expect(names.contains(expected), "k3s/\(expected) is missing: \(names)")
        }
        #expect(Self.libraries.contains(KitPaths.credentialsLibrary), "k3s/lib/credentials.sh is missing: \(Self.libraries)")
    }

    @Test(.enabled(if: Tools.bash != nil, "bash is missing"), arguments: scripts + libraries)
    func parsesWithBash(_ script: String) throws {
        let r = try run(Tools.bash ?? "bash", ["-n", script])
        #expect(r.status == 0, "\(r)")
        #expect(r.stderr.isEmpty, "\(r)")
    }

    @Test(arguments: scripts)
    func isExecutableAndStrict(_ script: String) throws {
        #expect(FileManager.default.isExecutableFile(atPath: script), "\(script) must be executable (chmod +x)")
        let text = try String(contentsOfFile: script, encoding: .utf8)
        #expect(text.hasPrefix("#!/bin/bash\n"))
        #expect(text.contains("\nset -euo pipefail\n"), "\(script) must stop at the first error")
    }

    // CI installs Debian's shellcheck; where it is missing the check is skipped. --external-sources
    // follows a script's `source` of a library (its `# shellcheck source=` directive names the file).
    @Test(.enabled(if: Tools.shellcheck != nil, "shellcheck is not installed (Debian package shellcheck)"),
          arguments: scripts + libraries)
    func passesShellcheck(_ script: String) throws {
        let r = try run(Tools.shellcheck ?? "shellcheck", ["--shell=bash", "--severity=style", "--external-sources", script])
        #expect(r.status == 0, "\(r)")
    }
}
