#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// The size of the filesystem that holds the state directory.
public struct FilesystemUsage: Sendable, Hashable {
    /// Size in bytes.
    public var totalBytes: Int64
    /// Bytes an unprivileged user may still write (`f_bavail`).
    public var availableBytes: Int64

    /// Creates a usage figure.
    public init(totalBytes: Int64, availableBytes: Int64) {
        self.totalBytes = totalBytes
        self.availableBytes = availableBytes
    }
}

/// What the Node object says about this machine, read once per status check. A fact that cannot be
/// read gets a fallback (named in `unreadable`): a measurement becomes nil, so the Node reports neither
/// a capacity it does not know nor a pressure it cannot see; an identity becomes "" (the API allows it).
public struct HostFacts: Sendable, Hashable {
    /// Online CPUs (at least 1).
    public var cpus: Int
    /// `MemTotal` in bytes.
    public var memoryTotalBytes: Int64?
    /// `MemAvailable` in bytes.
    public var memoryAvailableBytes: Int64?
    /// /etc/machine-id.
    public var machineID: String
    /// The DMI product UUID, or the machine ID where there is none (virtual machines without DMI, containers).
    public var systemUUID: String
    /// This boot's random ID.
    public var bootID: String
    /// `uname -r`.
    public var kernelVersion: String
    /// `PRETTY_NAME` of os-release, "Linux" when there is none.
    public var osImage: String
    /// The machine in Go's GOARCH names (`amd64`, `arm64` ...), as Kubernetes labels and nodeInfo use them.
    public var architecture: String
    /// systemd's version, for `containerRuntimeVersion` (`systemd://252`).
    public var systemdVersion: String
    /// The filesystem of the state directory (ephemeral storage).
    public var stateFilesystem: FilesystemUsage?
    /// /proc/sys/kernel/pid_max.
    public var pidMax: Int?
    /// Processes (threads included) that exist now: the total of /proc/loadavg.
    public var processes: Int?
    /// What could not be read, why, and what was used instead; one line each.
    public var unreadable: [String]

    /// Creates facts; tests and callers that know better than the machine use this.
    public init(
        cpus: Int, memoryTotalBytes: Int64?, memoryAvailableBytes: Int64?, machineID: String, systemUUID: String,
        bootID: String, kernelVersion: String, osImage: String, architecture: String, systemdVersion: String,
        stateFilesystem: FilesystemUsage?, pidMax: Int?, processes: Int?, unreadable: [String] = []
    ) {
        self.cpus = cpus
        self.memoryTotalBytes = memoryTotalBytes
        self.memoryAvailableBytes = memoryAvailableBytes
        self.machineID = machineID
        self.systemUUID = systemUUID
        self.bootID = bootID
        self.kernelVersion = kernelVersion
        self.osImage = osImage
        self.architecture = architecture
        self.systemdVersion = systemdVersion
        self.stateFilesystem = stateFilesystem
        self.pidMax = pidMax
        self.processes = processes
        self.unreadable = unreadable
    }

    /// Reads this machine. Never fails: see `unreadable` for what fell back.
    /// - Parameters:
    ///   - stateDirectory: systemk's state directory; its filesystem is the node's ephemeral storage
    ///     (when it does not exist yet, the nearest existing parent's).
    ///   - systemdVersion: systemd's version as the manager reports it (`252` or `252.38-1~deb12u1`).
    public static func read(stateDirectory: String, systemdVersion: String) -> HostFacts {
        read(stateDirectory: stateDirectory, systemdVersion: systemdVersion, paths: HostPaths())
    }

