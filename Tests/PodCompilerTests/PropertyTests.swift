import PropertyBased
import Testing

@testable import PodCompiler

/// Generators of the input a hostile or careless manifest holds.
enum HostileInput {
    /// Pieces that mean something to YAML, the kubelet, systemd or a shell.
    static let tokens: [String] = [
        "a", "Z9", " ", "\"", "'", "\\", "$", "$$", "$(", ")", "$(E0)", "$(E1)", "$(L0)", "${E0}", "$E0", "%", "%n", "%%",
        "\n", "\t", "\r", ";", "#", "=", ":", "/", "..", "-", "é", "日本", "😀", "e\u{301}", "\u{1}", "\u{7f}", "\u{85}",
        "`", "!", "*", "\u{FEFF}", "\u{2028}",
    ]

    static let token = Gen<String?>.element(of: tokens).map { $0! }

    /// Any Unicode scalar but NUL and the surrogates.
    static let scalar = Gen.frequency(
        (3, Gen<UnicodeScalar>.unicodeScalar(in: "\u{1}"..."\u{7F}")),
        (1, Gen<UnicodeScalar>.unicodeScalar(in: "\u{80}"..."\u{D7FF}")),
        (1, Gen<UnicodeScalar>.unicodeScalar(in: "\u{E000}"..."\u{10FFFF}")))

    static let string = zip(token.array(of: 0...6), scalar.array(of: 0...4), Gen.bool)
        .map { tokens, scalars, scalarsFirst -> String in
            var s = String.UnicodeScalarView()
            s.append(contentsOf: scalars)
            return scalarsFirst ? String(s) + tokens.joined() : tokens.joined() + String(s)
        }

    static let strings = string.array(of: 0...4)

    static let alphanumeric = Gen<Character?>.element(of: Array("abcdefghijklmnopqrstuvwxyz0123456789")).map { $0! }
    static let labelCharacter = Gen<Character?>.element(of: Array("abcdefghijklmnopqrstuvwxyz0123456789--")).map { $0! }

    /// An RFC 1123 label of 1 to 63 characters.
    static let dnsLabel = zip(alphanumeric, labelCharacter.string(of: 0...61), alphanumeric.string(of: 0...1))
        .map { first, middle, last -> String in
            let s = String(first) + middle + last
            return s.hasSuffix("-") ? s + "0" : s
        }

    /// An RFC 1123 subdomain of at most 253 characters.
    static let dnsSubdomain = dnsLabel.array(of: 1...6).map { labels -> String in
        var name = labels.joined(separator: ".")
        var kept = labels
        while name.utf8.count > 253 {
            kept.removeLast()
            name = kept.joined(separator: ".")
        }
        return name
    }
}

