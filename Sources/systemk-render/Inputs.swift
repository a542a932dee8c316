import Foundation
import PodCompiler

/// Reading what the compiler needs from this machine: manifest files, package unit files (with their
/// drop-ins), the local systemd version.
enum Inputs {
    struct ReadError: Error, CustomStringConvertible {
        var description: String
    }

    /// Largest input read (the compiler refuses more anyway; this bounds memory before it looks).
    static let maxBytes = 16 << 20

    static func read(_ path: String) throws -> [UInt8] {
        if path == "-" {
            var data = Data()
            while true {
                let chunk = FileHandle.standardInput.readData(ofLength: 1 << 16)
                if chunk.isEmpty { break }
                data.append(chunk)
                if data.count > maxBytes { throw ReadError(description: "standard input is larger than \(maxBytes) bytes") }
            }
            return Array(data)
        }
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw ReadError(description: "no such file")
        }
        if isDir.boolValue { throw ReadError(description: "is a directory, not a manifest file") }
        guard let handle = FileHandle(forReadingAtPath: path) else { throw ReadError(description: "cannot be read") }
        defer { try? handle.close() }
        let data = handle.readData(ofLength: maxBytes + 1)
        if data.count > maxBytes { throw ReadError(description: "is larger than \(maxBytes) bytes") }
        return Array(data)
    }

    static func packageUnit(path: String) throws -> PackageUnit {
        let bytes = try read(path)
        guard let text = String(validating: bytes, as: UTF8.self) else { throw ReadError(description: "is not UTF-8 text") }
        do {
            return PackageUnit(path: path, unit: try UnitFile.parse(text, fileName: path))
        } catch {
            throw ReadError(description: "\(error)")
        }
    }

    /// The unit file an installed package ships as `<package>.service`, if any.
    static func installedUnit(package: String) -> PackageUnit? {
        for dir in ["/etc/systemd/system", "/lib/systemd/system", "/usr/lib/systemd/system"] {
            let path = dir + "/" + package + ".service"
            if let attrs = try? FileManager.default.attributesOfItem(atPath: path),
                attrs[.type] as? FileAttributeType == .typeRegular,
                let unit = try? packageUnit(path: path)
            {
                return unit
            }
        }
        return nil
    }

    /// systemd's version on this machine, from `systemctl --version`.
    static func localSystemdVersion() -> Int? {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/systemctl")
        p.arguments = ["--version"]
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = FileHandle.nullDevice
        do { try p.run() } catch { return nil }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard let text = String(data: data, encoding: .utf8), let first = text.split(separator: "\n").first else { return nil }
        let words = first.split(separator: " ")
        guard words.count >= 2, words[0] == "systemd" else { return nil }
        return Int(words[1])
    }
}
