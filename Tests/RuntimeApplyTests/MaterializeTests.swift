import Foundation
import Testing

@testable import PodCompiler
@testable import SystemkRuntime

/// Directories and files come out exactly as planned: modes not narrowed by the umask, owners given
/// as numbers or names, and a second apply of the same plan changes nothing.
@Suite(needsRoot) struct MaterializeTests {
    @Test func directoriesAndFilesGetExactlyThePlannedModesAndOwners() throws {
        let state = try ScratchState()
        let plan = Fixtures.pod(in: state)
        let report = try state.materializer().apply(plan)
        #expect(!report.isEmpty)
        let pod = state.podDirectory()

        #expect(lstatus(state.stateDirectory + "/pods")?.mode == 0o700)
        #expect(lstatus(pod) == FileStatus(type: .directory, mode: 0o700, owner: 0, group: 0, size: lstatus(pod)!.size, device: lstatus(pod)!.device))
        let scratch = try #require(lstatus(pod + "/volumes/scratch"))
        #expect(scratch.mode == 0o2777, "setgid and world-writable bits survive the umask")
        #expect(scratch.group == 2000)
        #expect(lstatus(pod + "/volumes/scratch/data/app")?.mode == 0o777)
        let environment = try #require(lstatus(pod + "/containers/app/environment"))
        #expect(environment.type == .regular && environment.mode == 0o600 && environment.owner == 0)
        #expect(contents(pod + "/containers/app/environment") == "PASSWORD=hunter2\n")
        let tls = try #require(lstatus(pod + "/containers/app/volumes/tls"))
        #expect(tls.mode == 0o500 && tls.owner == 1000 && tls.group == 2000)
    }

    @Test func applyingTheSamePlanAgainWritesNothing() throws {
        let state = try ScratchState()
        let plan = Fixtures.pod(in: state)
        _ = try state.materializer().apply(plan)
        let counting = CountingFileSystem()
        let report = try state.materializer(fileSystem: counting).apply(plan)
        #expect(report.isEmpty, "\(report.changes)")
        #expect(counting.changes.withLock { $0 } == [])
    }

    @Test func theReportListsWhatWasCreated() throws {
        let state = try ScratchState()
        let pod = state.podDirectory()
        var plan = Fixtures.pod(in: state)
        plan.directories = [Fixtures.directory(pod, "0700"), Fixtures.directory(pod + "/volumes", "0700")]
        plan.files = [Fixtures.file(pod + "/volumes/motd", "hello\n")]
        let report = try state.materializer().apply(plan)
        #expect(report.changes == [.createdDirectory(pod), .createdDirectory(pod + "/volumes"), .wroteFile(pod + "/volumes/motd")])
    }

    @Test func ownersAndGroupsMayBeNames() throws {
        let state = try ScratchState()
        let pod = state.podDirectory()
        var plan = Fixtures.pod(in: state)
        plan.directories = [Fixtures.directory(pod, "0700"), Fixtures.directory(pod + "/d", "0750", owner: "daemon", group: "nogroup")]
        plan.files = [Fixtures.file(pod + "/d/f", "x", mode: "0640", owner: "nobody", group: "daemon")]
        _ = try state.materializer().apply(plan)
        #expect(lstatus(pod + "/d").map { ($0.owner, $0.group) } ?? (0, 0) == (1, 65534))
        #expect(lstatus(pod + "/d/f").map { ($0.owner, $0.group) } ?? (0, 0) == (65534, 1))
    }

