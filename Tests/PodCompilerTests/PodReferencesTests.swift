import Testing

@testable import PodCompiler

/// What a pod needs from the API server: referenced ConfigMaps and Secrets, and its tokens.
struct PodReferencesTests {
    /// The one pod of `yaml` (a pod named web in namespace ns).
    func pod(_ spec: String) throws -> Pod {
        var set = ManifestSet()
        try set.add(Array(("kind: Pod\nmetadata: {name: web, namespace: ns, uid: u-1}\nspec:\n" + spec).utf8), file: "pod.yaml")
        return try #require(set.pods.first).pod
    }

    func refs(_ spec: String, tokens: Bool = false) throws -> PodReferences {
        PodReferences(try pod(spec), serviceAccountTokens: tokens)
    }

    func cm(_ name: String, optional: Bool = false) -> PodReferences.Object {
        PodReferences.Object(ObjectRef(.configMap, namespace: "ns", name: name), optional: optional)
    }

    func secret(_ name: String, optional: Bool = false) -> PodReferences.Object {
        PodReferences.Object(ObjectRef(.secret, namespace: "ns", name: name), optional: optional)
    }

    @Test func configMapAndSecretVolumesThatAreMounted() throws {
        let r = try refs("""
              containers: [{name: app, image: /bin/app, volumeMounts: [{name: c, mountPath: /c}, {name: s, mountPath: /s}]}]
              volumes:
              - {name: c, configMap: {name: conf}}
              - {name: s, secret: {secretName: creds, optional: true}}
              - {name: unmounted, configMap: {name: never-read}}
            """)
        #expect(r.objects == [cm("conf"), secret("creds", optional: true)])
        #expect(r.namespace == "ns")
        #expect(r.tokens.isEmpty)
    }

    @Test func projectedSourcesCount() throws {
        let r = try refs("""
              initContainers: [{name: setup, image: /bin/setup, volumeMounts: [{name: all, mountPath: /all}]}]
              containers: [{name: app, image: /bin/app}]
              volumes:
              - name: all
                projected:
                  sources:
                  - configMap: {name: p-conf, optional: true}
                  - secret: {name: p-creds}
                  - downwardAPI: {items: [{path: name, fieldRef: {fieldPath: metadata.name}}]}
            """)
        #expect(r.objects == [cm("p-conf", optional: true), secret("p-creds")])
    }

