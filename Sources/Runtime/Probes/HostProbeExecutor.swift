import AsyncHTTPClient
import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import PodCompiler

/// Runs probes on this host, as the kubelet does for a container with host networking:
///
/// - **httpGet**: a GET to `scheme://host:port/path` (host defaults to the node's address), with the
///   probe's headers and `User-Agent: kube-probe/<version>`; TLS certificates are not verified, and
///   redirects are not followed. A status from 200 to 399 is a success.
/// - **tcpSocket**: a TCP connection to `host:port` that opens is a success.
/// - **exec**: the command runs in the container's context: in its main process' mount namespace and
///   working directory, as its user and groups (entered by `ExecProbeProcess`), with its environment (read from
///   `/proc/PID/environ`, passed as the environment, never on a command line). Exit status 0 is a success.
///   It does not run in the unit's cgroup, nor under its capability bounding set or system-call filter.
///
/// Every probe ends within its timeout: a timeout is a failure.
public final class HostProbeExecutor: ProbeExecutor {
    let http: HTTPClient
    let userAgent: String
    let procRoot: String

    public init(userAgent: String = "kube-probe/1.32", procRoot: String = "/proc") {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .none
        var configuration = HTTPClient.Configuration(
            tlsConfiguration: tls, redirectConfiguration: .disallow,
            timeout: .init(connect: .seconds(10), read: .seconds(10)),
            connectionPool: .init(idleTimeout: .seconds(5)))
        configuration.decompression = .disabled
        self.http = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        self.userAgent = userAgent
        self.procRoot = procRoot
    }

    /// Closes the HTTP client's connections.
    public func shutdown() async {
        try? await http.shutdown()
    }

    deinit {
        let http = self.http
        Task.detached { try? await http.shutdown() }
    }

    public func run(_ probe: Probe, target: ProbeTarget, timeout: Duration) async -> ProbeOutcome {
        if let get = probe.httpGet { return await httpGet(get, target: target, timeout: timeout) }
        if let tcp = probe.tcpSocket { return await tcpSocket(tcp, target: target, timeout: timeout) }
        if let exec = probe.exec { return await self.exec(exec.command ?? [], target: target, timeout: timeout) }
        return ProbeOutcome(success: false, output: "the probe has no handler")
    }

    static func timeAmount(_ duration: Duration) -> TimeAmount {
        let (seconds, attoseconds) = duration.components
        return .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }

    static func port(_ value: IntOrString) -> Int? {
        if case .int(let n) = value { return n }
        return nil
    }

    static func hostPart(_ host: String) -> String { host.contains(":") ? "[\(host)]" : host }

    // MARK: httpGet

    func httpGet(_ get: HTTPGetAction, target: ProbeTarget, timeout: Duration) async -> ProbeOutcome {
        guard let port = Self.port(get.port) else { return ProbeOutcome(success: false, output: "named port not resolved") }
        let scheme = (get.scheme ?? "HTTP").lowercased()
        var path = get.path ?? "/"
        if !path.hasPrefix("/") { path = "/" + path }
        let host = (get.host?.isEmpty == false ? get.host : nil) ?? target.host
        let url = "\(scheme)://\(Self.hostPart(host)):\(port)\(path)"
        var request = HTTPClientRequest(url: url)
        request.method = .GET
        request.headers.add(name: "User-Agent", value: userAgent)
        request.headers.add(name: "Accept", value: "*/*")
        for header in get.httpHeaders ?? [] {
            if header.name.lowercased() == "user-agent" || header.name.lowercased() == "accept" {
                request.headers.replaceOrAdd(name: header.name, value: header.value)
            } else {
                request.headers.add(name: header.name, value: header.value)
            }
        }
        do {
            let response = try await http.execute(request, timeout: Self.timeAmount(timeout))
            var body = try await response.body.collect(upTo: 10 * 1024 * 1024)
            let text = body.readString(length: min(body.readableBytes, 1024)) ?? ""
            let code = Int(response.status.code)
            if (200..<400).contains(code) {
                return ProbeOutcome(success: true, output: "HTTP probe succeeded with statuscode: \(code)")
            }
            return ProbeOutcome(success: false, output: "HTTP probe failed with statuscode: \(code)" + (text.isEmpty ? "" : ": \(text)"))
        } catch {
            return ProbeOutcome(success: false, output: "Get \"\(url)\": \(error)")
        }
    }

