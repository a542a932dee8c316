import Testing

@testable import PodCompiler

/// `resources` → CPUWeight (kubelet shares, then systemd's shares → weight), CPUQuota (milliCPU / 10
/// percent), MemoryMax and MemoryLow in bytes.
struct ResourcesTests {
    func unit(limits: [String: String]? = nil, requests: [String: String]? = nil) throws -> PlannedUnit {
        var c = Fixtures.container()
        c.resources = ResourceRequirements(
            limits: try limits?.mapValues { try Quantity(parsing: $0) }, requests: try requests?.mapValues { try Quantity(parsing: $0) })
        return try #require(try Fixtures.compile(Fixtures.pod(containers: [c])).units.first)
    }

    func error(limits: [String: String]? = nil, requests: [String: String]? = nil) throws -> CompileError {
        try #require(throws: CompileError.self) { _ = try self.unit(limits: limits, requests: requests) }
    }

    /// CPU request → weight: shares = max(2, milliCPU × 1024 / 1000) (at most 262144), weight =
    /// shares × 100 / 1024 clamped to 1…10000.
    @Test(arguments: [
        ("1m", "1"), ("10m", "1"), ("100m", "9"), ("250m", "25"), ("500m", "50"), ("1", "100"), ("1.5", "150"),
        ("2", "200"), ("64", "6400"), ("100", "10000"), ("256", "10000"), ("1000", "10000"), ("9000T", "10000"),
        ("9223372036854775807m", "10000"),
    ])
    func cpuWeight(_ c: (String, String)) throws {
        #expect(try unit(requests: ["cpu": c.0]).value("CPUWeight") == c.1)
    }

    @Test func sharesFollowTheKubelet() {
        #expect(ResourceLowering.cpuShares(milliCPU: 0) == 2)
        #expect(ResourceLowering.cpuShares(milliCPU: 1) == 2)
        #expect(ResourceLowering.cpuShares(milliCPU: 1000) == 1024)
        #expect(ResourceLowering.cpuShares(milliCPU: 256_000) == 262_144)
        #expect(ResourceLowering.cpuShares(milliCPU: Int64.max) == 262_144)
        #expect(ResourceLowering.cpuWeight(milliCPU: Int64.max) == 10_000)
    }

    @Test(arguments: [
        ("1m", "0.1%"), ("5m", "0.5%"), ("100m", "10%"), ("0.1", "10%"), ("500m", "50%"), ("1234m", "123.4%"), ("1", "100%"),
        ("1500m", "150%"), ("2.5", "250%"), ("64", "6400%"), ("1.0001", "100.1%"),
    ])
    func cpuQuota(_ c: (String, String)) throws {
        #expect(try unit(limits: ["cpu": c.0]).value("CPUQuota") == c.1)
    }

    @Test(arguments: [
        ("128Mi", "134217728"), ("128M", "128000000"), ("1.5Gi", "1610612736"), ("1G", "1000000000"), ("1", "1"),
        ("1.1Gi", "1181116007"), ("500m", "1"), ("1e9", "1000000000"), ("7Ei", "8070450532247928832"),
    ])
    func memoryInBytes(_ c: (String, String)) throws {
        let u = try unit(limits: ["memory": c.0])
        #expect(u.value("MemoryMax") == c.1)
        #expect(u.value("MemoryLow") == c.1)  // the request defaults to the limit
    }

    @Test func requestsAndLimitsTogether() throws {
        let u = try unit(limits: ["cpu": "2", "memory": "1Gi"], requests: ["cpu": "250m", "memory": "256Mi"])
        #expect(u.value("CPUWeight") == "25")
        #expect(u.value("CPUQuota") == "200%")
        #expect(u.value("MemoryMax") == "1073741824")
        #expect(u.value("MemoryLow") == "268435456")
        let origins = Dictionary(u.explain.filter { $0.section == "Service" }.map { ($0.key, $0.origin) }, uniquingKeysWith: { $1 })
        #expect(origins["CPUWeight"] == "spec.containers[0].resources.requests['cpu']")
        #expect(origins["CPUQuota"] == "spec.containers[0].resources.limits['cpu']")
        #expect(origins["MemoryLow"] == "spec.containers[0].resources.requests['memory']")

        let limitOnly = try unit(limits: ["cpu": "500m"])
        #expect(limitOnly.value("CPUWeight") == "50")
        #expect(limitOnly.explain.first { $0.key == "CPUWeight" }?.origin == "spec.containers[0].resources.limits['cpu']")
    }

