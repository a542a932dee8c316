import PodCompiler

/// Installs what a container's `image` names, so its unit can start. `NodePackageManager` is the
/// real implementation.
public protocol PackageManager: Sendable {
    /// Makes `reference` available on the node: installs a package or a downloaded `.deb` (a no-op
    /// when it is already installed), or checks that a `/path` image is an executable.
    func install(_ reference: ImageReference) async throws(PackageError) -> InstalledPackage
}

/// Masks a package's own service (`systemctl mask`), so that installing a package for a pod does
/// not also run it as the host's service. The systemd layer implements it.
public protocol ServiceMasker: Sendable {
    /// Masks the unit, e.g. `nginx.service`.
    func mask(unit: String) async throws
}

/// What `install` found and did.
public struct InstalledPackage: Sendable, Equatable {
    public var reference: ImageReference
    /// The package's name; nil for a `/path` image.
    public var package: String?
    /// The installed version, when known.
    public var version: String?
    /// True when it was on the node before systemk asked for it (or is a `/path`): then its
    /// service is not systemk's to mask.
    public var wasInstalledBefore: Bool
    /// The package's own service unit file, when it has one (`<package>.service`, else its only
    /// `.service` directly in a unit directory).
    public var unitFile: String?
    /// The unit masked because systemk installed the package.
    public var maskedUnit: String?

    public init(
        reference: ImageReference, package: String?, version: String?, wasInstalledBefore: Bool, unitFile: String?,
        maskedUnit: String?
    ) {
        self.reference = reference
        self.package = package
        self.version = version
        self.wasInstalledBefore = wasInstalledBefore
        self.unitFile = unitFile
        self.maskedUnit = maskedUnit
    }
}

/// Why an image could not be made available. `description` is one line, fit to be a container's
/// waiting message; `waitingReason` is the reason to show with it.
public enum PackageError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The package manager does not know the package (or that version).
    case notFound(package: String, detail: String)
    /// A command failed: the installer, a query, the download.
    case commandFailed(package: String, command: String, status: String, detail: String)
    /// A command could not be started or ran too long.
    case command(package: String, CommandError)
    /// The downloaded `.deb` is another package than its URL says.
    case packageMismatch(url: String, expected: String, found: String)
    /// A `/path` image that is not an executable file.
    case notExecutable(path: String, reason: String)
    /// This node's package manager cannot install that kind of image.
    case unsupported(reference: String, reason: String)
    /// The package was installed but its service could not be masked.
    case maskFailed(unit: String, detail: String)
    /// Preparing the install (policy-rc.d, the download directory) failed.
    case preparation(path: String, detail: String)

    public var description: String {
        switch self {
        case let .notFound(package, detail): return "package \(package) was not found: \(detail)"
        case let .commandFailed(package, command, status, detail):
            return "installing \(package) failed: \(command) \(status)" + (detail.isEmpty ? "" : ": \(detail)")
        case let .command(package, error): return "installing \(package) failed: \(error)"
        case let .packageMismatch(url, expected, found): return "\(url) holds package \(found), not \(expected)"
        case let .notExecutable(path, reason): return "\(path) \(reason)"
        case let .unsupported(reference, reason): return "\(reference) cannot be installed: \(reason)"
        case let .maskFailed(unit, detail): return "could not mask \(unit): \(detail)"
        case let .preparation(path, detail): return "\(path): \(detail)"
        }
    }

    /// The container's waiting reason while this lasts: the kubelet's reasons for images that
    /// cannot be pulled.
    public var waitingReason: String {
        switch self {
        case .notExecutable, .unsupported: return "InvalidImageName"
        default: return "ErrImagePull"
        }
    }
}
