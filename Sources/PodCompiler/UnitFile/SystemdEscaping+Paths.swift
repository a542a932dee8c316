extension SystemdEscaping {
    /// A setting that takes paths, grouped by how systemd 252 reads its value.
    public enum PathSetting: Sendable, Equatable {
        /// `WorkingDirectory=`: the whole value is the path, nothing is unquoted; `%` is a specifier;
        /// `-` in front ignores a missing directory.
        case workingDirectory
        /// `ReadOnlyPaths=`, `ReadWritePaths=`, `InaccessiblePaths=`, `ExecPaths=`, `NoExecPaths=`:
        /// space-separated words, unquoted (a backslash escapes the next byte, no C escapes); `%` is a
        /// specifier; `-` in front ignores a missing path.
        case pathList
        /// `TemporaryFileSystem=`: space-separated words, unquoted, each split at its first unescaped
        /// `:` into path and mount options (a second level where a backslash escapes the next byte).
        case temporaryFileSystem
        /// `EnvironmentFile=`: the whole value is the path, nothing is unquoted; `%` is a specifier; the
        /// path is a glob pattern (backslash escapes `*`, `?`, `[`, `\`); `-` ignores a missing file.
        case environmentFile
    }

    /// The value (or, for list settings, one word of it) that names `path` in `setting`.
    ///
    /// - Parameters:
    ///   - path: an absolute path; `//` and `/./` are allowed (systemd simplifies them), `..` is not.
    ///   - ignoreIfMissing: write the `-` prefix; not available for `.temporaryFileSystem`.
    /// - Throws: `.nulByte`, `.invalidUTF8`, `.invalidPath`, or `.unrepresentable` for line breaks, a
    ///   whole-value path ending in whitespace or a backslash, and `-` with `.temporaryFileSystem`.
    public static func pathValue(_ path: String, for setting: PathSetting, ignoreIfMissing: Bool = false)
        throws(SystemdEscapingError) -> String
    {
        let bytes = try checkedPath(path)
        let escaped = doublingPercent(bytes)
        let dash = ignoreIfMissing ? "-" : ""
        switch setting {
        case .workingDirectory:
            try requireWholeValue(escaped, path)
            return dash + SystemdText.string(escaped)
        case .environmentFile:
            var globbed: [UInt8] = []
            for byte in escaped {
                if "*?[\\".utf8.contains(byte) { globbed.append(SystemdText.backslash) }
                globbed.append(byte)
            }
            try requireWholeValue(globbed, path)
            return dash + SystemdText.string(globbed)
        case .pathList:
            return dash + quotedWord(escaped, separators: [])
        case .temporaryFileSystem:
            if ignoreIfMissing {
                throw SystemdEscapingError(.unrepresentable, "TemporaryFileSystem= has no '-' prefix")
            }
            return try temporaryFileSystem(path, options: [])
        }
    }

    /// One word of `TemporaryFileSystem=`: `path`, then `:` and the comma-joined mount options (such as
    /// `ro` or `mode=0755`) when there are any.
    public static func temporaryFileSystem(_ path: String, options: [String]) throws(SystemdEscapingError) -> String {
        var inner: [UInt8] = []
        for byte in doublingPercent(try checkedPath(path)) {
            if byte == SystemdText.backslash || byte == UInt8(ascii: ":") { inner.append(SystemdText.backslash) }
            inner.append(byte)
        }
        if !options.isEmpty {
            let joined = options.joined(separator: ",")
            if joined.utf8.contains(where: { $0 == 0 || $0 == SystemdText.newline || $0 == SystemdText.carriageReturn }) {
                throw SystemdEscapingError(.unrepresentable, "Mount options cannot contain line breaks or NUL")
            }
            inner += Array(":".utf8) + doublingPercent(Array(joined.utf8))
        }
        return quotedWord(inner, separators: [])
    }

    /// One entry of `BindPaths=` or `BindReadOnlyPaths=` (read-only-ness is the setting's name).
    ///
    /// systemd 252 reads `SOURCE[:DESTINATION[:OPTIONS]]` with `:` and whitespace as separators, quotes
    /// removed and a backslash escaping the next byte (no C escapes), then expands specifiers. Paths
    /// with `:`, whitespace, quotes or backslashes are therefore double-quoted with `\` and `"`
    /// backslash-escaped, `%` becomes `%%`, and `-` in front of the source ignores a missing source.
    ///
    /// - Parameters:
    ///   - source: the host path.
    ///   - destination: the path inside the unit's namespace; nil for the same as `source`.
    ///   - ignoreMissingSource: write the `-` prefix.
    ///   - recursive: false writes the `norbind` option (`rbind`, the default, is not written).
    public static func bindPath(
        source: String, destination: String? = nil, ignoreMissingSource: Bool = false, recursive: Bool = true
    ) throws(SystemdEscapingError) -> String {
        let separators: [UInt8] = [UInt8(ascii: ":")]
        var value = (ignoreMissingSource ? "-" : "")
            + quotedWord(doublingPercent(try checkedPath(source)), separators: separators)
        if destination != nil || !recursive {
            let target = try checkedPath(destination ?? source)
            value += ":" + quotedWord(doublingPercent(target), separators: separators)
        }
        if !recursive { value += ":norbind" }
        return value
    }

    // MARK: Helpers

    /// Checks what every path setting requires and returns the path's bytes.
    static func checkedPath(_ path: String) throws(SystemdEscapingError) -> [UInt8] {
        let bytes = Array(path.utf8)
        // The path as shown in an error; built only when one is thrown (this runs for every mount).
        var shown: String { SystemdEscapingError.shown(bytes) }
        if bytes.contains(0) { throw SystemdEscapingError(.nulByte, "Path \(shown) contains a NUL byte") }
        if let scalar = SystemdUTF8.firstRejectedScalar(in: path) {
            throw SystemdEscapingError(
                .invalidUTF8, "Path \(shown) contains U+\(String(scalar.value, radix: 16, uppercase: true)), which systemd rejects")
        }
        if bytes.contains(where: { $0 == SystemdText.newline || $0 == SystemdText.carriageReturn }) {
            throw SystemdEscapingError(.unrepresentable, "Path \(shown) contains a line break, which no unit setting can hold")
        }
        guard bytes.first == UInt8(ascii: "/") else {
            throw SystemdEscapingError(.invalidPath, "Path \(shown) is not absolute")
        }
        if bytes.split(separator: UInt8(ascii: "/")).contains(where: { $0.elementsEqual("..".utf8) }) {
            throw SystemdEscapingError(.invalidPath, "Path \(shown) has a '..' component")
        }
        guard SystemdPath.isValid(bytes) else {
            throw SystemdEscapingError(.invalidPath, "Path \(shown) is too long or has a component over 255 bytes")
        }
        return bytes
    }

    private static func doublingPercent(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        for byte in bytes {
            out.append(byte)
            if byte == UInt8(ascii: "%") { out.append(byte) }
        }
        return out
    }

    /// A whole-value path is only stripped by the unit file reader: it must not end in whitespace or in
    /// a backslash that would continue the line.
    private static func requireWholeValue(_ value: [UInt8], _ path: String) throws(SystemdEscapingError) {
        if let last = value.last, SystemdText.isWhitespace(last) || SystemdText.endsWithEscapingBackslash(value) {
            throw SystemdEscapingError(
                .unrepresentable, "Path \(path.debugDescription) ends in whitespace or a backslash, which this setting cannot hold")
        }
    }

    /// A word for `extract_first_word()` with `EXTRACT_UNQUOTE` and no C unescaping: kept as is when it
    /// holds nothing special, else double-quoted with `\` and `"` backslash-escaped.
    private static func quotedWord(_ bytes: [UInt8], separators: [UInt8]) -> String {
        let special = Array(" \t\"'\\".utf8) + separators
        guard bytes.contains(where: { special.contains($0) }) else { return SystemdText.string(bytes) }
        var out: [UInt8] = [SystemdText.doubleQuote]
        for byte in bytes {
            if byte == SystemdText.backslash || byte == SystemdText.doubleQuote { out.append(SystemdText.backslash) }
            out.append(byte)
        }
        out.append(SystemdText.doubleQuote)
        return SystemdText.string(out)
    }
}

/// Path checks of systemd 252 (src/basic/path-util.c).
enum SystemdPath {
    /// `path_is_valid()`: not empty, shorter than `PATH_MAX`, no component longer than `NAME_MAX`.
    static func isValid(_ bytes: [UInt8]) -> Bool {
        guard !bytes.isEmpty, bytes.count < SystemdText.pathMax else { return false }
        return bytes.split(separator: UInt8(ascii: "/")).allSatisfy { $0.count <= SystemdText.nameMax }
    }

    /// `filename_is_valid()`: not empty, not `.` or `..`, no `/`, at most `NAME_MAX` bytes.
    static func isValidFileName(_ bytes: [UInt8]) -> Bool {
        !bytes.isEmpty && !bytes.elementsEqual(".".utf8) && !bytes.elementsEqual("..".utf8)
            && !bytes.contains(UInt8(ascii: "/")) && bytes.count <= SystemdText.nameMax
    }
}
