import Foundation
import Testing

/// Where the kit's files are, found from this source file (Tests/KitTests/ → the package root).
enum KitPaths {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path
    static let kit = root + "/k3s"
    static let nodeCredentials = kit + "/node-credentials.sh"
    static let scrapeCredentials = kit + "/scrape-credentials.sh"
    static let server = kit + "/server.sh"
    static let installNode = kit + "/install-node.sh"
    /// What node-credentials.sh and scrape-credentials.sh share; they source it from beside themselves.
    static let credentialsLibrary = kit + "/lib/credentials.sh"
    static let liveUnit = root + "/examples/systemk-live.service"
    static let liveDoc = root + "/docs/live.md"
    static let exampleUnits = root + "/examples/units"

    /// Every file of the kit with this suffix, sorted: in k3s/ itself, or in its subfolder `folder` (k3s/lib).
    static func kitFiles(suffix: String, in folder: String? = nil) -> [String] {
        let directory = folder.map { kit + "/" + $0 } ?? kit
        return ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { $0.hasSuffix(suffix) }.sorted().map { directory + "/" + $0 }
    }
}

/// The tools the kit's tests run, found on PATH (nil when missing: those tests are skipped).
enum Tools {
    static func find(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":") + ["/usr/local/bin", "/usr/sbin", "/sbin", "/usr/bin", "/bin"] {
            let candidate = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    static let bash = find("bash")
    static let openssl = find("openssl")
    static let shellcheck = find("shellcheck")
    static let python3 = find("python3")
    static let promtool = find("promtool")
    static let systemdAnalyze = find("systemd-analyze")
    /// bash and openssl: what node-credentials.sh needs.
    static let canMint = bash != nil && openssl != nil
}

/// What a finished process said.
struct ProcessResult: CustomStringConvertible {
    var status: Int32
    var stdout: String
    var stderr: String
    var description: String { "exit \(status)\n--- stdout\n\(stdout)--- stderr\n\(stderr)" }
}

/// Runs `executable` with `arguments`; output goes through files, so a chatty process cannot block.
func run(
    _ executable: String, _ arguments: [String], environment: [String: String]? = nil, directory: String? = nil
) throws -> ProcessResult {
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("kit-run-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: scratch) }
    let out = scratch.appendingPathComponent("out")
    let err = scratch.appendingPathComponent("err")
    _ = FileManager.default.createFile(atPath: out.path, contents: nil)
    _ = FileManager.default.createFile(atPath: err.path, contents: nil)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let environment { process.environment = environment }
    if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
    process.standardInput = FileHandle.nullDevice
    process.standardOutput = try FileHandle(forWritingTo: out)
    process.standardError = try FileHandle(forWritingTo: err)
    try process.run()
    process.waitUntilExit()
    return ProcessResult(
        status: process.terminationStatus,
        stdout: (try? String(contentsOf: out, encoding: .utf8)) ?? "",
        stderr: (try? String(contentsOf: err, encoding: .utf8)) ?? "")
}

/// A fresh temporary folder, removed by `remove()`.
struct Scratch {
    let path: String

    init(_ label: String = "kit") throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("\(label)-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    /// Writes `text` at `name` (relative) and returns the absolute path.
    @discardableResult
    func write(_ name: String, _ text: String, mode: Int? = nil) throws -> String {
        let file = path + "/" + name
        try FileManager.default.createDirectory(
            atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(text.utf8).write(to: URL(fileURLWithPath: file))
        if let mode { try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: file) }
        return file
    }

    func read(_ name: String) throws -> String {
        try String(contentsOfFile: path + "/" + name, encoding: .utf8)
    }

    /// The names in the folder (hidden ones too), sorted.
    func entries(_ name: String = "") -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: name.isEmpty ? path : path + "/" + name)) ?? []).sorted()
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// The permission bits of a file.
func mode(_ path: String) -> Int? {
    (try? FileManager.default.attributesOfItem(atPath: path))?[.posixPermissions] as? Int
}
