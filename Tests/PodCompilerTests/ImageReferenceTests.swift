import Testing

@testable import PodCompiler

/// What a container's `image` names: a Debian package (optionally pinned), an https URL of a .deb,
/// or an absolute path.
struct ImageReferenceTests {
    static let valid: [(String, ImageReference)] = [
        ("nginx", .package(name: "nginx", version: nil)),
        ("nginx=1.22.1-7", .package(name: "nginx", version: "1.22.1-7")),
        ("nginx:1.22.1-7", .package(name: "nginx", version: "1.22.1-7")),
        ("libc6=2.36-9+deb12u4", .package(name: "libc6", version: "2.36-9+deb12u4")),
        ("g++", .package(name: "g++", version: nil)),
        ("python3.11", .package(name: "python3.11", version: nil)),
        ("pkg=1:2.0~rc1", .package(name: "pkg", version: "1:2.0~rc1")),
        ("/usr/bin/true", .path("/usr/bin/true")),
        ("/opt/my app/run", .path("/opt/my app/run")),
        (
            "https://example.com/pool/main/f/foo/foo_1.0-1_amd64.deb",
            .deb(url: "https://example.com/pool/main/f/foo/foo_1.0-1_amd64.deb", package: "foo")
        ),
        ("https://example.com/bar.deb?sig=abc", .deb(url: "https://example.com/bar.deb?sig=abc", package: "bar")),
    ]

    @Test(arguments: valid)
    func parses(_ c: (String, ImageReference)) throws {
        #expect(try ImageReference.parse(c.0).get() == c.1)
    }

    static let invalid: [(String, String)] = [
        ("", "is empty"),
        ("http://example.com/foo_1_amd64.deb", "must use https://"),
        ("https://example.com/foo.tar.gz", "must end in NAME_VERSION_ARCH.deb"),
        ("https://example.com/Foo_1_amd64.deb", "is not a Debian package name"),
        ("/usr/../bin/sh", "is not a clean absolute path"),
        ("Nginx", "is neither a Debian package name"),
        ("n", "is neither a Debian package name"),
        ("-nginx", "is neither a Debian package name"),
        ("docker.io/library/nginx:latest", "is neither a Debian package name"),
        ("nginx:", "has an empty version"),
        ("nginx=1.0 beta", "is not a package version"),
        ("nginx=1/2", "is not a package version"),
    ]

    @Test(arguments: invalid)
    func refusesWithAReason(_ c: (String, String)) {
        switch ImageReference.parse(c.0) {
        case .success(let r): Issue.record("\(c.0) parsed as \(r)")
        case .failure(let e): #expect(e.message.contains(c.1), "\(e.message)")
        }
    }

    @Test func describesItselfAndNamesItsPackage() {
        #expect(ImageReference.package(name: "nginx", version: "1.2").description == "nginx=1.2")
        #expect(ImageReference.package(name: "nginx", version: nil).packageName == "nginx")
        #expect(ImageReference.deb(url: "https://x/y_1_all.deb", package: "y").packageName == "y")
        #expect(ImageReference.path("/bin/sh").packageName == nil)
    }

    @Test func packageNamesFollowDebianPolicy() {
        for ok in ["ab", "0ad", "lib32z1", "g++", "a.b-c+d"] { #expect(ImageReference.isPackageName(ok), "\(ok)") }
        for bad in ["a", "", "Ab", "-ab", ".ab", "a_b", "a b", "é1"] { #expect(!ImageReference.isPackageName(bad), "\(bad)") }
    }

    @Test func quotedEscapesForMessages() {
        #expect(quoted("a\"b\\c\nd\te\u{1}\u{7f}é") == "\"a\\\"b\\\\c\\nd\\te\\x01\\x7fé\"")
    }

    @Test func theImageDecidesThePackagesToInstall() throws {
        let pod = Fixtures.pod(containers: [
            Fixtures.container("a", image: "nginx=1.22", command: ["/usr/sbin/nginx"]),
            Fixtures.container("b", image: "nginx=1.22", command: ["/usr/sbin/nginx"]),
            Fixtures.container("c", image: "/usr/bin/env"),
        ])
        let plan = try Fixtures.compile(pod)
        #expect(plan.packages == [PlannedPackage(image: "nginx=1.22", reference: .package(name: "nginx", version: "1.22"), containers: ["a", "b"])])
        #expect(plan.unit("c")?.value("ExecStart") == "/usr/bin/env")
        #expect(plan.unit("a")?.value("Image", in: "X-Kubernetes") == "nginx=1.22")
    }
}
