import Foundation
import Testing

@testable import SystemkRuntime

@Suite struct HostFactsTests {
    static let meminfo = """
        MemTotal:       24683656 kB
        MemFree:        20240704 kB
        MemAvailable:   23115320 kB
        Buffers:          123456 kB
        HugePages_Total:       0
        Hugepagesize:       2048 kB

        """

    @Test func meminfoFields() {
        #expect(HostResources.parseMeminfoBytes(Self.meminfo, field: "MemTotal") == Int64(24_683_656) * 1024)
        #expect(HostResources.parseMeminfoBytes(Self.meminfo, field: "MemAvailable") == Int64(23_115_320) * 1024)
        #expect(HostResources.parseMeminfoBytes(Self.meminfo, field: "MemFree") == Int64(20_240_704) * 1024, "not MemAvailable's prefix")
        #expect(HostResources.parseMeminfoBytes(Self.meminfo, field: "HugePages_Total") == nil, "no kB unit")
        #expect(HostResources.parseMeminfoBytes(Self.meminfo, field: "SwapTotal") == nil)
        #expect(HostResources.parseMeminfoBytes("MemAvailable: lots kB\n", field: "MemAvailable") == nil)
        #expect(HostResources.parseMemTotal(Self.meminfo) == Int64(24_683_656) * 1024)
    }

