import Testing

@testable import PodCompiler

/// Volume layout under the pod's directory, file modes, and mounts.
struct VolumesTests {
    static let header = """
        kind: Pod
        metadata: {name: web, uid: 11111111-2222-3333-4444-555555555555}
        spec:

        """
    static let podDir = "/var/lib/systemk/pods/11111111-2222-3333-4444-555555555555"

    static let inputs = """
        ---
        kind: ConfigMap
        metadata: {name: conf}
        data: {app.conf: "listen 80\\n", other: "x"}
        ---
        kind: Secret
        metadata: {name: creds}
        stringData: {password: hunter2, token: abc}

        """

    func plan(_ spec: String, node: NodeFacts = Fixtures.node) throws -> PodPlan {
        let plans = try Fixtures.compileYAML(Self.header + spec + Self.inputs, node: node)
        return try #require(plans.pods.first)
    }

    func error(_ spec: String) -> CompileError? {
        Fixtures.compileError(Self.header + spec + Self.inputs)
    }

    @Test func thePodDirectoryIsRootOnly() throws {
        let p = try plan("  containers: [{name: app, image: /usr/bin/app}]\n")
        #expect(p.podDirectory == Self.podDir)
        let dir = try #require(p.directory(Self.podDir))
        #expect(dir.mode == "0700" && dir.owner == "0" && dir.group == "0")
    }

    @Test func everythingLiesInsideThePodDirectoryParentsFirst() throws {
        let p = try plan(
            """
              securityContext: {runAsUser: 1000}
              containers:
              - name: app
                image: /usr/bin/app
                volumeMounts:
                - {name: cache, mountPath: /cache}
                - {name: conf, mountPath: /etc/app}
                - {name: creds, mountPath: /run/secrets/app}
                - {name: info, mountPath: /etc/info}
                - {name: all, mountPath: /etc/all}
              volumes:
              - {name: cache, emptyDir: {}}
              - {name: conf, configMap: {name: conf}}
              - {name: creds, secret: {secretName: creds}}
              - name: info
                downwardAPI: {items: [{path: name, fieldRef: {fieldPath: metadata.name}}]}
              - name: all
                projected: {sources: [{configMap: {name: conf}}, {secret: {name: creds}}]}

            """, node: NodeFacts())
        for path in p.directories.map(\.path) + p.files.map(\.path) {
            #expect(Paths.isWithin(path, Self.podDir), "\(path)")
        }
        // Directories come parents first, and every parent of a file or directory is planned.
        let dirs = p.directories.map(\.path)
        for (i, d) in dirs.enumerated() where d != Self.podDir {
            let parent = String(d[..<d.lastIndex(of: "/")!])
            #expect(dirs[..<i].contains(parent), "\(d)")
        }
        for f in p.files {
            #expect(dirs.contains(String(f.path[..<f.path.lastIndex(of: "/")!])), "\(f.path)")
        }
    }

