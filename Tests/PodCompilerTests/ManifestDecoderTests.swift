import Foundation
import Testing

@testable import PodCompiler

/// Decoding is strict about types, as the API server is, ignores unknown fields, and every error
/// names the file, the object, the field path and the line and column.
struct ManifestDecoderTests {
    static let pod = """
        apiVersion: v1
        kind: Pod
        metadata:
          name: web
        spec:
          containers:
          - name: app
            image: /usr/bin/app

        """

    func decodeError(_ yaml: String, file: String = "pod.yaml") -> CompileError? {
        var set = ManifestSet()
        do {
            try set.add(Array(yaml.utf8), file: file)
            return nil
        } catch {
            return error
        }
    }

    @Test func aStringFieldGivenANumberNamesThePathAndLineAndSaysToQuoteIt() throws {
        let e = try #require(decodeError(Self.pod + "    env:\n    - name: PORT\n      value: 8080\n"))
        #expect(e.code == .invalidField)
        #expect(e.file == "pod.yaml")
        #expect(e.object == "Pod default/web")
        #expect(e.path == "spec.containers[0].env[0].value")
        #expect(e.position == SourcePosition(line: 11, column: 14))
        #expect(e.message == "expected a string, got an integer (8080); quote it: \"8080\"")
        #expect(
            e.description
                == "pod.yaml:11:14: Pod default/web: spec.containers[0].env[0].value: expected a string, got an integer (8080); quote it: \"8080\""
        )
    }

    @Test func floatsAndBooleansInStringFields() throws {
        let float = try #require(decodeError(Self.pod + "    env:\n    - name: V\n      value: 1.10\n"))
        #expect(float.message == "expected a string, got a number (1.10); quote it: \"1.10\"")
        // `yes` is a boolean to YAML; the hint must not suggest writing "true" instead.
        let bool = try #require(decodeError(Self.pod + "    env:\n    - name: V\n      value: yes\n"))
        #expect(bool.path == "spec.containers[0].env[0].value")
        #expect(bool.message.hasPrefix("expected a string, got a boolean; quote the value as written"))
        #expect(!bool.message.contains("\"true\""))
    }

    @Test func otherTypeMismatches() throws {
        let port = try #require(decodeError(Self.pod + "    ports:\n    - containerPort: \"80\"\n"))
        #expect(port.path == "spec.containers[0].ports[0].containerPort")
        #expect(port.message == "expected an integer, got a string")
        #expect(port.position == SourcePosition(line: 10, column: 22))

        let bool = try #require(decodeError(Self.pod + "  hostNetwork: \"true\"\n"))
        #expect(bool.path == "spec.hostNetwork")
        #expect(bool.message == "expected a boolean (true or false), got a string")

        let list = try #require(decodeError(Self.pod + "    args: --verbose\n"))
        #expect(list.path == "spec.containers[0].args")
        #expect(list.message == "expected a list, got a string")

        let map = try #require(decodeError(Self.pod.replacingOccurrences(of: "metadata:\n  name: web", with: "metadata: [web]")))
        #expect(map.path == "metadata")
        #expect(map.message == "expected a map, got a list")

        let range = try #require(decodeError(Self.pod + "    ports:\n    - containerPort: 99999999999999999999\n"))
        #expect(range.message.contains("out of range"))
    }

    @Test func requiredFieldsMissing() throws {
        let containers = try #require(decodeError("kind: Pod\nmetadata:\n  name: web\nspec: {}\n"))
        #expect(containers.code == .missingField)
        #expect(containers.path == "spec.containers")
        #expect(containers.message == "is required")
        #expect(containers.position == SourcePosition(line: 4, column: 7))

        let name = try #require(decodeError("kind: Pod\nmetadata: {name: web}\nspec:\n  containers:\n  - image: x\n"))
        #expect(name.path == "spec.containers[0].name")
        #expect(name.position == SourcePosition(line: 5, column: 5))

        let kind = try #require(decodeError("metadata: {name: web}\n"))
        #expect(kind.code == .missingField)
        #expect(kind.path == "kind")
    }

    @Test func mapKeysArePrintedInQuotedBrackets() throws {
        let cpu = try #require(decodeError(Self.pod + "    resources:\n      limits:\n        cpu: 1x\n"))
        #expect(cpu.path == "spec.containers[0].resources.limits['cpu']")
        #expect(cpu.position == SourcePosition(line: 11, column: 14))
        #expect(cpu.message.hasPrefix("invalid quantity \"1x\": unknown suffix \"x\""))

        let label = try #require(decodeError(Self.pod.replacingOccurrences(of: "name: web\n", with: "name: web\n  labels:\n    app.kubernetes.io/name: 5\n")))
        #expect(label.path == "metadata.labels['app.kubernetes.io/name']")
        #expect(label.position == SourcePosition(line: 6, column: 29))

        let secret = try #require(decodeError("kind: Secret\nmetadata: {name: s}\ndata:\n  key: '!!!'\n"))
        #expect(secret.path == "data['key']")
        #expect(secret.object == "Secret default/s")
        #expect(secret.message == "is not valid base64")
    }

    @Test func fieldPathFormatting() {
        let p = FieldPath.root.field("spec").field("containers").index(0).field("resources").field("limits").key("cpu")
        #expect(p.description == "spec.containers[0].resources.limits['cpu']")
        #expect(FieldPath.root.key("a").field("b").description == "['a'].b")
        #expect(FieldPath.dotted("spec.nodeName").description == "spec.nodeName")
        #expect(FieldPath.root.description == "")
    }

    @Test func unknownFieldsAreIgnored() throws {
        let yaml = Self.pod.replacingOccurrences(of: "kind: Pod\n", with: "kind: Pod\nstatus: {phase: Running}\n")
            + "    frobnicate: [1, 2]\n    resizePolicy: [{resourceName: cpu}]\n  tolerations: [{operator: Exists}]\n"
        var set = ManifestSet()
        try set.add(Array(yaml.utf8), file: "pod.yaml")
        #expect(set.pods.count == 1)
        #expect(set.pods.first?.pod.spec.containers.first?.image == "/usr/bin/app")
    }

    static let unsupportedVolumes = ["persistentVolumeClaim", "nfs", "csi", "iscsi", "ephemeral", "image", "gitRepo", "awsElasticBlockStore"]

    @Test(arguments: unsupportedVolumes)
    func unsupportedVolumeTypesAreRefusedByName(_ source: String) throws {
        let e = try #require(decodeError(Self.pod + "  volumes:\n  - name: data\n    \(source): {}\n"))
        #expect(e.code == .invalidField)
        #expect(e.path == "spec.volumes[0].\(source)")
        #expect(e.position == SourcePosition(line: 11, column: 7 + source.count))  // the source's value
        #expect(e.message.hasPrefix("volume source \(source) is not supported by systemk"))
    }

    @Test func aVolumeHasOneSourceOrDefaultsToEmptyDir() throws {
        let two = try #require(decodeError(Self.pod + "  volumes:\n  - name: d\n    emptyDir: {}\n    hostPath: {path: /x}\n"))
        #expect(two.path == "spec.volumes[0]")
        #expect(two.message == "a volume must have exactly one source, found 2")

        var set = ManifestSet()
        try set.add(Array((Self.pod + "  volumes:\n  - name: d\n").utf8), file: "pod.yaml")
        #expect(set.pods.first?.pod.spec.volumes?.first?.emptyDir != nil)
    }

    @Test func workloadTemplatesAndListsPrefixThePath() throws {
        let deployment = try #require(
            decodeError(
                """
                kind: Deployment
                metadata: {name: web, namespace: prod}
                spec:
                  template:
                    spec:
                      containers:
                      - name: app
                        image: /usr/bin/app
                        ports: [{containerPort: http}]
                """))
        #expect(deployment.object == "Deployment prod/web")
        #expect(deployment.path == "spec.template.spec.containers[0].ports[0].containerPort")
        #expect(deployment.position == SourcePosition(line: 9, column: 33))

        let cron = try #require(
            decodeError(
                """
                kind: CronJob
                metadata: {name: nightly}
                spec:
                  jobTemplate:
                    spec:
                      template:
                        spec:
                          containers: {}
                """))
        #expect(cron.path == "spec.jobTemplate.spec.template.spec.containers")

        let list = try #require(
            decodeError(
                """
                kind: List
                items:
                - kind: ConfigMap
                  metadata: {name: ok}
                - kind: Pod
                  metadata: {name: web}
                  spec:
                    containers:
                    - name: app
                      image: 5
                """))
        #expect(list.path == "items[1].spec.containers[0].image")
        #expect(list.position == SourcePosition(line: 10, column: 14))
    }

    @Test func aDocumentMustBeAnObject() throws {
        let e = try #require(decodeError("- kind: Pod\n"))
        #expect(e.code == .invalidDocument)
        #expect(e.message == "a Kubernetes object must be a map, not a list")
    }

    @Test func otherKindsAreNotedAndSkipped() throws {
        var set = ManifestSet()
        try set.add(Array("kind: Service\nmetadata: {name: web}\n---\n".utf8) + Array(Self.pod.utf8), file: "all.yaml")
        #expect(set.pods.count == 1)
        #expect(set.skipped == ["all.yaml: Service default/web: kind Service is not rendered"])
    }

    @Test func nullMeansAbsent() throws {
        var set = ManifestSet()
        try set.add(Array((Self.pod + "    env:\n    - name: A\n      value: null\n    args: ~\n").utf8), file: "pod.yaml")
        let c = try #require(set.pods.first?.pod.spec.containers.first)
        #expect(c.env?.first?.value == nil)
        #expect(c.args == nil)
    }
}
