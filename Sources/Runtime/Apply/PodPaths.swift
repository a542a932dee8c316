import PodCompiler

/// Where a pod's files live: `<stateDirectory>/pods/<uid>`, and every planned path resolved to a
/// `ConfinedPath` below `<stateDirectory>/pods` after checking it lies inside the pod's directory.
struct PodLayout: Sendable {
    /// `<stateDirectory>/pods`, the trusted root of every confined path.
    let podsRoot: String
    let uid: String
    let podDirectory: String

    init(plan: PodPlan, stateDirectory: String) throws(ApplyError) {
        let podsRoot = try PodLayout.podsRoot(stateDirectory: stateDirectory)
        guard PodLayout.isUID(plan.uid) else {
            throw .invalidPlan(path: plan.podDirectory, reason: "the pod UID \"\(plan.uid)\" is not letters, digits and -")
        }
        let expected = podsRoot + "/" + plan.uid
        guard plan.podDirectory == expected else {
            throw .invalidPlan(path: plan.podDirectory, reason: "a pod's directory must be \(expected)")
        }
        self.podsRoot = podsRoot
        self.uid = plan.uid
        self.podDirectory = expected
    }

    /// `<stateDirectory>/pods`, for a clean absolute state directory.
    static func podsRoot(stateDirectory: String) throws(ApplyError) -> String {
        guard let parts = cleanAbsoluteComponents(stateDirectory) else {
            throw .invalidPlan(path: stateDirectory, reason: "the state directory must be an absolute path without ., .. or empty names")
        }
        return "/" + (parts + ["pods"]).joined(separator: "/")
    }

    /// A pod UID as the compiler accepts it: 1 to 128 letters, digits and `-`.
    static func isUID(_ uid: String) -> Bool {
        !uid.isEmpty && uid.utf8.count <= 128
            && uid.utf8.allSatisfy { b in
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(b) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(b)
                    || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b) || b == UInt8(ascii: "-")
            }
    }

    /// The names of an absolute path, or nil when it is relative or holds empty, `.` or `..` names
    /// (a trailing `/` excepted) or NUL. `/` itself has no names.
    static func cleanAbsoluteComponents(_ path: String) -> [String]? {
        guard path.hasPrefix("/"), !path.utf8.contains(0) else { return nil }
        var body = path.dropFirst()
        if body.hasSuffix("/") { body = body.dropLast() }
        if body.isEmpty { return [] }
        let parts = body.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.allSatisfy(ConfinedPath.isPlainName) else { return nil }
        return parts
    }

    /// The names of `path` below the pod's directory (empty for the directory itself).
    func relative(_ path: String) throws(ApplyError) -> [String] {
        guard let parts = PodLayout.cleanAbsoluteComponents(path), path == "/" + parts.joined(separator: "/") else {
            throw .pathOutsidePod(path: path, podDirectory: podDirectory)
        }
        guard path == podDirectory || path.hasPrefix(podDirectory + "/") else {
            throw .pathOutsidePod(path: path, podDirectory: podDirectory)
        }
        return Array(parts.dropFirst(podsRootDepth + 1))
    }

    /// `path`, checked, as a confined path below `<state>/pods`.
    func confined(_ path: String) throws(ApplyError) -> ConfinedPath {
        let names = try relative(path)
        do {
            return try ConfinedPath(root: podsRoot, components: [uid] + names)
        } catch {
            throw .pathOutsidePod(path: path, podDirectory: podDirectory)
        }
    }

    private var podsRootDepth: Int { podsRoot.split(separator: "/").count }
}

/// Turns the plan's owners and groups (a number, a name, or `""` for the runtime's own user) into ids,
/// asking the user database once per name.
struct OwnerResolver {
    let users: any UserDatabase
    private var userCache: [String: UInt32] = [:]
    private var groupCache: [String: UInt32] = [:]

    init(users: any UserDatabase) {
        self.users = users
    }

    mutating func ids(owner: String, group: String, path: String) throws(ApplyError) -> (UInt32, UInt32) {
        (try userID(owner, path: path), try groupID(group, path: path))
    }

    mutating func userID(_ owner: String, path: String) throws(ApplyError) -> UInt32 {
        if owner.isEmpty { return users.processIDs.user }
        if let id = Self.numericID(owner) { return id }
        if let cached = userCache[owner] { return cached }
        let found: UInt32?
        do { found = try users.userID(named: owner) } catch { throw .userLookupFailed(error, path: path) }
        guard let found else { throw .unknownUser(name: owner, path: path) }
        userCache[owner] = found
        return found
    }

    mutating func groupID(_ group: String, path: String) throws(ApplyError) -> UInt32 {
        if group.isEmpty { return users.processIDs.group }
        if let id = Self.numericID(group) { return id }
        if let cached = groupCache[group] { return cached }
        let found: UInt32?
        do { found = try users.groupID(named: group) } catch { throw .userLookupFailed(error, path: path) }
        guard let found else { throw .unknownGroup(name: group, path: path) }
        groupCache[group] = found
        return found
    }

    /// Decimal digits only; `4294967295` is `(uid_t)-1`, which chown reads as "leave unchanged".
    static func numericID(_ text: String) -> UInt32? {
        guard !text.isEmpty, text.utf8.count <= 10, text.utf8.allSatisfy({ (48...57).contains($0) }),
            let value = UInt32(text), value != UInt32.max
        else { return nil }
        return value
    }
}

/// A plan's mode string (`"0644"`, `"2777"`): octal digits, at most `07777`.
func parseMode(_ text: String, path: String) throws(ApplyError) -> UInt32 {
    guard !text.isEmpty, text.utf8.count <= 5, text.utf8.allSatisfy({ (48...55).contains($0) }),
        let value = UInt32(text, radix: 8), value <= 0o7777
    else {
        throw .invalidPlan(path: path, reason: "\"\(text)\" is not an octal mode")
    }
    return value
}
