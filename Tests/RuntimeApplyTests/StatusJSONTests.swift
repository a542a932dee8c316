import Foundation
import KubeClient
import Testing

@testable import PodCompiler
@testable import SystemkRuntime

/// The status encodes to the Kubernetes API's JSON shape.
@Suite struct StatusJSONTests {
    typealias F = StatusFixtures

    @Test func aCrashLoopingPodEncodesAsTheAPIWritesIt() throws {
        let units = try F.units(initContainers: ["migrate"])
        let mapping = PodStatusMapper.map([F.observe(units["migrate"]!, F.initCompleted), F.observe(units["web"]!, F.autoRestart(exit: 1, restarts: 2))])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let json = String(decoding: try encoder.encode(try #require(mapping.pods.first).status), as: UTF8.self)
        let expected = """
            {"conditions":[{"status":"True","type":"Initialized"},\
            {"message":"containers with unready status: [web]","reason":"ContainersNotReady","status":"False","type":"Ready"},\
            {"message":"containers with unready status: [web]","reason":"ContainersNotReady","status":"False","type":"ContainersReady"},\
            {"status":"True","type":"PodScheduled"}],\
            "containerStatuses":[{"containerID":"systemd://\(F.invocation)","image":"/bin/true","imageID":"",\
            "lastState":{"terminated":{"containerID":"systemd://\(F.invocation)","exitCode":1,\
            "finishedAt":"2024-05-01T12:00:05Z","reason":"Error","startedAt":"2024-05-01T12:00:00Z"}},\
            "name":"web","ready":false,"restartCount":2,"started":false,\
            "state":{"waiting":{"message":"back-off restarting failed container=web pod=shop_default(\(F.uid))","reason":"CrashLoopBackOff"}}}],\
            "initContainerStatuses":[{"containerID":"systemd://\(F.invocation)","image":"/bin/true","imageID":"",\
            "lastState":{},"name":"migrate","ready":true,"restartCount":0,"started":false,\
            "state":{"terminated":{"containerID":"systemd://\(F.invocation)","exitCode":0,\
            "finishedAt":"2024-05-01T12:00:02Z","reason":"Completed","startedAt":"2024-05-01T12:00:00Z"}}}],\
            "phase":"Running"}
            """
        #expect(json == expected)
        let decoded = try JSONDecoder().decode(PodStatus.self, from: Data(json.utf8))
        #expect(decoded == mapping.pods.first?.status)
    }

    @Test func timesAreRFC3339InUTC() {
        #expect(KubernetesTime.timestamp(microseconds: 0) == nil)
        #expect(KubernetesTime.timestamp(microseconds: 1)?.description == "1970-01-01T00:00:00Z")
        #expect(KubernetesTime.timestamp(microseconds: F.t0 + 999_999)?.description == "2024-05-01T12:00:00Z")
        #expect(KubernetesTime.timestamp(microseconds: 1_709_164_799_000_000)?.description == "2024-02-28T23:59:59Z")
        #expect(KubernetesTime.timestamp(microseconds: 1_709_251_199_000_000)?.description == "2024-02-29T23:59:59Z")
        #expect(KubernetesTime.timestamp(microseconds: 4_107_542_400_000_000)?.description == "2100-03-01T00:00:00Z")
        #expect(KubernetesTime.timestamp(microseconds: 951_782_400_000_000)?.description == "2000-02-29T00:00:00Z")
    }
}
