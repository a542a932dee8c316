/// A kubeconfig, in-cluster configuration or exec credential plugin that cannot be used.
///
/// The description names where the problem is (the kubeconfig file, or "in-cluster config"), the field
/// path inside it (`users[0].user.client-key`) and what is wrong, for example
/// `kubeconfig /x/config: users[0].user.client-key: file /x/key.pem not found`.
public struct KubeconfigError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is wrong.
    public enum Reason: Sendable, Equatable {
        /// The kubeconfig file itself does not exist.
        case configNotFound
        /// A file the configuration refers to does not exist.
        case fileNotFound(path: String)
        /// A file exists but cannot be read (permissions, a directory, ...).
        case fileUnreadable(path: String, detail: String)
        /// The document is not valid YAML, or a field has the wrong type.
        case malformed(detail: String)
        /// A required field is absent or empty.
        case missingField
        /// A field holds a value that cannot be used.
        case invalidValue(detail: String)
        /// Two entries of one list in one file share a name.
        case duplicateName(String)
        /// username/password authentication, which systemk does not support.
        case basicAuthUnsupported
        /// An authentication method systemk does not support (auth-provider, impersonation).
        case unsupported(detail: String)
        /// No context was chosen: no current-context and no override.
        case noCurrentContext
        /// The chosen context, or the cluster or user it names, is not defined in any file.
        case undefined(kind: String, name: String)
        /// No configuration was found anywhere (no file, no KUBECONFIG, not in a cluster).
        case nothingConfigured(detail: String)
        /// An exec credential plugin could not be run or gave unusable output.
        case execPlugin(detail: String)
    }

    /// Where: `kubeconfig /path/config`, `kubeconfig /a:/b` for a merged list, or `in-cluster config`.
    public var origin: String
    /// The field path inside the origin, such as `users[0].user.client-key`, when one applies.
    public var field: String?
    /// What is wrong.
    public var reason: Reason

    /// Creates an error for `origin` (already worded, e.g. `kubeconfig /x/config`).
    public init(origin: String, field: String? = nil, reason: Reason) {
        self.origin = origin
        self.field = field
        self.reason = reason
    }

    static func file(_ path: String, field: String? = nil, _ reason: Reason) -> KubeconfigError {
        KubeconfigError(origin: "kubeconfig \(path)", field: field, reason: reason)
    }

    /// The message for a person.
    public var description: String {
        var text = origin
        if let field { text += ": \(field)" }
        return text + ": " + reasonText
    }

    private var reasonText: String {
        switch reason {
        case .configNotFound: return "file not found"
        case .fileNotFound(let path): return "file \(path) not found"
        case .fileUnreadable(let path, let detail): return "file \(path) cannot be read: \(detail)"
        case .malformed(let detail): return "malformed: \(detail)"
        case .missingField: return "required but missing or empty"
        case .invalidValue(let detail): return detail
        case .duplicateName(let name): return "duplicate name \"\(name)\" in list"
        case .basicAuthUnsupported:
            return "basic authentication (username/password) is not supported: use a client certificate, "
                + "a token or an exec credential plugin"
        case .unsupported(let detail): return "not supported: \(detail)"
        case .noCurrentContext: return "no current-context is set and no context was given"
        case .undefined(let kind, let name): return "\(kind) \"\(name)\" is not defined"
        case .nothingConfigured(let detail): return "no configuration found: \(detail)"
        case .execPlugin(let detail): return "exec credential plugin: \(detail)"
        }
    }
}
