import Foundation
import GuestRecording
import PMTrace

// What `record` and `record-vm` share: refusing early, cleaning up after a failed run.
/// A missing tool or plugin is a usage/installation problem (exit 2), said in one line.
func cliTool<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let e as LayoutError { throw CLIError(e.description) }
}

/// Refuses a path the plugin could not create its counters file at.
func checkWritable(_ path: String) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw CLIError("\(path): cannot write the plugin's counters there: \(String(cString: strerror(errno)))") }
    close(fd)
}

/// Deletes a volume a failed recording created, when nothing was written to
/// it; true when it did.
@discardableResult
func dropVolumeIfEmpty(_ pool: String, _ volume: String) -> Bool {
    guard let p = try? openPool(pool, writable: true),
          let v = p.store.volumes().first(where: { $0.name == volume }), v.segmentCount == 0 else { return false }
    return (try? p.store.deleteVolume(volume)) != nil
}

/// "signal 11 (SIGSEGV)": a signal number as a message names it.
func signalName(_ number: Int32) -> String {
    let names: [Int32: String] = [
        SIGHUP: "SIGHUP", SIGINT: "SIGINT", SIGQUIT: "SIGQUIT", SIGILL: "SIGILL", SIGTRAP: "SIGTRAP", SIGABRT: "SIGABRT",
        SIGBUS: "SIGBUS", SIGFPE: "SIGFPE", SIGKILL: "SIGKILL", SIGUSR1: "SIGUSR1", SIGSEGV: "SIGSEGV", SIGUSR2: "SIGUSR2",
        SIGPIPE: "SIGPIPE", SIGALRM: "SIGALRM", SIGTERM: "SIGTERM", SIGXCPU: "SIGXCPU", SIGXFSZ: "SIGXFSZ", SIGSYS: "SIGSYS",
    ]
    return names[number].map { "signal \(number) (\($0))" } ?? "signal \(number)"
}
