extension ExecCommand {
    /// Parses a value that must hold exactly one command.
    ///
    /// - Parameters:
    ///   - value: the raw setting value, as `UnitFile` keeps it.
    ///   - fileName: the file, for error messages.
    ///   - line: the line of the assignment, for error messages (0 when unknown).
    public static func parse(_ value: String, fileName: String = "<value>", line: Int = 0)
        throws(UnitFileError) -> ExecCommand
    {
        let commands = try parseList(value, fileName: fileName, line: line)
        guard commands.count == 1 else {
            throw UnitFileError(
                fileName: fileName, line: line,
                message: commands.isEmpty
                    ? "Empty command line" : "Expected one command, found \(commands.count) separated by ';'")
        }
        return commands[0]
    }

    /// Parses a raw `ExecStart=`-style value into its commands, as systemd 252 does.
    ///
    /// An empty value gives no commands (in a unit it resets the list). A lone unquoted `;` (with
    /// whitespace or the end after it) ends a command; empty commands between separators are skipped.
    /// The executable word loses its prefix characters (which systemd also recognises inside quotes)
    /// and is checked like systemd checks it: not empty, no quotes, backslashes or control characters,
    /// not ending in `/`, an absolute path or a plain file name (unless it holds a `%` specifier that
    /// would only be resolved later). Unbalanced quotes, or a trailing backslash inside quotes, are
    /// errors. Unknown escapes such as `\d` are kept verbatim, as systemd keeps them (with a warning).
    /// Where systemd only skips a broken command because of a `-` prefix, this still throws.
    public static func parseList(_ value: String, fileName: String = "<value>", line: Int = 0)
        throws(UnitFileError) -> [ExecCommand]
    {
        var parser = ExecCommandParser(value: value, fileName: fileName, line: line)
        return try parser.parse()
    }
}

/// The state of one `ExecCommand.parseList` run.
struct ExecCommandParser {
    let bytes: [UInt8]
    let value: String
    let fileName: String
    let line: Int

    init(value: String, fileName: String, line: Int) {
        self.bytes = Array(value.utf8)
        self.value = value
        self.fileName = fileName
        self.line = line
    }

    private func failure(_ message: String, at offset: Int? = nil) -> UnitFileError {
        let column = offset.map { SystemdText.string(bytes[..<min($0, bytes.count)]).unicodeScalars.count + 1 }
        return UnitFileError(fileName: fileName, line: line, column: column, message: message)
    }

    private func at(_ index: Int) -> UInt8 {
        index < bytes.count ? bytes[index] : 0
    }

    private func isWhitespaceOrEnd(_ index: Int) -> Bool {
        index >= bytes.count || SystemdText.isWhitespace(bytes[index])
    }

    private func extract(_ cursor: inout Int?) throws(UnitFileError) -> WordExtractor.Word? {
        let start = cursor ?? bytes.count
        do {
            return try WordExtractor(bytes).nextRelaxingEscapes(&cursor, flags: [.unquote, .cunescape])
        } catch {
            throw failure("Unbalanced quoting (or a backslash at the end of a quoted word)", at: start)
        }
    }

    mutating func parse() throws(UnitFileError) -> [ExecCommand] {
        if SystemdText.strip(bytes[...]).isEmpty { return [] }
        var commands: [ExecCommand] = []
        var cursor: Int? = 0
        while true {
            guard let first = try extract(&cursor) else { return commands }
            if first.bytes == [UInt8(ascii: ";")] { continue }
            var (command, separateArgv0) = try executable(first)
            var sawSeparator = false
            while let index = cursor, index < bytes.count {
                if bytes[index] == UInt8(ascii: ";") && isWhitespaceOrEnd(index + 1) {
                    cursor = skipWhitespace(from: index + 1)
                    sawSeparator = true
                    break
                }
                if bytes[index] == SystemdText.backslash && at(index + 1) == UInt8(ascii: ";")
                    && isWhitespaceOrEnd(index + 2)
                {
                    command.words.append(ExecCommand.Word(raw: "\\;", unquoted: [UInt8(ascii: ";")]))
                    cursor = skipWhitespace(from: index + 2)
                    continue
                }
                guard let word = try extract(&cursor) else { break }
                command.words.append(ExecCommand.Word(raw: SystemdText.string(bytes[word.rawRange]), unquoted: word.bytes))
            }
            if separateArgv0 && command.words.count < 2 {
                throw failure("Empty executable name or zeroeth argument: '\(value)'")
            }
            commands.append(command)
            if !sawSeparator { return commands }
        }
    }

