import KubeTestServer
import KubeletAPI
import SystemkRuntime
import Testing

/// Every `/containerLogs` query parameter as the kubelet decodes and validates it.
@Suite("containerLogs query parameters")
struct LogQueryTests {
    static let mapped: [(String, ContainerLogOptions)] = [
        ("", ContainerLogOptions()),
        ("follow=true", ContainerLogOptions(follow: true)),
        ("follow=false", ContainerLogOptions()),
        ("follow=FALSE", ContainerLogOptions()),
        ("follow=0", ContainerLogOptions()),
        // The kubelet's booleans: anything but false/0 is true, even an empty or odd value.
        ("follow=", ContainerLogOptions(follow: true)),
        ("follow=yes", ContainerLogOptions(follow: true)),
        ("follow", ContainerLogOptions(follow: true)),
        ("previous=1", ContainerLogOptions(previous: true)),
        ("timestamps=true", ContainerLogOptions(timestamps: true)),
        ("tailLines=10", ContainerLogOptions(tailLines: 10)),
        ("tailLines=0", ContainerLogOptions(tailLines: 0)),
        ("tailLines=%2B7", ContainerLogOptions(tailLines: 7)),
        ("tailLines=3&tailLines=9", ContainerLogOptions(tailLines: 3)),
        ("tail=5", ContainerLogOptions(tailLines: 5)),
        ("tail=all&tailLines=3", ContainerLogOptions()),
        ("limitBytes=100", ContainerLogOptions(limitBytes: 100)),
        ("sinceSeconds=60", ContainerLogOptions(since: .seconds(60))),
        ("sinceTime=2026-11-26T02:00:00Z", ContainerLogOptions(since: .time(microsecondsSinceEpoch: 1_795_658_400_000_000))),
        ("sinceTime=2026-11-26T02:00:00.5Z", ContainerLogOptions(since: .time(microsecondsSinceEpoch: 1_795_658_400_500_000))),
        ("sinceTime=2026-11-26T03:00:00%2B01:00", ContainerLogOptions(since: .time(microsecondsSinceEpoch: 1_795_658_400_000_000))),
        // Nanoseconds round up: an entry at the exact microsecond before is not "since" it.
        ("sinceTime=1970-01-01T00:00:00.000000001Z", ContainerLogOptions(since: .time(microsecondsSinceEpoch: 1))),
        ("sinceTime=", ContainerLogOptions(since: .time(microsecondsSinceEpoch: 0))),
        ("stream=All", ContainerLogOptions()),
        ("unknown=1&insecureSkipTLSVerifyBackend=true", ContainerLogOptions()),
        ("follow=true&tailLines=20&timestamps=true&limitBytes=4096&sinceSeconds=300",
         ContainerLogOptions(follow: true, tailLines: 20, since: .seconds(300), timestamps: true, limitBytes: 4096)),
    ]

    @Test(arguments: mapped)
    func queryIsMappedIntoOptions(query: String, expected: ContainerLogOptions) async throws {
        let source = FakeLogSource(.output(["one\n"]))
        try await withKubelet(logs: source, pods: try await podStore(podJSON("web"))) { kubelet in
            let answer = try await kubelet.get("/containerLogs/default/web/app?" + query)
            #expect(answer.status == 200)
            #expect(answer.body == "one\n")
            #expect(source.calls == [.init(namespace: "default", pod: "web", container: "app", options: expected)])
        }
    }

    static let invalid = [
        "tailLines=-1", "limitBytes=0", "limitBytes=-5", "sinceSeconds=0", "sinceSeconds=-10",
        "sinceSeconds=5&sinceTime=2026-11-26T02:00:00Z", "sinceSeconds=5&sinceTime=",
        "stream=Bogus", "stream=Stdout&tailLines=1",
    ]

    @Test(arguments: invalid)
    func invalidOptionsAre422(query: String) async throws {
        let source = FakeLogSource(.output(["one\n"]))
        try await withKubelet(logs: source, pods: try await podStore(podJSON("web"))) { kubelet in
            let answer = try await kubelet.get("/containerLogs/default/web/app?" + query)
            #expect(answer.status == 422)
            #expect(answer.body == #"{"message": "Invalid request."}"#)
            #expect(source.calls.isEmpty)
        }
    }

    static let undecodable = [
        "tailLines=abc", "tailLines=", "tailLines=1.5", "limitBytes=1e3", "sinceSeconds=99999999999999999999",
        "sinceTime=yesterday", "sinceTime=2026-02-30T00:00:00Z", "sinceTime=2026-11-26 02:00:00Z",
        "sinceTime=2026-11-26T02:00:00", "tail=x",
    ]

    @Test(arguments: undecodable)
    func undecodableValuesAre400(query: String) async throws {
        let source = FakeLogSource(.output(["one\n"]))
        try await withKubelet(logs: source, pods: try await podStore(podJSON("web"))) { kubelet in
            let answer = try await kubelet.get("/containerLogs/default/web/app?" + query)
            #expect(answer.status == 400)
            #expect(answer.body == #"{"message": "Unable to decode query."}"#)
            #expect(source.calls.isEmpty)
        }
    }

    @Test func aSingleStreamCannotBeSeparated() async throws {
        let source = FakeLogSource(.output(["one\n"]))
        try await withKubelet(logs: source, pods: try await podStore(podJSON("web"))) { kubelet in
            let answer = try await kubelet.get("/containerLogs/default/web/app?stream=Stderr")
            #expect(answer.status == 400)
            #expect(answer.body.contains("journald keeps a unit's stdout and stderr as one stream"))
            #expect(source.calls.isEmpty)
        }
    }
}
