import TraceFormat
import TracePayloads

/// Parses the memory-access lines `valgrind --tool=lackey --trace-mem=yes`
/// prints (`I  04016d0,3`, ` L 1ffefff8b8,8`, ` S …`, ` M …`), skipping
/// valgrind's own `==pid==` lines. Input arrives in chunks of any size; lines
/// may span chunks. Not thread-safe. O(input bytes).
public struct LackeyParser {
    /// Lines that were neither an access nor a `==pid==` line.
    public private(set) var skippedLines = 0
    /// 1-based number and text (first 80 bytes) of the first skipped line.
    public private(set) var firstSkipped: (line: Int, text: String)?
    /// Lines consumed so far (for error messages).
    public private(set) var lineNumber = 0
    private var partial: [UInt8] = []

    /// A parser at the start of a trace.
    public init() {}

    /// Feeds bytes; calls `emit` for each access found.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer, _ emit: (MemoryAccess) -> Void) {
        var start = 0
        for i in 0..<bytes.count where bytes[i] == 0x0A {
            if partial.isEmpty {
                parseLine(UnsafeRawBufferPointer(rebasing: bytes[start..<i]), emit)
            } else {
                partial.append(contentsOf: bytes[start..<i])
                let line = partial
                partial.removeAll(keepingCapacity: true)
                line.withUnsafeBytes { parseLine($0, emit) }
            }
            start = i + 1
        }
        partial.append(contentsOf: bytes[start...])
    }

    /// Parses a last line without a newline.
    public mutating func finish(_ emit: (MemoryAccess) -> Void) {
        guard !partial.isEmpty else { return }
        let line = partial
        partial = []
        line.withUnsafeBytes { parseLine($0, emit) }
    }

    private mutating func parseLine(_ line: UnsafeRawBufferPointer, _ emit: (MemoryAccess) -> Void) {
        lineNumber += 1
        if let a = Self.parse(line) { emit(a); return }
        var i = 0
        while i < line.count, line[i] == 0x20 || line[i] == 0x09 || line[i] == 0x0D { i += 1 }
        if i == line.count { return }  // blank
        if line.count >= 2, line[0] == UInt8(ascii: "="), line[1] == UInt8(ascii: "=") { return }
        skippedLines += 1
        if firstSkipped == nil {
            firstSkipped = (lineNumber, String(decoding: line.prefix(80), as: UTF8.self))
        }
    }

    /// One line → one access, or nil if the line is not an access record.
    public static func parse(_ line: UnsafeRawBufferPointer) -> MemoryAccess? {
        var i = 0
        let n = line.count
        while i < n, line[i] == 0x20 { i += 1 }
        guard i < n else { return nil }
        let kind: MemoryAccess.Kind
        switch line[i] {
        case UInt8(ascii: "I"): kind = .instructionFetch
        case UInt8(ascii: "L"): kind = .load
        case UInt8(ascii: "S"): kind = .store
        case UInt8(ascii: "M"): kind = .modify
        default: return nil
        }
        i += 1
        guard i < n, line[i] == 0x20 else { return nil }
        while i < n, line[i] == 0x20 { i += 1 }
        var address: UInt64 = 0
        var digits = 0
        while i < n, let d = hexValue(line[i]) {
            guard digits < 16 else { return nil }
            address = address << 4 | UInt64(d)
            digits += 1
            i += 1
        }
        guard digits > 0, i < n, line[i] == UInt8(ascii: ",") else { return nil }
        i += 1
        var size: UInt32 = 0
        var sizeDigits = 0
        while i < n, line[i] >= 0x30, line[i] <= 0x39 {
            guard sizeDigits < 9 else { return nil }
            size = size * 10 + UInt32(line[i] - 0x30)
            sizeDigits += 1
            i += 1
        }
        guard sizeDigits > 0 else { return nil }
        while i < n, line[i] == 0x20 || line[i] == 0x0D { i += 1 }
        guard i == n else { return nil }
        return MemoryAccess(kind: kind, address: address, size: size)
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x61...0x66: return c - 0x61 + 10
        case 0x41...0x46: return c - 0x41 + 10
        default: return nil
        }
    }
}
