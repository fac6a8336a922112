/// Free-segment bitmap, rebuilt in DRAM at every mount (nothing about free
/// space is on media, so a crash between allocating and linking a segment
/// leaks nothing). Not thread-safe: the store holds its lock around it.
struct SegmentAllocator {
    private(set) var used: [UInt64]
    let count: UInt64
    private(set) var freeCount: UInt64
    private var hint: Int = 0

    init(count: UInt64) {
        self.count = count
        used = [UInt64](repeating: 0, count: Int((count + 63) / 64))
        freeCount = count
        // Bits past `count` in the last word are marked used so they are never handed out.
        let tail = Int(count % 64)
        if tail != 0 { used[used.count - 1] = ~((UInt64(1) << UInt64(tail)) - 1) }
    }

    func isUsed(_ i: UInt64) -> Bool { used[Int(i / 64)] & (1 << (i % 64)) != 0 }

    /// Marks `i` used; false if it already was (a segment claimed twice).
    mutating func claim(_ i: UInt64) -> Bool {
        let w = Int(i / 64), b = UInt64(1) << (i % 64)
        if used[w] & b != 0 { return false }
        used[w] |= b
        freeCount -= 1
        return true
    }

    mutating func release(_ i: UInt64) {
        let w = Int(i / 64), b = UInt64(1) << (i % 64)
        precondition(used[w] & b != 0, "segment released twice")
        used[w] &= ~b
        freeCount += 1
        if w < hint { hint = w }
    }

    /// Lowest free segment at or after the hint; amortized O(1) for
    /// sequential allocation.
    mutating func allocate() -> UInt64? {
        guard freeCount > 0 else { return nil }
        var w = hint
        for _ in 0..<used.count {
            if used[w] != .max {
                let bit = UInt64((~used[w]).trailingZeroBitCount)
                let i = UInt64(w) * 64 + bit
                used[w] |= 1 << bit
                freeCount -= 1
                hint = w
                return i
            }
            w += 1
            if w == used.count { w = 0 }
        }
        return nil
    }

    /// Checks that `freeCount` matches the bitmap and no bit past `count` is
    /// free; a no-op unless built with `PMTRACE_INTERNAL_CHECKS`. O(count / 64).
    func _checkInvariants() {
        #if PMTRACE_INTERNAL_CHECKS
        var used: UInt64 = 0
        for w in self.used { used += UInt64(w.nonzeroBitCount) }
        let padding = UInt64(self.used.count) * 64 - count
        precondition(used - padding == count - freeCount, "free count disagrees with the bitmap")
        if count % 64 != 0 {
            let tailMask = ~((UInt64(1) << (count % 64)) - 1)
            precondition(self.used[self.used.count - 1] & tailMask == tailMask, "a bit past the segment count is free")
        }
        #endif
    }
}
