import Foundation

/// Runs a program to completion; its output goes through files, so a chatty program cannot fill a
/// pipe and hang the test.
struct Subprocess {
    var status: Int32
    var stdout: String
    var stderr: String

    static func run(_ executable: String, _ arguments: [String], scratch: URL) throws -> Subprocess {
        let fm = FileManager.default
        let out = scratch.appendingPathComponent("stdout-\(UUID().uuidString)")
        let err = scratch.appendingPathComponent("stderr-\(UUID().uuidString)")
        guard fm.createFile(atPath: out.path, contents: nil), fm.createFile(atPath: err.path, contents: nil) else {
            throw GoldenError("cannot create output files under \(scratch.path)")
        }
        defer {
            try? fm.removeItem(at: out)
            try? fm.removeItem(at: err)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        let outHandle = try FileHandle(forWritingTo: out)
        let errHandle = try FileHandle(forWritingTo: err)
        process.standardOutput = outHandle
        process.standardError = errHandle
        try process.run()
        process.waitUntilExit()
        try outHandle.close()
        try errHandle.close()
        return Subprocess(
            status: process.terminationStatus,
            stdout: String(decoding: try Data(contentsOf: out), as: UTF8.self),
            stderr: String(decoding: try Data(contentsOf: err), as: UTF8.self))
    }

    /// A fresh directory under /var/tmp for one test; the caller removes it.
    static func scratchDirectory(_ label: String) throws -> URL {
        let url = URL(fileURLWithPath: "/var/tmp", isDirectory: true)
            .appendingPathComponent("systemk-golden-\(label)-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

/// `diff -u` between the expected and the actual text of one golden file.
enum GoldenDiff {
    static func unified(file: String, expected: String?, actual: String?, scratch: URL) throws -> String {
        let e = scratch.appendingPathComponent("expected-\(UUID().uuidString)")
        let a = scratch.appendingPathComponent("actual-\(UUID().uuidString)")
        try Data((expected ?? "").utf8).write(to: e)
        try Data((actual ?? "").utf8).write(to: a)
        defer {
            try? FileManager.default.removeItem(at: e)
            try? FileManager.default.removeItem(at: a)
        }
        let result = try Subprocess.run(
            "/usr/bin/diff",
            [
                "-u", "--label", expected == nil ? "/dev/null" : "expected/\(file)", "--label",
                actual == nil ? "/dev/null" : "actual/\(file)", e.path, a.path,
            ], scratch: scratch)
        return result.stdout + result.stderr
    }
}
