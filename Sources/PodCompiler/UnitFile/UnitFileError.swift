/// A unit file (or one value of it) that systemd would refuse, or a model that cannot be written as one.
///
/// `line` and `column` are 1-based. `line` is the physical line where the offending logical line starts
/// (for a value parsed on its own, the caller's line, or 0 when unknown); `column` counts characters
/// (Unicode scalars) from the start of that logical line, or of the value.
public struct UnitFileError: Error, Sendable, Equatable, Codable, CustomStringConvertible {
    /// The file the text came from, such as `nginx.service` or `<unit>`.
    public var fileName: String
    /// The line the problem is on; 0 when not known.
    public var line: Int
    /// The column within the line, when it helps.
    public var column: Int?
    /// What is wrong, written for a person.
    public var message: String

    /// Creates an error at a position.
    public init(fileName: String, line: Int, column: Int? = nil, message: String) {
        self.fileName = fileName
        self.line = line
        self.column = column
        self.message = message
    }

    /// `file:line:column: message`, leaving out what is unknown.
    public var description: String {
        var position = fileName
        if line > 0 {
            position += ":\(line)"
            if let column { position += ":\(column)" }
        }
        return "\(position): \(message)"
    }
}
