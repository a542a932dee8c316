import SystemkRuntime

/// Why a `/containerLogs` query was refused, as the kubelet refuses it.
public enum LogQueryError: Error, Equatable, CustomStringConvertible {
    /// A value that does not decode (`tailLines=x`, `sinceTime=yesterday`): the kubelet answers
    /// 400 `{"message": "Unable to decode query."}`.
    case undecodable(parameter: String, value: String)
    /// Values that decode but fail `ValidatePodLogOptions` (negative `tailLines`, `limitBytes` < 1,
    /// `sinceSeconds` < 1, `sinceSeconds` with `sinceTime`, an unknown `stream`, a single stream with
    /// `tailLines`): the kubelet answers 422 `{"message": "Invalid request."}`.
    case invalid([String])
    /// `stream=Stdout` or `stream=Stderr`: valid, but journald keeps a unit's stdout and stderr as one stream.
    case streamNotSeparable(String)

    public var description: String {
        switch self {
        case .undecodable(let parameter, let value): "cannot decode \(parameter)=\(value)"
        case .invalid(let problems): problems.joined(separator: "; ")
        case .streamNotSeparable(let stream):
            "stream=\(stream) is not supported: journald keeps a unit's stdout and stderr as one stream; use stream=All"
        }
    }
}

/// Reads `/containerLogs` query parameters exactly as the kubelet decodes a v1 `PodLogOptions`
/// (`DecodeParameters`, then `ValidatePodLogOptions`):
/// - only the first value of a parameter counts; unknown parameters are ignored;
/// - booleans (`follow`, `previous`, `timestamps`) are false only for `false` (any case) and `0`; any
///   other value, the empty one included, is true;
/// - `tailLines`, `limitBytes`, `sinceSeconds` are base-10 int64 (`+5` allowed); an empty or non-numeric
///   value does not decode;
/// - `sinceTime` is RFC 3339 (fractional seconds allowed); empty or `null` means the zero time;
/// - the legacy `tail=N` sets `tailLines`, and `tail=all` removes it.
enum LogQuery {
    static func options(_ rawQuery: String?) -> Result<ContainerLogOptions, LogQueryError> {
        var values = parse(rawQuery ?? "")
        if let tail = values["tail"]?.first, !tail.isEmpty {
            values["tailLines"] = tail == "all" ? nil : [tail]
        }
        func flag(_ key: String) -> Bool {
            guard let value = values[key]?.first else { return false }
            return !(value == "0" || value.lowercased() == "false")
        }
        func integer(_ key: String) throws(LogQueryError) -> Int64? {
            guard let value = values[key]?.first else { return nil }
            guard let number = Int64(value) else { throw .undecodable(parameter: key, value: value) }
            return number
        }
        let tailLines: Int64?, limitBytes: Int64?, sinceSeconds: Int64?
        var sinceTime: UInt64?
        do throws(LogQueryError) {
            tailLines = try integer("tailLines")
            limitBytes = try integer("limitBytes")
            sinceSeconds = try integer("sinceSeconds")
            if let value = values["sinceTime"]?.first {
                if value.isEmpty || value == "null" {
                    sinceTime = 0
                } else if let time = RFC3339.microseconds(value) {
                    sinceTime = time
                } else {
                    throw .undecodable(parameter: "sinceTime", value: value)
                }
            }
        } catch {
            return .failure(error)
        }
        let stream = values["stream"]?.first
        var problems: [String] = []
        if let tailLines, tailLines < 0 { problems.append("tailLines: Invalid value: \(tailLines): must be greater than or equal to 0") }
        if let limitBytes, limitBytes < 1 { problems.append("limitBytes: Invalid value: \(limitBytes): must be greater than 0") }
        if sinceSeconds != nil, sinceTime != nil {
            problems.append("Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified")
        } else if let sinceSeconds, sinceSeconds < 1 {
            problems.append("sinceSeconds: Invalid value: \(sinceSeconds): must be greater than 0")
        }
        if let stream {
            if !["Stdout", "Stderr", "All"].contains(stream) {
                problems.append("stream: Unsupported value: \"\(stream)\"")
            }
            if stream != "All", tailLines != nil {
                problems.append("Forbidden: `tailLines` and specific `stream` are mutually exclusive for now")
            }
        }
        guard problems.isEmpty else { return .failure(.invalid(problems)) }
        if let stream, stream != "All" { return .failure(.streamNotSeparable(stream)) }
        // Values that pass validation but do not fit an Int are beyond any log: clamp instead of trapping.
        func clamped(_ value: Int64?) -> Int? { value.map { Int(clamping: $0) } }
        let since: ContainerLogOptions.Since? =
            if let sinceSeconds { .seconds(sinceSeconds) }
            else if let sinceTime { .time(microsecondsSinceEpoch: sinceTime) }
            else { nil }
        return .success(ContainerLogOptions(
            follow: flag("follow"), tailLines: clamped(tailLines), since: since, timestamps: flag("timestamps"),
            limitBytes: clamped(limitBytes), previous: flag("previous")))
    }

