import Foundation
import Testing

/// The `systemk-render` contract, run as users run it: the built executable, its flags, output layout,
/// exit statuses and messages.
@Suite struct RenderCLITests {
    static let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("examples").path

    static let pod = """
        apiVersion: v1
        kind: Pod
        metadata: {name: web, namespace: shop}
        spec:
          containers:
          - name: app
            image: /bin/sleep
            args: ["300"]
            env: [{name: PASSWORD, valueFrom: {secretKeyRef: {name: creds, key: password}}}]
            volumeMounts: [{name: config, mountPath: /etc/app}]
          volumes: [{name: config, configMap: {name: app}}]
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: app, namespace: shop}
        data: {app.conf: "port=8080\\n"}
        ---
        apiVersion: v1
        kind: Secret
        metadata: {name: creds, namespace: shop}
        stringData: {password: hunter2}
        """

    static let unitName = "systemk.shop.web.app.service"

    @Test func rendersEveryUnitAfterItsName() throws {
        let dir = try Scratch()
        let file = try dir.write("pod.yaml", Self.pod)
        let r = try Render.run([file, "--standalone", "--no-installed-units"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.hasPrefix("# \(Self.unitName)\n[Unit]\n"))
        #expect(r.stdout.contains("ExecStart=/bin/sleep 300\n"))
        #expect(!r.stdout.contains("hunter2"), "a secret must never be printed")
        #expect(r.stderr.isEmpty)
    }

    @Test func readsStandardInput() throws {
        let r = try Render.run(["-", "--standalone", "--no-installed-units"], stdin: Self.pod)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("# \(Self.unitName)"))
    }

