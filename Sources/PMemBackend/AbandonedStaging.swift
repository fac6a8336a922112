import Glibc

/// The staging files of formats that died before they published
/// (`PMemMapping.create` builds a region in `.NAME.pmtrace-format-PID-N`
/// beside `NAME` and renames it into place): a killed `pmtrace format` left
/// one as large as the region, hidden, in its directory — on /dev/shm that
/// is memory (five 256 MiB ones were found after an adversary's kills).
enum AbandonedStaging {
    /// A staging file is only taken for abandoned when nobody holds its lock
    /// and it was not modified for this many seconds: a live format holds the
    /// lock from just after it creates the file (at most the writer lock's
    /// 50 ms wait later); the age covers that moment many times over.
    static let minimumAge: Int = 5

    /// The name of a staging file of `base` without its "<pid>-<random>" end.
    static func prefix(of base: String) -> String { ".\(base).pmtrace-format-" }

    /// Removes the abandoned staging files of `base` in `directory`: regular
    /// files named `.base.pmtrace-format-<digits>-<digits>` that no process
    /// has locked (a non-blocking exclusive flock succeeds) and that were last
    /// modified at least `minimumAge` seconds ago. Best effort: a file it
    /// cannot open, lock or stat is left alone. O(entries in the directory).
    static func remove(base: String, directory: String) {
        guard let dir = opendir(directory) else { return }
        defer { closedir(dir) }
        let start = prefix(of: base)
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard name.hasPrefix(start), isPidAndNumber(name.dropFirst(start.count)) else { continue }
            let path = "\(directory)/\(name)"
            let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
            guard fd >= 0 else { continue }
            defer { close(fd) }
            var st = stat()
            guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { continue }
            var now = timespec()
            clock_gettime(CLOCK_REALTIME, &now)
            guard now.tv_sec - st.st_mtim.tv_sec >= minimumAge, flock(fd, LOCK_EX | LOCK_NB) == 0 else { continue }
            unlink(path)  // still locked by us: no format can have taken it since
        }
    }

    /// "<digits>-<digits>", the PID and the random part of a staging name.
    static func isPidAndNumber(_ s: Substring) -> Bool {
        let parts = s.split(separator: "-", omittingEmptySubsequences: false)
        return parts.count == 2 && parts.allSatisfy { !$0.isEmpty && $0.allSatisfy { $0 >= "0" && $0 <= "9" } }
    }
}
