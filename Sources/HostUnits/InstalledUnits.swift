import Foundation
import PodCompiler

/// Reading what the compiler needs from this machine: manifest files, package unit files (with their
/// drop-ins), the local systemd version.
public enum Inputs {
    public struct ReadError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Largest input read (the compiler refuses more anyway; this bounds memory before it looks).
    public static let maxBytes = 16 << 20

    public static func read(_ path: String) throws -> [UInt8] {
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

    /// A unit file given with `--unit-file`, with the drop-ins in `PATH.d/*.conf` next to it.
    public static func packageUnit(path: String) throws -> PackageUnit {
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        let unit = try parseUnit(absolute)
        let dropInDir = absolute + ".d"
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: dropInDir)) ?? []).map { (directoryPriority: 1, name: $0) }
        let dropIns = try UnitFile.orderDropIns(names).map { try parseUnit(dropInDir + "/" + $0.name) }
        return PackageUnit(path: absolute, unit: UnitFile.merged(base: unit, dropIns: dropIns))
    }

    public static func parseUnit(_ path: String) throws -> UnitFile {
        let bytes = try read(path)
        guard let text = String(validating: bytes, as: UTF8.self) else { throw ReadError(description: "\(path) is not UTF-8 text") }
        do {
            return try UnitFile.parse(text, fileName: path)
        } catch {
            throw ReadError(description: "\(error)")
        }
    }

    /// Unit directories in systemd's order of precedence (highest first) with their priority.
    static let unitDirectories: [(path: String, priority: Int)] = [
        ("/etc/systemd/system", 4), ("/run/systemd/system", 3), ("/usr/lib/systemd/system", 2), ("/lib/systemd/system", 1),
    ]

    /// The service an installed package ships, with its drop-ins from every unit directory, as
    /// systemd would load it: `<package>.service` if the package has it, else its only service
    /// (openssh-server ships `ssh.service`). Nil when the package is not installed or has none.
    public static func installedUnit(package: String) -> PackageUnit? {
        let listed = packageFiles(package)
        let services = listed.filter { path in
            path.hasSuffix(".service") && !path.contains("@")
                && unitDirectories.contains { $0.path == (path as NSString).deletingLastPathComponent }
        }
        let chosen = services.first { ($0 as NSString).lastPathComponent == package + ".service" } ?? (services.count == 1 ? services[0] : nil)
        guard let chosen else { return nil }
        let name = (chosen as NSString).lastPathComponent
        // An administrator's copy in /etc wins over the package's, as for systemd.
        let path = unitDirectories.map { $0.path + "/" + name }.first { isRegularFile($0) } ?? chosen
        guard let unit = try? parseUnit(path) else { return nil }
        var found: [(directoryPriority: Int, name: String)] = []
        var directoryOf: [String: String] = [:]
        for dir in unitDirectories {
            let d = dir.path + "/" + name + ".d"
            for entry in (try? FileManager.default.contentsOfDirectory(atPath: d)) ?? [] {
                found.append((dir.priority, entry))
                if directoryOf["\(dir.priority)/\(entry)"] == nil { directoryOf["\(dir.priority)/\(entry)"] = d }
            }
        }
        let dropIns = UnitFile.orderDropIns(found).compactMap { f -> UnitFile? in
            guard let d = directoryOf["\(f.directoryPriority)/\(f.name)"] else { return nil }
            // A drop-in masked by a link to /dev/null reads as empty.
            return (try? parseUnit(d + "/" + f.name)) ?? UnitFile()
        }
        return PackageUnit(path: path, unit: UnitFile.merged(base: unit, dropIns: dropIns))
    }

    public static func isRegularFile(_ path: String) -> Bool {
        (try? FileManager.default.attributesOfItem(atPath: path))?[.type] as? FileAttributeType == .typeRegular
    }

    /// `dpkg-query -L PACKAGE`: the files an installed package owns (empty when not installed).
    public static func packageFiles(_ package: String) -> [String] {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/dpkg-query")
        p.arguments = ["-L", package]
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = FileHandle.nullDevice
        do { try p.run() } catch { return [] }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { return [] }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
    }

    /// systemd's version on this machine, from `systemctl --version`.
    public static func localSystemdVersion() -> Int? {
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
