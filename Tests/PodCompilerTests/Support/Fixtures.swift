@testable import PodCompiler

/// Small builders for the pods, inputs and plans the lowering tests use.
enum Fixtures {
    /// A pod with one container running `/usr/bin/app` (a path image: no package unit needed).
    static func pod(
        name: String = "web", namespace: String? = nil, uid: String? = nil, labels: [String: String]? = nil,
        annotations: [String: String]? = nil, containers: [Container] = [container()]
    ) -> Pod {
        Pod(
            metadata: ObjectMeta(name: name, namespace: namespace, uid: uid, labels: labels, annotations: annotations),
            spec: PodSpec(containers: containers))
    }

    static func container(
        _ name: String = "app", image: String = "/usr/bin/app", command: [String]? = nil, args: [String]? = nil,
        env: [EnvVar]? = nil
    ) -> Container {
        var c = Container(name: name, image: image)
        c.command = command
        c.args = args
        c.env = env
        return c
    }

    /// Node facts without service-account tokens, so plans hold only what the pod asks for.
    static let node = NodeFacts(serviceAccountTokens: false)

    static func compile(
        _ pod: Pod, configMaps: [ConfigMap] = [], secrets: [Secret] = [], node: NodeFacts = Fixtures.node,
        packageUnits: [String: PackageUnit] = [:]
    ) throws(CompileError) -> PodPlan {
        try PodCompiler.compile(
            CompileInput(
                pod: pod, configMaps: Dictionary(configMaps.map { ($0.metadata.name ?? "", $0) }, uniquingKeysWith: { $1 }),
                secrets: Dictionary(secrets.map { ($0.metadata.name ?? "", $0) }, uniquingKeysWith: { $1 }),
                packageUnits: packageUnits, node: node))
    }

    /// Reads and compiles manifests the way `systemk-render` does.
    static func compileYAML(
        _ yaml: String, file: String = "pod.yaml", node: NodeFacts = Fixtures.node,
        packageUnits: [String: PackageUnit] = [:]
    ) throws -> Plan {
        var set = ManifestSet()
        try set.add(Array(yaml.utf8), file: file)
        return try set.compile(packageUnits: packageUnits, node: node).get()
    }

    /// The one error compiling `yaml` gives (reading, decoding or lowering).
    static func compileError(_ yaml: String, file: String = "pod.yaml", node: NodeFacts = Fixtures.node) -> CompileError? {
        var set = ManifestSet()
        do {
            try set.add(Array(yaml.utf8), file: file)
        } catch {
            return error
        }
        switch set.compile(packageUnits: [:], node: node) {
        case .success: return nil
        case let .failure(errors): return errors.errors.first
        }
    }

    static func configMap(_ name: String, _ data: [String: String]) -> ConfigMap {
        ConfigMap(metadata: ObjectMeta(name: name), data: data)
    }

    static func secret(_ name: String, _ data: [String: String]) -> Secret {
        Secret(metadata: ObjectMeta(name: name), stringData: data)
    }
}

extension PlannedUnit {
    /// The values of `key` in `section`, in order, as the unit file holds them.
    func values(_ key: String, in section: String = "Service") -> [String] {
        explain.filter { $0.section == section && $0.key == key }.map(\.value)
    }

    func value(_ key: String, in section: String = "Service") -> String? {
        values(key, in: section).last
    }

    /// The environment systemd gives the process from `Environment=` lines (a later line wins).
    func environment() throws -> [String: String] {
        var env: [String: String] = [:]
        for line in values("Environment") {
            for (name, value) in try SystemdDecoding.environment(line) { env[name] = value }
        }
        return env
    }

    /// The ExecStart= command line as the process receives it.
    func commandLine(env: [String: [UInt8]] = [:]) throws -> (executable: String, arguments: [[UInt8]]) {
        let lines = values("ExecStart")
        guard lines.count == 1 else { throw SystemdDecoding.Failure("\(lines.count) ExecStart= lines") }
        return try SystemdDecoding.commandLine(lines[0], env: env)
    }
}

extension PodPlan {
    func unit(_ container: String) -> PlannedUnit? {
        units.first { $0.container == container }
    }

    func file(_ path: String) -> PlannedFile? {
        files.first { $0.path == path }
    }

    func directory(_ path: String) -> PlannedDirectory? {
        directories.first { $0.path == path }
    }
}

extension PlannedFile {
    var bytes: [UInt8]? {
        if case let .bytes(b) = content { return b }
        return nil
    }

    var text: String? { bytes.map { String(decoding: $0, as: UTF8.self) } }

    var modeBits: Int? { Int(mode, radix: 8) }
}

/// Kubernetes' `$(VAR)` expansion transcribed from k8s.io/kubernetes third_party/forked/golang/expansion
/// (expand.go after PR 136325), byte for byte, as an oracle independent of `VariableExpansion`.
enum KubeletExpansion {
    static func expand(_ input: String, _ mapping: (String) -> String?) -> String {
        let s = Array(input.utf8)
        var buf: [UInt8] = []
        var checkpoint = 0
        var cursor = 0
        while cursor < s.count {
            if s[cursor] == UInt8(ascii: "$"), cursor + 1 < s.count {
                buf += s[checkpoint..<cursor]
                let (read, isVar, advance) = tryReadVariableName(Array(s[(cursor + 1)...]))
                if isVar {
                    let name = String(decoding: read, as: UTF8.self)
                    buf += Array((mapping(name) ?? "$(" + name + ")").utf8)
                } else {
                    buf += read
                }
                cursor += advance
                checkpoint = cursor + 1
            }
            cursor += 1
        }
        if checkpoint < s.count { buf += s[checkpoint...] }
        return String(decoding: buf, as: UTF8.self)
    }

    private static func tryReadVariableName(_ input: [UInt8]) -> ([UInt8], Bool, Int) {
        let size = runeSize(input)
        switch input[0] {
        case UInt8(ascii: "$"):
            return ([input[0]], false, 1)
        case UInt8(ascii: "("):
            for i in 1..<max(1, input.count) where input[i] == UInt8(ascii: ")") {
                return (Array(input[1..<i]), true, i + 1)
            }
            return (Array("$(".utf8), false, 1)
        default:
            return ([UInt8(ascii: "$")] + input[0..<size], false, size)
        }
    }

    /// utf8.DecodeRuneInString's size for valid UTF-8.
    private static func runeSize(_ input: [UInt8]) -> Int {
        guard let lead = input.first else { return 0 }
        let size = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1
        return min(size, input.count)
    }
}