    // MARK: tcpSocket

    func tcpSocket(_ tcp: TCPSocketAction, target: ProbeTarget, timeout: Duration) async -> ProbeOutcome {
        guard let port = Self.port(tcp.port) else { return ProbeOutcome(success: false, output: "named port not resolved") }
        let host = (tcp.host?.isEmpty == false ? tcp.host : nil) ?? target.host
        let bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(Self.timeAmount(timeout))
        do {
            let channel = try await bootstrap.connect(host: host, port: port).get()
            try? await channel.close()
            return ProbeOutcome(success: true, output: "")
        } catch {
            return ProbeOutcome(success: false, output: "dial tcp \(Self.hostPart(host)):\(port): \(error)")
        }
    }

    // MARK: exec

    /// The container's identity and environment, read from its main process.
    struct ProcessContext: Equatable {
        var uid: UInt32
        var gid: UInt32
        var groups: [UInt32]
        var environment: [String: String]
    }

    /// Reads `/proc/PID/status` (the effective ids, the supplementary groups) and `/proc/PID/environ`
    /// with plain reads: this runs for every exec probe.
    static func context(pid: UInt32, procRoot: String) -> ProcessContext? {
        guard pid > 0, let status = readFile("\(procRoot)/\(pid)/status"), let environ = readFile("\(procRoot)/\(pid)/environ")
        else { return nil }
        var uid: UInt32?
        var gid: UInt32?
        var groups: [UInt32] = []
        func numbers(_ line: ArraySlice<UInt8>) -> [UInt32] {
            line.split(whereSeparator: { $0 == UInt8(ascii: "\t") || $0 == UInt8(ascii: " ") }).dropFirst()
                .compactMap { UInt32(String(decoding: $0, as: UTF8.self)) }
        }
        for line in status.split(separator: UInt8(ascii: "\n")) {
            // Real, effective, saved, filesystem: the effective id is the one the process acts as.
            if line.starts(with: Array("Uid:".utf8)) { uid = numbers(line).dropFirst().first }
            if line.starts(with: Array("Gid:".utf8)) { gid = numbers(line).dropFirst().first }
            if line.starts(with: Array("Groups:".utf8)) { groups = numbers(line) }
        }
        guard let uid, let gid else { return nil }
        var environment: [String: String] = [:]
        for entry in environ.split(separator: 0) {
            guard let equals = entry.firstIndex(of: UInt8(ascii: "=")) else { continue }
            environment[String(decoding: entry[..<equals], as: UTF8.self)] = String(decoding: entry[(equals + 1)...], as: UTF8.self)
        }
        return ProcessContext(uid: uid, gid: gid, groups: groups, environment: environment)
    }

    /// A whole (small) file, nil when it cannot be read.
    static func readFile(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var contents: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            if count < 0 { return nil }
            if count == 0 { return contents }
            contents += buffer[0..<count]
        }
    }

    func exec(_ command: [String], target: ProbeTarget, timeout: Duration) async -> ProbeOutcome {
        guard !command.isEmpty else { return ProbeOutcome(success: false, output: "exec: no command") }
        guard let context = Self.context(pid: target.mainPID, procRoot: procRoot) else {
            return ProbeOutcome(success: false, output: "exec: the container's main process (\(target.mainPID)) is gone")
        }
        let entry = ExecProbeProcess.Entry(pid: target.mainPID, uid: context.uid, gid: context.gid, groups: context.groups)
        return await ExecProbeProcess.run(command, environment: context.environment, entering: entry, timeout: timeout)
    }
}