    @Test func secretFilesAreNeverWorldReadable() throws {
        var items = ""
        for mode in stride(from: 0, through: 0o777, by: 1) {
            items += "          - {key: password, path: m\(mode), mode: \(mode)}\n"
        }
        for fsGroup in ["", "  securityContext: {fsGroup: 3000, runAsUser: 1000}\n"] {
            let p = try plan(
                fsGroup + """
                  containers:
                  - name: app
                    image: /usr/bin/app
                    volumeMounts: [{name: s, mountPath: /s}, {name: d, mountPath: /d}, {name: p, mountPath: /p}]
                  volumes:
                  - {name: d, secret: {secretName: creds, defaultMode: 511}}
                  - name: p
                    projected: {defaultMode: 511, sources: [{secret: {name: creds}}, {serviceAccountToken: {path: sa-token}}]}
                  - name: s
                    secret:
                      secretName: creds
                      items:

                """ + items, node: NodeFacts())
            let secretFiles = p.files.filter(\.sensitive)
            #expect(secretFiles.count == 512 + 2 + 3 + 1)  // items, defaultMode, projected, service-account token
            for f in secretFiles {
                let mode = try #require(f.modeBits)
                #expect(mode & 0o007 == 0, "\(f.path) \(f.mode)")
                if fsGroup.isEmpty { #expect(mode & 0o070 == 0, "\(f.path) \(f.mode)") }
                #expect(f.path.hasPrefix(Self.podDir + "/containers/app/"), "\(f.path)")
            }
            for d in p.directories where d.path.hasPrefix(Self.podDir + "/containers/app/volumes/") {
                #expect(try #require(Int(d.mode, radix: 8)) & 0o007 == 0, "\(d.path) \(d.mode)")
            }
        }
    }

    @Test func secretVolumesBelongToTheContainersUser() throws {
        let p = try plan(
            """
              securityContext: {runAsUser: 1000, runAsGroup: 2000}
              containers:
              - name: app
                image: /usr/bin/app
                volumeMounts: [{name: creds, mountPath: /creds}]
              volumes: [{name: creds, secret: {secretName: creds}}]

            """)
        let dir = try #require(p.directory(Self.podDir + "/containers/app/volumes/creds"))
        #expect(dir.mode == "0500" && dir.owner == "1000" && dir.group == "2000")
        let file = try #require(p.file(Self.podDir + "/containers/app/volumes/creds/password"))
        #expect(file.mode == "0600")  // 0644 less group and others
        #expect(file.owner == "1000")
        #expect(file.group == "2000")
        #expect(file.sensitive)
        #expect(file.bytes == Array("hunter2".utf8))
        #expect(p.units[0].values("BindReadOnlyPaths").contains(Self.podDir + "/containers/app/volumes/creds:/creds"))
        #expect(!p.units[0].contents.contains("hunter2"))
    }

    @Test func configMapsAreSharedReadOnlyWithModesAndItems() throws {
        let p = try plan(
            """
              containers:
              - name: app
                image: /usr/bin/app
                volumeMounts: [{name: conf, mountPath: /etc/app, readOnly: false}, {name: some, mountPath: /etc/some}]
              volumes:
              - {name: conf, configMap: {name: conf}}
              - name: some
                configMap: {name: conf, defaultMode: 0640, items: [{key: app.conf, path: sub/dir/app.conf}, {key: other, path: o, mode: 0600}]}

            """)
        let shared = Self.podDir + "/volumes/conf"
        #expect(p.directory(shared)?.mode == "0755")
        #expect(p.file(shared + "/app.conf")?.mode == "0644")
        #expect(p.file(shared + "/app.conf")?.text == "listen 80\n")
        #expect(p.file(Self.podDir + "/volumes/some/sub/dir/app.conf")?.mode == "0640")
        #expect(p.file(Self.podDir + "/volumes/some/o")?.mode == "0600")
        #expect(p.file(Self.podDir + "/volumes/some/other") == nil)
        // Directories an item path creates must let the container through, as the kubelet's (0755) do.
        #expect(p.directory(Self.podDir + "/volumes/some/sub")?.mode == "0755")
        #expect(p.directory(Self.podDir + "/volumes/some/sub/dir")?.mode == "0755")
        // configMap volumes are read-only even when the mount says otherwise.
        #expect(p.units[0].values("BindReadOnlyPaths").contains(shared + ":/etc/app"))
        #expect(!p.units[0].values("BindPaths").contains(shared + ":/etc/app"))
    }

    @Test func emptyDirsAndHostPaths() throws {
        let p = try plan(
            """
              containers:
              - name: app
                image: /usr/bin/app
                volumeMounts:
                - {name: scratch, mountPath: /scratch}
                - {name: mem, mountPath: /mem}
                - {name: logs, mountPath: /var/log/host, readOnly: true}
                - {name: data, mountPath: /data/x, subPath: a/b}
              volumes:
              - {name: scratch, emptyDir: {}}
              - {name: mem, emptyDir: {medium: Memory, sizeLimit: 64Mi}}
              - {name: logs, hostPath: {path: /var/log, type: Directory}}
              - {name: data, emptyDir: {}}

            """)
        #expect(p.directory(Self.podDir + "/volumes/scratch")?.mode == "0777")
        #expect(p.tmpfsMounts == [PlannedTmpfs(path: Self.podDir + "/volumes/mem", sizeBytes: 67_108_864, mode: "0777", volume: "mem")])
        #expect(p.hostPathChecks.contains(HostPathCheck(path: "/var/log", type: "Directory", volume: "logs")))
        #expect(p.directory(Self.podDir + "/volumes/data/a/b") != nil)
        let unit = p.units[0]
        #expect(unit.values("BindPaths").contains(Self.podDir + "/volumes/scratch:/scratch"))
        #expect(unit.values("BindPaths").contains(Self.podDir + "/volumes/data/a/b:/data/x"))
        #expect(unit.values("BindReadOnlyPaths").contains("/var/log:/var/log/host"))
    }

    @Test func pathsAreEscapedForBindEntries() {
        // SystemdEscaping's forms, checked against systemd 252 in EscapingRoundTripTests.
        #expect(MountLowering.bindEntry(source: "/a b", destination: "/c:d") == "\"/a b\":\"/c:d\"")
        #expect(MountLowering.bindEntry(source: "/plain", destination: "/x") == "/plain:/x")
        #expect(MountLowering.escape("/100%/x") == "/100%%/x")
        #expect(MountLowering.escape("/a\nb") == nil)
    }

    @Test(arguments: [
        ("mountPath: ../x", "spec.containers[0].volumeMounts[0].mountPath", CompileError.Code.unsafePath),
        ("mountPath: /a/../b", "spec.containers[0].volumeMounts[0].mountPath", .unsafePath),
        ("mountPath: /", "spec.containers[0].volumeMounts[0].mountPath", .unsafePath),
        ("mountPath: /x, subPath: ../../etc", "spec.containers[0].volumeMounts[0].subPath", .unsafePath),
        ("mountPath: /x, subPath: /etc", "spec.containers[0].volumeMounts[0].subPath", .unsafePath),
        ("mountPath: /x, subPathExpr: $(POD)/../..", "spec.containers[0].volumeMounts[0].subPathExpr", .unsafePath),
        ("mountPath: /x, mountPropagation: Bidirectional", "spec.containers[0].volumeMounts[0].mountPropagation", .unsupported),
    ])
    func unsafeMountsAreRefused(_ c: (String, String, CompileError.Code)) throws {
        let e = try #require(error(
            """
              containers:
              - name: app
                image: /usr/bin/app
                env: [{name: POD, value: p}]
                volumeMounts: [{name: v, \(c.0)}]
              volumes: [{name: v, emptyDir: {}}]

            """))
        #expect(e.code == c.2)
        #expect(e.path == c.1)
        #expect(e.position?.line == 8)
    }

    @Test func itemPathsMustStayInsideTheVolume() throws {
        for path in ["../escape", "/abs", "a/../../b", ""] {
            let e = try #require(error(
                """
                  containers: [{name: app, image: /usr/bin/app, volumeMounts: [{name: v, mountPath: /v}]}]
                  volumes:
                  - name: v
                    secret: {secretName: creds, items: [{key: password, path: "\(path)"}]}

                """), "\(path)")
            #expect(e.code == .unsafePath)
            #expect(e.path == "spec.volumes[0].secret.items[0].path")
        }
    }

    @Test func otherVolumeErrors() throws {
        let undefined = try #require(error("  containers: [{name: app, image: /usr/bin/app, volumeMounts: [{name: nope, mountPath: /x}]}]\n"))
        #expect(undefined.code == .missingReference)
        #expect(undefined.path == "spec.containers[0].volumeMounts[0].name")
        let twice = try #require(error("  containers: [{name: app, image: /usr/bin/app}]\n  volumes: [{name: v, emptyDir: {}}, {name: v, emptyDir: {}}]\n"))
        #expect(twice.code == .duplicateName)
        #expect(twice.path == "spec.volumes[1].name")
        let size = try #require(error(
            "  containers: [{name: app, image: /usr/bin/app, volumeMounts: [{name: v, mountPath: /x}]}]\n  volumes: [{name: v, emptyDir: {sizeLimit: 1Gi}}]\n"))
        #expect(size.code == .unsupported)
        let mode = try #require(error(
            "  containers: [{name: app, image: /usr/bin/app, volumeMounts: [{name: v, mountPath: /x}]}]\n  volumes: [{name: v, configMap: {name: conf, defaultMode: 1024}}]\n"))
        #expect(mode.path == "spec.volumes[0].configMap.defaultMode")
        let missing = try #require(error(
            "  containers: [{name: app, image: /usr/bin/app, volumeMounts: [{name: v, mountPath: /x}]}]\n  volumes: [{name: v, secret: {secretName: nope}}]\n"))
        #expect(missing.code == .missingReference)
        #expect(missing.message == "Secret default/nope is not among the inputs")
    }

    @Test func downwardAPIFilesQuoteLabelsAsTheKubeletDoes() throws {
        let p = try plan(
            """
              containers: [{name: app, image: /usr/bin/app, volumeMounts: [{name: info, mountPath: /info}]}]
              volumes:
              - name: info
                downwardAPI:
                  items:
                  - {path: labels, fieldRef: {fieldPath: metadata.labels}}
                  - {path: ns, fieldRef: {fieldPath: metadata.namespace}, mode: 0400}

            """)
        let labels = try #require(p.file(Self.podDir + "/volumes/info/labels"))
        #expect(labels.text == "")
        #expect(p.file(Self.podDir + "/volumes/info/ns")?.text == "default")
        #expect(p.file(Self.podDir + "/volumes/info/ns")?.mode == "0400")
        #expect(DownwardAPI.formatMap(["b": "2", "a": "x\"y\\z\n\u{1}é"]) == "a=\"x\\\"y\\\\z\\n\\x01é\"\nb=\"2\"")
    }
}
