extension BusSystemdManager {
    /// The manager's version (`Version`, such as `252.38-1~deb12u1`): its leading number, the node fact
    /// that decides which directives the compiler may emit.
    public func version() async throws(SystemdError) -> Int {
        let properties = try await bus.allProperties(
            path: SystemdBus.managerPath, interface: SystemdBus.managerInterface, unit: nil)
        guard let text = properties["Version"]?.stringValue,
            let number = Int(text.prefix { $0.isASCII && $0.isNumber })
        else {
            throw SystemdError.unexpectedReply(method: "Get Version", detail: "no Version property")
        }
        return number
    }
}
