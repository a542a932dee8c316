import PodCompiler

/// A pod the agent should be running: its compiled plan and where it came from.
public struct DesiredPod: Sendable, Equatable {
    public var plan: PodPlan
    /// The manifest file (standalone mode) or `api` (a pod bound by the API server).
    public var source: String
    /// The bytes of the plan's `.runtime(source:)` files (tokens, the cluster CA), by source.
    public var runtimeContent: [String: [UInt8]]

    public init(plan: PodPlan, source: String, runtimeContent: [String: [UInt8]] = [:]) {
        self.plan = plan
        self.source = source
        self.runtimeContent = runtimeContent
    }

    public var key: String { "\(plan.namespace)/\(plan.name)" }
}

/// What one reconcile pass did, for logs and tests.
public struct ReconcileReport: Sendable, Equatable {
    /// Pods whose units were installed for the first time and started.
    public var created: [String] = []
    /// Pods whose units changed: stopped, replaced, started.
    public var replaced: [String] = []
    /// Pods no longer desired: stopped, removed, their directories deleted.
    public var removed: [String] = []
    /// Pods that were left alone (already as planned), incl. adopted running pods.
    public var unchanged: [String] = []
    /// Pods not desired now but asked to be kept (held back by the agent) whose units stay as they are.
    public var kept: [String] = []
    /// Units started because they were installed but not running (and had never run, or their pod's
    /// init containers are retried).
    public var started: [String] = []
    /// Pods whose files could not be written (a hostPath or mount point the host lacks, a file in the
    /// way), with why: not installed, or left running as they were; tried again at the next pass.
    public var failed: [String: String] = [:]
    /// How many times systemd was asked to reload (at most one per pass).
    public var daemonReloads: Int = 0
    /// Units with the systemk prefix but no valid `[X-Kubernetes]` section: reported, never deleted.
    public var foreignUnits: [String] = []

    public init() {}

    public var changedAnything: Bool {
        !created.isEmpty || !replaced.isEmpty || !removed.isEmpty || !started.isEmpty
    }
}
