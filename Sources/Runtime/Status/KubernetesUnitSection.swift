import KubeClient
import PodCompiler

/// A unit's identity, read from its `[X-Kubernetes]` section (docs/lowering.md): which pod and
/// container it runs, and what status mapping needs to know about them.
public struct KubernetesUnitSection: Sendable, Equatable {
    /// A pod's `restartPolicy`.
    public enum RestartPolicy: String, Sendable, Equatable {
        case always = "Always"
        case onFailure = "OnFailure"
        case never = "Never"
    }

    public var namespace: String
    public var pod: String
    public var podUID: String
    public var container: String
    public var role: PlannedUnit.Role
    /// Position among the pod's init containers, for `init` and `sidecar`.
    public var initIndex: Int?
    public var image: String
    public var restartPolicy: RestartPolicy
    public var podDirectory: String
    public var packageUnit: String?

    /// The section's name.
    public static let sectionName = "X-Kubernetes"

    /// Reads the section of the unit file `text` of the unit `unitName`. Every key must be there
    /// with a valid value, and the unit name must be the one the compiler gives that identity, so a
    /// copied or hand-edited unit is reported rather than mistaken for another container.
    public static func parse(unitName: String, unitFileText text: String) -> Result<KubernetesUnitSection, UnitProblem> {
        let file: UnitFile
        do {
            file = try UnitFile.parse(text, fileName: unitName)
        } catch {
            return .failure(UnitProblem(unit: unitName, kind: .unreadableUnitFile(error.description)))
        }
        guard file.sections.contains(where: { $0.name == sectionName }) else {
            return .failure(UnitProblem(unit: unitName, kind: .missingSection))
        }
        var uidHint: String? = nil
        func fail(_ kind: UnitProblem.Kind) -> Result<KubernetesUnitSection, UnitProblem> {
            .failure(UnitProblem(unit: unitName, kind: kind, podUID: uidHint))
        }
        var values: [String: String] = [:]
        for key in ["PodUID", "Namespace", "Pod", "Container", "ContainerRole", "Image", "RestartPolicy", "PodDirectory"] {
            let assigned = file.entries(key, in: sectionName)
            guard let value = assigned.last, !value.isEmpty else { return fail(.missingKey(key)) }
            guard assigned.count == 1 else { return fail(.invalidValue(key: key, value: value, expected: "assigned once")) }
            values[key] = value
            if key == "PodUID" {
                guard isUID(value) else { return fail(.invalidValue(key: key, value: value, expected: "letters, digits and -")) }
                uidHint = value
            }
        }
        guard let podUID = values["PodUID"], let namespace = values["Namespace"], let pod = values["Pod"],
            let container = values["Container"], let roleText = values["ContainerRole"], let image = values["Image"],
            let policyText = values["RestartPolicy"], let podDirectory = values["PodDirectory"]
        else { return fail(.missingSection) }
        guard isDNSLabel(namespace) else { return fail(.invalidValue(key: "Namespace", value: namespace, expected: "a DNS label")) }
        guard isDNSLabel(container) else { return fail(.invalidValue(key: "Container", value: container, expected: "a DNS label")) }
        guard let role = PlannedUnit.Role(rawValue: roleText) else {
            return fail(.invalidValue(key: "ContainerRole", value: roleText, expected: "init, sidecar or app"))
        }
        guard let policy = RestartPolicy(rawValue: policyText) else {
            return fail(.invalidValue(key: "RestartPolicy", value: policyText, expected: "Always, OnFailure or Never"))
        }
        var initIndex: Int? = nil
        let indexText = file.entries("InitIndex", in: sectionName)
        if role == .app {
            if let text = indexText.last { return fail(.invalidValue(key: "InitIndex", value: text, expected: "absent for an app container")) }
        } else {
            guard let text = indexText.last else { return fail(.missingKey("InitIndex")) }
            guard indexText.count == 1, let index = Int(text), index >= 0, String(index) == text else {
                return fail(.invalidValue(key: "InitIndex", value: text, expected: "a number from 0, assigned once"))
            }
            initIndex = index
        }
        let expectedName = UnitNaming.unitName(namespace: namespace, pod: pod, container: container)
        guard expectedName == unitName else { return fail(.nameMismatch(expected: expectedName)) }
        return .success(
            KubernetesUnitSection(
                namespace: namespace, pod: pod, podUID: podUID, container: container, role: role, initIndex: initIndex,
                image: image, restartPolicy: policy, podDirectory: podDirectory,
                packageUnit: file.lastValue("PackageUnit", in: sectionName)))
    }

    static func isUID(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.count <= 128 && s.utf8.allSatisfy { isAlphanumeric($0) || $0 == UInt8(ascii: "-") }
    }

    static func isDNSLabel(_ s: String) -> Bool {
        let bytes = Array(s.utf8)
        guard let first = bytes.first, let last = bytes.last, bytes.count <= 63 else { return false }
        return isLowerAlphanumeric(first) && isLowerAlphanumeric(last)
            && bytes.allSatisfy { isLowerAlphanumeric($0) || $0 == UInt8(ascii: "-") }
    }

    private static func isLowerAlphanumeric(_ b: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(b) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b)
    }

    private static func isAlphanumeric(_ b: UInt8) -> Bool {
        isLowerAlphanumeric(b) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(b)
    }
}

/// A unit that looks like systemk's but cannot be reported as a container: it is returned, never
/// silently dropped.
public struct UnitProblem: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The unit file could not be read (`ObservedUnit.unitFile` is nil).
        case unitFileUnavailable
        /// systemd's syntax rules refuse the unit file.
        case unreadableUnitFile(String)
        /// It has no `[X-Kubernetes]` section.
        case missingSection
        case missingKey(String)
        case invalidValue(key: String, value: String, expected: String)
        /// Its name is not the one its identity gives.
        case nameMismatch(expected: String)
        /// Another unit already reports this container of the pod.
        case duplicateContainer(otherUnit: String)
        /// It disagrees with the pod's other units on a pod-level key (`Namespace`, `Pod`,
        /// `RestartPolicy`, `PodDirectory`).
        case conflictingPod(key: String, value: String, otherUnit: String)
    }

    public var unit: String
    public var kind: Kind
    /// The pod it claims to belong to, when that much could be read.
    public var podUID: String?

    public init(unit: String, kind: Kind, podUID: String? = nil) {
        self.unit = unit
        self.kind = kind
        self.podUID = podUID
    }

    public var description: String {
        let what: String
        switch kind {
        case .unitFileUnavailable: what = "its unit file could not be read"
        case let .unreadableUnitFile(error): what = "its unit file is not valid: \(error)"
        case .missingSection: what = "it has no [X-Kubernetes] section"
        case let .missingKey(key): what = "[X-Kubernetes] has no \(key)="
        case let .invalidValue(key, value, expected): what = "[X-Kubernetes] \(key)=\(value) is not \(expected)"
        case let .nameMismatch(expected): what = "its [X-Kubernetes] identity belongs to the unit \(expected)"
        case let .duplicateContainer(other): what = "\(other) already runs this container of the pod"
        case let .conflictingPod(key, value, other): what = "\(key)=\(value) disagrees with \(other) of the same pod"
        }
        return "\(unit): \(what)"
    }
}
