import Testing

@testable import PodCompiler

/// Who a container runs as, and with which capabilities.
struct IdentityTests {
    func compile(
        podContext: PodSecurityContext? = nil, context: SecurityContext? = nil, node: NodeFacts = Fixtures.node,
        packageUnit: String? = nil
    ) throws(CompileError) -> PlannedUnit {
        var c = Fixtures.container(image: packageUnit == nil ? "/usr/bin/app" : "demo")
        c.securityContext = context
        var pod = Fixtures.pod(containers: [c])
        pod.spec.securityContext = podContext
        var units: [String: PackageUnit] = [:]
        if let packageUnit {
            units["demo"] = PackageUnit(path: "/lib/systemd/system/demo.service", unit: try! UnitFile.parse(packageUnit))
        }
        let plan = try Fixtures.compile(pod, node: node, packageUnits: units)
        return plan.units[0]
    }

    func context(_ build: (inout SecurityContext) -> Void) -> SecurityContext {
        var sc = SecurityContext()
        build(&sc)
        return sc
    }

    func podContext(_ build: (inout PodSecurityContext) -> Void) -> PodSecurityContext {
        var sc = PodSecurityContext()
        build(&sc)
        return sc
    }

    @Test func runAsUserAndGroupWithContainerOverPod() throws {
        let pod = podContext {
            $0.runAsUser = 1000
            $0.runAsGroup = 2000
        }
        let u = try compile(podContext: pod)
        #expect(u.values("User") == ["1000"])
        #expect(u.values("Group") == ["2000"])
        let overridden = try compile(podContext: pod, context: context { $0.runAsUser = 1500 })
        #expect(overridden.values("User") == ["1500"])
        #expect(overridden.values("Group") == ["2000"])
        #expect(overridden.explain.first { $0.key == "User" }?.origin == "spec.containers[0].securityContext.runAsUser")
    }

    @Test func supplementalGroupsAndFSGroupAreSortedWithoutDuplicates() throws {
        let u = try compile(podContext: podContext {
            $0.supplementalGroups = [30, 10, 30]
            $0.fsGroup = 20
        })
        #expect(u.values("SupplementaryGroups") == ["10 20 30"])
    }

    @Test func thePackagesUserStaysUnlessThePodSetsOne() throws {
        let package = "[Service]\nUser=www-data\nGroup=www-data\nExecStart=/usr/sbin/demo\n"
        let kept = try compile(packageUnit: package)
        #expect(kept.values("User") == ["www-data"])
        #expect(kept.values("Group") == ["www-data"])
        let replaced = try compile(podContext: podContext { $0.runAsUser = 33 }, packageUnit: package)
        #expect(replaced.values("User") == ["33"])
        #expect(replaced.values("Group") == [])
    }

