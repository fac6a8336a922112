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
    /// must not exist (`overwrite` replaces a regular file; anything else at
    /// `path` is refused). The image is built beside `path` and moved there
    /// when whole. One pass over the machine
    /// lane up to the epoch's checkpoint, each winning page written from the
    /// verified record straight into the file; memory: O(pages recorded) for
    /// the winners' index, no image-sized buffer. Not durable
    /// (no fsync): a crash during restore leaves `<path>.restoring-<pid>`;
    /// an error removes it and leaves `path` as it was.
    public func restore(epoch: Int, range: Range<UInt64>? = nil, to path: String, overwrite: Bool = false) throws -> RestoreSummary {
        if range == nil, ramBytes == 0 || ramBytes % 4096 != 0 || ramBytes > Self.maxImageBytes {
            throw GuestEpochsError("damaged recording: the last checkpoint gives a RAM size of \(ramBytes) bytes (not a positive multiple of 4 KiB up to 1 TiB)")
        }
        // Leaving an image beyond RAM out of a whole-RAM image would drop recorded data without a word.
        if range == nil { try checkImagesWithinRAM(hint: "; --range restores what lies in a range") }
        let range = range ?? 0..<ramBytes
        return try restore(epoch: epoch, start: range.lowerBound, length: range.upperBound - range.lowerBound, to: path, overwrite: overwrite)
    }

    /// `restore(epoch:range:to:overwrite:)` of the `length` bytes from GPA
    /// `start`: a range may end exactly at 2^64, which a `Range<UInt64>`
    /// cannot hold. Same guarantees and errors.
    public func restore(epoch: Int, start: UInt64, length: UInt64, to path: String, overwrite: Bool = false) throws -> RestoreSummary {
        precondition(epoch >= 0 && epoch < epochs.epochs.count, "epoch out of range")
        guard start % 4096 == 0, length % 4096 == 0, length > 0, length - 1 <= UInt64.max - start else {
            throw GuestEpochsError("--range must be whole, non-empty 4 KiB pages below 2^64 (got 0x\(String(start, radix: 16)) + 0x\(String(length, radix: 16)))")
        }
        // The RAM size comes from media: bound it before anything is sized by it.
        guard length <= Self.maxImageBytes else {
            throw GuestEpochsError("an image of \(length) bytes is more than this tool restores (1 TiB); give --range")
        }
        // The winning image of each page: its sequence number in the lane.
        var winners: [UInt64: UInt64] = [:]
        for (gpa, v) in versions where gpa >= start && gpa - start < length {
            if let last = v.last(where: { $0.epoch <= epoch }) { winners[last.sequence] = gpa }
        }
        let length = Int(length)
        // The image is built in a new file beside `path` and moved there only
        // when whole: a failed restore removes only that file, never `path`
        // (which may be another file, or a device, that --force names).
        var st = stat()
        if lstat(path, &st) == 0 {
            guard overwrite else { throw GuestEpochsError("\(path): \(String(cString: strerror(EEXIST)))") }
            guard st.st_mode & S_IFMT == S_IFREG else { throw GuestEpochsError("\(path): not a regular file (restore writes an image file)") }
        }
        let temporary = "\(path).restoring-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw GuestEpochsError("\(temporary): \(String(cString: strerror(errno)))") }
        var finished = false
        defer {
            close(fd)
            if !finished { unlink(temporary) }
        }
        guard ftruncate(fd, off_t(length)) == 0 else { throw GuestEpochsError("\(path): \(String(cString: strerror(errno)))") }
        // Each winning page goes from the verified record straight into the
        // file at its offset: one copy, no image-sized buffer. The file
        // starts as one hole, so an all-zero page needs no write.
        var summary = RestoreSummary(bytes: UInt64(length), dataPages: 0, holes: length / 4096)
        var writeError: Int32 = 0
        let scan = try store.openLaneReader(volume: volume, lane: epochs.machineLane)
        var seen = 0
        while seen < winners.count, writeError == 0, let r = try scan.next() {
            guard r.kind == .pageImage, let gpa = winners[r.sequence] else { continue }
            try r.decodePayload { p throws(FormatError) in
                let page = try PageImage.decode(p).page
                guard !Self.isZero(page) else { return }
                writeError = Self.writeAll(fd, page, at: off_t(gpa - start))
                summary.dataPages += 1
                summary.holes -= 1
            }
            seen += 1
        }
        guard writeError == 0 else { throw GuestEpochsError("\(path): \(String(cString: strerror(writeError)))") }
        // Without `overwrite`, link fails if `path` appeared meanwhile (nothing is replaced).
        let placed = overwrite ? rename(temporary, path) : link(temporary, path)
        guard placed == 0 else { throw GuestEpochsError("\(path): \(String(cString: strerror(errno)))") }
        if !overwrite { unlink(temporary) }
        finished = true
        return summary
    }

    /// Whether `page` (4 KiB) is all zero bytes, eight at a time.
    static func isZero(_ page: UnsafeRawBufferPointer) -> Bool {
        var acc: UInt64 = 0
        var i = 0
        while i + 8 <= page.count {
            acc |= page.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            i += 8
        }
        while i < page.count { acc |= UInt64(page[i]); i += 1 }
        return acc == 0
    }

    /// `pwrite`s all of `bytes` at `offset`, retrying short writes and
    /// EINTR; 0, or the errno that stopped it.
    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: off_t) -> Int32 {
        var done = 0
        while done < bytes.count {
            let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, offset + off_t(done))
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return n == 0 ? EIO : errno }
            done += n
        }
        return 0
    }
}
