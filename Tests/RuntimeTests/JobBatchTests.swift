import Synchronization
import Testing

@testable import SystemkRuntime

/// Batches of jobs keep a bounded number in flight and report results in unit order.
struct JobBatchTests {
    @Test(arguments: [1, 3, 64])
    func neverMoreThanTheLimitInFlight(limit: Int) async {
        let gauge = Mutex((current: 0, peak: 0))
        let units = (0..<200).map { "u\($0).service" }
        let results = await BusSystemdManager.concurrently(units, limit: limit) { unit -> String? in
            gauge.withLock {
                $0.current += 1
                $0.peak = max($0.peak, $0.current)
            }
            await Task.yield()
            gauge.withLock { $0.current -= 1 }
            return unit.hasPrefix("u1") ? unit : nil
        }
        #expect(gauge.withLock { $0.peak } <= limit)
        #expect(gauge.withLock { $0.peak } >= 1)
        #expect(results == units.filter { $0.hasPrefix("u1") })
    }

    @Test func failuresAreDescribedForAPerson() {
        let error = SystemdError.jobsFailed([
            JobFailure(unit: "a.service", result: .failed, error: nil),
            JobFailure(
                unit: "b.service", result: nil,
                error: .callFailed(
                    method: "org.freedesktop.systemd1.Manager.StartUnit", unit: "b.service",
                    name: "org.freedesktop.systemd1.NoSuchUnit", message: "Unit b.service not found.")),
        ])
        #expect(
            error.description
                == "2 job(s) failed: a.service: job failed; b.service: org.freedesktop.systemd1.Manager.StartUnit for "
                + "b.service failed: Unit b.service not found. (org.freedesktop.systemd1.NoSuchUnit)")
        #expect(
            SystemdError.connectionFailed(endpoint: "/run/systemd/private", errno: 13).description
                == "cannot connect to systemd at /run/systemd/private: Permission denied (errno 13)")
    }
}