    /// Go's `url.ParseQuery`: pairs split on `&`, pairs holding `;` or with a bad escape dropped, `+` is a
    /// space, `%XX` decoded.
    static func parse(_ query: String) -> [String: [String]] {
        var values: [String: [String]] = [:]
        for pair in query.split(separator: "&", omittingEmptySubsequences: true) where !pair.contains(";") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let key = unescape(parts[0]), !key.isEmpty,
                  let value = parts.count > 1 ? unescape(parts[1]) : "" else { continue }
            values[key, default: []].append(value)
        }
        return values
    }

    private static func unescape(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        var input = Array(text.utf8)[...]
        while let byte = input.popFirst() {
            switch byte {
            case UInt8(ascii: "+"): bytes.append(UInt8(ascii: " "))
            case UInt8(ascii: "%"):
                guard input.count >= 2, let high = hex(input[input.startIndex]),
                      let low = hex(input[input.startIndex + 1]) else { return nil }
                bytes.append(high << 4 | low)
                input = input.dropFirst(2)
            default: bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hex(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

/// RFC 3339 times as Go's `time.Parse(time.RFC3339, ...)` reads them:
/// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`, fields range-checked (day within its month).
enum RFC3339 {
    /// µs since the epoch, rounded up (an entry at or after the exact instant is "since" it); times
    /// before 1970 give 0. Nil when `text` is not RFC 3339.
    static func microseconds(_ text: String) -> UInt64? {
        let c = Array(text.utf8)
        func number(_ range: Range<Int>) -> Int? {
            guard range.upperBound <= c.count else { return nil }
            var value = 0
            for i in range {
                guard c[i] >= UInt8(ascii: "0"), c[i] <= UInt8(ascii: "9") else { return nil }
                value = value * 10 + Int(c[i] - UInt8(ascii: "0"))
            }
            return value
        }
        guard c.count >= 20, c[4] == UInt8(ascii: "-"), c[7] == UInt8(ascii: "-"), c[10] == UInt8(ascii: "T"),
              c[13] == UInt8(ascii: ":"), c[16] == UInt8(ascii: ":"),
              let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
              let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
              (1...12).contains(month), hour < 24, minute < 60, second < 60,
              day >= 1, day <= daysIn(month: month, year: year) else { return nil }
        var i = 19
        var nanoseconds = 0
        if c[i] == UInt8(ascii: ".") || c[i] == UInt8(ascii: ",") {
            i += 1
            var digits = 0
            while i < c.count, c[i] >= UInt8(ascii: "0"), c[i] <= UInt8(ascii: "9") {
                if digits < 9 { nanoseconds = nanoseconds * 10 + Int(c[i] - UInt8(ascii: "0")) }
                digits += 1
                i += 1
            }
            guard digits > 0 else { return nil }
            for _ in digits..<max(digits, 9) { nanoseconds *= 10 }
        }
        var offset = 0
        guard i < c.count else { return nil }
        if c[i] == UInt8(ascii: "Z"), i + 1 == c.count {
            offset = 0
        } else if c[i] == UInt8(ascii: "+") || c[i] == UInt8(ascii: "-"), i + 6 == c.count,
                  c[i + 3] == UInt8(ascii: ":"), let h = number(i + 1..<i + 3), let m = number(i + 4..<i + 6),
                  h < 24, m < 60 {
            offset = (h * 3600 + m * 60) * (c[i] == UInt8(ascii: "-") ? -1 : 1)
        } else {
            return nil
        }
        let days = daysSinceEpoch(year: year, month: month, day: day)
        let seconds = days * 86400 + hour * 3600 + minute * 60 + second - offset
        guard seconds >= 0 else { return 0 }
        return UInt64(seconds) * 1_000_000 + UInt64((nanoseconds + 999) / 1000)
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
    static func daysSinceEpoch(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }
}