    @Test func runAsUserName() throws {
        #expect(try compile(context: context { $0.windowsOptions = WindowsSecurityContextOptions(runAsUserName: "nobody") }).values("User") == ["nobody"])
        let both = try #require(throws: CompileError.self) {
            try compile(context: context {
                $0.runAsUser = 1
                $0.windowsOptions = WindowsSecurityContextOptions(runAsUserName: "nobody")
            })
        }
        #expect(both.path == "spec.containers[0].securityContext.windowsOptions.runAsUserName")
        let bad = try #require(throws: CompileError.self) {
            try compile(context: context { $0.windowsOptions = WindowsSecurityContextOptions(runAsUserName: "a:b") })
        }
        #expect(bad.code == .invalidField)
    }

    @Test func runAsNonRootRefusesRoot() throws {
        let noUser = try #require(throws: CompileError.self) { try compile(context: context { $0.runAsNonRoot = true }) }
        #expect(noUser.code == .securityPolicy)
        #expect(noUser.path == "spec.containers[0].securityContext.runAsNonRoot")
        let zero = try #require(throws: CompileError.self) {
            try compile(podContext: podContext {
                $0.runAsNonRoot = true
                $0.runAsUser = 0
            })
        }
        #expect(zero.code == .securityPolicy)
        #expect(zero.path == "spec.securityContext.runAsNonRoot")
        #expect(try compile(context: context {
            $0.runAsNonRoot = true
            $0.runAsUser = 1000
        }).values("User") == ["1000"])
        // The node's --override-root-uid makes a root container non-root.
        let overridden = try compile(context: context { $0.runAsNonRoot = true }, node: NodeFacts(serviceAccountTokens: false, overrideRootUID: 65534))
        #expect(overridden.values("User") == ["65534"])
    }

    @Test func idsOutOfRangeAreRefused() throws {
        for id: Int64 in [-1, 4_294_967_295] {
            let e = try #require(throws: CompileError.self) { try compile(context: context { $0.runAsUser = id }) }
            #expect(e.code == .invalidField)
            #expect(e.path == "spec.containers[0].securityContext.runAsUser")
        }
        let group = try #require(throws: CompileError.self) { try compile(podContext: podContext { $0.supplementalGroups = [1, -5] }) }
        #expect(group.path == "spec.securityContext.supplementalGroups[1]")
    }

    /// The bounding set removes everything outside the runtimes' default set, adjusted by add/drop.
    @Test func capabilities() throws {
        func kept(_ u: PlannedUnit) throws -> Set<String> {
            let lines = u.values("CapabilityBoundingSet")
            guard let line = lines.first else { return Set(IdentityLowering.allCapabilities) }
            #expect(lines.count == 1 && line.hasPrefix("~"))
            return Set(IdentityLowering.allCapabilities).subtracting(line.dropFirst().split(separator: " ").map(String.init))
        }
        #expect(try kept(try compile()) == IdentityLowering.defaultCapabilities)
        let adjusted = try compile(context: context { $0.capabilities = Capabilities(add: ["NET_ADMIN", "cap_sys_time"], drop: ["CHOWN", "KILL"]) })
        #expect(try kept(adjusted) == IdentityLowering.defaultCapabilities.union(["CAP_NET_ADMIN", "CAP_SYS_TIME"]).subtracting(["CAP_CHOWN", "CAP_KILL"]))
        let dropAll = try compile(context: context { $0.capabilities = Capabilities(add: ["NET_BIND_SERVICE"], drop: ["ALL"]) })
        #expect(try kept(dropAll) == ["CAP_NET_BIND_SERVICE"])
        let privileged = try compile(context: context { $0.privileged = true })
        #expect(privileged.values("CapabilityBoundingSet") == [])

        let unknown = try #require(throws: CompileError.self) {
            try compile(context: context { $0.capabilities = Capabilities(add: ["NET_ADMIN", "FLY"]) })
        }
        #expect(unknown.code == .invalidField)
        #expect(unknown.path == "spec.containers[0].securityContext.capabilities.add[1]")
        #expect(unknown.message == "\"FLY\" is not a Linux capability")
    }

    @Test func privilegeEscalation() throws {
        #expect(try compile(context: context { $0.allowPrivilegeEscalation = false }).values("NoNewPrivileges") == ["yes"])
        #expect(try compile().values("NoNewPrivileges") == [])
        let conflict = try #require(throws: CompileError.self) {
            try compile(context: context {
                $0.allowPrivilegeEscalation = false
                $0.privileged = true
            })
        }
        #expect(conflict.path == "spec.containers[0].securityContext.allowPrivilegeEscalation")
    }

    @Test func aUserSystemdCannotSwitchUsers() throws {
        let node = NodeFacts(serviceAccountTokens: false, userMode: true)
        #expect(try compile(node: node).values("User") == [])
        let e = try #require(throws: CompileError.self) { try compile(context: context { $0.runAsUser = 1000 }, node: node) }
        #expect(e.code == .unsupported)
    }
}
