import CCRC32C
import TraceFormat
import TraceVolume

/// The group streams tests use: the host's C stream and whether this CPU runs it.
extension GroupStreamFunctions {
    /// The host's C group stream (`pmt_group_stream_*`, CCRC32C). Use it only
    /// where `pmt_group_stream_available()` is 1 (AVX-512 VPCLMULQDQ).
    public static let host = GroupStreamFunctions(
        begin: pmt_group_stream_begin, member: pmt_group_stream_member, bytes: pmt_group_stream_bytes, finish: pmt_group_stream_finish,
        members: pmt_group_stream_members)

    /// This CPU runs `host` (and `StoreOptions.testing()` uses it).
    public static var hostAvailable: Bool {
        pmt_group_stream_available() != 0 && Int(PMT_GROUP_STREAM_STATE_BYTES) <= GroupStreamFunctions.stateBytes
    }
}

extension PersistenceSimulator {
    /// The group stream as the simulator sees it: every member's bytes are
    /// stored at once (a recorded non-temporal copy, durable at the next
    /// fence, one persistence point per call) and checksummed in software.
    /// The real stream holds a partial line back until it fills; a crash image
    /// here may have any subset of those words, which covers that.
    /// State: the stream's start (8 bytes), bytes appended (8), CRC so far (4).
    public static let groupStream = GroupStreamFunctions(
        begin: { s, d in
            s!.storeBytes(of: d, as: UnsafeMutableRawPointer?.self)
            s!.storeBytes(of: 0, toByteOffset: 8, as: Int.self)
            s!.storeBytes(of: 0, toByteOffset: 16, as: UInt32.self)
        },
        member: { s, header, p, n in
            active!.point("copy")
            var word = header.littleEndian
            withUnsafeBytes(of: &word) { streamAppend(s!, $0.baseAddress!, 8) }
            streamAppend(s!, p, n)
            let zeros: UInt64 = 0
            withUnsafeBytes(of: zeros) { streamAppend(s!, $0.baseAddress!, (8 - n % 8) % 8) }
        },
        bytes: { s, p, n in
            active!.point("copy")
            streamAppend(s!, p, n)
        },
        finish: { s in s!.load(fromByteOffset: 16, as: UInt32.self) })

    /// Appends `n` bytes of `p` to the simulated stream in `state`.
    static func streamAppend(_ state: UnsafeMutableRawPointer, _ p: UnsafeRawPointer?, _ n: Int) {
        guard n > 0, let p else { return }
        let start = state.load(as: UnsafeMutableRawPointer.self)
        let at = state.load(fromByteOffset: 8, as: Int.self)
        (start + at).copyMemory(from: p, byteCount: n)
        active!.markFlushed(start + at, n)
        state.storeBytes(of: CRC32C.software(state.load(fromByteOffset: 16, as: UInt32.self), p, n), toByteOffset: 16, as: UInt32.self)
        state.storeBytes(of: at + n, toByteOffset: 8, as: Int.self)
    }
}
