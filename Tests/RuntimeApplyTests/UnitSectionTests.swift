import Foundation
import Testing

@testable import PodCompiler
@testable import SystemkRuntime

/// Units are attributed to pods by their `[X-Kubernetes]` section; a unit that cannot be is
/// reported, never dropped.
@Suite struct UnitSectionTests {
    typealias F = StatusFixtures
    static let name = "systemk.default.shop.web.service"

    func section(_ lines: [String]) -> String {
        "[Service]\nExecStart=/bin/true\n\n[X-Kubernetes]\n" + lines.joined(separator: "\n") + "\n"
    }

    static let valid = [
        "Namespace=default", "Pod=shop", "PodUID=\(F.uid)", "Container=web", "ContainerRole=app", "Image=nginx",
        "RestartPolicy=Always", "PodDirectory=/var/lib/systemk/pods/\(F.uid)",
    ]

    func problem(_ lines: [String], name: String = name) -> UnitProblem.Kind? {
        switch KubernetesUnitSection.parse(unitName: name, unitFileText: section(lines)) {
        case .success: return nil
        case let .failure(problem): return problem.kind
        }
    }

    @Test func theCompilersSectionsParse() throws {
        let units = try F.units(initContainers: ["migrate", "proxy:sidecar"], containers: ["web"])
        let proxy = try #require(units["proxy"])
        let parsed = try KubernetesUnitSection.parse(unitName: proxy.name, unitFileText: proxy.contents).get()
        #expect(parsed.role == .sidecar && parsed.initIndex == 1 && parsed.restartPolicy == .always && parsed.podUID == F.uid)
        #expect(parsed.image == "/bin/true" && parsed.namespace == "default" && parsed.pod == "shop" && parsed.container == "proxy")
        #expect(try KubernetesUnitSection.parse(unitName: units["web"]!.name, unitFileText: units["web"]!.contents).get().initIndex == nil)
    }

    @Test func aShortenedUnitNameStillMatchesItsIdentity() throws {
        let long = String(repeating: "abcdefghij.", count: 20) + "x"
        let units = try F.units(pod: long)
        let web = try #require(units["web"])
        #expect(web.name.contains("_"))
        let mapping = PodStatusMapper.map([F.observe(web, F.running())])
        #expect(mapping.problems == [] && mapping.pods.first?.name == long)
    }

    @Test func everyKeyIsRequired() {
        for (index, line) in Self.valid.enumerated() {
            var lines = Self.valid
            lines.remove(at: index)
            let key = String(line.prefix { $0 != "=" })
            #expect(problem(lines) == .missingKey(key))
        }
        #expect(problem(Self.valid + ["PackageUnit=/lib/systemd/system/nginx.service"]) == nil)
    }

