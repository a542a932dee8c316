/// A seeded generator (SplitMix64), so that property tests are reproducible.
struct SeededRandom: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Characters that stress systemd's quoting rules, mixed with plain ones.
    static let hostileCharacters: [Character] = Array(
        "ab Z09_-/.:;=#%$'\"\\\t\n\r{}[]*?`!@+~é☃日🙂") + ["\u{1}", "\u{7F}", "\u{85}", "\u{FEFF}", "\u{200B}"]

    mutating func string(maxLength: Int, from alphabet: [Character] = hostileCharacters) -> String {
        let length = Int.random(in: 0...maxLength, using: &self)
        return String((0..<length).map { _ in alphabet.randomElement(using: &self) ?? "a" })
    }

    mutating func bytes(maxLength: Int) -> [UInt8] {
        let length = Int.random(in: 0...maxLength, using: &self)
        return (0..<length).map { _ in UInt8.random(in: 1...255, using: &self) }
    }
}

/// U+FDD0, a noncharacter that systemd rejects (Swift does not allow it in a literal).
let nonCharacterFDD0 = Unicode.Scalar(UInt32(0xFDD0)).map { String(Character($0)) } ?? ""