    @Test func nothingGivenSetsNothing() throws {
        for u in [try unit(), try unit(limits: [:], requests: [:]), try unit(requests: ["ephemeral-storage": "1Gi"])] {
            for key in ["CPUWeight", "CPUQuota", "MemoryMax", "MemoryLow"] { #expect(u.value(key) == nil, "\(key)") }
        }
    }

    @Test func whatSystemdCannotHonourIsRefused() throws {
        let hugepages = try error(limits: ["hugepages-2Mi": "2Mi"])
        #expect(hugepages.code == .unsupported)
        #expect(hugepages.path == "spec.containers[0].resources.limits['hugepages-2Mi']")
        let gpu = try error(requests: ["nvidia.com/gpu": "1"])
        #expect(gpu.code == .unsupported)
        #expect(gpu.message.contains("\"nvidia.com/gpu\""))
        let storage = try error(limits: ["ephemeral-storage": "1Gi"])
        #expect(storage.code == .unsupported)
        #expect(storage.path == "spec.containers[0].resources.limits['ephemeral-storage']")
    }

    @Test func invalidValuesAreRefused() throws {
        let over = try error(limits: ["cpu": "1"], requests: ["cpu": "1001m"])
        #expect(over.code == .invalidField)
        #expect(over.path == "spec.containers[0].resources.requests['cpu']")
        #expect(over.message == "request 1001m is more than the limit 1")
        #expect(try error(limits: ["memory": "1Gi"], requests: ["memory": "2Gi"]).path == "spec.containers[0].resources.requests['memory']")
        #expect(try error(limits: ["cpu": "0"]).message == "a CPU limit of 0 would stop the service from running")
        #expect(try error(limits: ["memory": "0"]).message == "a memory limit of 0 would stop the service from running")
        #expect(try error(limits: ["cpu": "-1"]).message == "must not be negative")
        #expect(try error(requests: ["memory": "-1Mi"]).message == "must not be negative")
        #expect(try error(limits: ["memory": "8Ei"]).message == "8Ei is too large")
        #expect(try error(limits: ["cpu": "10E"]).message == "10E is too large")
    }

    /// `resourceFieldRef` rounds up like the kubelet, with a divisor; huge values must not overflow.
    @Test func resourceFieldRefs() throws {
        func ref(_ name: String, _ resource: String, _ divisor: String? = nil) throws -> EnvVar {
            var v = EnvVar(name: name)
            v.valueFrom = EnvVarSource(resourceFieldRef: ResourceFieldSelector(resource: resource, divisor: try divisor.map { try Quantity(parsing: $0) }))
            return v
        }
        var c = Fixtures.container(env: [
            try ref("CPU", "limits.cpu"), try ref("CPU_M", "limits.cpu", "1m"), try ref("CPU_REQ", "requests.cpu", "100m"),
            try ref("MEM", "limits.memory"), try ref("MEM_MI", "limits.memory", "1Mi"), try ref("MEM_REQ", "requests.memory", "1Gi"),
        ])
        c.resources = ResourceRequirements(
            limits: ["cpu": try Quantity(parsing: "1500m"), "memory": try Quantity(parsing: "100M")],
            requests: ["cpu": try Quantity(parsing: "250m"), "memory": try Quantity(parsing: "64Mi")])
        let e = try #require(try Fixtures.compile(Fixtures.pod(containers: [c])).units.first?.environment())
        #expect(e["CPU"] == "2" && e["CPU_M"] == "1500" && e["CPU_REQ"] == "3")
        #expect(e["MEM"] == "100000000" && e["MEM_MI"] == "96" && e["MEM_REQ"] == "1")

        c.resources = ResourceRequirements(limits: ["cpu": try Quantity(parsing: "9223372036854775807m")])
        c.env = [try ref("CPU", "limits.cpu"), try ref("CPU_M", "limits.cpu", "1m")]
        let huge = try #require(try Fixtures.compile(Fixtures.pod(containers: [c])).units.first?.environment())
        #expect(huge["CPU"] == "9223372036854776")
        #expect(huge["CPU_M"] == "9223372036854775807")

        let noLimit = try #require(throws: CompileError.self) {
            try Fixtures.compile(Fixtures.pod(containers: [Fixtures.container(env: [try ref("CPU", "limits.cpu")])]))
        }
        #expect(noLimit.code == .missingReference)
        let withNode = try Fixtures.compile(
            Fixtures.pod(containers: [Fixtures.container(env: [try ref("CPU", "limits.cpu"), try ref("MEM", "limits.memory", "1Ki")])]),
            node: NodeFacts(serviceAccountTokens: false, allocatableMilliCPU: 3500, allocatableMemory: 4097))
        #expect(try withNode.units.first?.environment()["CPU"] == "4")
        #expect(try withNode.units.first?.environment()["MEM"] == "5")
    }
}