    @Test func osReleaseQuotesAndEscapes() {
        let text = #"""
            # a comment
            NAME="Debian GNU/Linux"
            PRETTY_NAME="Debian \"Bookworm\" \\ 12 \$HOME \`x\` \n"
            ID=debian
            VERSION_ID='12 (single $quoted\)'
            BARE=plain\ word
              INDENTED="yes"
            EMPTY=
            not an assignment
            VARIANT="Server" # trailing comment

            """#
        let values = HostFacts.parseOSRelease(text)
        #expect(values["NAME"] == "Debian GNU/Linux")
        #expect(values["PRETTY_NAME"] == #"Debian "Bookworm" \ 12 $HOME `x` \n"#)
        #expect(values["ID"] == "debian")
        #expect(values["VERSION_ID"] == #"12 (single $quoted\)"#)
        #expect(values["BARE"] == "plain word")
        #expect(values["INDENTED"] == "yes")
        #expect(values["EMPTY"] == "")
        #expect(values["VARIANT"] == "Server")
        #expect(values.count == 8)
    }

    @Test func loadavgProcessTotal() {
        #expect(HostFacts.parseLoadavgProcesses("7.88 4.53 3.41 15/183 29526\n") == 183)
        #expect(HostFacts.parseLoadavgProcesses("0.00 0.01 0.05 1/80 11206") == 80)
        #expect(HostFacts.parseLoadavgProcesses("0.00 0.01 0.05") == nil)
        #expect(HostFacts.parseLoadavgProcesses("0.00 0.01 0.05 1-80 11206") == nil)
        #expect(HostFacts.parseLoadavgProcesses("") == nil)
    }

    @Test(arguments: [
        ("x86_64", "amd64"), ("aarch64", "arm64"), ("arm64", "arm64"), ("armv7l", "arm"), ("armv6l", "arm"),
        ("ppc64le", "ppc64le"), ("s390x", "s390x"), ("riscv64", "riscv64"), ("i686", "386"), ("loongarch64", "loong64"),
        ("sparc64", "sparc64"),
    ])
    func unameMachineToGOARCH(machine: String, goarch: String) {
        #expect(HostFacts.goArchitecture(machine) == goarch)
    }

    @Test func thisMachine() {
        let facts = HostFacts.read(stateDirectory: NSTemporaryDirectory() + "/systemk-\(UUID())/state", systemdVersion: "252")
        #expect(facts.cpus >= 1)
        #expect((facts.memoryTotalBytes ?? 0) > 0)
        #expect((facts.memoryAvailableBytes ?? 0) > 0)
        #expect((facts.memoryAvailableBytes ?? 0) <= (facts.memoryTotalBytes ?? 0))
        #expect(facts.bootID.count == 36, "a UUID: \(facts.bootID)")
        #expect(!facts.kernelVersion.isEmpty && facts.kernelVersion != "unknown")
        #expect(["amd64", "arm64", "arm", "ppc64le", "s390x", "riscv64"].contains(facts.architecture))
        #expect(!facts.osImage.isEmpty)
        #expect(!facts.systemUUID.isEmpty || facts.machineID.isEmpty)
        let disk = facts.stateFilesystem
        #expect(disk != nil, "a missing state directory is measured on its nearest parent")
        #expect((disk?.totalBytes ?? 0) > 0 && (disk?.availableBytes ?? -1) >= 0)
        #expect((facts.pidMax ?? 0) > 0)
        #expect((facts.processes ?? 0) >= 1)
    }

    @Test func fallbacksWhenNothingIsReadable() throws {
        let root = NSTemporaryDirectory() + "/systemk-hostfacts-\(UUID())"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let paths = HostPaths(
            meminfo: root + "/meminfo", machineID: root + "/machine-id", productUUID: root + "/product_uuid",
            bootID: root + "/boot_id", osRelease: [root + "/etc-os-release", root + "/lib-os-release"],
            pidMax: root + "/pid_max", loadavg: root + "/loadavg", cpus: { 2 }, uname: { nil })
        let facts = HostFacts.read(stateDirectory: "/", systemdVersion: "252", paths: paths)
        #expect(facts.memoryTotalBytes == nil && facts.memoryAvailableBytes == nil)
        #expect(facts.machineID == "" && facts.systemUUID == "" && facts.bootID == "")
        #expect(facts.osImage == "Linux")
        #expect(facts.kernelVersion == "unknown" && facts.architecture == "unknown")
        #expect(facts.pidMax == nil && facts.processes == nil)
        #expect(facts.unreadable.count == 8, "\(facts.unreadable)")
        #expect(facts.unreadable.contains { $0.hasPrefix("boot ID: \(root)/boot_id: No such file or directory") })
    }

    @Test func fallbacksInOrder() throws {
        let root = NSTemporaryDirectory() + "/systemk-hostfacts-\(UUID())"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        func write(_ name: String, _ text: String) throws {
            try Data(text.utf8).write(to: URL(fileURLWithPath: root + "/" + name))
        }
        try write("machine-id", "3d1219c7c4c5404aaa1f6d2a48adfda4\n")
        try write("lib-os-release", "PRETTY_NAME=\"Arch Linux\"\n")
        try write("meminfo", "MemTotal: 2048 kB\n")
        var paths = HostPaths(
            meminfo: root + "/meminfo", machineID: root + "/machine-id", productUUID: root + "/product_uuid",
            bootID: root + "/boot_id", osRelease: [root + "/etc-os-release", root + "/lib-os-release"],
            pidMax: root + "/pid_max", loadavg: root + "/loadavg", cpus: { 2 }, uname: { ("6.1.0", "aarch64") })
        var facts = HostFacts.read(stateDirectory: "/", systemdVersion: "252", paths: paths)
        #expect(facts.systemUUID == "3d1219c7c4c5404aaa1f6d2a48adfda4", "no DMI: the machine ID")
        #expect(facts.osImage == "Arch Linux", "/usr/lib/os-release when /etc/os-release is missing")
        #expect(facts.memoryTotalBytes == Int64(2048) * 1024 && facts.memoryAvailableBytes == nil)
        #expect(facts.architecture == "arm64" && facts.kernelVersion == "6.1.0")

        try write("product_uuid", "4C4C4544-0032-3510-8030-B4C04F4D4E32\n")
        try write("etc-os-release", "NAME=Custom\n")
        paths.osRelease = [root + "/etc-os-release", root + "/lib-os-release"]
        facts = HostFacts.read(stateDirectory: "/", systemdVersion: "252", paths: paths)
        #expect(facts.systemUUID == "4C4C4544-0032-3510-8030-B4C04F4D4E32")
        #expect(facts.osImage == "Linux", "/etc/os-release is used alone, and without PRETTY_NAME means Linux")
    }

    @Test func filesystemOfAMissingDirectoryIsItsParents() throws {
        let parent = try #require(try? HostFacts.filesystemUsage(of: NSTemporaryDirectory()).get())
        let missing = try #require(try? HostFacts.filesystemUsage(of: NSTemporaryDirectory() + "/no/such/dir").get())
        #expect(parent.totalBytes == missing.totalBytes)
        #expect(parent.totalBytes > 0)
    }
}
