import Foundation
import Testing

@testable import KubeClient

/// A status write rewrites only the object's `status`, byte for byte elsewhere, and keeps the status keys
/// it does not model.
@Suite struct StatusOverlayTests {
    struct Status: Encodable {
        var phase: String?
        var podIP: String?
        var conditions: [[String: String]]?
    }
    let modelled: Set<String> = ["phase", "podIP", "conditions", "hostIP"]

    func overlay(_ status: Status, onto raw: String) throws -> String {
        String(decoding: try StatusOverlay.apply(status, modelledKeys: modelled, onto: Data(raw.utf8), what: "test"), as: UTF8.self)
    }

    /// The same merge on decoded JSON, as a reference: the object's keys, status replaced by the old
    /// status without the modelled keys, plus the new status's keys.
    func reference(_ status: Status, onto raw: String) throws -> NSDictionary {
        var object = try #require(try JSONSerialization.jsonObject(with: Data(raw.utf8)) as? [String: Any])
        var merged = (object["status"] as? [String: Any]) ?? [:]
        for key in modelled { merged.removeValue(forKey: key) }
        let typed = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(status)) as? [String: Any])
        for (key, value) in typed { merged[key] = value }
        object["status"] = merged
        return object as NSDictionary
    }

    func parsed(_ text: String) throws -> NSDictionary {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? NSDictionary)
    }

    @Test func replacesModelledKeysKeepsOthersAndLeavesTheRestAsItWas() throws {
        let head = #"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","managedFields":[{"x":"{\"}"}]},"spec":{"a":[1,2,{"b":null}]},"status":"#
        let raw = head + #"{"phase":"Pending","hostIP":"10.0.0.1","qosClass":"BestEffort","nominatedNodeName":"n1"},"z":true}"#
        let new = Status(phase: "Running", podIP: "10.0.0.2", conditions: [["type": "Ready", "status": "True"]])
        let out = try overlay(new, onto: raw)
        #expect(out.hasPrefix(head), "everything before status is unchanged")
        #expect(out.hasSuffix(#","z":true}"#), "and everything after it")
        #expect(out == head + #"{"qosClass":"BestEffort","nominatedNodeName":"n1","conditions":[{"status":"True","type":"Ready"}],"phase":"Running","podIP":"10.0.0.2"},"z":true}"#)
        #expect(try parsed(out) == reference(new, onto: raw))
    }

    @Test func aModelledKeyNowAbsentIsRemoved() throws {
        let raw = #"{"status":{"phase":"Running","podIP":"10.0.0.2","hostIP":"h"}}"#
        let out = try overlay(Status(phase: "Succeeded"), onto: raw)
        #expect(out == #"{"status":{"phase":"Succeeded"}}"#)
    }

    @Test func aMissingOrNullStatusIsWritten() throws {
        let new = Status(phase: "Pending")
        #expect(try overlay(new, onto: #"{"kind":"Pod"}"#) == #"{"kind":"Pod","status":{"phase":"Pending"}}"#)
        #expect(try overlay(new, onto: "{}") == #"{"status":{"phase":"Pending"}}"#)
        #expect(try overlay(new, onto: #"{"kind":"Pod","status":null}"#) == #"{"kind":"Pod","status":{"phase":"Pending"}}"#)
        #expect(try overlay(Status(), onto: #"{"status":{"phase":"x"}}"#) == #"{"status":{}}"#)
    }

    @Test func spacesEscapedKeysAndUnicodeSurvive() throws {
        let raw = """
            {
              "metadata" : { "name" : "w\\u00e9b", "annotations": {"a\\"b": "c\\\\d ✓"} },
              "status" : {
                "phase" : "Pending" ,
                "odd\\"key" : [ 1 , 2 ],
                "message": "caf\\u00e9 ✓"
              }
            }

            """
        let new = Status(phase: "Running")
        let out = try overlay(new, onto: raw)
        #expect(try parsed(out) == reference(new, onto: raw))
        #expect(out.contains(#""odd\"key":[ 1 , 2 ]"#), "an unmodelled value is copied as written")
        #expect(out.hasSuffix("}\n}\n"), "and the bytes after it")
    }

    @Test func notAnObjectIsAnError() {
        #expect(throws: KubeError.self) { try overlay(Status(phase: "Running"), onto: "[1]") }
        #expect(throws: KubeError.self) { try overlay(Status(phase: "Running"), onto: #"{"status":{"phase":"#) }
    }
}
