import Foundation
import KubeClient

/// When the benchmark's watch saw one pod's changes (µs since the epoch).
struct PodTimes {
    /// The ADDED event (the create is stored).
    var added: Int64?
    /// The first status the node wrote (container statuses present; the API server itself sets only
    /// `phase: Pending` at create).
    var firstStatus: Int64?
    /// Phase Running with every container ready.
    var running: Int64?
}

enum RunningWatch {
    struct Ended: Error, CustomStringConvertible {
        var running: Int
        var expected: Int
        var description: String { "the watch ended with \(running) of \(expected) pods Running" }
    }

    /// Reads the watch until `expecting` pods were seen Running and ready; the times by pod name.
    static func follow(_ stream: WatchStream<KubeClient::Pod>, expecting count: Int) async throws -> [String: PodTimes] {
        var times: [String: PodTimes] = [:]
        var running = 0
        for try await event in stream {
            let at = Machine.now()
            let pod: KubeClient::Pod
            switch event {
            case .added(let p), .modified(let p): pod = p
            case .deleted, .bookmark, .error: continue
            }
            guard let name = pod.metadata.name else { continue }
            var t = times[name] ?? PodTimes()
            if t.added == nil { t.added = at }
            let containers = pod.status?.containerStatuses ?? []
            if t.firstStatus == nil, !containers.isEmpty { t.firstStatus = at }
            if t.running == nil, pod.status?.phase == "Running", !containers.isEmpty, containers.allSatisfy({ $0.ready }) {
                t.running = at
                running += 1
            }
            times[name] = t
            if running == count { return times }
        }
        throw Ended(running: running, expected: count)
    }

    /// One line per pod: name, then µs after t0 of: POST answered, ADDED seen, first node status, Running.
    static func write(_ times: [String: PodTimes], created: [Int64], t0: Int64, to path: String) throws {
        var lines = ["# pod created_us added_us first_status_us running_us (after the first create began)"]
        for (i, createdAt) in created.enumerated() {
            let name = Workload.podName(i)
            let t = times[name] ?? PodTimes()
            func rel(_ v: Int64?) -> String { v.map { String($0 - t0) } ?? "-" }
            lines.append("\(name) \(createdAt - t0) \(rel(t.added)) \(rel(t.firstStatus)) \(rel(t.running))")
        }
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: path))
    }
}
