import Testing

@testable import PodCompiler

/// `ManifestReader`: YAML (multi-document) and JSON into `ManifestNode`s with positions, and hostile
/// input refused with an error, never a crash or a hang.
struct ManifestReaderTests {
    let reader = ManifestReader()

    func read(_ text: String, file: String = "in.yaml") throws(CompileError) -> [ManifestNode] {
        try reader.read(Array(text.utf8), file: file)
    }

    func error(_ text: String, limits: ManifestReader.Limits = .init()) -> CompileError? {
        do {
            _ = try ManifestReader(limits: limits).read(Array(text.utf8), file: "in.yaml")
            return nil
        } catch {
            return error
        }
    }

    func error(bytes: [UInt8]) -> CompileError? {
        do {
            _ = try reader.read(bytes, file: "in.bin")
            return nil
        } catch {
            return error
        }
    }

    // MARK: Documents

    @Test func readsEveryDocumentAndSkipsEmptyOnes() throws {
        let docs = try read(
            """
            # only a comment
            ---
            ---
            kind: Pod
            ---
            # comment
            ---
            ~
            ---
            kind: ConfigMap
            ...
            ---
            kind: Secret
            """)
        #expect(docs.map { $0["kind"]?.scalarText } == ["Pod", "ConfigMap", "Secret"])
        #expect(try read("").isEmpty)
        #expect(try read("# nothing\n").isEmpty)
        #expect(try read("---\n---\n").isEmpty)
    }

    @Test func readsJSON() throws {
        let docs = try read(#"{"kind": "Pod", "metadata": {"name": "web", "labels": {"a.b/c": "1"}}, "n": 8080, "f": 1.5, "t": true, "z": null}"#, file: "pod.json")
        #expect(docs.count == 1)
        let pod = try #require(docs.first)
        #expect(pod["metadata"]?["labels"]?["a.b/c"]?.kind == .scalar(.string("1")))
        #expect(pod["n"]?.kind == .scalar(.int("8080")))
        #expect(pod["f"]?.kind == .scalar(.float("1.5")))
        #expect(pod["t"]?.kind == .scalar(.bool(true)))
        #expect(pod["z"]?.kind == .scalar(.null))
    }

    @Test func scalarsKeepTheirTextAndResolvedType() throws {
        let doc = try #require(try read("a: 1\nb: \"1\"\nc: 1.50\nd: true\ne:\nf: ~\ng: 0x1F\nh: '0.10'\ni: 1e3\nj: 010\n").first)
        #expect(doc["a"]?.kind == .scalar(.int("1")))
        #expect(doc["b"]?.kind == .scalar(.string("1")))
        #expect(doc["c"]?.kind == .scalar(.float("1.50")))
        #expect(doc["d"]?.kind == .scalar(.bool(true)))
        #expect(doc["e"]?.isNull == true)
        #expect(doc["f"]?.isNull == true)
        #expect(doc["g"]?.kind == .scalar(.int("0x1F")))
        #expect(doc["h"]?.kind == .scalar(.string("0.10")))
        #expect(doc["i"]?.scalarText == "1e3")
        #expect(doc["j"]?.scalarText == "010")
    }

    @Test func nodesCarryOneBasedLineAndColumn() throws {
        let doc = try #require(
            try read(
                """
                kind: Pod
                spec:
                  containers:
                  - name: app
                    image: nginx
                """
            ).first)
        #expect(doc.position == SourcePosition(line: 1, column: 1))
        #expect(doc["kind"]?.position == SourcePosition(line: 1, column: 7))
        let container = doc["spec"]?["containers"].flatMap { node -> ManifestNode? in
            if case let .sequence(items) = node.kind { return items.first }
            return nil
        }
        #expect(container?.position == SourcePosition(line: 4, column: 5))
        #expect(container?["image"]?.position == SourcePosition(line: 5, column: 12))
    }

    @Test func aByteOrderMarkIsAccepted() throws {
        #expect(try read("\u{FEFF}kind: Pod\n").first?["kind"]?.scalarText == "Pod")
    }