    @Test func anUnknownOwnerIsAnErrorNamingItAndNothingIsWritten() throws {
        let state = try ScratchState()
        let pod = state.podDirectory()
        var plan = Fixtures.pod(in: state)
        plan.files.append(Fixtures.file(pod + "/volumes/x", "x", owner: "no-such-user-systemk"))
        #expect(throws: ApplyError.unknownUser(name: "no-such-user-systemk", path: pod + "/volumes/x")) {
            try state.materializer().apply(plan)
        }
        #expect(lstatus(pod) == nil, "the whole plan is checked before anything is written")
        plan.files.removeLast()
        plan.directories.append(Fixtures.directory(pod + "/volumes/y", "0700", group: "no-such-group-systemk"))
        #expect(throws: ApplyError.unknownGroup(name: "no-such-group-systemk", path: pod + "/volumes/y")) {
            try state.materializer().apply(plan)
        }
    }

    @Test func anEmptyOwnerIsTheRuntimesOwnUser() throws {
        let state = try ScratchState()
        let pod = state.podDirectory()
        var plan = Fixtures.pod(in: state)
        plan.directories = [Fixtures.directory(pod, "0700"), Fixtures.directory(pod + "/d", "0500", owner: "", group: "")]
        plan.files = []
        _ = try state.materializer().apply(plan)
        #expect(lstatus(pod + "/d").map { ($0.owner, $0.group) } ?? (9, 9) == (geteuid(), getegid()))
    }

    @Test func changedModesAndOwnersAreRepairedAndReported() throws {
        let state = try ScratchState()
        let plan = Fixtures.pod(in: state)
        _ = try state.materializer().apply(plan)
        let pod = state.podDirectory()
        chmod(pod + "/volumes/scratch", 0o755)
        chown(pod + "/containers", 5, 5)
        chmod(pod + "/containers/app/environment", 0o644)
        let report = try state.materializer().apply(plan)
        #expect(
            report.changes == [
                .changedOwner(path: pod + "/containers", from: "5:5", to: "0:0"),
                .changedMode(path: pod + "/volumes/scratch", from: 0o755, to: 0o2777),
                .wroteFile(pod + "/containers/app/environment"),
            ])
        #expect(lstatus(pod + "/containers/app/environment")?.mode == 0o600)
        #expect(try state.materializer().apply(plan).isEmpty)
    }

    @Test func editedContentIsRewrittenAtomically() throws {
        let state = try ScratchState()
        var plan = Fixtures.pod(in: state)
        _ = try state.materializer().apply(plan)
        let pod = state.podDirectory()
        plan.files[0] = Fixtures.file(pod + "/containers/app/environment", "PASSWORD=changed\n", mode: "0600", sensitive: true)
        let report = try state.materializer().apply(plan)
        #expect(report.changes == [.wroteFile(pod + "/containers/app/environment")])
        #expect(contents(pod + "/containers/app/environment") == "PASSWORD=changed\n")
        let names = try FileManager.default.contentsOfDirectory(atPath: pod + "/containers/app")
        #expect(names.sorted() == ["environment", "volumes"], "no temporary file is left behind")
    }

    @Test func runtimeContentIsWrittenAndItsAbsenceIsAnError() throws {
        let state = try ScratchState()
        let pod = state.podDirectory()
        var plan = Fixtures.pod(in: state)
        plan.directories = [Fixtures.directory(pod, "0700"), Fixtures.directory(pod + "/sa", "0500", owner: "1000", atomic: true)]
        plan.files = [
            PlannedFile(
                path: pod + "/sa/token", mode: "0600", owner: "1000", group: "0", sensitive: true,
                content: .runtime(source: "serviceAccountToken expirationSeconds=3607"), purpose: "token")
        ]
        #expect(throws: ApplyError.missingRuntimeContent(source: "serviceAccountToken expirationSeconds=3607", path: pod + "/sa/token")) {
            try state.materializer().apply(plan)
        }
        _ = try state.materializer().apply(plan, runtimeContent: ["serviceAccountToken expirationSeconds=3607": Array("jwt".utf8)])
        #expect(contents(pod + "/sa/token") == "jwt")
        #expect(lstatus(pod + "/sa/..data/token").map { ($0.mode, $0.owner) } ?? (0, 0) == (0o600, 1000))
    }

    @Test func aPlanFromTheCompilerApplies() throws {
        let state = try ScratchState()
        let yaml = """
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: motd}
            data: {motd: "hello\\n"}
            ---
            apiVersion: v1
            kind: Secret
            metadata: {name: creds}
            stringData: {password: hunter2}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: tiny, uid: \(Fixtures.uid)}
            spec:
              securityContext: {runAsUser: 1000, fsGroup: 2000}
              containers:
                - name: sleep
                  image: /bin/sleep
                  args: [infinity]
                  env: [{name: PASSWORD, valueFrom: {secretKeyRef: {name: creds, key: password}}}]
                  volumeMounts:
                    - {name: motd, mountPath: /run/motd}
                    - {name: creds, mountPath: /run/creds}
                    - {name: scratch, mountPath: /var/scratch, subPath: a/b}
              volumes:
                - {name: motd, configMap: {name: motd}}
                - {name: creds, secret: {secretName: creds}}
                - {name: scratch, emptyDir: {}}
            """
        var set = ManifestSet()
        try set.add(Array(yaml.utf8), file: "tiny.yaml")
        let entry = try #require(set.pods.first)
        let plan = try PodCompiler.compile(
            CompileInput(
                pod: entry.pod, source: entry.source, configMaps: set.configMaps["default"] ?? [:], secrets: set.secrets["default"] ?? [:],
                node: NodeFacts(stateDirectory: state.stateDirectory, serviceAccountTokens: false)))
        let report = try state.materializer().apply(plan)
        #expect(!report.isEmpty)
        let pod = state.podDirectory()
        #expect(contents(pod + "/volumes/motd/motd") == "hello\n")
        #expect(contents(pod + "/containers/sleep/volumes/creds/password") == "hunter2")
        #expect(lstatus(pod + "/containers/sleep/volumes/creds/..data/password")?.mode.isMultiple(of: 0o10) == true)
        #expect(try state.materializer().apply(plan).isEmpty)
    }
}