    @Test func outputDirectoryHoldsUnitsPlanAndFiles() throws {
        let dir = try Scratch()
        let file = try dir.write("pod.yaml", Self.pod)
        let out = dir.path + "/out"
        let r = try Render.run([file, "--standalone", "--no-installed-units", "--output", out])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.isEmpty)
        let entries = try FileManager.default.contentsOfDirectory(atPath: out).sorted()
        #expect(entries == ["files", "plan.json", Self.unitName])
        let plan = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/plan.json"))) as? [String: Any]
        #expect(plan?["schemaVersion"] as? Int == 1)
        let pods = plan?["pods"] as? [[String: Any]]
        let podDir = try #require(pods?.first?["podDirectory"] as? String)
        let config = out + "/files" + podDir + "/volumes/config/app.conf"
        #expect(try String(contentsOfFile: config, encoding: .utf8) == "port=8080\n")
        let env = out + "/files" + podDir + "/containers/app/environment"
        let mode = try FileManager.default.attributesOfItem(atPath: env)[.posixPermissions] as? Int
        #expect(mode == 0o600, "the secret environment file is written owner-only")
        // systemd itself accepts what was written.
        let verify = try Render.exec("/usr/bin/systemd-analyze", ["verify", "--man=no", out + "/" + Self.unitName])
        #expect(verify.stderr.isEmpty, "\(verify.stderr)")
    }

    @Test func jsonIsThePlan() throws {
        let dir = try Scratch()
        let file = try dir.write("pod.yaml", Self.pod)
        let r = try Render.run([file, "--standalone", "--no-installed-units", "--format", "json"])
        #expect(r.status == 0)
        let plan = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        let units = (plan?["pods"] as? [[String: Any]])?.first?["units"] as? [[String: Any]]
        #expect(units?.first?["name"] as? String == Self.unitName)
    }

    @Test func checkValidatesOnly() throws {
        let dir = try Scratch()
        let good = try dir.write("pod.yaml", Self.pod)
        let r = try Render.run([good, "--check", "--standalone", "--no-installed-units"])
        #expect(r.status == 0)
        #expect(r.stdout.isEmpty)
        let bad = try dir.write("bad.yaml", "kind: Pod\nmetadata: {name: x}\nspec:\n  containers:\n  - {name: a, image: /bin/true, resources: {limits: {cpu: lots}}}\n")
        let b = try Render.run([bad, "--check"])
        #expect(b.status == 1)
        #expect(b.stderr == "error: \(bad):5:59: Pod default/x: spec.containers[0].resources.limits['cpu']: invalid quantity \"lots\": expected a number such as 100m, 1.5, 128Mi or 1e3\n")
    }

    @Test func diffShowsChangesAndExitsOne() throws {
        let dir = try Scratch()
        let file = try dir.write("pod.yaml", Self.pod)
        let out = dir.path + "/out"
        #expect(try Render.run([file, "--standalone", "--no-installed-units", "--output", out]).status == 0)
        let same = try Render.run([file, "--standalone", "--no-installed-units", "--diff", out])
        #expect(same.status == 0)
        #expect(same.stdout.isEmpty)
        _ = try dir.write("pod.yaml", Self.pod.replacingOccurrences(of: "\"300\"", with: "\"301\""))
        let changed = try Render.run([file, "--standalone", "--no-installed-units", "--diff", out])
        #expect(changed.status == 1)
        #expect(changed.stdout.contains("-ExecStart=/bin/sleep 300\n+ExecStart=/bin/sleep 301\n"), "\(changed.stdout)")
        #expect(changed.stdout.hasPrefix("--- \(out)/\(Self.unitName)\n+++ rendered/\(Self.unitName)\n@@ "))
    }

    @Test func explainNamesTheFieldOfEveryDirective() throws {
        let dir = try Scratch()
        let file = try dir.write("pod.yaml", Self.pod)
        let r = try Render.run([file, "--standalone", "--no-installed-units", "--explain"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("ExecStart=/bin/sleep 300\n#   ← spec.containers[0].image + spec.containers[0].args\n"), "\(r.stdout)")
        #expect(r.stdout.contains("BindReadOnlyPaths="))
        #expect(r.stdout.contains("#   ← spec.containers[0].volumeMounts[0]\n"))
    }

    @Test func usageErrorsExitTwo() throws {
        for args in [["--bogus", "x.yaml"], [], ["--format", "xml", "x.yaml"], ["--output", "a", "--check", "x.yaml"], ["--unit-file", "nginx", "x.yaml"]] {
            let r = try Render.run(args)
            #expect(r.status == 2, "\(args): \(r.stderr)")
            #expect(r.stderr.hasPrefix("systemk-render: "), "\(args): \(r.stderr)")
            #expect(r.stdout.isEmpty)
        }
        let help = try Render.run(["--help"])
        #expect(help.status == 0)
        for flag in ["--output", "--format", "--unit-file", "--node-ip", "--node-external-ip", "--nodename", "--override-root-uid", "--check", "--diff", "--explain", "--standalone"] {
            #expect(help.stdout.contains(flag), "help lacks \(flag)")
        }
    }

    @Test func invalidInputWritesNothingAndNamesEveryError() throws {
        let dir = try Scratch()
        let good = try dir.write("good.yaml", Self.pod)
        let bad = try dir.write("bad.yaml", "kind: Pod\nmetadata: {name: Bad_Name}\nspec: {containers: [{name: a, image: /bin/true}]}\n")
        let broken = try dir.write("broken.yaml", "kind: Pod\nmetadata: [\n")
        let out = dir.path + "/out"
        let r = try Render.run([good, bad, broken, "--standalone", "--no-installed-units", "--output", out])
        #expect(r.status == 1)
        #expect(!FileManager.default.fileExists(atPath: out), "nothing is written when any input is invalid")
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count == 2, "\(r.stderr)")
        #expect(r.stderr.contains("error: \(bad):2:"))
        #expect(r.stderr.contains("metadata.name: \"Bad_Name\" is not a valid pod name"))
        #expect(r.stderr.contains("error: \(broken):"))
        #expect(r.stdout.isEmpty)
    }

    @Test func hostileInputFailsCleanly() throws {
        let dir = try Scratch()
        var garbage = [UInt8](repeating: 0, count: 4096)
        for i in garbage.indices { garbage[i] = UInt8(truncatingIfNeeded: i &* 2_654_435_761 >> 7) }
        let g = try dir.write("garbage.yaml", String(decoding: garbage, as: UTF8.self))
        var bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
        for i in 1...9 { bomb += "a\(i): &a\(i) [" + Array(repeating: i == 1 ? "*a" : "*a\(i - 1)", count: 10).joined(separator: ", ") + "]\n" }
        let b = try dir.write("bomb.yaml", bomb)
        let d = try dir.write("deep.yaml", String(repeating: "[", count: 100_000))
        for file in [g, b, d] {
            let r = try Render.run([file])
            #expect(r.status == 1, "\(file): \(r.stderr)")
            #expect(r.stderr.hasPrefix("error: \(file)"), "\(r.stderr)")
        }
    }

    @Test func everyExampleRenders() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.examples).filter { $0.hasSuffix(".yaml") }.sorted()
        #expect(files.count >= 7)
        for f in files {
            var args = [Self.examples + "/" + f, "--node-ip", "10.0.0.10", "--no-installed-units", "--check"]
            for unit in (try? FileManager.default.contentsOfDirectory(atPath: Self.examples + "/units")) ?? [] {
                args += ["--unit-file", String(unit.dropLast(".service".count)) + "=" + Self.examples + "/units/" + unit]
            }
            let r = try Render.run(args)
            #expect(r.status == 0, "\(f): \(r.stderr)")
        }
    }
}

/// A directory of the test's own under /var/tmp.
final class Scratch {
    let path: String
    init() throws {
        path = "/var/tmp/systemk-render-tests/\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }

    func write(_ name: String, _ text: String) throws -> String {
        let p = path + "/" + name
        try Data(text.utf8).write(to: URL(fileURLWithPath: p))
        return p
    }
}

enum Render {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// The executable SwiftPM built next to this test bundle.
    static var binary: String {
        var dir = Bundle.main.bundleURL
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("systemk-render").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("systemk-render").path
    }

    static func run(_ arguments: [String], stdin: String? = nil) throws -> Result {
        try exec(binary, arguments, stdin: stdin)
    }

    static func exec(_ executable: String, _ arguments: [String], stdin: String? = nil) throws -> Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        let out = Pipe()
        let err = Pipe()
        p.standardOutput = out
        p.standardError = err
        let input = Pipe()
        p.standardInput = stdin == nil ? FileHandle.nullDevice : input
        try p.run()
        if let stdin {
            input.fileHandleForWriting.write(Data(stdin.utf8))
            try input.fileHandleForWriting.close()
        }
        // Read both pipes concurrently so neither can fill up.
        nonisolated(unsafe) var errData = Data()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            errData = err.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errData, as: UTF8.self))
    }
}