    @Test func anchorsAndAliasesExpand() throws {
        let doc = try #require(try read("env: &env [{name: A, value: a}]\nother: *env\nscalar: &s x\ncopy: *s\n").first)
        #expect(doc["other"] != nil)
        #expect(doc["other"] == doc["env"])
        #expect(doc["copy"]?.scalarText == "x")
    }

    // MARK: Syntax errors

    @Test func syntaxErrorsNameFileLineAndColumn() throws {
        let e = try #require(error("kind: Pod\nlist: [1, 2\nnext: 3\n"))
        #expect(e.code == .invalidDocument)
        #expect(e.file == "in.yaml")
        #expect(e.position == SourcePosition(line: 3, column: 5))
        #expect(e.message.hasPrefix("invalid YAML: did not find expected ',' or ']'"))
        #expect(e.description.hasPrefix("in.yaml:3:5: invalid YAML: "))

        let tab = try #require(error("a:\n\tb: 1\n"))
        #expect(tab.position?.line == 2)
        let quote = try #require(error("a: \"open\n"))
        #expect(quote.message.contains("quoted scalar"))
        let json = try #require(error("{\"kind\": \"Pod\",\n \"spec\": {]}\n"))
        #expect(json.position?.line == 2)
    }

    @Test func duplicateKeysAreRefused() throws {
        let e = try #require(error("kind: Pod\nname: a\nname: b\n"))
        #expect(e.code == .invalidDocument)
        #expect(e.message.contains("duplicate"))
        #expect(e.message.contains("name"))
        #expect(e.position?.line == 2)
        // Keys equal as text but not to YAML (an integer and a string): our own check.
        let typed = try #require(error("1: a\n\"1\": b\n"))
        #expect(typed.message == "duplicate key \"1\" in a map")
        #expect(typed.position == SourcePosition(line: 2, column: 1))
        #expect(error("{\"a\": 1, \"a\": 2}") != nil)
    }

    @Test func mergeKeysAreRefused() throws {
        let e = try #require(error("base: &b {x: 1}\nderived:\n  <<: *b\n  y: 2\n"))
        #expect(e.code == .invalidDocument)
        #expect(e.message == "YAML merge keys (<<) are not supported; write the fields out")
        #expect(e.position == SourcePosition(line: 3, column: 3))
    }

    @Test func keysMustBeScalars() throws {
        #expect(try #require(error("[a, b]: 1\n")).message.contains("map keys must be strings, not a list"))
        #expect(try #require(error("? {a: 1}\n: x\n")).message.contains("map keys must be strings, not a map"))
        #expect(try #require(error("l: &l [1]\n? *l\n: x\n")).message.contains("map keys must be strings"))
        #expect(try read("1: a\ntrue: b\n").first?["1"]?.scalarText == "a")
        #expect(try read("k: &k key\n*k : v\n").first?["key"]?.scalarText == "v")
    }

    @Test func anUndefinedAliasIsAnError() throws {
        let e = try #require(error("a: *nowhere\n"))
        #expect(e.message.contains("undefined alias"))
        #expect(e.position?.line == 1)
    }

    // MARK: Hostile input

    /// The "billion laughs": nine levels of nine aliases, 387 million nodes once expanded.
    static func aliasBomb(levels: Int = 9, asKey: Bool = false) -> String {
        var text = "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
        var previous = "a"
        for name in "bcdefghijklmnop".prefix(levels - 1) {
            text += "\(name): &\(name) [" + Array(repeating: "*\(previous)", count: 9).joined(separator: ",") + "]\n"
            previous = String(name)
        }
        return text + (asKey ? "? *\(previous)\n: 1\n" : "")
    }

    @Test func anAliasBombIsRefused() throws {
        let e = try #require(error(Self.aliasBomb()))
        #expect(e.code == .invalidDocument)
        #expect(e.message == "document expands to more than 2000000 nodes (an alias bomb or a huge document)")
        #expect(e.position != nil)
        // Fifteen levels would overflow a naive count.
        #expect(error(Self.aliasBomb(levels: 15))?.message.contains("alias bomb") == true)
    }

