import Testing

@testable import SystemkRuntime

/// `BusValue`s go into sd-bus messages and come back out unchanged, through the non-variadic API.
struct BusValueTests {
    static let everyKind: [BusValue] = [
        .byte(0xff), .bool(true), .bool(false), .int16(-2), .uint16(65535), .int32(Int32.min), .uint32(4_000_000_000),
        .int64(Int64.min), .uint64(UInt64.max), .double(-1.5), .string("héllo wörld ✓"), .string(""),
        .objectPath("/org/freedesktop/systemd1/unit/a_2eservice"), .signature("a{sv}"),
    ]

    @Test func basicValuesRoundTrip() throws {
        #expect(try OfflineMessage.roundTrip(Self.everyKind) == Self.everyKind)
    }

    @Test func containersRoundTrip() throws {
        let values: [BusValue] = [
            .strings(["a.service", "b.service"]),
            .strings([]),
            .bytes([0, 1, 2, 255]),
            .bytes([]),
            .stringVariantDictionary([
                ("ActiveState", .string("active")), ("NRestarts", .uint32(3)), ("InvocationID", .bytes([0xab, 0xcd])),
                ("Nested", .strings(["x"])),
            ]),
            .array(elementSignature: "(sasb)", [.structure([.string("x"), .strings(["y", "z"]), .bool(true)])]),
            .array(elementSignature: "a(ss)", [.array(elementSignature: "(ss)", [])]),
            .variant(.variant(.uint64(7))),
            .structure([.int32(1), .structure([.string("deep"), .variant(.bytes([9]))])]),
        ]
        #expect(try OfflineMessage.roundTrip(values) == values)
    }

    @Test func signaturesMatchWhatSdBusWrites() throws {
        let values: [BusValue] = [
            .string("s"), .strings([]), .stringVariantDictionary([]),
            .array(elementSignature: "(ssssssouso)", []), .structure([.uint32(1), .objectPath("/")]), .variant(.bool(true)),
        ]
        #expect(values.map(\.signature).joined() == "sasa{sv}a(ssssssouso)(uo)v")
        #expect(try OfflineMessage.signature(of: values) == "sasa{sv}a(ssssssouso)(uo)v")
    }

    @Test func malformedValuesAreRefusedNotSent() throws {
        // An element that does not match the array's declared type.
        #expect(throws: SystemdError.self) {
            try OfflineMessage.roundTrip([.array(elementSignature: "s", [.uint32(1)])])
        }
        // A NUL would cut the string short.
        #expect(throws: SystemdError.self) { try OfflineMessage.roundTrip([.string("a\u{0}b")]) }
        // Not a valid object path.
        #expect(throws: SystemdError.self) { try OfflineMessage.roundTrip([.objectPath("relative/path")]) }
    }

    @Test func accessorsLookThroughVariants() {
        #expect(BusValue.variant(.string("x")).stringValue == "x")
        #expect(BusValue.variant(.objectPath("/o")).stringValue == "/o")
        #expect(BusValue.variant(.uint32(5)).unsignedValue == 5)
        #expect(BusValue.int32(-1).unsignedValue == nil)
        #expect(BusValue.int32(-1).signedValue == -1)
        #expect(BusValue.uint64(UInt64.max).signedValue == nil)
        #expect(BusValue.variant(.bool(true)).boolValue == true)
        #expect(BusValue.variant(.bytes([1, 2])).byteArray == [1, 2])
        #expect(BusValue.strings(["a"]).byteArray == nil)
        let dictionary = BusValue.stringVariantDictionary([("A", .uint32(1)), ("A", .uint32(2)), ("B", .string("b"))])
        #expect(dictionary.stringKeyedEntries == ["A": .variant(.uint32(2)), "B": .variant(.string("b"))])
        #expect(BusValue.strings(["a"]).stringKeyedEntries == nil)
        #expect(BusValue.structure([.string("a")]).structureFields == [.string("a")])
    }
}
