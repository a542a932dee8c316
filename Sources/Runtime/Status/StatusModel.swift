import Foundation
import KubeClient

// The status model is KubeClient's (`PodStatus`, `ContainerStatus`, `ContainerState`, ...): what the
// mapper computes is what the agent sends. This file adds what the mapping needs on top of it.

/// `status.phase`, typed for the mapping (the API model keeps it as text).
public enum PodPhase: String, Sendable, Equatable, Codable {
    case pending = "Pending"
    case running = "Running"
    case succeeded = "Succeeded"
    case failed = "Failed"
}

extension PodStatus {
    /// `phase` as a `PodPhase`; nil when unset or not one of the four.
    public var podPhase: PodPhase? { phase.flatMap(PodPhase.init(rawValue:)) }
}

extension PodCondition {
    /// A condition with a `True`/`False` status, times left to the caller.
    init(type: String, status: Bool, reason: String? = nil, message: String? = nil) {
        self.init(type: type, status: status ? "True" : "False", reason: reason, message: message)
    }
}

extension ContainerState {
    /// `{"waiting": {"reason": ..., "message": ...}}`.
    static func waiting(_ reason: String?, _ message: String? = nil) -> ContainerState {
        ContainerState(waiting: Waiting(reason: reason, message: message))
    }
}

/// `metav1.Time` from systemd's timestamps (microseconds since the epoch).
public enum KubernetesTime {
    /// The whole second the time falls in (the API keeps no fraction); nil for 0, systemd's "never".
    public static func timestamp(microseconds: UInt64) -> Timestamp? {
        guard microseconds > 0 else { return nil }
        return Timestamp(Date(timeIntervalSince1970: Double(microseconds / 1_000_000)))
    }
}
