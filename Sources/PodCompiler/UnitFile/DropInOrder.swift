extension UnitFile {
    /// The drop-ins systemd 252 reads for a unit, in the order it reads them
    /// (`conf_files_list_strv()` in src/basic/conf-files.c, called from src/shared/dropin.c).
    ///
    /// - Only names ending in `.conf` count; hidden names (starting with `.`) are skipped.
    /// - When several directories hold the same name, only the one in the directory with the highest
    ///   `directoryPriority` is read: it masks the others, even when it is an empty file or a symlink
    ///   to `/dev/null` (which systemd then reads as empty, so the caller reads it as an empty drop-in).
    ///   Between equal priorities the first one given wins, so give the directories of one search path
    ///   in systemd's order (`NAME.d`, then the prefix directories such as `foo-.service.d`, then
    ///   `service.d`).
    /// - The result is sorted by file name alone, byte by byte (`strcmp`), across all directories: a
    ///   `10-a.conf` in `/usr/lib` comes before a `20-b.conf` in `/etc`.
    ///
    /// - Parameter files: every file found, with the priority of its directory (higher wins; for
    ///   example `/etc/systemd/system` 3, `/run/systemd/system` 2, `/usr/lib/systemd/system` 1).
    public static func orderDropIns(
        _ files: [(directoryPriority: Int, name: String)]
    ) -> [(directoryPriority: Int, name: String)] {
        var winners: [String: (directoryPriority: Int, name: String)] = [:]
        for file in files where file.name.hasSuffix(".conf") && !file.name.hasPrefix(".") {
            if let current = winners[file.name], current.directoryPriority >= file.directoryPriority {
                continue
            }
            winners[file.name] = file
        }
        return winners.values.sorted { Array($0.name.utf8).lexicographicallyPrecedes(Array($1.name.utf8)) }
    }
}
