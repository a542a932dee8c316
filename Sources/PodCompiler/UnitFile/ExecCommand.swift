/// One command of an `ExecStart=`-style setting (`ExecStart=`, `ExecStartPre=`, `ExecStop=`, ...):
/// its prefix characters and its words, each word kept as written so that a package unit's command
/// can be carried over verbatim (specifiers and `$VARIABLES` included).
///
/// systemd 252 (`config_parse_exec()` in src/core/load-fragment.c) reads the value as:
/// `[PREFIXES]EXECUTABLE [ARGUMENT...] [; [PREFIXES]EXECUTABLE [ARGUMENT...]]...`. A lone unquoted `;`
/// separates commands (one setting line can hold several), `\;` is an argument `;`, and a quoted `";"`
/// is an argument `;` too.
public struct ExecCommand: Sendable, Equatable, Codable {
    /// A prefix character of the executable, as systemd.service(5) lists them.
    public enum Prefix: String, Sendable, Equatable, Codable, CaseIterable {
        /// `-`: a failing exit status is recorded but ignored.
        case ignoreFailure = "-"
        /// `@`: the second word is `argv[0]`, not the executable.
        case customArgv0 = "@"
        /// `:`: no `$VARIABLE` substitution in the arguments.
        case noEnvironmentExpansion = ":"
        /// `+`: run with full privileges, no sandboxing.
        case fullPrivileges = "+"
        /// `!`: sandboxing applies, but no user or group change.
        case noSetuid = "!"
        /// `!!`: user and group through ambient capabilities when the kernel supports them.
        case ambientCapabilities = "!!"
    }

    /// One word of a command line: the text as written, and the bytes systemd's unquoting makes of it.
    public struct Word: Sendable, Equatable, Codable {
        /// The word as it stands in the unit file, quotes and escapes included.
        public let raw: String
        /// The word after unquoting and C unescaping (`extract_first_word()` with `EXTRACT_UNQUOTE`,
        /// `EXTRACT_CUNESCAPE`, unknown escapes kept verbatim), before specifier (`%`) and environment
        /// (`$`) expansion. Bytes, because escapes such as `\xff` may make it invalid UTF-8.
        public let unquoted: [UInt8]

        init(raw: String, unquoted: [UInt8]) {
            self.raw = raw
            self.unquoted = unquoted
        }

        /// The unquoted word as a string, or nil when it is not valid UTF-8.
        public var unquotedString: String? {
            String(validating: unquoted, as: UTF8.self)
        }

        /// Parses one raw word, such as `"--name=a b"` or `%i`. The word must be a single argument
        /// word (not a lone `;`).
        public init(raw: String) throws(UnitFileError) {
            let commands = try ExecCommand.parseList("/w " + raw, fileName: "<word>", line: 0)
            guard commands.count == 1, commands[0].words.count == 2, commands[0].prefixes.isEmpty else {
                throw UnitFileError(fileName: "<word>", line: 0, message: "Not a single word: \(raw)")
            }
            self = commands[0].words[1]
        }

        /// A word that reaches the process as exactly `value` (see `SystemdEscaping.execArgument`).
        public static func argument(_ value: String, environmentExpansion: Bool = true)
            throws(SystemdEscapingError) -> Word
        {
            let raw = try SystemdEscaping.execArgument(value, environmentExpansion: environmentExpansion)
            return Word(raw: raw, unquoted: unquotedBytes(ofQuoted: raw))
        }

        /// The executable word for `path` (see `SystemdEscaping.execPath`).
        public static func executable(_ path: String, environmentExpansion: Bool = true)
            throws(SystemdEscapingError) -> Word
        {
            let raw = try SystemdEscaping.execPath(path, environmentExpansion: environmentExpansion)
            return Word(raw: raw, unquoted: unquotedBytes(ofQuoted: raw))
        }

        private static func unquotedBytes(ofQuoted raw: String) -> [UInt8] {
            var cursor: Int? = 0
            let word = try? WordExtractor(Array(raw.utf8)).next(&cursor, flags: [.unquote, .cunescape])
            return word?.bytes ?? []
        }
    }

    /// The prefixes in the order they are written.
    public var prefixes: [Prefix]
    /// The executable, then (after `@`) `argv[0]`, then the arguments.
    public var words: [Word]

    /// A command from prefixes and words; `words` must not be empty.
    public init(prefixes: [Prefix] = [], words: [Word]) {
        self.prefixes = prefixes
        self.words = words
    }

    /// A command that runs `executable` with exactly `arguments`, escaped for systemd.
    /// `$` is escaped unless `prefixes` holds `.noEnvironmentExpansion`.
    public static func make(
        executable: String, arguments: [String], prefixes: [Prefix] = []
    ) throws(SystemdEscapingError) -> ExecCommand {
        let expansion = !prefixes.contains(.noEnvironmentExpansion)
        var words = [try Word.executable(executable, environmentExpansion: expansion)]
        for argument in arguments {
            words.append(try Word.argument(argument, environmentExpansion: expansion))
        }
        return ExecCommand(prefixes: prefixes, words: words)
    }

    /// The command as a setting value: the prefixes, then the raw words separated by one space.
    public var serialized: String {
        prefixes.map(\.rawValue).joined() + words.map(\.raw).joined(separator: " ")
    }

    /// Several commands as one setting value, separated by ` ; ` as systemd reads them.
    public static func serialized(_ commands: [ExecCommand]) -> String {
        commands.map(\.serialized).joined(separator: " ; ")
    }
}
