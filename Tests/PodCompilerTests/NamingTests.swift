import Testing

@testable import PodCompiler

/// Unit names `systemk.<namespace>.<pod>.<container>.service`: read back by the rule that only pod
/// names hold dots, shortened deterministically when too long, and always valid for systemd.
struct NamingTests {
    /// systemd's unit_name_is_valid for a plain (non-template) name.
    static func isValidSystemdUnitName(_ name: String) -> Bool {
        guard name.utf8.count <= 255, name.hasSuffix(".service"), !name.hasPrefix(".") else { return false }
        let prefix = name.dropLast(".service".count)
        return !prefix.isEmpty
            && prefix.utf8.allSatisfy { b in
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(b) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(b)
                    || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b) || ":-_.\\".utf8.contains(b)
            }
    }

    /// A valid pod name (DNS subdomain) of about `length` characters, with dots.
    static func longPodName(_ length: Int, tail: String = "end") -> String {
        var name = ""
        var i = 0
        while name.count + 60 + tail.count <= length {
            name += "l\(i)" + String(repeating: "x", count: 58 - String(i).count) + "."
            i += 1
        }
        return name + tail
    }

    @Test func namesAPodsContainer() {
        #expect(UnitNaming.unitName(namespace: "default", pod: "web", container: "app") == "systemk.default.web.app.service")
    }

    @Test(arguments: ["web", "web.v1", "a.b.c.d", "api.example.com", "x-1.y-2", "0.0.0.0"])
    func podNamesWithDotsRoundTrip(_ pod: String) throws {
        let name = UnitNaming.unitName(namespace: "kube-system", pod: pod, container: "side-car")
        let parsed = try #require(UnitNaming.parse(name))
        #expect(parsed == UnitNaming.ParsedName(namespace: "kube-system", pod: pod, container: "side-car", isShortened: false))
        #expect(Self.isValidSystemdUnitName(name))
    }

    @Test func namesThatFitAreNotShortened() {
        let pod = String(repeating: "p", count: 180 - "systemk.ns..c.service".count)
        let name = UnitNaming.unitName(namespace: "ns", pod: pod, container: "c")
        #expect(name.utf8.count == UnitNaming.maxLength)
        #expect(UnitNaming.parse(name)?.isShortened == false)
        #expect(UnitNaming.parse(UnitNaming.unitName(namespace: "ns", pod: pod + "p", container: "c"))?.isShortened == true)
    }

    @Test func longNamesAreShortenedDeterministicallyAndStayUnique() throws {
        let namespace = String(repeating: "n", count: 63)
        let container = String(repeating: "c", count: 63)
        let a = Self.longPodName(253, tail: "aaa")
        let b = Self.longPodName(253, tail: "bbb")
        #expect(a.utf8.count <= 253 && Validation.isDNSSubdomain(a))
        #expect(a.dropLast(3) == b.dropLast(3))

        let nameA = UnitNaming.unitName(namespace: namespace, pod: a, container: container)
        let nameB = UnitNaming.unitName(namespace: namespace, pod: b, container: container)
        #expect(nameA.utf8.count <= UnitNaming.maxLength)
        #expect(nameB.utf8.count <= UnitNaming.maxLength)
        #expect(nameA != nameB)
        #expect(nameA == UnitNaming.unitName(namespace: namespace, pod: a, container: container))
        #expect(Self.isValidSystemdUnitName(nameA))

        let parsed = try #require(UnitNaming.parse(nameA))
        #expect(parsed.isShortened)
        #expect(parsed.namespace == namespace)
        #expect(parsed.container == container)
        let cut = try #require(parsed.pod.split(separator: "_").first)
        #expect(a.hasPrefix(cut))
        #expect(!cut.hasSuffix(".") && !cut.hasSuffix("-"))

        // Same pod, other namespace or container: other names too.
        #expect(UnitNaming.unitName(namespace: "other", pod: a, container: container) != nameA)
        #expect(UnitNaming.unitName(namespace: namespace, pod: a, container: "c2") != nameA)
    }

    @Test func theHashIsOfTheWholeIdentity() throws {
        let pod = Self.longPodName(253)
        let name = UnitNaming.unitName(namespace: "default", pod: pod, container: "app")
        let hash = try #require(UnitNaming.parse(name)?.pod.split(separator: "_").last)
        #expect(hash == SHA256.hex("default/\(pod)/app").prefix(16))
    }

    /// Kubernetes limits a pod name (a DNS subdomain) to 253 characters, not its labels to 63.
    @Test func podNamesWithLongLabelsAreAccepted() throws {
        let name = String(repeating: "a", count: 100)
        let plan = try Fixtures.compile(Fixtures.pod(name: name))
        #expect(UnitNaming.parse(plan.units[0].name)?.isShortened == false)
    }

    @Test func parseRefusesOtherNames() {
        for name in [
            "nginx.service", "systemk.default.web.service", "systemk..web.app.service", "systemk.default..app.service",
            "systemk.default.web..service", "systemk.default.web.app.socket", "xsystemk.default.web.app.service", "",
        ] {
            #expect(UnitNaming.parse(name) == nil, "\(name)")
        }
    }

    @Test func deterministicUIDIsStableAndAVersion8UUID() {
        let uid = DeterministicUID.uid(namespace: "default", name: "web")
        // SHA-256("systemk:default/web") = 0549c69f54d41839ea9b3f635a93b37c..., version and variant set.
        #expect(uid == "0549c69f-54d4-8839-aa9b-3f635a93b37c")
        #expect(uid == DeterministicUID.uid(namespace: "default", name: "web"))
        #expect(uid != DeterministicUID.uid(namespace: "default", name: "web2"))
        #expect(uid != DeterministicUID.uid(namespace: "other", name: "web"))
        for (ns, name) in [("a", "b"), ("kube-system", "x.y.z"), ("n", String(repeating: "p", count: 253))] {
            let u = DeterministicUID.uid(namespace: ns, name: name)
            #expect(Self.isUUID(u), "\(u)")
            #expect(Array(u)[14] == "8")
            #expect("89ab".contains(Array(u)[19]))
        }
    }

    static func isUUID(_ s: String) -> Bool {
        let groups = s.split(separator: "-", omittingEmptySubsequences: false)
        return groups.map(\.count) == [8, 4, 4, 4, 12] && groups.allSatisfy { $0.allSatisfy { "0123456789abcdef".contains($0) } }
    }

    @Test func compiledUnitsUseTheNameAndIdentity() throws {
        let plan = try Fixtures.compile(Fixtures.pod(name: "api.v2", namespace: "prod"))
        let unit = try #require(plan.units.first)
        #expect(unit.name == "systemk.prod.api.v2.app.service")
        #expect(plan.uid == DeterministicUID.uid(namespace: "prod", name: "api.v2"))
        #expect(plan.podDirectory == "/var/lib/systemk/pods/" + plan.uid)
        #expect(unit.value("Namespace", in: "X-Kubernetes") == "prod")
        #expect(unit.value("Pod", in: "X-Kubernetes") == "api.v2")
        #expect(unit.value("PodUID", in: "X-Kubernetes") == plan.uid)
        #expect(unit.value("Container", in: "X-Kubernetes") == "app")
        let given = try Fixtures.compile(Fixtures.pod(uid: "0f9e8d7c-1111-2222-3333-444455556666"))
        #expect(given.uid == "0f9e8d7c-1111-2222-3333-444455556666")
    }
}
