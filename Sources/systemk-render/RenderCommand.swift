import ArgumentParser
import Foundation
import HostUnits
import PodCompiler

/// `systemk-render`: manifests in, systemd units out, offline. See docs/systemk-render.md.
struct RenderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "systemk-render",
        abstract: "Render Kubernetes pods into the systemd units systemk would run, with no cluster and no root.",
        discussion: """
            Renders every Pod and pod template (Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, CronJob, \
            ReplicationController, PodTemplate) \
            in the inputs, using the ConfigMaps and Secrets found there.

            Exit status: 0 on success, 1 on invalid input (or a difference with --diff), 2 on a usage error.
            """)

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case units
        case json
    }

    @Argument(help: "Manifest files (YAML or JSON, multi-document); - reads standard input.")
    var files: [String] = []

    @Option(name: .long, help: ArgumentHelp("Write each unit to DIR/<unit name>, the plan to DIR/plan.json and the pods' files under DIR/files/. Nothing on stdout.", valueName: "DIR"))
    var output: String?

    @Option(name: .long, help: "units: every unit after a line '# <unit name>'; json: the whole plan (docs/plan-schema.md).")
    var format: Format = .units

    @Option(name: .customLong("unit-file"), help: ArgumentHelp("The package unit file for an image (repeatable).", valueName: "IMAGE=PATH"))
    var unitFiles: [String] = []

    @Flag(name: .customLong("no-installed-units"), help: "Do not look for installed packages' unit files on this machine.")
    var noInstalledUnits = false

    @Option(name: .customLong("nodename"), help: "The node's name (spec.nodeName).")
    var nodeName: String = "localhost"

    @Option(name: .customLong("node-ip"), help: "The node's internal address (status.hostIP, status.podIP).")
    var nodeIP: String?

    @Option(name: .customLong("node-external-ip"), help: "The node's external address.")
    var nodeExternalIP: String?

    @Option(name: .customLong("override-root-uid"), help: "Run containers that would run as root as this uid.")
    var overrideRootUID: Int64?

    @Option(name: .customLong("systemd-version"), help: "The node's systemd version (default: this machine's, else 252).")
    var systemdVersion: Int?

    @Option(name: .customLong("state-dir"), help: "Root of systemk's state on the node.")
    var stateDirectory: String = "/var/lib/systemk"

    @Option(name: .customLong("kubernetes-service-host"), help: "KUBERNETES_SERVICE_HOST for the pods.")
    var kubernetesServiceHost: String?

    @Option(name: .customLong("kubernetes-service-port"), help: "KUBERNETES_SERVICE_PORT for the pods.")
    var kubernetesServicePort: Int?

    @Flag(name: .long, help: "Render as standalone mode runs pods: no cluster, so no service-account tokens.")
    var standalone = false

    @Flag(name: .customLong("user"), help: "Render for a user systemd (systemk --user): no User=/Group=.")
    var userMode = false

    @Flag(name: .long, help: "Validate only: print nothing, exit 0 when every input is valid.")
    var check = false

    @Option(name: .long, help: ArgumentHelp("Compare with units rendered earlier into DIR; print a unified diff and exit 1 on a difference.", valueName: "DIR"))
    var diff: String?

    @Flag(name: .long, help: "Show, under every directive, the pod-spec field (or package unit, or systemk rule) it came from.")
    var explain = false

    func validate() throws {
        if files.isEmpty { throw ValidationError("give at least one manifest file, or - for standard input") }
        let modes = [output != nil, check, diff != nil].filter { $0 }.count
        if modes > 1 { throw ValidationError("--output, --check and --diff cannot be combined") }
        if explain && format == .json { throw ValidationError("--explain shows units; it cannot be combined with --format json") }
        for spec in unitFiles where !spec.contains("=") || spec.hasPrefix("=") || spec.hasSuffix("=") {
            throw ValidationError("--unit-file takes IMAGE=PATH, got \(spec)")
        }
        if let port = kubernetesServicePort, !(1...65535).contains(port) {
            throw ValidationError("--kubernetes-service-port must be between 1 and 65535")
        }
        if let uid = overrideRootUID, uid < 0 || uid > 4_294_967_294 {
            throw ValidationError("--override-root-uid must be a uid between 0 and 4294967294")
        }
    }

    func run() throws {
        var errors: [String] = []
        var set = ManifestSet()
        for file in files {
            let data: [UInt8]
            do {
                data = try Inputs.read(file)
            } catch {
                errors.append("\(file): \(error)")
                continue
            }
            do {
                try set.add(data, file: file == "-" ? "<stdin>" : file)
            } catch {
                errors.append(error.description)
            }
        }
        var packageUnits: [String: PackageUnit] = [:]
        for spec in unitFiles {
            let parts = spec.split(separator: "=", maxSplits: 1).map(String.init)
            do {
                packageUnits[parts[0]] = try Inputs.packageUnit(path: parts[1])
            } catch {
                errors.append("--unit-file \(spec): \(error)")
            }
        }
        if !noInstalledUnits {
            for entry in set.pods {
                for c in (entry.pod.spec.initContainers ?? []) + entry.pod.spec.containers {
                    guard let image = c.image, packageUnits[image] == nil,
                        case let .success(ref) = ImageReference.parse(image), let pkg = ref.packageName,
                        packageUnits[pkg] == nil, let found = Inputs.installedUnit(package: pkg)
                    else { continue }
                    packageUnits[pkg] = found
                }
            }
        }
        let node = NodeFacts(
            nodeName: nodeName, internalIP: nodeIP, externalIP: nodeExternalIP,
            systemdVersion: systemdVersion ?? Inputs.localSystemdVersion() ?? 252, stateDirectory: stateDirectory,
            kubernetesServiceHost: kubernetesServiceHost, kubernetesServicePort: kubernetesServicePort,
            serviceAccountTokens: !standalone, overrideRootUID: overrideRootUID, userMode: userMode)
        // Every input is checked, so one run reports every error; nothing is written if there is one.
        let plan: Plan
        switch set.compile(packageUnits: packageUnits, node: node) {
        case let .success(p):
            if !errors.isEmpty { throw Failure.invalidInput(errors) }
            plan = p
        case let .failure(e): throw Failure.invalidInput(errors + e.errors.map(\.description))
        }
        for note in set.skipped { FileHandle.standardError.write(Data("note: \(note)\n".utf8)) }
        if plan.pods.isEmpty {
            throw Failure.invalidInput(["no Pod or pod template found in \(files.joined(separator: ", "))"])
        }
        if check { return }
        if let diff {
            let text = try Outputs.diff(plan, against: diff)
            if !text.isEmpty {
                print(text, terminator: "")
                throw Failure.different
            }
            return
        }
        if let output {
            try Outputs.write(plan, to: output)
            return
        }
        switch format {
        case .json: print(try Outputs.json(plan), terminator: "")
        case .units: print(Outputs.units(plan, explain: explain), terminator: "")
        }
    }
}

enum Failure: Error {
    case invalidInput([String])
    case different
    case io(String)
}

@main
enum Main {
    static func main() {
        let command: RenderCommand
        do {
            command = try RenderCommand.parse(Array(CommandLine.arguments.dropFirst()))
        } catch {
            let code = RenderCommand.exitCode(for: error)
            if code == .success {
                print(RenderCommand.fullMessage(for: error))
                exit(0)
            }
            FileHandle.standardError.write(Data("systemk-render: \(RenderCommand.message(for: error))\n\(RenderCommand.usageString())\n".utf8))
            exit(2)
        }
        do {
            try command.run()
        } catch Failure.invalidInput(let errors) {
            for e in errors { FileHandle.standardError.write(Data("error: \(e)\n".utf8)) }
            exit(1)
        } catch Failure.different {
            exit(1)
        } catch Failure.io(let message) {
            FileHandle.standardError.write(Data("error: \(message)\n".utf8))
            exit(1)
        } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            exit(1)
        }
    }
}
