import Foundation
import Testing

@testable import PodCompiler

/// `Quantity` follows Kubernetes' grammar (k8s.io/apimachinery/pkg/api/resource) and its rounding:
/// `Value()` and `MilliValue()` round up, and nothing goes through floating point.
struct QuantityTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var text: String
        var value: Int64?
        var milli: Int64?
        var testDescription: String { text }
    }

    static let valid: [Case] = [
        // Plain numbers, signs and the forms of <number>.
        Case(text: "0", value: 0, milli: 0),
        Case(text: "1", value: 1, milli: 1000),
        Case(text: "+1", value: 1, milli: 1000),
        Case(text: "007", value: 7, milli: 7000),
        Case(text: "1.5", value: 2, milli: 1500),
        Case(text: ".5", value: 1, milli: 500),
        Case(text: "5.", value: 5, milli: 5000),
        Case(text: "+.5", value: 1, milli: 500),
        Case(text: "1.000", value: 1, milli: 1000),
        Case(text: "-0", value: 0, milli: 0),
        // Decimal SI suffixes.
        Case(text: "1n", value: 1, milli: 1),
        Case(text: "1500000n", value: 1, milli: 2),
        Case(text: "1u", value: 1, milli: 1),
        Case(text: "100m", value: 1, milli: 100),
        Case(text: "100.5m", value: 1, milli: 101),
        Case(text: "1k", value: 1000, milli: 1_000_000),
        Case(text: "128M", value: 128_000_000, milli: 128_000_000_000),
        Case(text: "1G", value: 1_000_000_000, milli: 1_000_000_000_000),
        Case(text: "1T", value: 1_000_000_000_000, milli: 1_000_000_000_000_000),
        Case(text: "1P", value: 1_000_000_000_000_000, milli: 1_000_000_000_000_000_000),
        Case(text: "1E", value: 1_000_000_000_000_000_000, milli: nil),
        Case(text: "9E", value: 9_000_000_000_000_000_000, milli: nil),
        // Binary SI suffixes.
        Case(text: "1Ki", value: 1024, milli: 1_024_000),
        Case(text: "128Mi", value: 134_217_728, milli: 134_217_728_000),
        Case(text: "1Gi", value: 1_073_741_824, milli: 1_073_741_824_000),
        Case(text: "1Ti", value: 1_099_511_627_776, milli: 1_099_511_627_776_000),
        Case(text: "1Pi", value: 1_125_899_906_842_624, milli: 1_125_899_906_842_624_000),
        Case(text: "1Ei", value: 1_152_921_504_606_846_976, milli: nil),
        Case(text: "7Ei", value: 8_070_450_532_247_928_832, milli: nil),
        Case(text: "1.1Gi", value: 1_181_116_007, milli: 1_181_116_006_400),
        Case(text: "1.5Gi", value: 1_610_612_736, milli: 1_610_612_736_000),
        Case(text: "0.5Ki", value: 512, milli: 512_000),
        Case(text: "1.Gi", value: 1_073_741_824, milli: 1_073_741_824_000),
        // Decimal exponents, with and without a sign, either case.
        Case(text: "1e3", value: 1000, milli: 1_000_000),
        Case(text: "1E3", value: 1000, milli: 1_000_000),
        Case(text: "1e+3", value: 1000, milli: 1_000_000),
        Case(text: "1e-3", value: 1, milli: 1),
        Case(text: "1.5e3", value: 1500, milli: 1_500_000),
        Case(text: "1.5e-3", value: 1, milli: 2),
        Case(text: "25e-1", value: 3, milli: 2500),
        Case(text: "1e0", value: 1, milli: 1000),
        Case(text: "1e-30", value: 1, milli: 1),
        Case(text: "0e999", value: 0, milli: 0),
        // Values that a Double would get wrong by one after rounding up.
        Case(text: "0.1", value: 1, milli: 100),
        Case(text: "0.3", value: 1, milli: 300),
        Case(text: "0.7", value: 1, milli: 700),
        Case(text: "4.35", value: 5, milli: 4350),
        Case(text: "9007199254740993", value: 9_007_199_254_740_993, milli: 9_007_199_254_740_993_000),
        // The edges of 63 bits.
        Case(text: "9223372036854775807", value: Int64.max, milli: nil),
        Case(text: "9223372036854775807m", value: 9_223_372_036_854_776, milli: Int64.max),
        Case(text: "9223372036854775808", value: nil, milli: nil),
        Case(text: "10E", value: nil, milli: nil),
        Case(text: "8Ei", value: nil, milli: nil),
        Case(text: "1e999", value: nil, milli: nil),
        // Trailing zeros are not significant digits.
        Case(text: "100000000000000000000000", value: nil, milli: nil),
        Case(text: "0.00000000000000000000001", value: 1, milli: 1),
    ]

    @Test(arguments: valid)
    func valueAndMilliValueRoundUpExactly(_ c: Case) throws {
        let q = try Quantity(parsing: c.text)
        #expect(q.value == c.value)
        #expect(q.milliValue == c.milli)
        #expect(q.text == c.text)
        #expect(q.description == c.text)
    }

    @Test func scaledValueRoundsUpAtAnyScale() throws {
        let q = try Quantity(parsing: "1234567")
        #expect(q.scaledValue(-3) == 1235)
        #expect(q.scaledValue(-7) == 1)
        #expect(q.scaledValue(-30) == 1)
        #expect(try Quantity(parsing: "1234000").scaledValue(-3) == 1234)
        #expect(try Quantity(parsing: "0").scaledValue(-30) == 0)
    }

    @Test func negativeQuantitiesParseButHaveNoUnsignedValue() throws {
        let q = try Quantity(parsing: "-1.5Gi")
        #expect(q.negative)
        #expect(q.value == nil)
        #expect(q.milliValue == nil)
        #expect(try !Quantity(parsing: "-0").negative)
        #expect(try Quantity(parsing: "-0m").isZero)
    }

    static let invalid: [(text: String, reason: String)] = [
        ("", "empty"),
        ("+", "expected a number"),
        ("-", "expected a number"),
        (".", "expected a number"),
        ("m", "expected a number"),
        ("Mi", "expected a number"),
        ("e3", "expected a number"),
        ("+-1", "expected a number"),
        (" 1", "expected a number"),
        ("1 ", "unknown suffix"),
        ("1K", "unknown suffix \"K\""),
        ("1KB", "unknown suffix \"KB\""),
        ("1mi", "unknown suffix"),
        ("1ki", "unknown suffix"),
        ("1Mi3", "unknown suffix"),
        ("1i", "unknown suffix"),
        ("1,5", "unknown suffix"),
        ("1.1.1", "unknown suffix"),
        ("0x10", "unknown suffix"),
        ("１", "expected a number"),
        ("1e", "invalid exponent"),
        ("1e+", "invalid exponent"),
        ("1e-", "invalid exponent"),
        ("1e3.5", "invalid exponent"),
        ("1ee3", "invalid exponent"),
        ("1e3Mi", "invalid exponent"),
        ("1e1000", "invalid exponent"),
        ("12345678901234567891", "more than 19 significant digits"),
    ]

    @Test(arguments: invalid)
    func invalidTextsAreRejectedWithAReason(_ c: (text: String, reason: String)) {
        #expect {
            try Quantity(parsing: c.text)
        } throws: { error in
            guard let e = error as? Quantity.ParseError else { return false }
            return e.text == c.text && e.reason.contains(c.reason)
                && e.description.hasPrefix("invalid quantity \"\(c.text)\": ")
        }
    }

    @Test func unknownSuffixListsTheValidOnes() {
        #expect(throws: Quantity.ParseError(text: "5KB", reason: "unknown suffix \"KB\" (use n, u, m, k, M, G, T, P, E, Ki, Mi, Gi, Ti, Pi, Ei or an exponent)")) {
            try Quantity(parsing: "5KB")
        }
    }

    @Test func equalQuantitiesWrittenDifferentlyHaveTheSameValue() throws {
        for group in [["1", "1000m", "1000e-3", "0.001k", "1000000u", "1000000000n", "+1.000"], ["1Ki", "1024", "1.024k"]] {
            let values = try group.map { try Quantity(parsing: $0).milliValue }
            #expect(Set(values).count == 1, "\(group)")
        }
    }

    /// `cpu: 0.1` in YAML is a float to YAML but must be read from its text, never as a Double.
    @Test func decodingReadsTheScalarAsWritten() throws {
        let yaml = """
            kind: Pod
            metadata: {name: web}
            spec:
              containers:
              - name: app
                image: /usr/bin/app
                resources:
                  limits: {cpu: 0.1, memory: 1.10Gi}
                  requests: {cpu: "100m", memory: 1e3}
            """
        var set = ManifestSet()
        try set.add(Array(yaml.utf8), file: "pod.yaml")
        let resources = try #require(set.pods.first?.pod.spec.containers.first?.resources)
        #expect(resources.limits?["cpu"]?.text == "0.1")
        #expect(resources.limits?["cpu"]?.milliValue == 100)
        #expect(resources.limits?["memory"]?.text == "1.10Gi")
        #expect(resources.requests?["cpu"]?.milliValue == 100)
        #expect(resources.requests?["memory"]?.value == 1000)
    }

    @Test func encodesAsItsText() throws {
        let q = try Quantity(parsing: "1.10Gi")
        let data = try JSONEncoder().encode([q])
        #expect(String(decoding: data, as: UTF8.self) == "[\"1.10Gi\"]")
        #expect(try JSONDecoder().decode([Quantity].self, from: data) == [q])
    }
}
