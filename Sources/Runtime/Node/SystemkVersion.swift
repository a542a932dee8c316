/// systemk's own version, and the kubelet version it reports for its Node.
public enum SystemkVersion {
    /// This release of systemk.
    public static let version = "0.5.0"

    /// The Kubernetes release whose kubelet behaviour (node status, lease, conditions) systemk follows.
    public static let kubernetesVersion = "1.32.0"

    /// `Node.status.nodeInfo.kubeletVersion`: `v1.32.0-systemk.0.5.0`.
    ///
    /// It must be semantic-version text that Go's parsers accept, because cluster components parse it:
    /// `k8s.io/apimachinery/pkg/util/version.ParseSemantic` (kubectl's and the scheduler's version skew
    /// checks, `kubectl get nodes -o wide`) and `golang.org/x/mod/semver` both take a leading `v`, three
    /// numbers and a pre-release of dot-separated identifiers (`systemk`, `0`, `5`, `0`: numeric
    /// identifiers without leading zeros). Text such as `systemk-0.5.0` or `v0.5.0 (systemk)` would fail
    /// those checks. A pre-release sorts just below `v1.32.0`, which is honest: systemk is not a full
    /// 1.32 kubelet.
    public static let kubeletVersion = "v\(kubernetesVersion)-systemk.\(version)"
}
