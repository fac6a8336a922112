import Foundation

/// A `pmtrace` child started with posix_spawn, so the test can reap it
/// itself with wait4 and read its resource usage (peak RSS) and exit reason.
struct SpawnedChild {
    let pid: pid_t

    /// Starts `pmtrace args`; stdout goes to `stdoutFD` (or /dev/null),
    /// stdin from `stdinFD` (or /dev/null), stderr to `stderrPath`.
    /// With `newProcessGroup` the child leads a process group of its own (as a
    /// shell's foreground job does): `kill(-pid, …)` reaches it and everything
    /// it starts in its group, as the terminal's Ctrl-C would.
    static func start(_ args: [String], stdinFD: Int32? = nil, stdoutFD: Int32? = nil, stderrPath: String,
                      newProcessGroup: Bool = false) throws -> SpawnedChild {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let stdinFD { posix_spawn_file_actions_adddup2(&actions, stdinFD, 0) }
        else { posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0) }
        if let stdoutFD { posix_spawn_file_actions_adddup2(&actions, stdoutFD, 1) }
        else { posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0) }
        posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        // Default dispositions and an empty mask, whatever the test runner set.
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var none = sigset_t(), all = sigset_t()
        sigemptyset(&none)
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attr, &none)
        posix_spawnattr_setsigdefault(&attr, &all)
        posix_spawnattr_setpgroup(&attr, 0)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | (newProcessGroup ? POSIX_SPAWN_SETPGROUP : 0)))
        let argv = ([pmtraceBinary] + args).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let r = posix_spawn(&pid, pmtraceBinary, &actions, &attr, argv, environ)
        guard r == 0 else { throw POSIXError(POSIXErrorCode(rawValue: r) ?? .EIO) }
        return SpawnedChild(pid: pid)
    }

    struct Outcome {
        /// Exit status, or nil when a signal ended the child.
        var exitStatus: Int32?
        var signal: Int32?
        var peakRSSBytes: Int
    }

    func wait() -> Outcome {
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0 && errno == EINTR {}
        let exited = status & 0x7F == 0
        return Outcome(exitStatus: exited ? (status >> 8) & 0xFF : nil, signal: exited ? nil : status & 0x7F,
                       peakRSSBytes: Int(usage.ru_maxrss) * 1024)
    }
}

/// A tmpfs of `megabytes` mounted for the test (needs root and a sandbox that
/// allows mounts); nil when it cannot be mounted.
func mountSmallTmpfs(megabytes: Int) -> String? {
    let dir = NSTemporaryDirectory() + "pmtrace-tmpfs-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    guard mkdir(dir, 0o755) == 0 else { return nil }
    guard mount("tmpfs", dir, "tmpfs", 0, "size=\(megabytes)m") == 0 else { rmdir(dir); return nil }
    return dir
}

func unmountTmpfs(_ dir: String) {
    umount2(dir, Int32(MNT_DETACH))
    rmdir(dir)
}
