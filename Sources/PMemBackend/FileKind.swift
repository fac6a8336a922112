#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Which kinds of file may hold a region: regular files, block devices
/// (fsdax) and DAX character devices (devdax). Anything else — a FIFO would
/// block every reader forever, a directory or /dev/null cannot be mapped as
/// a region — is refused before it is read.
enum FileKind {
    static func check(_ st: stat, path: String) throws(PMemError) {
        switch st.st_mode & S_IFMT {
        case S_IFREG, S_IFBLK: return
        case S_IFCHR:
            guard isDAX(st) else { throw .unsupportedFileType(path: path, kind: "a character device (not DAX)") }
        case S_IFIFO: throw .unsupportedFileType(path: path, kind: "a FIFO")
        case S_IFDIR: throw .unsupportedFileType(path: path, kind: "a directory")
        case S_IFSOCK: throw .unsupportedFileType(path: path, kind: "a socket")
        default: throw .unsupportedFileType(path: path, kind: "not a regular file")
        }
    }

    /// True for a devdax character device: /sys/dev/char/M:m/subsystem names the dax class.
    static func isDAX(_ st: stat) -> Bool {
        let dev = UInt64(st.st_rdev)
        let major = (dev & 0x0000_0000_000F_FF00) >> 8 | (dev & 0xFFFF_F000_0000_0000) >> 32
        let minor = dev & 0xFF | (dev & 0x0000_0FFF_FFF0_0000) >> 12
        var buf = [CChar](repeating: 0, count: 4096)
        let n = readlink("/sys/dev/char/\(major):\(minor)/subsystem", &buf, buf.count - 1)
        guard n > 0 else { return false }
        let target = String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return target.hasSuffix("/dax")
    }
}
