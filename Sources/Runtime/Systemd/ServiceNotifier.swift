import CSystemd

/// Tells the service manager about this process (`sd_notify`), for when systemk itself runs as a
/// `Type=notify` service with a watchdog. Every call does nothing when `$NOTIFY_SOCKET` is not set.
public enum ServiceNotifier {
    /// `READY=1`: start-up is finished.
    @discardableResult
    public static func ready() -> Bool { notify("READY=1") }

    /// `STOPPING=1`: shutting down.
    @discardableResult
    public static func stopping() -> Bool { notify("STOPPING=1") }

    /// `WATCHDOG=1`: still alive. Send it at least every `watchdogInterval()`.
    @discardableResult
    public static func watchdog() -> Bool { notify("WATCHDOG=1") }

    /// `STATUS=...`: one line that `systemctl status` shows.
    @discardableResult
    public static func status(_ text: String) -> Bool {
        notify("STATUS=" + text.replacing("\n", with: " "))
    }

    /// Sends raw `KEY=value` lines. Returns true when a manager received them, false when there is no
    /// manager to tell (or sending failed).
    @discardableResult
    public static func notify(_ state: String) -> Bool {
        sd_notify(0, state) > 0
    }

    /// Half the watchdog timeout the manager set for this process (`WatchdogSec=`), the usual period for
    /// `watchdog()`; nil when no watchdog is enabled for it.
    public static func watchdogInterval() -> Duration? {
        var microseconds: UInt64 = 0
        guard sd_watchdog_enabled(0, &microseconds) > 0, microseconds > 0 else { return nil }
        return .microseconds(Int64(clamping: microseconds / 2))
    }
}
