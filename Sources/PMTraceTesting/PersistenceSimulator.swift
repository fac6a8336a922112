import TraceFormat
import TraceVolume
#if canImport(Glibc)
import Glibc
#endif

/// A simulated persistence domain (crash tests only).
///
/// The store writes to `cpu` (what the processor sees). `media` is what has
/// reached persistence: a line gets there when it was flushed (or written
/// with non-temporal stores) and a fence followed. Before every persistence
/// operation the store makes (copy, flush, drain, persist) the test's
/// `onPoint` is called; `crashImages` then produces the images a power loss
/// at that instant could leave: `media`, plus any subset of the 8-byte words
/// that differ from `cpu` (each word atomic, no other ordering guarantee).
///
/// The persistence functions are C function pointers, so the simulator in
/// use is a global: tests using it must not run concurrently with each other.
public final class PersistenceSimulator: @unchecked Sendable {
    // SAFETY: used from one test thread at a time (the crash suites are serialized).
    /// The simulator the C callbacks report to (one at a time; tests that use it run serialized).
    nonisolated(unsafe) public static var active: PersistenceSimulator?

    /// What the CPU sees: every store, persisted or not.
    public let cpu: InMemoryRegion
    /// What survives a power loss: lines that were flushed and fenced.
    public internal(set) var media: UnsafeMutableRawBufferPointer
    var pendingLines = Set<Int>()
    /// Called at each persistence point (before a fence) with its name; crash tests take their images there.
    public var onPoint: ((String) -> Void)?
    private var inPoint = false
    /// Persistence points seen so far.
    public private(set) var points = 0

    /// A simulated persistence domain over a zero-filled region of `size` bytes.
    public init(size: UInt64) {
        cpu = InMemoryRegion(size: size)
        media = UnsafeMutableRawBufferPointer.allocate(byteCount: Int(size), alignment: 64)
        media.initializeMemory(as: UInt8.self, repeating: 0)
    }

    deinit { media.deallocate() }

    /// The simulated region as a store sees it (retains the CPU-side buffer).
    public func region() throws(TraceError) -> PersistentRegion {
        try PersistentRegion(RegionDescriptor(
            base: cpu.base, size: cpu.size, granularity: .cacheLine, copy_flags: Self.nonTemporal,
            persist: Self.persist, drain: Self.drain, copy: Self.copy,
            release: { context, _, _ in Unmanaged<InMemoryRegion>.fromOpaque(context!).release() },
            context: Unmanaged.passRetained(cpu).toOpaque(), lost_stores: nil))
    }

    static let nonTemporal: UInt32 = 2

    func point(_ what: String) {
        guard !inPoint else { return }
        points += 1
        inPoint = true
        onPoint?(what)
        inPoint = false
    }

    func markFlushed(_ p: UnsafeRawPointer?, _ n: Int) {
        guard let p, n > 0 else { return }
        let start = (p - UnsafeRawPointer(cpu.base)) / 64, end = (p - UnsafeRawPointer(cpu.base) + n - 1) / 64
        for line in start...end { pendingLines.insert(line) }
    }

    /// Makes every flushed line durable (copies it to `media`), as `sfence` does for flushed lines.
    public func fence() {
        for line in pendingLines {
            (media.baseAddress! + line * 64).copyMemory(from: cpu.base + line * 64, byteCount: 64)
        }
        pendingLines.removeAll(keepingCapacity: true)
    }

    static let persist: pmt_persist_fn = { p, n in
        let s = active!
        s.point("persist")
        s.markFlushed(p, n)
        s.fence()
    }
    static let drain: pmt_drain_fn = {
        let s = active!
        s.point("drain")
        s.fence()
    }
    static let copy: pmt_copy_fn = { d, src, n, flags in
        let s = active!
        s.point("copy")
        if n > 0 { d!.copyMemory(from: src!, byteCount: n) }
        if flags & nonTemporal != 0 { s.markFlushed(d, n) }
        return d
    }

    /// The store's fused checksum + non-temporal copy (`StoreOptions.copyWithChecksum`)
    /// as the simulator sees it: the checksum of the source, then the same
    /// recorded non-temporal copy as `copy` (durable at the next fence). With
    /// it, crash tests take the path hosted cache-line mappings take, which
    /// the real fused copy (stores the simulator cannot see) would hide.
    public static let copyWithChecksum: StoreOptions.CopyChecksumFunction = { crc, d, src, n in
        let s = active!
        s.point("copy")
        crc!.pointee = CRC32C.software(crc!.pointee, src, n)
        if n > 0 { d!.copyMemory(from: src!, byteCount: n) }
        s.markFlushed(d, n)
        return n
    }

    /// Indices of the 8-byte words where the CPU's view and media differ.
    public func differingWords() -> [Int] {
        var out: [Int] = []
        let a = UnsafeRawPointer(cpu.base), b = UnsafeRawPointer(media.baseAddress!)
        let words = Int(cpu.size) / 8
        var i = 0
        while i < words {
            // Compare a line at a time, then words within a differing line.
            if i % 8 == 0 && i + 8 <= words && memcmp(a + i * 8, b + i * 8, 64) == 0 { i += 8; continue }
            if a.load(fromByteOffset: i * 8, as: UInt64.self) != b.load(fromByteOffset: i * 8, as: UInt64.self) { out.append(i) }
            i += 1
        }
        return out
    }

    /// Crash images for the current instant: every subset of the differing
    /// words when there are at most `exhaustiveLimit`, otherwise `samples`
    /// random subsets plus "none reached media" and "all reached media".
    public func crashImages(samples: Int, exhaustiveLimit: Int = 10, rng: inout SplitMix64) -> [InMemoryRegion] {
        let words = differingWords()
        var choices: [[Bool]] = []
        if words.count <= exhaustiveLimit {
            for mask in 0..<(1 << words.count) { choices.append((0..<words.count).map { mask & (1 << $0) != 0 }) }
        } else {
            choices.append([Bool](repeating: false, count: words.count))
            choices.append([Bool](repeating: true, count: words.count))
            for _ in 0..<samples { choices.append(words.map { _ in rng.next() & 1 == 0 }) }
        }
        return choices.map { choice in
            let image = InMemoryRegion(size: cpu.size)
            image.base.copyMemory(from: media.baseAddress!, byteCount: Int(cpu.size))
            for (w, take) in zip(words, choice) where take {
                image.base.storeBytes(of: cpu.base.load(fromByteOffset: w * 8, as: UInt64.self), toByteOffset: w * 8, as: UInt64.self)
            }
            return image
        }
    }
}

