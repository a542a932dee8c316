/// A string that cannot be written into a unit setting so that systemd hands it over unchanged.
public struct SystemdEscapingError: Error, Sendable, Equatable, Codable, CustomStringConvertible {
    /// Why the input cannot be written; tests match on it, people read `message`.
    public enum Reason: String, Sendable, Equatable, Codable {
        /// A NUL byte: nothing in a unit file or an environment can carry one.
        case nulByte
        /// Not valid UTF-8, or a noncharacter systemd rejects, where systemd requires UTF-8.
        case invalidUTF8
        /// An environment variable name systemd would drop.
        case invalidName
        /// A path systemd would refuse: not absolute, `..` components, too long, a directory.
        case invalidPath
        /// Valid input that this setting has no way to express (a newline in a path, a quote in an
        /// executable name, an option the setting lacks).
        case unrepresentable
    }

    public var reason: Reason
    /// What is wrong, written for a person.
    public var message: String

    /// Creates an error.
    public init(_ reason: Reason, _ message: String) {
        self.reason = reason
        self.message = message
    }

    public var description: String { message }

    static func shown(_ bytes: [UInt8]) -> String {
        let text = String(decoding: bytes.prefix(80), as: UTF8.self).debugDescription
        return bytes.count > 80 ? text + "…" : text
    }
}
