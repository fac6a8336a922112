import Foundation

/// Finds the programs a recording needs and says how to get them.
public enum Tools {
    /// The full path of `program` on `PATH`, or nil.
    public static func which(_ program: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            let candidate = "\(dir)/\(program)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// `program`'s path, or an error naming the Debian package that has it.
    public static func require(_ program: String, package: String) throws -> String {
        guard let p = which(program) else {
            throw LayoutError("\(program) is not installed (apt-get install -y \(package))")
        }
        return p
    }

    /// The QEMU plugin: `explicit` if given, else `$PMTRACE_QEMU_PLUGIN`, else
    /// `pmtrace_qemu.so` beside the executable, in `../lib/pmtrace/` of it, or
    /// in the source tree's `.build-plugin/` (the executable in `.build/<config>/`).
    public static func plugin(explicit: String?, executable: String) throws -> String {
        if let explicit {
            guard FileManager.default.fileExists(atPath: explicit) else { throw LayoutError("\(explicit): no such plugin file") }
            return explicit
        }
        if let env = ProcessInfo.processInfo.environment["PMTRACE_QEMU_PLUGIN"], !env.isEmpty {
            guard FileManager.default.fileExists(atPath: env) else { throw LayoutError("PMTRACE_QEMU_PLUGIN=\(env): no such file") }
            return env
        }
        let exe = URL(fileURLWithPath: executable).resolvingSymlinksInPath().deletingLastPathComponent()
        let candidates = [
            exe.appendingPathComponent("pmtrace_qemu.so"),
            exe.appendingPathComponent("../lib/pmtrace/pmtrace_qemu.so"),
            exe.appendingPathComponent("../../../.build-plugin/pmtrace_qemu.so"),
            exe.appendingPathComponent("../../../../.build-plugin/pmtrace_qemu.so"),
        ]
        for c in candidates where FileManager.default.fileExists(atPath: c.path) { return c.standardizedFileURL.path }
        throw LayoutError("the QEMU plugin is not built: run scripts/build-plugin.sh (or give --plugin / PMTRACE_QEMU_PLUGIN)")
    }
}
