/// An input error: what is wrong, and where (file, field path, line and column when known).
///
/// Every way the compiler can refuse an input ends here, so that `systemk-render`, the agent and the
/// golden tests all print the same message.
public struct CompileError: Error, Sendable, Equatable, CustomStringConvertible, Codable {
    /// What kind of problem this is; tests match on it, people read `message`.
    public enum Code: String, Sendable, Codable {
        case invalidDocument      // not YAML/JSON, too large, too deep, alias bomb
        case invalidField         // a field has the wrong type or an invalid value
        case missingField         // a required field is absent
        case invalidName          // a name that cannot become a unit or file name
        case duplicateName        // two containers or volumes share a name
        case unsupported          // a field systemk cannot honour
        case missingReference     // a ConfigMap, Secret, key or volume that is not there
        case unsafePath           // a path that would leave its volume or is not absolute
        case unrepresentable      // a value systemd cannot carry (NUL byte, invalid UTF-8)
        case securityPolicy       // runAsNonRoot violated and similar
    }

    public var code: Code
    /// The input file, when known.
    public var file: String?
    /// The object the error is in, such as `Pod default/web`.
    public var object: String?
    /// The field path, such as `spec.containers[0].resources.limits['cpu']`.
    public var path: String?
    public var position: SourcePosition?
    public var message: String

    public init(
        _ code: Code, path: String? = nil, _ message: String,
        file: String? = nil, object: String? = nil, position: SourcePosition? = nil
    ) {
        self.code = code
        self.path = path
        self.message = message
        self.file = file
        self.object = object
        self.position = position
    }

    public var description: String {
        var where_: [String] = []
        if let file {
            if let position {
                where_.append("\(file):\(position.line):\(position.column)")
            } else {
                where_.append(file)
            }
        } else if let position {
            where_.append("line \(position.line), column \(position.column)")
        }
        if let object { where_.append(object) }
        if let path, !path.isEmpty { where_.append(path) }
        return (where_ + [message]).joined(separator: ": ")
    }
}
