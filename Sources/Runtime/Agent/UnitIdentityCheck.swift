import PodCompiler

/// systemd 252 refuses to start a service whose `User=`, `Group=` or `SupplementaryGroups=` is not in
/// the node's user database (exit status 217/USER or 216/GROUP), where a container runtime accepts any
/// numeric id. The agent checks a pod's identities before it installs the pod, and reports each
/// container it cannot run as waiting with `CreateContainerConfigError`, as the kubelet reports a
/// container it cannot create, instead of letting systemd fail it over and over.
public enum UnitIdentityCheck {
    /// One container that cannot run as planned.
    public struct Problem: Sendable, Equatable, CustomStringConvertible {
        public var container: String
        public var message: String

        public var description: String { "container \(container): \(message)" }
    }

    /// The kubelet's waiting reason for a container whose configuration cannot be set up.
    public static let reason = "CreateContainerConfigError"

    /// The containers of `plan` whose unit names a user or group the node does not have. Names are not
    /// checked with `DynamicUser=yes` (systemd makes the user up); values with `%` specifiers are left
    /// to systemd.
    public static func problems(in plan: PodPlan, users: any UserDatabase) -> [Problem] {
        var problems: [Problem] = []
        for unit in plan.units {
            guard let file = try? UnitFile.parse(unit.contents, fileName: unit.name) else { continue }
            let dynamic = file.lastValue("DynamicUser", in: "Service").map(isTrue) ?? false
            var missing: [String] = []
            if let user = file.lastValue("User", in: "Service"), !user.isEmpty, !user.contains("%") {
                if let id = UInt32(user) {
                    if (try? users.hasUser(id: id)) == false { missing.append("uid \(id)") }
                } else if !dynamic, lacks({ () throws(UserDatabaseError) in try users.userID(named: user) }) {
                    missing.append("user \(user)")
                }
            }
            // An empty assignment resets the list.
            var groups: [String] = []
            for value in file.entries("SupplementaryGroups", in: "Service") {
                if value.isEmpty { groups = [] }
                groups += value.split(separator: " ").map(String.init)
            }
            if let group = file.lastValue("Group", in: "Service"), !group.isEmpty { groups.insert(group, at: 0) }
            for group in groups where !group.contains("%") {
                if let id = UInt32(group) {
                    if (try? users.hasGroup(id: id)) == false { missing.append("gid \(id)") }
                } else if !dynamic, lacks({ () throws(UserDatabaseError) in try users.groupID(named: group) }) {
                    missing.append("group \(group)")
                }
            }
            guard !missing.isEmpty else { continue }
            var unique: [String] = []
            for m in missing where !unique.contains(m) { unique.append(m) }
            problems.append(Problem(
                container: unit.container,
                message: "\(unique.joined(separator: ", ")) not found on this node; systemd refuses to start a service "
                    + "whose user or group does not exist (217/USER, 216/GROUP): create it, or choose one that exists"))
        }
        return problems
    }

    /// True only when the lookup answered "no such name" (a failing lookup is left to systemd).
    static func lacks(_ lookup: () throws(UserDatabaseError) -> UInt32?) -> Bool {
        do {
            return try lookup() == nil
        } catch {
            return false
        }
    }

    static func isTrue(_ value: String) -> Bool {
        ["1", "yes", "y", "true", "t", "on"].contains(value.lowercased())
    }
}