    private func skipWhitespace(from index: Int) -> Int? {
        var index = index
        while index < bytes.count, SystemdText.isWhitespace(bytes[index]) { index += 1 }
        return index < bytes.count ? index : nil
    }

    /// The prefixes and the executable word, from the first word of a command.
    private func executable(_ word: WordExtractor.Word) throws(UnitFileError) -> (ExecCommand, Bool) {
        var prefixes: [ExecCommand.Prefix] = []
        var consumed = 0
        for byte in word.bytes {
            let has = { (prefix: ExecCommand.Prefix) in prefixes.contains(prefix) }
            if byte == UInt8(ascii: "-") && !has(.ignoreFailure) {
                prefixes.append(.ignoreFailure)
            } else if byte == UInt8(ascii: "@") && !has(.customArgv0) {
                prefixes.append(.customArgv0)
            } else if byte == UInt8(ascii: ":") && !has(.noEnvironmentExpansion) {
                prefixes.append(.noEnvironmentExpansion)
            } else if byte == UInt8(ascii: "+") && !has(.fullPrivileges) && !has(.noSetuid) && !has(.ambientCapabilities) {
                prefixes.append(.fullPrivileges)
            } else if byte == UInt8(ascii: "!") && !has(.fullPrivileges) && !has(.noSetuid) && !has(.ambientCapabilities) {
                prefixes.append(.noSetuid)
            } else if byte == UInt8(ascii: "!") && !has(.fullPrivileges) && !has(.ambientCapabilities),
                let index = prefixes.firstIndex(of: .noSetuid)
            {
                prefixes[index] = .ambientCapabilities  // "!!"
            } else {
                break
            }
            consumed += 1
        }
        let path = Array(word.bytes.dropFirst(consumed))
        try checkExecutable(path, at: word.rawRange.lowerBound)

        let raw = bytes[word.rawRange]
        let rawPath: String
        if raw.starts(with: word.bytes.prefix(consumed)) {
            rawPath = SystemdText.string(raw.dropFirst(consumed))
        } else {
            // The prefixes were inside quotes or escapes: write the path alone, quoted again.
            rawPath = SystemdEscaping.quoteUnquoted(path)
        }
        let separateArgv0 = prefixes.contains(.customArgv0)
        return (ExecCommand(prefixes: prefixes, words: [ExecCommand.Word(raw: rawPath, unquoted: path)]), separateArgv0)
    }

    /// The checks `config_parse_exec()` makes on the executable.
    private func checkExecutable(_ path: [UInt8], at offset: Int) throws(UnitFileError) {
        let shown = SystemdText.string(path)
        if path.isEmpty {
            throw failure("Empty path in command line: '\(value)'", at: offset)
        }
        if !SystemdText.isSafe(path) {
            throw failure("Executable name contains special characters: \(shown)", at: offset)
        }
        if path.last == UInt8(ascii: "/") {
            throw failure("Executable path specifies a directory: \(shown)", at: offset)
        }
        if path.contains(UInt8(ascii: "%")) { return }  // validity is only known after specifier expansion
        let valid = path.first == UInt8(ascii: "/") ? SystemdPath.isValid(path) : SystemdPath.isValidFileName(path)
        if !valid {
            throw failure("Neither a valid executable name nor an absolute path: \(shown)", at: offset)
        }
    }
}
