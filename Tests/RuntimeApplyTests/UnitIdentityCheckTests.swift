import PodCompiler
import SystemkRuntime
import Testing

/// A pod whose user or group the node lacks is caught before systemd refuses it (217/USER).
@Suite struct UnitIdentityCheckTests {
    /// A user database holding only the given ids and names.
    struct Users: UserDatabase {
        var uids: [UInt32: String] = [0: "root", 1000: "alice"]
        var gids: [UInt32: String] = [0: "root", 1000: "alice", 27: "sudo"]
        var failing = false

        func userID(named name: String) throws(UserDatabaseError) -> UInt32? {
            if failing { throw UserDatabaseError(name: name, errno: 5) }
            return uids.first { $0.value == name }?.key
        }
        func groupID(named name: String) throws(UserDatabaseError) -> UInt32? {
            if failing { throw UserDatabaseError(name: name, errno: 5) }
            return gids.first { $0.value == name }?.key
        }
        func hasUser(id: UInt32) throws(UserDatabaseError) -> Bool {
            if failing { throw UserDatabaseError(name: String(id), errno: 5) }
            return uids[id] != nil
        }
        func hasGroup(id: UInt32) throws(UserDatabaseError) -> Bool {
            if failing { throw UserDatabaseError(name: String(id), errno: 5) }
            return gids[id] != nil
        }
        var processIDs: (user: UInt32, group: UInt32) { (0, 0) }
    }

    func plan(_ securityContext: String) throws -> PodPlan {
        let yaml = """
            apiVersion: v1
            kind: Pod
            metadata: {name: p, namespace: default}
            spec:
              automountServiceAccountToken: false
              containers:
              - {name: ok, image: /bin/sleep, args: [infinity]}
              - name: app
                image: /bin/sleep
                args: [infinity]
                securityContext: \(securityContext)
            """
        var set = ManifestSet()
        try set.add(Array(yaml.utf8), file: "pod.yaml")
        let entry = try #require(set.pods.first)
        return try PodCompiler.compile(CompileInput(pod: entry.pod, source: entry.source, node: NodeFacts(serviceAccountTokens: false)))
    }

    @Test func existingIdsPass() throws {
        #expect(UnitIdentityCheck.problems(in: try plan("{runAsUser: 1000, runAsGroup: 27}"), users: Users()) == [])
        #expect(UnitIdentityCheck.problems(in: try plan("{windowsOptions: {runAsUserName: alice}}"), users: Users()) == [])
    }

    @Test func aMissingUidOrGidIsReportedForItsContainer() throws {
        let problems = UnitIdentityCheck.problems(in: try plan("{runAsUser: 4321, runAsGroup: 8765}"), users: Users())
        #expect(problems.map(\.container) == ["app"])
        let message = try #require(problems.first?.message)
        #expect(message.hasPrefix("uid 4321, gid 8765 not found on this node; systemd refuses"))
        #expect(message.contains("217/USER"))
    }

    @Test func aMissingUserNameIsReported() throws {
        let problems = UnitIdentityCheck.problems(in: try plan("{windowsOptions: {runAsUserName: bob}}"), users: Users())
        #expect(problems.map(\.description) == [
            "container app: user bob not found on this node; systemd refuses to start a service whose user or group "
                + "does not exist (217/USER, 216/GROUP): create it, or choose one that exists"
        ])
    }

    @Test func aFailingLookupIsLeftToSystemd() throws {
        #expect(UnitIdentityCheck.problems(in: try plan("{runAsUser: 4321}"), users: Users(failing: true)) == [])
    }
}
