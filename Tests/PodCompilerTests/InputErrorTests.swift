import Testing

@testable import PodCompiler

/// Every input error, from reading, decoding or lowering, names the file, the object, the field path
/// and the line and column, and prints them in one line a person can act on.
struct InputErrorTests {
    @Test func loweringErrorsPointIntoThePod() throws {
        let e = try #require(Fixtures.compileError(
            """
            apiVersion: v1
            kind: Pod
            metadata:
              name: web
              namespace: prod
            spec:
              containers:
              - name: app
                image: /usr/bin/app
                env:
                - name: GOOD
                  value: x
                - name: not.valid
                  value: y
            """, file: "manifests/web.yaml"))
        #expect(e.code == .invalidName)
        #expect(e.file == "manifests/web.yaml")
        #expect(e.object == "Pod prod/web")
        #expect(e.path == "spec.containers[0].env[1].name")
        #expect(e.position == SourcePosition(line: 13, column: 13))
        #expect(e.description.hasPrefix("manifests/web.yaml:13:13: Pod prod/web: spec.containers[0].env[1].name: \"not.valid\" is not a name"))
    }

    @Test func errorsInAWorkloadNameTheWorkloadAndThePathFromItsRoot() throws {
        let e = try #require(Fixtures.compileError(
            """
            kind: Service
            metadata: {name: web}
            ---
            kind: Deployment
            metadata: {name: web, namespace: prod}
            spec:
              replicas: 2
              template:
                metadata: {labels: {app: web}}
                spec:
                  containers:
                  - name: app
                    image: /usr/bin/app
                    resources:
                      limits: {memory: 1Gi}
                      requests: {memory: 2Gi}
            """, file: "deploy.yaml"))
        #expect(e.object == "Deployment prod/web")
        #expect(e.path == "spec.template.spec.containers[0].resources.requests['memory']")
        #expect(e.position == SourcePosition(line: 16, column: 30))
        #expect(e.description == "deploy.yaml:16:30: Deployment prod/web: spec.template.spec.containers[0].resources.requests['memory']: request 2Gi is more than the limit 1Gi")
    }

    @Test func errorsInAListItem() throws {
        let e = try #require(Fixtures.compileError(
            """
            {"kind": "List", "items": [
              {"kind": "Pod", "metadata": {"name": "a"}, "spec": {"containers": [{"name": "app", "image": "/usr/bin/app"}]}},
              {"kind": "Pod", "metadata": {"name": "b"}, "spec": {"restartPolicy": "Sometimes",
                "containers": [{"name": "app", "image": "/usr/bin/app"}]}}
            ]}
            """, file: "list.json"))
        #expect(e.path == "items[1].spec.restartPolicy")
        #expect(e.object == "Pod default/b")
        #expect(e.position?.line == 3)
    }

    @Test func everyPodIsCompiledAndEveryErrorReported() throws {
        var set = ManifestSet()
        try set.add(
            Array(
                """
                kind: Pod
                metadata: {name: one}
                spec: {containers: [{name: App, image: /usr/bin/app}]}
                ---
                kind: Pod
                metadata: {name: two}
                spec: {containers: [{name: app, image: /usr/bin/app}]}
                ---
                kind: Pod
                metadata: {name: three}
                spec: {containers: [{name: app}]}
                """.utf8), file: "pods.yaml")
        let errors = try #require(throws: CompileErrors.self) { try set.compile(packageUnits: [:], node: Fixtures.node).get() }
        #expect(errors.errors.map(\.path) == ["spec.containers[0].name", "spec.containers[0].image"])
        #expect(errors.errors.map(\.object) == ["Pod default/one", "Pod default/three"])
        #expect(errors.errors.map { $0.position?.line } == [3, 11])
        #expect(errors.description.split(separator: "\n").count == 2)
    }

    @Test func descriptionsWithoutAFile() {
        #expect(CompileError(.invalidField, path: "spec", "bad", position: SourcePosition(line: 2, column: 3)).description == "line 2, column 3: spec: bad")
        #expect(CompileError(.invalidField, path: "", "bad", file: "f", object: "Pod a/b").description == "f: Pod a/b: bad")
    }
}