/// Properties over generated input: compiling never crashes, and every value reaches the process
/// exactly as the kubelet would have given it.
struct PropertyTests {
    @Test func hostilePodsCompileAndEveryValueRoundTrips() async {
        await propertyCheck(count: 150, input: HostileInput.strings, HostileInput.strings, HostileInput.strings, HostileInput.strings) {
            args, envValues, labelValues, annotationValues in
            let labels = Dictionary(uniqueKeysWithValues: labelValues.enumerated().map { ("k\($0)", $1) })
            let annotations = Dictionary(uniqueKeysWithValues: annotationValues.enumerated().map { ("example.com/a\($0)", $1) })
            var env: [EnvVar] = labels.keys.sorted().enumerated().map { i, key in
                var v = EnvVar(name: "L\(i)")
                v.valueFrom = EnvVarSource(fieldRef: ObjectFieldSelector(fieldPath: "metadata.labels['\(key)']"))
                return v
            }
            env += envValues.enumerated().map { EnvVar(name: "E\($0)", value: $1) }
            var container = Fixtures.container(args: args, env: env)
            container.volumeMounts = [VolumeMount(name: "info", mountPath: "/etc/podinfo")]
            var pod = Fixtures.pod(labels: labels, annotations: annotations, containers: [container])
            var volume = Volume(name: "info")
            volume.downwardAPI = DownwardAPIVolumeSource(items: [
                DownwardAPIVolumeFile(path: "labels", fieldRef: ObjectFieldSelector(fieldPath: "metadata.labels")),
                DownwardAPIVolumeFile(path: "annotations", fieldRef: ObjectFieldSelector(fieldPath: "metadata.annotations")),
            ])
            pod.spec.volumes = [volume]

            let plan: PodPlan
            do {
                plan = try Fixtures.compile(pod)
            } catch {
                Issue.record("compiling failed: \(error)")
                return
            }
            let unit = try #require(plan.units.first)

            // What the kubelet would give the process.
            var expectedEnv: [String: String] = [:]
            for (i, key) in labels.keys.sorted().enumerated() { expectedEnv["L\(i)"] = labels[key] }
            for (i, value) in envValues.enumerated() {
                let defined = expectedEnv
                expectedEnv["E\(i)"] = KubeletExpansion.expand(value) { defined[$0] }
            }
            let expectedArgs = args.map { KubeletExpansion.expand($0) { expectedEnv[$0] } }

            let actualEnv = try unit.environment()
            for (name, value) in expectedEnv { #expect(actualEnv[name] == value, "\(name)") }
            let argv = try unit.commandLine().arguments.map { String(decoding: $0, as: UTF8.self) }
            #expect(argv == expectedArgs)

            let dir = plan.podDirectory + "/volumes/info/"
            #expect(try SystemdDecoding.goQuotedMap(try #require(plan.file(dir + "labels")?.text)) == labels)
            #expect(try SystemdDecoding.goQuotedMap(try #require(plan.file(dir + "annotations")?.text)) == annotations)

            // No value can break the unit file's line structure.
            for directive in unit.explain {
                #expect(!directive.value.contains("\n") && !directive.value.contains("\r"), "\(directive.key)=\(directive.value.debugDescription)")
                #expect(!directive.value.hasSuffix("\\"), "\(directive.key)=\(directive.value.debugDescription)")
            }
        }
    }

    /// A value ending in an odd number of backslashes makes systemd join the next line to it: no
    /// directive may end in one. systemd refuses backslashes in an executable, so such an image is an
    /// input error; a working directory ending in one cannot be carried either.
    @Test func noDirectiveEndsInABackslash() throws {
        let image = try #require(throws: CompileError.self) {
            try Fixtures.compile(Fixtures.pod(containers: [Fixtures.container(image: "/usr/bin/app\\")]))
        }
        #expect(image.code == .unrepresentable)
        var c = Fixtures.container(image: "/usr/bin/env")
        c.workingDir = "/srv/app\\"
        let wd = try #require(throws: CompileError.self) { try Fixtures.compile(Fixtures.pod(containers: [c])) }
        #expect(wd.path == "spec.containers[0].workingDir")
        c.workingDir = "/srv/a\\b"
        c.args = ["x\\"]
        let unit = try #require(try Fixtures.compile(Fixtures.pod(containers: [c])).units.first)
        for directive in unit.explain {
            #expect(!directive.value.hasSuffix("\\"), "\(directive.key)=\(directive.value)")
        }
    }

    @Test func everyArgumentSurvivesExecWordsAndSystemd() async {
        let bytes = Gen<UInt8>.value(in: 1...255).array(of: 0...24)
        await propertyCheck(count: 500, input: bytes) { word in
            let encoded = try ExecWords.argument([.literal(word)])
            #expect(try SystemdDecoding.argument(encoded) == word, "\(encoded)")
        }
        await propertyCheck(count: 300, input: HostileInput.string) { text in
            let encoded = try ExecWords.argument(text)
            #expect(try SystemdDecoding.argument(encoded) == Array(text.utf8), "\(encoded)")
        }
    }

    @Test func everyEnvironmentValueSurvivesSystemd() async {
        await propertyCheck(count: 500, input: HostileInput.string) { value in
            // Noncharacters systemd refuses are an input error (SystemdEscapingTests); the rest must pass.
            guard SystemdUTF8.firstRejectedScalar(in: value) == nil else { return }
            let line = try SystemdEscaping.environmentAssignment(name: "V", value: value)
            let decoded = try SystemdDecoding.environment(line)
            #expect(decoded.count == 1)
            #expect(decoded.first?.name == "V")
            #expect(decoded.first?.value == value)
            let file = try SystemdDecoding.environmentFile(try SystemdEscaping.environmentFileLine(name: "V", value: value))
            #expect(file.first?.value == value)
        }
    }

    @Test func generatedNamesGiveValidUnitNamesThatReadBack() async {
        await propertyCheck(count: 300, input: HostileInput.dnsLabel, HostileInput.dnsSubdomain, HostileInput.dnsLabel) {
            namespace, pod, container in
            #expect(Validation.isDNSLabel(namespace) && Validation.isDNSSubdomain(pod) && Validation.isDNSLabel(container))
            let name = UnitNaming.unitName(namespace: namespace, pod: pod, container: container)
            #expect(name.utf8.count <= UnitNaming.maxLength)
            #expect(NamingTests.isValidSystemdUnitName(name), "\(name)")
            let parsed = try #require(UnitNaming.parse(name))
            #expect(parsed.namespace == namespace)
            #expect(parsed.container == container)
            if parsed.isShortened {
                let cut = try #require(parsed.pod.split(separator: "_").first)
                #expect(pod.hasPrefix(cut))
            } else {
                #expect(parsed.pod == pod)
            }
            var p = Fixtures.pod(name: pod, namespace: namespace, containers: [Fixtures.container(container)])
            p.spec.hostname = nil
            let plan = try Fixtures.compile(p)
            #expect(plan.units.first?.name == name)
        }
    }
}
