#if canImport(Glibc)
import Glibc
#endif
import TraceFormat
import TracePayloads
import TraceVolume

extension GuestMemory {
    /// What `restore` wrote.
    public struct RestoreSummary: Sendable, Equatable {
        /// Bytes of the image (the range's length).
        public var bytes: UInt64
        /// Pages written with data.
        public var dataPages: Int
        /// Pages left as holes (zero then).
        public var holes: Int

        /// A summary of `bytes` bytes, `dataPages` written and `holes` left.
        public init(bytes: UInt64, dataPages: Int, holes: Int) {
            self.bytes = bytes
            self.dataPages = dataPages
            self.holes = holes
        }
    }

    /// The largest image `restore` writes (1 TiB).
    public static let maxImageBytes: UInt64 = 1 << 40

    /// Writes guest-physical memory `range` (default: all of guest RAM) as
    /// of `epoch` into `path`, a new file of the range's length: non-zero
    /// pages written, zero pages left as holes (a sparse file). The file
    /// must not exist (`overwrite` replaces it). One pass over the machine
    /// lane up to the epoch's checkpoint; memory: the range's size in
    /// anonymous pages, touched only where data lands. Not durable
    /// (no fsync): a crash during restore leaves a partial file.
    public func restore(epoch: Int, range: Range<UInt64>? = nil, to path: String, overwrite: Bool = false) throws -> RestoreSummary {
        precondition(epoch >= 0 && epoch < epochs.epochs.count, "epoch out of range")
        if range == nil, ramBytes == 0 || ramBytes % 4096 != 0 || ramBytes > Self.maxImageBytes {
            throw GuestEpochsError("damaged recording: the last checkpoint gives a RAM size of \(ramBytes) bytes (not a positive multiple of 4 KiB up to 1 TiB)")
        }
        let range = range ?? 0..<ramBytes
        guard range.lowerBound % 4096 == 0, range.upperBound % 4096 == 0, !range.isEmpty else {
            throw GuestEpochsError("--range must be whole, non-empty 4 KiB pages (got 0x\(String(range.lowerBound, radix: 16))…0x\(String(range.upperBound, radix: 16)))")
        }
        // The RAM size comes from media: bound it before anything is sized by it.
        guard range.upperBound - range.lowerBound <= Self.maxImageBytes else {
            throw GuestEpochsError("an image of \(range.upperBound - range.lowerBound) bytes is more than this tool restores (1 TiB); give --range")
        }
        // The winning image of each page: its sequence number in the lane.
        var winners: [UInt64: UInt64] = [:]
        for (gpa, v) in versions where range.contains(gpa) {
            if let last = v.last(where: { $0.epoch <= epoch }) { winners[last.sequence] = gpa }
        }
        let length = Int(range.upperBound - range.lowerBound)
        guard let buffer = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0),
              buffer != MAP_FAILED else { throw GuestEpochsError("cannot map \(length) bytes of memory to build the image: \(String(cString: strerror(errno)))") }
        defer { munmap(buffer, length) }
        var filled = [Bool](repeating: false, count: length / 4096)
        let scan = try store.openLaneReader(volume: volume, lane: epochs.machineLane)
        var seen = 0
        while seen < winners.count, let r = try scan.next() {
            guard r.kind == .pageImage, let gpa = winners[r.sequence] else { continue }
            try r.decodePayload { p throws(FormatError) in
                let page = try PageImage.decode(p).page
                let at = Int(gpa - range.lowerBound)
                (buffer + at).copyMemory(from: page.baseAddress!, byteCount: 4096)
                // An all-zero image stays a hole.
                filled[at / 4096] = page.contains { $0 != 0 }
            }
            seen += 1
        }
        let flags = O_WRONLY | O_CREAT | O_CLOEXEC | (overwrite ? O_TRUNC : O_EXCL)
        let fd = open(path, flags, 0o644)
        guard fd >= 0 else { throw GuestEpochsError("\(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        guard ftruncate(fd, off_t(length)) == 0 else { throw GuestEpochsError("\(path): \(String(cString: strerror(errno)))") }
        var summary = RestoreSummary(bytes: UInt64(length), dataPages: 0, holes: 0)
        var i = 0
        while i < filled.count {
            guard filled[i] else { summary.holes += 1; i += 1; continue }
            var j = i
            while j < filled.count && filled[j] { j += 1 }
            var offset = i * 4096
            let end = j * 4096
            while offset < end {
                let n = pwrite(fd, buffer + offset, end - offset, off_t(offset))
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { throw GuestEpochsError("\(path): \(String(cString: strerror(errno)))") }
                offset += n
            }
            summary.dataPages += j - i
            i = j
        }
        return summary
    }
}
