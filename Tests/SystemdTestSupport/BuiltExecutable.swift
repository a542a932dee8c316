import Foundation

extension NamespacedSystemd {
    /// The executable `name` (such as `systemk`) that SwiftPM built next to the test bundle.
    public static func builtExecutable(_ name: String) -> String {
        var dir = Bundle.main.bundleURL
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent(name).path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent(name).path
    }
}