    /// Composing a map hashes its keys: an alias of a huge list as a key must be refused before that.
    @Test func anAliasBombUsedAsAMapKeyIsRefused() throws {
        let e = try #require(error(Self.aliasBomb(asKey: true)))
        #expect(e.code == .invalidDocument)
        #expect(e.message.contains("map keys must be strings") || e.message.contains("alias bomb"))
        let small = try #require(error(Self.aliasBomb(levels: 3, asKey: true)))
        #expect(small.message == "map keys must be strings, not an alias of a list or a map")
    }

    @Test func theNodeLimitCountsExpandedAliasesOverAllDocuments() throws {
        var limits = ManifestReader.Limits()
        limits.maxNodes = 11
        // 1 map + [x: 3] + [y: 3] + {z: 1 + 3} = 11 nodes, keys not counted.
        let text = "x: &l [1, 2]\ny: *l\nz: {w: *l}\n"
        #expect(error(text, limits: limits) == nil)
        limits.maxNodes = 10
        #expect(error(text, limits: limits)?.message.contains("more than 10 nodes") == true)
        limits.maxNodes = 5
        #expect(error("a: [1]\n---\nb: [2]\n", limits: limits)?.message.contains("more than 5 nodes") == true)
    }

    @Test func deeplyNestedFlowSequencesGiveAnErrorNotACrash() throws {
        let open = try #require(error(String(repeating: "[", count: 100_000)))
        #expect(open.code == .invalidDocument)
        #expect(open.message == "document is nested deeper than 1000 levels")
        let closed = try #require(error(String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)))
        #expect(closed.message == "document is nested deeper than 1000 levels")
        let maps = try #require(error(String(repeating: "{a: ", count: 5000) + "1" + String(repeating: "}", count: 5000)))
        #expect(maps.code == .invalidDocument)
        let ours = try #require(error(String(repeating: "[", count: 300) + String(repeating: "]", count: 300)))
        #expect(ours.message == "document is nested deeper than 256 levels")
        #expect(error(String(repeating: "[", count: 200) + String(repeating: "]", count: 200)) == nil)
    }

    @Test func deeplyNestedBlockMapsGiveAnError() throws {
        var text = ""
        for depth in 0..<400 { text += String(repeating: " ", count: depth) + "k:\n" }
        let e = try #require(error(text))
        #expect(e.message.contains("nested deeper"))
    }

    @Test func binaryGarbageIsRefused() throws {
        let nul = try #require(error(bytes: Array("kind: Pod\n".utf8) + [0, 1, 2]))
        #expect(nul.code == .invalidDocument)
        #expect(nul.message == "input holds a NUL byte at offset 10: not a YAML or JSON text")
        #expect(nul.file == "in.bin")

        let invalidUTF8 = try #require(error(bytes: Array("kind: ".utf8) + [0xC3, 0x28, 0xFF, 0xFE]))
        #expect(invalidUTF8.message == "input is not valid UTF-8")

        let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D]
        #expect(error(bytes: png)?.code == .invalidDocument)

        let control = try #require(error(bytes: Array("kind: Pod\u{07}\n".utf8)))
        #expect(control.message.contains("control characters are not allowed"))

        // Pseudo-random bytes: whatever they are, an error or documents, never a crash.
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        for _ in 0..<200 {
            var bytes: [UInt8] = []
            for _ in 0..<64 {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                bytes.append(UInt8(truncatingIfNeeded: state >> 56))
            }
            _ = try? reader.read(bytes, file: "random")
            _ = try? reader.read(bytes.map { $0 & 0x7F | 0x20 }, file: "random-ascii")
        }
    }

    @Test func inputOverTheByteLimitIsRefusedBeforeParsing() throws {
        let big = [UInt8](repeating: UInt8(ascii: "a"), count: (16 << 20) + 1)
        let e = try #require(error(bytes: big))
        #expect(e.code == .invalidDocument)
        #expect(e.message == "input is 16777217 bytes, more than the limit of 16777216 bytes")

        var limits = ManifestReader.Limits()
        limits.maxBytes = 8
        #expect(error("kind: Pod\n", limits: limits)?.message == "input is 10 bytes, more than the limit of 8 bytes")
        #expect(throws: CompileError.self) { try ManifestReader(limits: limits).read("kind: Pod\n", file: "t") }
        #expect(error("kind: P", limits: limits) == nil)
    }
}
