/// ExecStart from the base unit and the container's `command` and `args`:
/// - neither: the base unit's ExecStart lines stay as written;
/// - `command` only: replaces the first word (the executable) of the base ExecStart; the base's options
///   stay (unless `command` has options of its own: then the command line is exactly `command`);
/// - `args` only: replace the options, the executable stays;
/// - both: `command` followed by `args`;
/// - a `/path` image with no `command`: the path is the executable.
/// `$(VAR)` in command and args expands as the kubelet does. When the pod changes the command line,
/// the base line's prefixes (`-`, `+`, `!`, `@`, `:`) are dropped, since they would change how
/// systemd treats a command the package did not write, and only the first ExecStart= is kept.
/// When the pod replaces the package's options, the package's Type= (forking, notify, dbus, ...) and
/// PIDFile= describe a way of running that the new command line need not follow (`nginx -g "daemon
/// off;"`): the unit becomes Type=exec, as a synthesized unit is. When the options stay, so does Type=.
enum ExecStartLowering {
    static func lower(
        container: Container, image: ImageReference, path: FieldPath, env: EnvironmentLowering.Resolved,
        ctx: LoweringContext, unit: inout UnitBuilder
    ) throws(CompileError) {
        let base = unit.effectiveValues("ExecStart", in: "Service")
        let command = container.command
        let args = container.args
        if command == nil, args == nil {
            if case let .path(p) = image, base.isEmpty {
                let word = try encodeExecutable(p, path: path.field("image"), ctx: ctx)
                unit.set("ExecStart", word, in: "Service", origin: path.field("image").description)
                return
            }
            guard !base.isEmpty else {
                throw ctx.error(
                    .missingField, path.field("command"),
                    "image \(quoted(container.image ?? "")) has no unit file with an ExecStart= here; give command, or the package's unit file with --unit-file")
            }
            return
        }
        if let c = command, c.isEmpty, args == nil || args!.isEmpty {
            throw ctx.error(.invalidField, path.field("command"), "must not be empty")
        }
        let expand: (String) -> [VariableExpansion.Segment] = { text in
            VariableExpansion.expand(text, lookup: env.lookup)
        }
        var executable: String
        var options: [String]
        var origin: String
        var baseWords: (executable: String, options: [String])? = nil
        if let first = base.first {
            // The package's line, word by word as written (specifiers, $VARs and quoting kept).
            let commands: [ExecCommand]
            do {
                commands = try ExecCommand.parseList(first, fileName: "package unit")
            } catch {
                throw ctx.error(.invalidField, path.field("image"), "the package unit's ExecStart= cannot be read: \(error)")
            }
            if let c = commands.first, let exe = c.words.first {
                var options = c.words.dropFirst().map(\.raw)
                // With `@`, the second word is argv[0], not an option.
                if c.prefixes.contains(.customArgv0), !options.isEmpty { options.removeFirst() }
                baseWords = (exe.raw, options)
            }
        }
        if let command, let first = command.first {
            let firstBytes = literalBytes(expand(first))
            guard let exe = String(validating: firstBytes, as: UTF8.self), !firstBytes.contains(0) else {
                throw ctx.error(.unrepresentable, path.field("command").index(0), "the executable is not valid UTF-8 or holds a NUL byte")
            }
            guard expand(first).allSatisfy({ if case .literal = $0 { return true } else { return false } }) else {
                throw ctx.error(.unrepresentable, path.field("command").index(0), "the executable cannot come from a Secret")
            }
            executable = try encodeExecutable(exe, path: path.field("command").index(0), ctx: ctx)
            options = try command.dropFirst().enumerated().map { (i, w) throws(CompileError) -> String in
                try encodeArgument(expand(w), path: path.field("command").index(i + 1), ctx: ctx)
            }
            origin = path.field("command").description
            if args == nil, command.count == 1, let b = baseWords {
                options += b.options
                origin += " + package ExecStart options"
            }
        } else if case let .path(p) = image, command == nil {
            executable = try encodeExecutable(p, path: path.field("image"), ctx: ctx)
            options = []
            origin = path.field("image").description
        } else if let b = baseWords {
            executable = b.executable
            options = []
            origin = "package ExecStart executable"
        } else {
            throw ctx.error(
                .missingField, path.field("command"),
                "args are given but image \(quoted(container.image ?? "")) has no unit file with an ExecStart= here to take the executable from; give command")
        }
        let optionsReplaced = args != nil || (command?.count ?? 0) > 1 || baseWords == nil
        if optionsReplaced, let type = unit.lastValue("Type", in: "Service"), type != "exec", type != "simple" {
            unit.set("Type", "exec", in: "Service", origin: "systemk: the pod replaces the package's options")
            unit.remove("PIDFile", in: "Service")
        }
        if let args {
            options += try args.enumerated().map { (i, w) throws(CompileError) -> String in
                try encodeArgument(expand(w), path: path.field("args").index(i), ctx: ctx)
            }
            origin += " + " + path.field("args").description
        }
        unit.set("ExecStart", ExecWords.line([executable] + options), in: "Service", origin: origin)
    }

    static func literalBytes(_ segments: [VariableExpansion.Segment]) -> [UInt8] {
        segments.flatMap { s -> [UInt8] in
            if case let .literal(b) = s { return b }
            return []
        }
    }

    static func encodeExecutable(_ text: String, path: FieldPath, ctx: LoweringContext) throws(CompileError) -> String {
        if text.isEmpty {
            throw ctx.error(.invalidField, path, "the executable must not be empty")
        }
        if text.contains("/") && !text.hasPrefix("/") {
            throw ctx.error(.invalidField, path, "\(quoted(text)) must be an absolute path or a bare name that systemd looks up in its search path")
        }
        do {
            return try ExecWords.executable(text)
        } catch {
            switch error {
            case .nul:
                throw ctx.error(.unrepresentable, path, "holds a NUL byte, which no command line can carry")
            case let .executable(message):
                throw ctx.error(.unrepresentable, path, "\(quoted(text)) cannot be the executable: \(message)")
            }
        }
    }

    static func encodeArgument(_ segments: [VariableExpansion.Segment], path: FieldPath, ctx: LoweringContext) throws(CompileError) -> String {
        do {
            return try ExecWords.argument(segments)
        } catch {
            throw ctx.error(.unrepresentable, path, "holds a NUL byte, which no command line can carry")
        }
    }

    /// Encodes a whole command (hooks): the first word is the executable.
    static func encodeCommand(_ words: [[VariableExpansion.Segment]], path: FieldPath, ctx: LoweringContext) throws(CompileError) -> [String] {
        var out: [String] = []
        for (i, w) in words.enumerated() {
            if i == 0 {
                let bytes = literalBytes(w)
                guard let text = String(validating: bytes, as: UTF8.self) else {
                    throw ctx.error(.unrepresentable, path.index(0), "the executable is not valid UTF-8")
                }
                out.append(try encodeExecutable(text, path: path.index(0), ctx: ctx))
            } else {
                out.append(try encodeArgument(w, path: path.index(i), ctx: ctx))
            }
        }
        return out
    }
}
