import PodCompiler
import SystemkRuntime

/// Where `/containerLogs` reads a container's output: one real implementation over the journal
/// (`JournalContainerLogSource`), doubles in tests.
public protocol ContainerLogSource: Sendable {
    /// Checks `options` and resolves the run to read, then returns its output as it should go on the wire
    /// (lines ending in a newline, timestamps and the byte limit applied). Throws before any output when
    /// the container cannot be read; dropping the stream stops reading (the server drops it when the
    /// client goes away).
    func logs(namespace: String, pod: String, container: String, options: ContainerLogOptions)
        async throws(ContainerLogError) -> AsyncThrowingStream<[UInt8], any Error>
}

/// Container logs from the journal: the container's unit is `UnitNaming.unitName(namespace:pod:container:)`,
/// read by `ContainerLogs` (the run's `InvocationID`, `previous` the run before).
public struct JournalContainerLogSource: ContainerLogSource {
    let reader: ContainerLogs

    /// A source reading through `logs`.
    public init(_ logs: ContainerLogs) {
        self.reader = logs
    }

    public func logs(namespace: String, pod: String, container: String, options: ContainerLogOptions)
        async throws(ContainerLogError) -> AsyncThrowingStream<[UInt8], any Error>
    {
        try await reader.open(unit: UnitNaming.unitName(namespace: namespace, pod: pod, container: container),
                              options: options)
    }
}