    /// `read(stateDirectory:systemdVersion:)` with the files taken from `paths` (tests point them at fixtures).
    static func read(stateDirectory: String, systemdVersion: String, paths: HostPaths) -> HostFacts {
        var notes: [String] = []

        var memTotal: Int64?
        var memAvailable: Int64?
        switch readText(paths.meminfo) {
        case .success(let text):
            memTotal = HostResources.parseMeminfoBytes(text, field: "MemTotal")
            memAvailable = HostResources.parseMeminfoBytes(text, field: "MemAvailable")
            if memTotal == nil { notes.append("memory: no MemTotal in \(paths.meminfo); no memory capacity reported") }
            if memAvailable == nil {
                notes.append("available memory: no MemAvailable in \(paths.meminfo); MemoryPressure Unknown")
            }
        case .failure(let why):
            notes.append("memory: \(why); no memory capacity reported, MemoryPressure Unknown")
        }

        let machineID = firstLine(paths.machineID, what: "machine ID", fallback: "left empty", &notes) ?? ""
        let productUUID = firstLine(
            paths.productUUID, what: "system UUID", fallback: "using the machine ID", &notes)
        let bootID = firstLine(paths.bootID, what: "boot ID", fallback: "left empty", &notes) ?? ""

        let names = paths.uname()
        if names == nil { notes.append("kernel: uname failed; kernelVersion and architecture \"unknown\"") }

        var osImage = "Linux"
        if let found = paths.osRelease.lazy.compactMap({ p in (try? readText(p).get()).map { (path: p, text: $0) } }).first {
            if let pretty = parseOSRelease(found.text)["PRETTY_NAME"], !pretty.isEmpty {
                osImage = pretty
            } else {
                notes.append("OS image: no PRETTY_NAME in \(found.path); using \"Linux\"")
            }
        } else {
            notes.append("OS image: none of \(paths.osRelease.joined(separator: ", ")) is readable; using \"Linux\"")
        }

        var filesystem: FilesystemUsage?
        switch filesystemUsage(of: stateDirectory) {
        case .success(let usage): filesystem = usage
        case .failure(let why): notes.append("ephemeral storage: \(why); none reported, DiskPressure Unknown")
        }

        var pidMax: Int?
        switch readText(paths.pidMax) {
        case .success(let text):
            pidMax = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)).flatMap { $0 > 0 ? $0 : nil }
            if pidMax == nil { notes.append("pid_max: \(paths.pidMax) holds no number; PIDPressure Unknown") }
        case .failure(let why):
            notes.append("pid_max: \(why); PIDPressure Unknown")
        }
        var processes: Int?
        switch readText(paths.loadavg) {
        case .success(let text):
            processes = parseLoadavgProcesses(text)
            if processes == nil { notes.append("processes: \(paths.loadavg) has no running/total field; PIDPressure Unknown") }
        case .failure(let why):
            notes.append("processes: \(why); PIDPressure Unknown")
        }

        return HostFacts(
            cpus: paths.cpus(), memoryTotalBytes: memTotal, memoryAvailableBytes: memAvailable, machineID: machineID,
            systemUUID: productUUID ?? machineID, bootID: bootID, kernelVersion: names?.release ?? "unknown",
            osImage: osImage, architecture: names.map { goArchitecture($0.machine) } ?? "unknown",
            systemdVersion: systemdVersion, stateFilesystem: filesystem, pidMax: pidMax, processes: processes,
            unreadable: notes)
    }
}

/// Where `HostFacts.read` looks; every path can be moved for tests.
struct HostPaths: Sendable {
    var meminfo = "/proc/meminfo"
    var machineID = "/etc/machine-id"
    var productUUID = "/sys/class/dmi/id/product_uuid"
    var bootID = "/proc/sys/kernel/random/boot_id"
    /// Read in order; the first readable one is used alone, as os-release(5) asks.
    var osRelease = ["/etc/os-release", "/usr/lib/os-release"]
    var pidMax = "/proc/sys/kernel/pid_max"
    var loadavg = "/proc/loadavg"
    var cpus: @Sendable () -> Int = { HostResources.onlineCPUs() }
    var uname: @Sendable () -> (release: String, machine: String)? = { HostFacts.unameNames() }
}

// MARK: Parsing (pure)

