import Foundation

/// QEMU running the program `record` records, as `system(3)` runs a child.
///
/// It stays in `record`'s process group, so the terminal's Ctrl-C and Ctrl-\
/// reach it (QEMU hands them to the program) and it may read the terminal;
/// `record` ignores SIGINT and SIGQUIT meanwhile, so it lives on to import the
/// maps and report when the program ends by them (and until it exits).
/// SIGTERM and SIGHUP sent to `record` are passed on to QEMU while it runs,
/// then ignored. (Foundation's `Process` would make the child a group of its
/// own, which the terminal's signals never reach.)
/// Not thread-safe: start and wait from one thread.
final class RecordedProgram {
    /// The child's process ID.
    let pid: pid_t
    private let forwarding: [DispatchSourceSignal]
    private static let ignored = [SIGINT, SIGQUIT]
    private static let forwarded = [SIGTERM, SIGHUP]

    /// Starts `path` with `arguments` (argv[1…]), inheriting standard input,
    /// output, error and the environment. The child starts with the signal
    /// actions this process had before (what was ignored stays ignored).
    init(_ path: String, _ arguments: [String]) throws {
        let before: [(Int32, sighandler_t?)] = Self.ignored.map { s in (s, signal(s, SIG_IGN)) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for (s, handler) in before where unsafeBitCast(handler, to: Int.self) != unsafeBitCast(SIG_IGN, to: Int.self) { sigaddset(&defaults, s) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF))
        let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
        defer { for a in argv { free(a) } }
        var child: pid_t = 0
        let rc = posix_spawn(&child, path, nil, &attributes, argv, environ)
        guard rc == 0 else {
            for (s, handler) in before { signal(s, handler) }
            throw CLIError("\(path): cannot start it: \(String(cString: strerror(rc)))")
        }
        pid = child
        forwarding = Self.forwarded.map { s in
            signal(s, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: s)
            source.setEventHandler { kill(child, s) }
            source.resume()
            return source
        }
    }

    /// Waits for the child to end and returns its exit status, or the signal
    /// that ended it. From then on SIGTERM and SIGHUP are no longer passed on
    /// (there is no child) but stay ignored, like SIGINT and SIGQUIT, for the
    /// rest of the process (`record` ends after its report): a second Ctrl-C,
    /// or one just after the program ended, does not cut the maps import and
    /// the report short.
    func wait() -> (status: Int32, signal: Int32?) {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        for s in forwarding { s.cancel() }
        for s in Self.forwarded { signal(s, SIG_IGN) }  // (a cancelled source may leave its own handler behind)
        let signalled = status & 0x7F
        return signalled == 0 ? ((status >> 8) & 0xFF, nil) : (signalled, signalled)
    }

}
