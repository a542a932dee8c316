import Foundation
import KubeClient
import PodCompiler
import SystemkRuntime
import Testing

/// Which pod events make the live agent reconcile: a change of what the pod runs, never a status write
/// (systemk's own come back as MODIFIED events, one per pod).
@Suite struct LiveAgentEventTests {
    static let base = #"""
        {"metadata":{"name":"w","namespace":"default","uid":"u1","resourceVersion":"1","labels":{"app":"w"},"annotations":{"a":"1"}},
         "spec":{"nodeName":"node-1","containers":[{"name":"c","image":"/bin/sh"}]}}
        """#

    func pod(_ edit: (inout [String: Any]) -> Void = { _ in }) throws -> KubeClient::Pod {
        var object = try #require(JSONSerialization.jsonObject(with: Data(Self.base.utf8)) as? [String: Any])
        edit(&object)
        return try KubeClient::Pod.decodeObject(from: JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]))
    }

    func metadata(_ edit: @escaping (inout [String: Any]) -> Void) -> (inout [String: Any]) -> Void {
        { object in
            var m = object["metadata"] as? [String: Any] ?? [:]
            edit(&m)
            object["metadata"] = m
        }
    }

    @Test func statusWritesAndBookkeepingStartNoPass() throws {
        let before = try pod()
        let echoed = try pod { object in
            object["status"] = ["phase": "Running", "conditions": [["type": "Ready", "status": "True"]]]
            var m = object["metadata"] as? [String: Any] ?? [:]
            m["resourceVersion"] = "2"
            m["managedFields"] = [["manager": "systemk", "operation": "Update"]]
            object["metadata"] = m
        }
        #expect(!LiveAgent.changesWhatRuns(from: before, to: echoed))
    }

    @Test func specLabelsAnnotationsAndDeletionStartAPass() throws {
        let before = try pod()
        let changes: [(String, (inout [String: Any]) -> Void)] = [
            ("spec", { $0["spec"] = ["nodeName": "node-1", "containers": [["name": "c", "image": "/bin/bash"]]] }),
            ("labels", metadata { $0["labels"] = ["app": "w", "tier": "web"] }),
            ("annotations", metadata { $0["annotations"] = ["a": "2"] }),
            ("deletion", metadata { $0["deletionTimestamp"] = "2026-11-26T10:00:00Z" }),
        ]
        for (what, change) in changes {
            #expect(LiveAgent.changesWhatRuns(from: before, to: try pod(change)), "\(what)")
        }
    }

    @Test func apiPodsAreParsedWithoutKeepingTheDocument() throws {
        let entry = try LiveAgent.parse(try pod()).get()
        #expect(entry.source.node == nil, "the parsed document is not kept")
        #expect(entry.source.file == "api:default/w")
        #expect(entry.pod.spec.containers.map(\.name) == ["c"])

        // A compile error still names the pod, the field and the reason, without a line.
        let bad = try pod { $0["spec"] = ["nodeName": "node-1", "containers": [["name": "c", "image": "/bin/sh", "env": [["name": "A", "valueFrom": ["configMapKeyRef": ["name": "missing", "key": "k"]]]]]]] }
        let parsed = try LiveAgent.parse(bad).get()
        #expect(throws: CompileError.self) {
            _ = try PodCompiler.compile(CompileInput(pod: parsed.pod, source: parsed.source, node: NodeFacts(serviceAccountTokens: false)))
        }
        do {
            _ = try PodCompiler.compile(CompileInput(pod: parsed.pod, source: parsed.source, node: NodeFacts(serviceAccountTokens: false)))
        } catch {
            #expect(error.description.hasPrefix("api:default/w: Pod default/w: spec.containers[0].env[0]"), "\(error)")
        }

        var missing = try pod()
        missing.raw = nil
        #expect(throws: CompileError.self) { try LiveAgent.parse(missing).get() }
    }
}