extension HostFacts {
    /// The variables of an os-release file (os-release(5): shell-style `KEY=value` lines, values in
    /// double quotes with `\"`, `\\`, `\$` and `` \` `` escapes, in single quotes literally, or bare with
    /// backslash escapes). Comments and lines that are not assignments are skipped.
    static func parseOSRelease(_ text: String) -> [String: String] {
        var result: [String: String] = [:]
        for rawLine in text.split(omittingEmptySubsequences: true, whereSeparator: { $0 == "\n" || $0 == "\r" }) {
            let line = rawLine.drop { $0 == " " || $0 == "\t" }
            guard !line.hasPrefix("#"), let equals = line.firstIndex(of: "=") else { continue }
            let key = String(line[..<equals])
            guard !key.isEmpty, key.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) else { continue }
            result[key] = unquoteShellWord(line[line.index(after: equals)...])
        }
        return result
    }

    private static func unquoteShellWord(_ word: Substring) -> String {
        enum Quote { case none, single, double }
        var out = ""
        var quote = Quote.none
        var escaped = false
        for c in word {
            if escaped {
                // In double quotes only these characters are escapable; elsewhere the backslash stays.
                if quote == .double && !"\"\\$`".contains(c) { out.append("\\") }
                out.append(c)
                escaped = false
                continue
            }
            switch (quote, c) {
            case (.single, "'"): quote = .none
            case (.single, _): out.append(c)
            case (_, "\\"): escaped = true
            case (.none, "'"): quote = .single
            case (.none, "\""): quote = .double
            case (.double, "\""): quote = .none
            case (.none, " "), (.none, "\t"): return out  // a trailing comment or garbage after the value
            default: out.append(c)
            }
        }
        return out
    }

    /// The total of processes and threads from /proc/loadavg (`0.20 0.18 0.12 1/80 11206`: 80).
    static func parseLoadavgProcesses(_ text: String) -> Int? {
        let fields = text.split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard fields.count >= 4 else { return nil }
        let parts = fields[3].split(separator: "/")
        guard parts.count == 2, let total = Int(parts[1]), total >= 0 else { return nil }
        return total
    }

    /// Go's GOARCH for a `uname -m` machine name; unknown names are returned unchanged.
    static func goArchitecture(_ machine: String) -> String {
        switch machine {
        case "x86_64", "amd64": return "amd64"
        case "aarch64", "arm64": return "arm64"
        case "i386", "i486", "i586", "i686": return "386"
        case "ppc64le": return "ppc64le"
        case "ppc64": return "ppc64"
        case "s390x": return "s390x"
        case "riscv64": return "riscv64"
        case "loongarch64": return "loong64"
        case "mips64": return "mips64"
        case "mips64el": return "mips64le"
        default:
            // armv5tel, armv6l, armv7l, armv8l (a 32-bit kernel or personality on ARMv8): all GOARCH arm.
            return machine.hasPrefix("arm") && machine != "arm64" ? "arm" : machine
        }
    }
}

// MARK: Reading (I/O)

extension HostFacts {
    /// `uname(2)`'s release and machine.
    static func unameNames() -> (release: String, machine: String)? {
        var names = utsname()
        guard uname(&names) == 0 else { return nil }
        func text<T>(_ field: inout T) -> String {
            withUnsafeBytes(of: &field) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        }
        return (text(&names.release), text(&names.machine))
    }

    /// The whole file as text (/proc files report size 0, so this reads to the end); the failure says
    /// which file and the errno text. At most 1 MiB.
    static func readText(_ path: String) -> Result<String, HostReadFailure> {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return .failure(HostReadFailure(path: path, errno: errno)) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while bytes.count < 1 << 20 {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                return .failure(HostReadFailure(path: path, errno: errno))
            }
            if n == 0 { break }
            bytes.append(contentsOf: buffer[0..<n])
        }
        return .success(String(decoding: bytes, as: UTF8.self))
    }

    /// The first line of a one-value file, trimmed; nil (with a note) when unreadable or empty.
    private static func firstLine(_ path: String, what: String, fallback: String, _ notes: inout [String]) -> String? {
        switch readText(path) {
        case .success(let text):
            let value = text.split(separator: "\n").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
            if value.isEmpty {
                notes.append("\(what): \(path) is empty; \(fallback)")
                return nil
            }
            return value
        case .failure(let why):
            notes.append("\(what): \(why); \(fallback)")
            return nil
        }
    }

    /// statvfs of `directory`, or of its nearest existing parent when it does not exist yet.
    static func filesystemUsage(of directory: String) -> Result<FilesystemUsage, HostReadFailure> {
        var path = directory.isEmpty ? "." : directory
        while true {
            var info = statvfs()
            if statvfs(path, &info) == 0 {
                let block = UInt64(info.f_frsize)
                let (total, o1) = UInt64(info.f_blocks).multipliedReportingOverflow(by: block)
                let (available, o2) = UInt64(info.f_bavail).multipliedReportingOverflow(by: block)
                return .success(
                    FilesystemUsage(
                        totalBytes: o1 ? Int64.max : Int64(clamping: total),
                        availableBytes: o2 ? Int64.max : Int64(clamping: available)))
            }
            let error = errno
            var parent = (path as NSString).deletingLastPathComponent
            if parent.isEmpty { parent = "." }
            guard error == ENOENT || error == ENOTDIR, parent != path else {
                return .failure(HostReadFailure(path: path, errno: error))
            }
            path = parent
        }
    }
}

/// A host file that could not be read: `/proc/meminfo: No such file or directory`.
struct HostReadFailure: Error, Sendable, CustomStringConvertible {
    var path: String
    var errno: Int32

    var description: String { "\(path): \(String(cString: strerror(errno)))" }
}