    @Test func environmentReferencesOfInitAndAppContainers() throws {
        let r = try refs("""
              initContainers:
              - name: setup
                image: /bin/setup
                env: [{name: A, valueFrom: {configMapKeyRef: {name: env-conf, key: a, optional: true}}}]
              containers:
              - name: app
                image: /bin/app
                env:
                - {name: B, valueFrom: {secretKeyRef: {name: env-secret, key: b}}}
                - {name: C, value: plain}
                - {name: D, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
                envFrom:
                - {configMapRef: {name: from-conf}}
                - {prefix: S_, secretRef: {name: from-secret, optional: true}}
            """)
        #expect(
            r.objects == [
                cm("env-conf", optional: true), cm("from-conf"), secret("env-secret"), secret("from-secret", optional: true),
            ])
    }

    @Test func anObjectIsOptionalOnlyWhenEveryReferenceSaysSo() throws {
        let r = try refs("""
              containers:
              - name: app
                image: /bin/app
                volumeMounts: [{name: c, mountPath: /c}]
                env:
                - {name: A, valueFrom: {configMapKeyRef: {name: shared, key: a, optional: true}}}
                - {name: B, valueFrom: {configMapKeyRef: {name: both-optional, key: b, optional: true}}}
                envFrom: [{configMapRef: {name: both-optional, optional: true}}]
              volumes: [{name: c, configMap: {name: shared}}]
            """)
        #expect(r.objects == [cm("both-optional", optional: true), cm("shared")])
        #expect(r.objectRefs.map(\.name) == ["both-optional", "shared"])
    }

    @Test func orderIsByKindThenNameWithoutDuplicates() throws {
        let r = try refs("""
              containers:
              - name: b
                image: /bin/app
                env: [{name: X, valueFrom: {secretKeyRef: {name: zeta, key: k}}}, {name: Y, valueFrom: {configMapKeyRef: {name: beta, key: k}}}]
              - name: a
                image: /bin/app
                env: [{name: X, valueFrom: {secretKeyRef: {name: alpha, key: k}}}, {name: Y, valueFrom: {configMapKeyRef: {name: beta, key: k}}}]
            """)
        #expect(r.objects == [cm("beta"), secret("alpha"), secret("zeta")])
    }

    @Test func referencesWithoutANameAreLeftOut() throws {
        let r = try refs("""
              containers: [{name: app, image: /bin/app, envFrom: [{configMapRef: {optional: true}}]}]
            """)
        #expect(r.objects.isEmpty)
    }

    @Test func theServiceAccountDefaultsToDefault() throws {
        #expect(try refs("  containers: [{name: app, image: /bin/app}]\n").serviceAccountName == "default")
        #expect(try refs("  serviceAccountName: builder\n  containers: [{name: app, image: /bin/app}]\n").serviceAccountName == "builder")
        #expect(try refs("  serviceAccount: legacy\n  containers: [{name: app, image: /bin/app}]\n").serviceAccountName == "legacy")
    }

    @Test func theDefaultTokenFollowsAutomountAndOwnMounts() throws {
        let plain = try refs("  containers: [{name: app, image: /bin/app}]\n", tokens: true)
        #expect(plain.tokens == [.defaultMount])
        #expect(plain.tokens.map(\.runtimeSource) == ["serviceAccountToken expirationSeconds=3607"])

        let off = try refs("  automountServiceAccountToken: false\n  containers: [{name: app, image: /bin/app}]\n", tokens: true)
        #expect(off.tokens.isEmpty)

        let noCluster = try refs("  containers: [{name: app, image: /bin/app}]\n", tokens: false)
        #expect(noCluster.tokens.isEmpty)

        // One container mounts its own directory there: the other still gets the default token.
        let own = """
              containers:
              - {name: a, image: /bin/app, volumeMounts: [{name: e, mountPath: /var/run/secrets/kubernetes.io/serviceaccount/}]}
            """
        #expect(try refs(own + "\n  volumes: [{name: e, emptyDir: {}}]\n", tokens: true).tokens.isEmpty)
        let mixed = own + "\n  - {name: b, image: /bin/app}\n  volumes: [{name: e, emptyDir: {}}]\n"
        #expect(try refs(mixed, tokens: true).tokens == [.defaultMount])
    }

    @Test func projectedTokensWithAudienceAndLifetime() throws {
        let r = try refs("""
              automountServiceAccountToken: false
              containers: [{name: app, image: /bin/app, volumeMounts: [{name: t, mountPath: /t}, {name: u, mountPath: /u}]}]
              volumes:
              - name: t
                projected:
                  sources:
                  - serviceAccountToken: {path: vault, audience: vault, expirationSeconds: 900}
                  - serviceAccountToken: {path: plain}
              - name: u
                projected: {sources: [{serviceAccountToken: {path: again, audience: vault, expirationSeconds: 900}}]}
            """, tokens: true)
        #expect(
            r.tokens == [
                PodReferences.Token(audience: nil, expirationSeconds: 3600),
                PodReferences.Token(audience: "vault", expirationSeconds: 900),
            ])
    }

    /// The tokens listed are exactly the token sources of the compiled plan.
    @Test func tokensMatchThePlansRuntimeSources() throws {
        let pod = try pod("""
              containers:
              - {name: app, image: /bin/app, volumeMounts: [{name: t, mountPath: /t}]}
              - {name: side, image: /bin/side}
              volumes:
              - name: t
                projected: {sources: [{serviceAccountToken: {path: tok, audience: "https://vault.example:8200", expirationSeconds: 7200}}]}
            """)
        let plan = try PodCompiler.compile(CompileInput(pod: pod, node: NodeFacts(serviceAccountTokens: true)))
        let sources = Set(
            plan.files.compactMap { file -> String? in
                if case let .runtime(source) = file.content, source != "clusterCA" { return source }
                return nil
            })
        let refs = PodReferences(pod)
        #expect(Set(refs.tokens.map(\.runtimeSource)) == sources)
        #expect(sources.count == 2)
        for source in sources {
            #expect(PodReferences.Token(runtimeSource: source)?.runtimeSource == source)
        }
    }

    @Test func runtimeSourcesParse() {
        #expect(
            PodReferences.Token(runtimeSource: "serviceAccountToken expirationSeconds=600")
                == PodReferences.Token(audience: nil, expirationSeconds: 600))
        #expect(
            PodReferences.Token(runtimeSource: "serviceAccountToken expirationSeconds=900 audience=a b")
                == PodReferences.Token(audience: "a b", expirationSeconds: 900))
        #expect(PodReferences.Token(runtimeSource: "serviceAccountToken expirationSeconds=600 audience=")?.audience == "")
        for bad in [
            "clusterCA", "serviceAccountToken", "serviceAccountToken expirationSeconds=",
            "serviceAccountToken expirationSeconds=12x", "serviceAccountToken expirationSeconds=600 aud=x",
            "serviceAccountToken expirationSeconds=99999999999999999999",
        ] {
            #expect(PodReferences.Token(runtimeSource: bad) == nil, "\(bad)")
        }
    }
}
