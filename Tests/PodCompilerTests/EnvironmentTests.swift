import Testing

@testable import PodCompiler

/// A container's environment: resolved in the kubelet's order with its override and `$(VAR)`
/// semantics, plain values in `Environment=`, anything from a Secret only in the root-only file.
struct EnvironmentTests {
    func env(_ pairs: [(String, String)]) -> [EnvVar] {
        pairs.map { EnvVar(name: $0.0, value: $0.1) }
    }

    func secretRef(_ name: String, secret: String, key: String) -> EnvVar {
        var v = EnvVar(name: name)
        v.valueFrom = EnvVarSource(secretKeyRef: KeySelector(name: secret, key: key))
        return v
    }

    @Test func orderIsSystemkThenEnvFromThenEnvAndLaterDefinitionsWin() throws {
        var c = Fixtures.container(env: env([("A", "env-a"), ("C_X", "env-c"), ("A", "env-a-again"), ("HOSTNAME", "mine")]))
        c.envFrom = [
            EnvFromSource(configMapRef: NamedReference(name: "first")),
            EnvFromSource(prefix: "C_", configMapRef: NamedReference(name: "second")),
        ]
        let node = NodeFacts(internalIP: "10.0.0.5", kubernetesServiceHost: "10.96.0.1", kubernetesServicePort: 443, serviceAccountTokens: false)
        let plan = try Fixtures.compile(
            Fixtures.pod(containers: [c]),
            configMaps: [Fixtures.configMap("first", ["B": "cm-b", "A": "cm-a"]), Fixtures.configMap("second", ["X": "cm-x", "Y": "cm-y"])],
            node: node)
        let unit = try #require(plan.units.first)
        let lines = unit.values("Environment")
        let names = try lines.flatMap { try SystemdDecoding.environment($0).map(\.name) }
        #expect(names == ["HOSTNAME", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT", "SYSTEMK_NODE_INTERNAL_IP", "A", "B", "C_X", "C_Y"])
        #expect(
            try unit.environment() == [
                "HOSTNAME": "mine", "KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443",
                "SYSTEMK_NODE_INTERNAL_IP": "10.0.0.5", "A": "env-a-again", "B": "cm-b", "C_X": "env-c", "C_Y": "cm-y",
            ])
        // One assignment per line: a bad escape on a line would drop every assignment on it.
        #expect(try lines.allSatisfy { try SystemdDecoding.environment($0).count == 1 })
    }

    @Test func hostnameIsTheSpecHostnameOrThePodName() throws {
        var pod = Fixtures.pod(name: "web.v1")
        #expect(try Fixtures.compile(pod).units.first?.environment()["HOSTNAME"] == "web.v1")
        pod.spec.hostname = "box"
        #expect(try Fixtures.compile(pod).units.first?.environment()["HOSTNAME"] == "box")
    }

    @Test func variablesExpandAgainstEarlierDefinitionsOnly() throws {
        var c = Fixtures.container(env: env([
            ("A", "a"), ("B", "$(A)-b"), ("C", "$(D)-c"), ("D", "d"), ("E", "$$(A) $(UNDEFINED) $(FROM_CM) $é"),
            ("F", "$(HOSTNAME)"),
        ]))
        c.envFrom = [EnvFromSource(configMapRef: NamedReference(name: "cm"))]
        let plan = try Fixtures.compile(Fixtures.pod(containers: [c]), configMaps: [Fixtures.configMap("cm", ["FROM_CM": "x"])])
        let e = try #require(try plan.units.first?.environment())
        #expect(e["B"] == "a-b")
        #expect(e["C"] == "$(D)-c")
        #expect(e["E"] == "$(A) $(UNDEFINED) x $é")
        // The kubelet expands env values against the container's own variables only.
        #expect(e["F"] == "$(HOSTNAME)")
    }

    /// The kubelet expands env values against the container's variables and the master service's
    /// (KUBERNETES_SERVICE_HOST/PORT, always given), and command and args against those only:
    /// HOSTNAME is the runtime's, not the kubelet's.
    @Test func expansionSeesWhatTheKubeletsSees() throws {
        let c = Fixtures.container(args: ["$(HOSTNAME)", "$(SYSTEMK_NODE_INTERNAL_IP)"], env: env([("API", "$(KUBERNETES_SERVICE_HOST)")]))
        let node = NodeFacts(internalIP: "10.0.0.5", kubernetesServiceHost: "10.96.0.1", kubernetesServicePort: 443, serviceAccountTokens: false)
        let unit = try #require(try Fixtures.compile(Fixtures.pod(containers: [c]), node: node).units.first)
        let api = try unit.environment()["API"]
        let argv = try unit.commandLine().arguments.map { String(decoding: $0, as: UTF8.self) }
        #expect(api == "10.96.0.1")
        #expect(argv == ["$(HOSTNAME)", "$(SYSTEMK_NODE_INTERNAL_IP)"])
    }

    @Test func valuesSurviveSystemdsQuoting() throws {
        let values = [
            "", "plain", "with space", "quote\"s", "back\\slash\\", "100%", "%n%%", "$HOME ${X} $$", "line\nbreak\r\n",
            "tab\t", "\u{1}\u{7f}", "é 日本 😀", "'single'", "=equals=", "#hash", ";semi",
        ]
        let plan = try Fixtures.compile(Fixtures.pod(containers: [Fixtures.container(env: values.enumerated().map { EnvVar(name: "V\($0)", value: $1) })]))
        let e = try #require(try plan.units.first?.environment())
        // `$$` is the kubelet's escape for `$`: expanded before systemd sees the value.
        for (i, v) in values.enumerated() { #expect(e["V\(i)"] == KubeletExpansion.expand(v) { _ in nil }, "\(v.debugDescription)") }
        #expect(e["V7"] == "$HOME ${X} $")
    }

    static let secretValue = "s3cr3t\"Ω%$(x)\\\n-7f1c"

    /// The secret's value, and the forms an encoder could give it, appear in no unit.
    func expectNoSecret(in plan: PodPlan, _ secret: String = Self.secretValue, sourceLocation: SourceLocation = #_sourceLocation) {
        let forms = [
            secret, ((try? SystemdEscaping.environmentAssignment(name: "X", value: secret)) ?? secret).dropFirst(3).dropLast().description,
            (try? ExecWords.argument(secret)) ?? secret, "s3cr3t",
        ]
        for unit in plan.units {
            for form in forms {
                #expect(!unit.contents.contains(form), "unit \(unit.name) holds the secret", sourceLocation: sourceLocation)
                #expect(!unit.explain.contains { $0.value.contains(form) || $0.origin.contains(form) }, sourceLocation: sourceLocation)
            }
        }
    }

    @Test func secretsGoOnlyIntoTheRootOnlyEnvironmentFile() throws {
        var c = Fixtures.container(
            args: ["--token=$(TOKEN)", "$(DERIVED)", "$(PLAIN)"],
            env: [secretRef("TOKEN", secret: "creds", key: "token"), EnvVar(name: "DERIVED", value: "pre-$(TOKEN)-post"), EnvVar(name: "PLAIN", value: "visible")])
        c.envFrom = [EnvFromSource(prefix: "S_", secretRef: NamedReference(name: "creds"))]
        let plan = try Fixtures.compile(Fixtures.pod(containers: [c]), secrets: [Fixtures.secret("creds", ["token": Self.secretValue, "other": "s3cr3t-2"])])
        let unit = try #require(plan.units.first)
        expectNoSecret(in: plan)
        expectNoSecret(in: plan, "s3cr3t-2")

        let envFile = plan.podDirectory + "/containers/app/environment"
        #expect(unit.values("EnvironmentFile") == [envFile])
        let file = try #require(plan.file(envFile))
        #expect(file.mode == "0600")
        #expect(file.owner == "0" && file.group == "0")
        #expect(file.sensitive)
        let assignments = try SystemdDecoding.environmentFile(try #require(file.text))
        #expect(assignments.map(\.name) == ["S_other", "S_token", "TOKEN", "DERIVED"])
        #expect(Dictionary(assignments.map { ($0.name, $0.value) }, uniquingKeysWith: { $1 })["DERIVED"] == "pre-\(Self.secretValue)-post")
        #expect(try unit.environment()["PLAIN"] == "visible")
        #expect(try unit.environment()["TOKEN"] == nil)

        // The command line names the variables; systemd puts the values in from the file.
        let fileEnv = Dictionary(assignments.map { ($0.name, Array($0.value.utf8)) }, uniquingKeysWith: { $1 })
        let argv = try unit.commandLine(env: fileEnv).arguments.map { String(decoding: $0, as: UTF8.self) }
        #expect(argv == ["--token=\(Self.secretValue)", "pre-\(Self.secretValue)-post", "visible"])
        #expect(unit.values("ExecStart") == ["/usr/bin/app --token=${TOKEN} ${DERIVED} visible"])

        // The file's directories are root-only.
        for dir in plan.directories where envFile.hasPrefix(dir.path + "/") {
            #expect(dir.mode == "0700", "\(dir.path)")
        }
    }

    @Test func withoutSecretsThereIsNoEnvironmentFile() throws {
        let plan = try Fixtures.compile(Fixtures.pod(containers: [Fixtures.container(env: env([("A", "a")]))]))
        #expect(plan.units.first?.values("EnvironmentFile") == [])
        #expect(plan.files.isEmpty)
    }

    @Test func optionalReferencesThatAreMissingAreSkipped() throws {
        var c = Fixtures.container()
        var v = EnvVar(name: "X")
        v.valueFrom = EnvVarSource(configMapKeyRef: KeySelector(name: "absent", key: "k", optional: true))
        c.env = [v]
        c.envFrom = [EnvFromSource(secretRef: NamedReference(name: "absent", optional: true))]
        let e = try Fixtures.compile(Fixtures.pod(containers: [c])).units.first?.environment()
        #expect(e?["X"] == nil)
    }

    @Test func namesSystemdCannotCarryAreErrors() throws {
        let e = try #require(throws: CompileError.self) {
            try Fixtures.compile(Fixtures.pod(containers: [Fixtures.container(env: env([("OK", "1"), ("my.var", "2")]))]))
        }
        #expect(e.code == .invalidName)
        #expect(e.path == "spec.containers[0].env[1].name")

        var c = Fixtures.container()
        c.envFrom = [EnvFromSource(configMapRef: NamedReference(name: "cm"))]
        let fromKey = try #require(throws: CompileError.self) {
            try Fixtures.compile(Fixtures.pod(containers: [c]), configMaps: [Fixtures.configMap("cm", ["1bad": "x"])])
        }
        #expect(fromKey.code == .invalidName)
        #expect(fromKey.path == "spec.containers[0].envFrom[0]")
    }

    @Test func valuesNoEnvironmentCanCarryAreErrors() throws {
        var c = Fixtures.container()
        c.envFrom = [EnvFromSource(configMapRef: NamedReference(name: "bin"))]
        var cm = Fixtures.configMap("bin", [:])
        cm.binaryData = ["NUL": Base64Bytes([0x61, 0x00])]
        let nul = try #require(throws: CompileError.self) { try Fixtures.compile(Fixtures.pod(containers: [c]), configMaps: [cm]) }
        #expect(nul.code == .unrepresentable)
        #expect(nul.message.contains("NUL"))

        cm.binaryData = ["BAD": Base64Bytes([0xFF, 0xFE])]
        let utf8 = try #require(throws: CompileError.self) { try Fixtures.compile(Fixtures.pod(containers: [c]), configMaps: [cm]) }
        #expect(utf8.code == .unrepresentable)
        #expect(utf8.message.contains("UTF-8"))
    }

    @Test func missingReferencesAreErrors() throws {
        let e = try #require(throws: CompileError.self) {
            try Fixtures.compile(Fixtures.pod(containers: [Fixtures.container(env: [secretRef("T", secret: "nope", key: "k")])]))
        }
        #expect(e.code == .missingReference)
        #expect(e.path == "spec.containers[0].env[0].valueFrom.secretKeyRef.name")
        #expect(e.message == "Secret default/nope is not among the inputs")

        var both = EnvVar(name: "X", value: "v")
        both.valueFrom = EnvVarSource(fieldRef: ObjectFieldSelector(fieldPath: "metadata.name"))
        let twice = try #require(throws: CompileError.self) { try Fixtures.compile(Fixtures.pod(containers: [Fixtures.container(env: [both])])) }
        #expect(twice.message == "value and valueFrom cannot both be set")
    }

    @Test func fieldRefsGiveThePodsFacts() throws {
        func field(_ name: String, _ path: String) -> EnvVar {
            var v = EnvVar(name: name)
            v.valueFrom = EnvVarSource(fieldRef: ObjectFieldSelector(fieldPath: path))
            return v
        }
        let pod = Fixtures.pod(
            name: "web", namespace: "prod", labels: ["app.kubernetes.io/name": "web \"x\""],
            containers: [
                Fixtures.container(env: [
                    field("N", "metadata.name"), field("NS", "metadata.namespace"), field("UID", "metadata.uid"),
                    field("NODE", "spec.nodeName"), field("IP", "status.podIP"), field("L", "metadata.labels['app.kubernetes.io/name']"),
                    field("SA", "spec.serviceAccountName"),
                ])
            ])
        let plan = try Fixtures.compile(pod, node: NodeFacts(nodeName: "n1", internalIP: "192.0.2.1", serviceAccountTokens: false))
        let e = try #require(try plan.units.first?.environment())
        #expect(e["N"] == "web" && e["NS"] == "prod" && e["UID"] == plan.uid && e["NODE"] == "n1")
        #expect(e["IP"] == "192.0.2.1" && e["L"] == "web \"x\"" && e["SA"] == "default")
    }
}
