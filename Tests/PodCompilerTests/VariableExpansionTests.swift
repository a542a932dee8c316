import Testing

@testable import PodCompiler

/// `$(VAR)` expansion exactly as the kubelet's: the table of k8s.io/kubernetes
/// third_party/forked/golang/expansion/expand_test.go, plus multi-byte characters after `$`.
struct VariableExpansionTests {
    static let context: [String: String] = [
        "VAR_A": "A", "VAR_B": "B", "VAR_C": "C", "VAR_REF": "$(VAR_A)", "VAR_EMPTY": "",
    ]

    func expand(_ input: String, _ context: [String: String] = Self.context) -> String {
        let bytes = VariableExpansion.expandBytes(input, values: context.mapValues { Array($0.utf8) })
        return String(decoding: bytes, as: UTF8.self)
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var input: String
        var expected: String
        var testDescription: String { name }
        init(_ name: String, _ input: String, _ expected: String) {
            self.name = name
            self.input = input
            self.expected = expected
        }
    }

    /// doExpansionTest's cases, in their order.
    static let upstream: [Case] = [
        Case("whole string", "$(VAR_A)", "A"),
        Case("repeat", "$(VAR_A)-$(VAR_A)", "A-A"),
        Case("beginning", "$(VAR_A)-1", "A-1"),
        Case("middle", "___$(VAR_B)___", "___B___"),
        Case("end", "___$(VAR_C)", "___C"),
        Case("compound", "$(VAR_A)_$(VAR_B)_$(VAR_C)", "A_B_C"),
        Case("escape & expand", "$$(VAR_B)_$(VAR_A)", "$(VAR_B)_A"),
        Case("compound escape", "$$(VAR_A)_$$(VAR_B)", "$(VAR_A)_$(VAR_B)"),
        Case("mixed in escapes", "f000-$$VAR_A", "f000-$VAR_A"),
        Case("backslash escape ignored", "foo\\$(VAR_C)bar", "foo\\Cbar"),
        Case("backslash escape ignored (2)", "foo\\\\$(VAR_C)bar", "foo\\\\Cbar"),
        Case("lots of backslashes", "foo\\\\\\\\$(VAR_A)bar", "foo\\\\\\\\Abar"),
        Case("nested var references", "$(VAR_A$(VAR_B))", "$(VAR_A$(VAR_B))"),
        Case("nested var references second type", "$(VAR_A$(VAR_B)", "$(VAR_A$(VAR_B)"),
        Case("value is a reference", "$(VAR_REF)", "$(VAR_A)"),
        Case("value is a reference x 2", "%%$(VAR_REF)--$(VAR_REF)%%", "%%$(VAR_A)--$(VAR_A)%%"),
        Case("empty var", "foo$(VAR_EMPTY)bar", "foobar"),
        Case("unterminated expression", "foo$(VAR_Awhoops!", "foo$(VAR_Awhoops!"),
        Case("expression without operator", "f00__(VAR_A)__", "f00__(VAR_A)__"),
        Case("shell special vars pass through", "$?_boo_$!", "$?_boo_$!"),
        Case("bare operators are ignored", "$VAR_A", "$VAR_A"),
        Case("undefined vars are passed through", "$(VAR_DNE)", "$(VAR_DNE)"),
        Case("multiple (even) operators, var undefined", "$$$$$$(BIG_MONEY)", "$$$(BIG_MONEY)"),
        Case("multiple (even) operators, var defined", "$$$$$$(VAR_A)", "$$$(VAR_A)"),
        Case("multiple (odd) operators, var undefined", "$$$$$$$(GOOD_ODDS)", "$$$$(GOOD_ODDS)"),
        Case("multiple (odd) operators, var defined", "$$$$$$$(VAR_A)", "$$$A"),
        Case("missing open expression", "$VAR_A)", "$VAR_A)"),
        Case("shell syntax ignored", "${VAR_A}", "${VAR_A}"),
        Case("trailing incomplete expression not consumed", "$(VAR_B)_______$(A", "B_______$(A"),
        Case("trailing incomplete expression, no content, is not consumed", "$(VAR_C)_______$(", "C_______$("),
        Case("operator at end of input string is preserved", "$(VAR_A)foobarzab$", "Afoobarzab$"),
        Case("shell escaped incomplete expr", "foo-\\$(VAR_A", "foo-\\$(VAR_A"),
        Case("lots of $( in middle", "--$($($($($--", "--$($($($($--"),
        Case("lots of $( in beginning", "$($($($($--foo$(", "$($($($($--foo$("),
        Case("lots of $( at end", "foo0--$($($($(", "foo0--$($($($("),
        Case("escaped operators in variable names are not escaped", "$(foo$$var)", "$(foo$$var)"),
        Case("newline not expanded", "\n", "\n"),
    ]

