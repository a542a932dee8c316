import Foundation
import Testing

@testable import KubeClient

/// `Pod.rawSpec` tells a status write (which the node ignores) from a change of what the pod runs.
@Suite struct PodRawSpecTests {
    func pod(_ json: String) throws -> Pod { try Pod.decodeObject(from: Data(json.utf8)) }

    @Test func statusAndResourceVersionDoNotChangeTheSpecBytes() throws {
        let a = try pod(#"{"metadata":{"name":"w","resourceVersion":"1"},"spec":{"containers":[{"name":"c","image":"/bin/sh"}]}}"#)
        let b = try pod(#"{"metadata":{"name":"w","resourceVersion":"2"},"spec":{"containers":[{"name":"c","image":"/bin/sh"}]},"status":{"phase":"Running"}}"#)
        let c = try pod(#"{"metadata":{"name":"w","resourceVersion":"3"},"spec":{"containers":[{"name":"c","image":"/bin/bash"}]}}"#)
        #expect(a.rawSpec == Data(#"{"containers":[{"name":"c","image":"/bin/sh"}]}"#.utf8))
        #expect(a.rawSpec == b.rawSpec)
        #expect(a.rawSpec != c.rawSpec)
        #expect(Pod(metadata: ObjectMeta(name: "x")).rawSpec == nil)
    }
}
