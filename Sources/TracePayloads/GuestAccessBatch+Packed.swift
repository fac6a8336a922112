import TraceFormat

extension GuestAccessBatch {
    /// The 16-byte form in which a recorder hands guest accesses over
    /// (`pmt_guest_entry` in include/pmtrace.h): two 64-bit words a vCPU
    /// writes with two plain stores, decoded by the encoder with no
    /// intermediate per-access structure. Not a format on media: the bytes
    /// written are exactly §8.9's, as `Encoder.append(_:)` makes them.
    ///
    /// - an access: word 0 = address (bits 0–55) | size shift << 56 (size =
    ///   1 << shift, 1 … 128 bytes) | kind << 59 (bits 61–62 are ignored,
    ///   write 0); word 1 = the PC;
    /// - a translation: word 0 = `translationFlag`; word 1 = `virtual −
    ///   physical` (mod 2^64) of the accesses after it, until the next one.
    public enum Packed {
        /// Bit 63 of word 0: the entry sets the translation, it is no access.
        public static let translationFlag: UInt64 = 1 << 63
        /// Bits of word 0 that hold the address.
        public static let addressMask: UInt64 = (1 << 56) - 1
        /// Where the size shift (3 bits) starts in word 0.
        public static let sizeShiftBit: UInt64 = 56
        /// Where the kind (2 bits) starts in word 0.
        public static let kindBit: UInt64 = 59

        /// Word 0 of an access entry. `sizeShift` 0 … 7, `address` below 2^56 (preconditions).
        @inlinable
        public static func word(kind: MemoryAccess.Kind, sizeShift: UInt8, address: UInt64) -> UInt64 {
            precondition(sizeShift < 8 && address <= addressMask, "packed guest access out of range")
            return address | UInt64(sizeShift) << sizeShiftBit | UInt64(kind.rawValue) << kindBit
        }
    }
}

extension GuestAccessBatch.Encoder {
    /// Encodes packed entries (`GuestAccessBatch.Packed`, 16 bytes each, at
    /// 8-byte aligned `entries`) until `count` entries are taken or the
    /// buffer may not hold another access; `translation` is the current
    /// `virtual − physical`, replaced by each translation entry. Returns the
    /// entries taken and how many of them were accesses (0 entries only when
    /// `count` is 0 or `hasRoom` is false: flush and call again).
    ///
    /// The bytes are exactly those of `append(_:)` for the same accesses.
    /// Room is checked once per call (each access takes at most
    /// `maxAccessBytes`), not per access, and the encoder's state lives in
    /// locals for the loop: measured ~3× cheaper per access than building a
    /// `GuestAccess` for each and appending it.
    @inlinable
    public mutating func append(packed entries: UnsafeRawPointer, count: Int,
                                translation: inout UInt64) -> (entries: Int, accesses: Int) {
        let room = (buffer.count &- _byteCount) / GuestAccessBatch.maxAccessBytes
        let limit = Swift.min(room, Int(UInt32.max) &- _count)
        guard limit > 0, count > 0 else { return (0, 0) }
        var state = PackedState(offset: _byteCount, physical: physical, previousT: self.translation, pc: pc, t: translation)
        let base = buffer.baseAddress!
        // The recorder's case (virtual and PC) as its own loop with the
        // fields known: fewer live values, no per-access field tests.
        let (i, k) = hasVirtual && hasPC
            ? Self.encodePacked(entries, count: count, limit: limit, into: base, &state, virtual: true, withPC: true)
            : Self.encodePacked(entries, count: count, limit: limit, into: base, &state, virtual: hasVirtual, withPC: hasPC)
        physical = state.physical
        self.translation = state.previousT
        pc = state.pc
        _byteCount = state.offset
        _count &+= k
        translation = state.t
        return (i, k)
    }

    /// The encoder's state while `append(packed:count:translation:)` runs.
    @usableFromInline
    struct PackedState {
        @usableFromInline var offset: Int
        @usableFromInline var physical: UInt64, previousT: UInt64, pc: UInt64, t: UInt64
        @inlinable init(offset: Int, physical: UInt64, previousT: UInt64, pc: UInt64, t: UInt64) {
            (self.offset, self.physical, self.previousT, self.pc, self.t) = (offset, physical, previousT, pc, t)
        }
    }

    /// The loop of `append(packed:count:translation:)`: at most `limit`
    /// accesses (each fits: the caller checked the room), returns entries
    /// taken and accesses encoded.
    @inlinable @inline(__always)
    static func encodePacked(_ entries: UnsafeRawPointer, count: Int, limit: Int, into base: UnsafeMutableRawPointer,
                             _ state: inout PackedState, virtual: Bool, withPC: Bool) -> (Int, Int) {
        var offset = state.offset
        var previous = state.physical, previousT = state.previousT, previousPC = state.pc, t = state.t
        var k = 0, i = 0
        while i < count && k < limit {
            let w = entries.load(fromByteOffset: i &* 16, as: UInt64.self)
            let second = entries.load(fromByteOffset: i &* 16 &+ 8, as: UInt64.self)
            i &+= 1
            if w >= GuestAccessBatch.Packed.translationFlag {
                t = second
                continue
            }
            let p = base + offset
            let shift = (w &>> GuestAccessBatch.Packed.sizeShiftBit) & 7
            let kind = UInt8(truncatingIfNeeded: w &>> GuestAccessBatch.Packed.kindBit) & 3
            var n: Int
            if shift < 6 {  // sizes 1 … 32: in the tag
                p.storeBytes(of: kind | UInt8(truncatingIfNeeded: 1 &<< shift) &<< 2, as: UInt8.self)
                n = 1
            } else {  // 64, 128: the extended size follows
                p.storeBytes(of: kind | 63 &<< 2, as: UInt8.self)
                n = 1 &+ Varint.storeWide(1 &<< shift, at: p + 1)
            }
            let address = w & GuestAccessBatch.Packed.addressMask
            n &+= Varint.storeWide(Varint.zigzag(Int64(bitPattern: address &- previous)), at: p + n)
            previous = address
            if virtual {
                let z = Varint.zigzag(Int64(bitPattern: t &- previousT))
                if z < 0x80 {  // the translation rarely changes: a predictable one-byte path
                    p.storeBytes(of: UInt8(truncatingIfNeeded: z), toByteOffset: n, as: UInt8.self)
                    n &+= 1
                } else {
                    n &+= Varint.storeWide(z, at: p + n)
                }
                previousT = t
            }
            if withPC {
                // PCs move by less than 8 KiB from one access to the next but
                // at jumps between code regions: the short path predicts.
                n &+= Varint.storeShortFirst(Varint.zigzag(Int64(bitPattern: second &- previousPC)), at: p + n)
                previousPC = second
            }
            offset &+= n
            k &+= 1
        }
        state = PackedState(offset: offset, physical: previous, previousT: previousT, pc: previousPC, t: t)
        return (i, k)
    }
}
