import CSystemd
import Glibc
@testable import SystemkRuntime

/// Writes values into a real `sd_bus_message` and reads them back, without any peer: sd-bus only builds
/// messages on a started bus, so the bus is started on one end of a socket pair nobody answers.
enum OfflineMessage {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// `values` appended with `BusMessageCoding`, sealed, rewound and read back.
    static func roundTrip(_ values: [BusValue]) throws -> [BusValue] {
        try withMessage { message in
            try BusMessageCoding.append(values, to: message, context: "test")
            guard sd_bus_message_seal(message, 1, 0) >= 0, sd_bus_message_rewind(message, 1) >= 0 else {
                throw Failure(description: "cannot seal the message")
            }
            return try BusMessageCoding.readAll(from: message, context: "test")
        }
    }

    /// The message's signature after appending `values`.
    static func signature(of values: [BusValue]) throws -> String {
        try withMessage { message in
            try BusMessageCoding.append(values, to: message, context: "test")
            return String(cString: sd_bus_message_get_signature(message, 1))
        }
    }

    private static func withMessage<T>(_ body: (OpaquePointer) throws -> T) throws -> T {
        var pair: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &pair) == 0 else {
            throw Failure(description: "socketpair failed")
        }
        defer { close(pair[1]) }
        var bus: OpaquePointer?
        guard sd_bus_new(&bus) >= 0, let bus else { throw Failure(description: "sd_bus_new failed") }
        defer { sd_bus_close_unref(bus) }
        guard sd_bus_set_fd(bus, pair[0], pair[0]) >= 0, sd_bus_start(bus) >= 0 else {
            throw Failure(description: "cannot start the offline bus")
        }
        var message: OpaquePointer?
        guard sd_bus_message_new_method_call(bus, &message, "org.example", "/org/example", "org.example.I", "M") >= 0,
            let message
        else { throw Failure(description: "cannot create a message") }
        defer { sd_bus_message_unref(message) }
        return try body(message)
    }
}