    @Test func badValuesAreNamed() {
        func with(_ key: String, _ value: String) -> [String] {
            Self.valid.map { $0.hasPrefix(key + "=") ? key + "=" + value : $0 }
        }
        #expect(problem(with("ContainerRole", "main")) == .invalidValue(key: "ContainerRole", value: "main", expected: "init, sidecar or app"))
        #expect(problem(with("RestartPolicy", "always")) == .invalidValue(key: "RestartPolicy", value: "always", expected: "Always, OnFailure or Never"))
        #expect(problem(with("PodUID", "../../etc")) == .invalidValue(key: "PodUID", value: "../../etc", expected: "letters, digits and -"))
        #expect(problem(with("Namespace", "Default")) == .invalidValue(key: "Namespace", value: "Default", expected: "a DNS label"))
        #expect(problem(Self.valid + ["Pod=other"]) == .invalidValue(key: "Pod", value: "other", expected: "assigned once"))
        #expect(problem(Self.valid + ["InitIndex=0"]) == .invalidValue(key: "InitIndex", value: "0", expected: "absent for an app container"))
        #expect(problem(with("ContainerRole", "init")) == .missingKey("InitIndex"))
        #expect(
            problem(with("ContainerRole", "init") + ["InitIndex=-1"])
                == .invalidValue(key: "InitIndex", value: "-1", expected: "a number from 0, assigned once"))
    }

    @Test func aNameThatIsNotItsIdentityIsReported() {
        #expect(problem(Self.valid, name: "systemk.default.shop.api.service") == .nameMismatch(expected: Self.name))
    }

    @Test func unitsWithoutAValidSectionAreReportedNotDropped() throws {
        let web = try #require(try F.units()["web"])
        let units = [
            ObservedUnit(name: "systemk.default.a.b.service", unitFile: "[Service]\nExecStart=/bin/true\n", properties: F.running()),
            ObservedUnit(name: "systemk.default.c.d.service", unitFile: nil, properties: F.running()),
            ObservedUnit(name: "systemk.default.e.f.service", unitFile: "[Service\n", properties: F.running()),
            ObservedUnit(name: "nginx.service", unitFile: nil, properties: F.running()),
            ObservedUnit(name: "systemk.slice", unitFile: "[Slice]\n", properties: F.running()),
            F.observe(web, F.running()),
        ]
        let mapping = PodStatusMapper.map(units)
        #expect(mapping.pods.map(\.name) == ["shop"])
        #expect(mapping.problems.map(\.unit) == ["systemk.default.a.b.service", "systemk.default.c.d.service", "systemk.default.e.f.service"])
        #expect(mapping.problems[0].kind == .missingSection)
        #expect(mapping.problems[1].kind == .unitFileUnavailable)
        if case .unreadableUnitFile = mapping.problems[2].kind {} else { Issue.record("\(mapping.problems[2])") }
        #expect(mapping.problems[0].description == "systemk.default.a.b.service: it has no [X-Kubernetes] section")
    }

    @Test func aProblemNamesThePodWhenItCan() {
        let lines = Self.valid.map { $0.hasPrefix("ContainerRole=") ? "ContainerRole=x" : $0 }
        let unit = ObservedUnit(name: Self.name, unitFile: section(lines), properties: F.running())
        #expect(PodStatusMapper.map([unit]).problems.first?.podUID == F.uid)
    }

    @Test func twoUnitsForOneContainerAreAProblem() throws {
        let web = try #require(try F.units()["web"])
        let copy = ObservedUnit(name: web.name, unitFile: web.contents, properties: F.notStarted)
        let mapping = PodStatusMapper.map([F.observe(web, F.running()), copy])
        #expect(mapping.pods.first?.status.containerStatuses?.count == 1)
        #expect(mapping.problems.map(\.kind) == [.duplicateContainer(otherUnit: web.name)])
    }

    @Test func unitsDisagreeingAboutTheirPodAreAProblem() throws {
        let always = try F.units(containers: ["web", "api"], restartPolicy: "Always")
        let never = try F.units(containers: ["web", "api"], restartPolicy: "Never")
        let mapping = PodStatusMapper.map([F.observe(always["api"]!, F.running()), F.observe(never["web"]!, F.running())])
        #expect(mapping.problems.map(\.kind) == [.conflictingPod(key: "RestartPolicy", value: "Never", otherUnit: always["api"]!.name)])
    }

    @Test func podsAreGroupedByUID() throws {
        let first = try F.units(pod: "shop", uid: "uid-1")
        let second = try F.units(containers: ["web", "api"], pod: "shop", uid: "uid-2")
        let mapping = PodStatusMapper.map([
            F.observe(second["api"]!, F.running()), F.observe(first["web"]!, F.running()), F.observe(second["web"]!, F.notStarted),
        ])
        #expect(mapping.pods.map(\.uid) == ["uid-1", "uid-2"])
        #expect(mapping.pods[1].status.containerStatuses?.map(\.name) == ["api", "web"])
        #expect(mapping.pods[1].status.podPhase == .pending)
    }
}
