import SystemkRuntime
import Testing

/// Unit names: what systemd accepts, and their object paths.
struct UnitNameTests {
    @Test(arguments: [
        "a.service", "systemk-default-web-0.nginx.service", "getty@tty1.service", "template@.service",
        "x\\x2dy.mount", "a:b_c-d.socket", "system.slice", "-.mount",
    ])
    func validNames(_ name: String) {
        #expect(UnitName.isValid(name))
    }

    @Test(arguments: [
        "", "service", ".service", "a.", "a.unknown", "a/b.service", "../a.service", "..", ".", "a b.service",
        "@a.service", "a@b@c.service", "é.service", "a.service\u{0}", String(repeating: "a", count: 248) + ".service",
    ])
    func invalidNames(_ name: String) {
        #expect(!UnitName.isValid(name))
    }

    @Test func objectPathsEscapeLikeSystemd() throws {
        #expect(try UnitName.objectPath(for: "dbus.service") == "/org/freedesktop/systemd1/unit/dbus_2eservice")
        #expect(
            try UnitName.objectPath(for: "getty@tty1.service")
                == "/org/freedesktop/systemd1/unit/getty_40tty1_2eservice")
        #expect(try UnitName.objectPath(for: "-.mount") == "/org/freedesktop/systemd1/unit/_2d_2emount")
        #expect(try UnitName.objectPath(for: "a-b.service") == "/org/freedesktop/systemd1/unit/a_2db_2eservice")
    }

    @Test(arguments: ["dbus.service", "getty@tty1.service", "-.mount", "x\\x2dy.mount", "ünïcode.service"])
    func objectPathsDecodeBack(_ name: String) throws {
        #expect(UnitName.name(fromObjectPath: try UnitName.objectPath(for: name)) == name)
    }

    @Test func otherObjectsHaveNoUnitName() {
        #expect(UnitName.name(fromObjectPath: "/org/freedesktop/systemd1") == nil)
        #expect(UnitName.name(fromObjectPath: "/org/freedesktop/systemd1/job/42") == nil)
    }
}
