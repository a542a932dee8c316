import Foundation

/// A Kubernetes resource quantity (`500m`, `128Mi`, `1.5G`, `2e3`), parsed by the API server's grammar
/// and kept exact: the value is `mantissa × 10^decimalExponent × 2^binaryExponent` in integers, so no
/// conversion ever goes through floating point.
public struct Quantity: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The text as written.
    public let text: String
    public let negative: Bool
    public let mantissa: UInt64
    public let decimalExponent: Int
    public let binaryExponent: Int

    /// Why a text is not a quantity.
    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        public var text: String
        public var reason: String
        public var description: String { "invalid quantity \"\(text)\": \(reason)" }
    }

    public init(parsing text: String) throws(ParseError) {
        self.text = text
        var chars = Substring(text)
        func fail(_ reason: String) -> ParseError { ParseError(text: text, reason: reason) }
        guard !chars.isEmpty else { throw fail("empty") }
        var negative = false
        if chars.first == "+" {
            chars = chars.dropFirst()
        } else if chars.first == "-" {
            negative = true
            chars = chars.dropFirst()
        }
        let intDigits = chars.prefix(while: { $0.isASCII && $0.isNumber })
        chars = chars.dropFirst(intDigits.count)
        var fracDigits = Substring("")
        if chars.first == "." {
            chars = chars.dropFirst()
            fracDigits = chars.prefix(while: { $0.isASCII && $0.isNumber })
            chars = chars.dropFirst(fracDigits.count)
        }
        guard !(intDigits.isEmpty && fracDigits.isEmpty) else {
            throw fail("expected a number such as 100m, 1.5, 128Mi or 1e3")
        }
        var decimalExponent = 0
        var binaryExponent = 0
        let suffix = String(chars)
        switch suffix {
        case "": break
        case "n": decimalExponent = -9
        case "u": decimalExponent = -6
        case "m": decimalExponent = -3
        case "k": decimalExponent = 3
        case "M": decimalExponent = 6
        case "G": decimalExponent = 9
        case "T": decimalExponent = 12
        case "P": decimalExponent = 15
        case "E": decimalExponent = 18
        case "Ki": binaryExponent = 10
        case "Mi": binaryExponent = 20
        case "Gi": binaryExponent = 30
        case "Ti": binaryExponent = 40
        case "Pi": binaryExponent = 50
        case "Ei": binaryExponent = 60
        default:
            guard let e = suffix.first, e == "e" || e == "E" else {
                throw fail("unknown suffix \"\(suffix)\" (use n, u, m, k, M, G, T, P, E, Ki, Mi, Gi, Ti, Pi, Ei or an exponent)")
            }
            var exp = suffix.dropFirst()
            var expNegative = false
            if exp.first == "+" {
                exp = exp.dropFirst()
            } else if exp.first == "-" {
                expNegative = true
                exp = exp.dropFirst()
            }
            guard !exp.isEmpty, exp.count <= 3, exp.allSatisfy({ $0.isASCII && $0.isNumber }), let v = Int(exp) else {
                throw fail("invalid exponent \"\(suffix)\"")
            }
            decimalExponent = expNegative ? -v : v
        }
        // Significant digits: drop leading zeros, then move trailing zeros into the exponent.
        var digits = Array((intDigits + fracDigits).drop(while: { $0 == "0" }))
        decimalExponent -= fracDigits.count
        while digits.last == "0" {
            digits.removeLast()
            decimalExponent += 1
        }
        guard digits.count <= 19, let m = digits.isEmpty ? 0 : UInt64(String(digits)) else {
            throw fail("more than 19 significant digits")
        }
        if m == 0 {
            decimalExponent = 0
            binaryExponent = 0
        }
        self.negative = negative && m != 0
        self.mantissa = m
        self.decimalExponent = decimalExponent
        self.binaryExponent = binaryExponent
    }

    public var description: String { text }

    public var isZero: Bool { mantissa == 0 }

    /// The value scaled by 10^`scale`, rounded up to an integer as Kubernetes does (`Value()` is
    /// scale 0, `MilliValue()` scale 3). Nil when it does not fit in 63 bits.
    public func scaledValue(_ scale: Int) -> Int64? {
        guard !negative else { return nil }
        var value = mantissa
        for _ in 0..<binaryExponent {
            let (r, o) = value.multipliedReportingOverflow(by: 2)
            if o { return nil }
            value = r
        }
        let e = decimalExponent + scale
        if e >= 0 {
            for _ in 0..<e {
                let (r, o) = value.multipliedReportingOverflow(by: 10)
                if o { return nil }
                value = r
            }
        } else {
            var divisor: UInt64 = 1
            for _ in 0..<(-e) {
                let (r, o) = divisor.multipliedReportingOverflow(by: 10)
                if o { return value == 0 ? 0 : 1 }
                divisor = r
            }
            let (q, rem) = value.quotientAndRemainder(dividingBy: divisor)
            value = rem == 0 ? q : q + 1
        }
        return value <= UInt64(Int64.max) ? Int64(value) : nil
    }

    /// Whole units, rounded up (bytes for memory).
    public var value: Int64? { scaledValue(0) }
    /// Thousandths, rounded up (millicores for CPU).
    public var milliValue: Int64? { scaledValue(3) }

    public init(from decoder: any Decoder) throws {
        let raw = try RawScalarText(from: decoder)
        do {
            try self.init(parsing: raw.text.trimmingCharacters(in: .whitespaces))
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.description))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(text)
    }
}

/// `intstr.IntOrString`: a port given as a number or as a container port's name.
public enum IntOrString: Sendable, Hashable, Codable, CustomStringConvertible {
    case int(Int)
    case string(String)

    public init(from decoder: any Decoder) throws {
        let raw = try RawScalarText(from: decoder)
        if !raw.isString, let i = Int(raw.text) {
            self = .int(i)
        } else {
            self = .string(raw.text)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case let .int(i): try c.encode(i)
        case let .string(s): try c.encode(s)
        }
    }

    public var description: String {
        switch self {
        case let .int(i): return String(i)
        case let .string(s): return s
        }
    }
}