    /// Characters after `$` are kept whole (kubernetes PR 136325), and names may be any text.
    static let unicode: [Case] = [
        Case("two-byte character after $", "price: $é", "price: $é"),
        Case("three-byte character after $", "$日本", "$日本"),
        Case("four-byte character after $", "$😀$😀", "$😀$😀"),
        Case("escaped $ before a character", "$$é", "$é"),
        Case("expansion next to characters", "é$(VAR_A)é", "éAé"),
        Case("character then expansion", "$ü$(VAR_B)", "$üB"),
        Case("unicode variable name", "$(ÜNÏ)", "ü"),
        Case("unterminated with a character", "$(é", "$(é"),
        Case("$ alone", "$", "$"),
        Case("empty name", "$()", "$()"),
        Case("empty", "", ""),
        Case("combining character after $", "$e\u{301}", "$e\u{301}"),
    ]

    @Test(arguments: upstream)
    func upstreamTable(_ c: Case) {
        #expect(expand(c.input) == c.expected)
    }

    /// TestMappingDual: the same table with the variables split over two maps.
    @Test(arguments: upstream)
    func upstreamTableWithTwoContexts(_ c: Case) {
        let first: [String: String] = ["VAR_A": "A", "VAR_EMPTY": ""]
        let second: [String: String] = ["VAR_B": "B", "VAR_C": "C", "VAR_REF": "$(VAR_A)"]
        let segments = VariableExpansion.expand(c.input) { name in
            (first[name] ?? second[name]).map { .literal(Array($0.utf8)) }
        }
        let text = segments.map { seg -> String in
            if case let .literal(b) = seg { return String(decoding: b, as: UTF8.self) }
            return "?"
        }.joined()
        #expect(text == c.expected)
    }

    @Test(arguments: unicode)
    func multiByteCharacters(_ c: Case) {
        #expect(expand(c.input, Self.context.merging(["ÜNÏ": "ü"]) { $1 }) == c.expected)
    }

    /// Every case agrees with the transcription of the Go code in the test support.
    @Test(arguments: upstream + unicode)
    func agreesWithTheGoTranscription(_ c: Case) {
        let context = Self.context.merging(["ÜNÏ": "ü"]) { $1 }
        #expect(expand(c.input, context) == KubeletExpansion.expand(c.input) { context[$0] })
    }

    /// TestMapReference: each variable expands against the ones defined before it.
    @Test func referencesToEarlierVariables() {
        var declared: [String: [UInt8]] = [:]
        for (name, value) in [("FOO", "bar"), ("ZOO", "$(FOO)-1"), ("BLU", "$(ZOO)-2")] {
            declared[name] = VariableExpansion.expandBytes(value, values: declared)
        }
        #expect(declared.mapValues { String(decoding: $0, as: UTF8.self) } == ["FOO": "bar", "ZOO": "bar-1", "BLU": "bar-1-2"])
    }

    /// A variable the caller keeps symbolic (a secret) becomes its own segment between literals.
    @Test func referencesStaySymbolic() {
        let segments = VariableExpansion.expand("--password=$(PW)&user=$(U)$(PW)") { name in
            name == "PW" ? .reference("PW") : name == "U" ? .literal(Array("me".utf8)) : nil
        }
        #expect(
            segments == [
                .literal(Array("--password=".utf8)), .reference("PW"), .literal(Array("&user=me".utf8)), .reference("PW"),
            ])
        #expect(VariableExpansion.expand("") { _ in nil } == [])
    }
}
