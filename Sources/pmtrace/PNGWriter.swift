import Foundation

/// A minimal PNG encoder (8-bit palette image, zlib "stored" deflate blocks,
/// so no compression library is needed): what `heatmap` writes for
/// `--out x.png` and embeds in its SVG. Files are larger than a compressing
/// encoder's (about width × height bytes).
enum PNGWriter {
    /// PNG bytes of `pixels` (palette indices, row-major, top row first).
    static func encode(width: Int, height: Int, pixels: [UInt8], palette: [(UInt8, UInt8, UInt8)]) -> [UInt8] {
        var out: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        var ihdr: [UInt8] = []
        be32(UInt32(width), &ihdr); be32(UInt32(height), &ihdr)
        ihdr += [8, 3, 0, 0, 0]  // 8-bit, palette, deflate, no filter method, no interlace
        chunk("IHDR", ihdr, &out)
        chunk("PLTE", palette.flatMap { [$0.0, $0.1, $0.2] }, &out)
        var raw: [UInt8] = []
        raw.reserveCapacity((width + 1) * height)
        for y in 0..<height {
            raw.append(0)  // filter: none
            raw += pixels[(y * width)..<((y + 1) * width)]
        }
        var z: [UInt8] = [0x78, 0x01]
        var i = 0
        repeat {
            let n = min(65535, raw.count - i)
            z.append(i + n == raw.count ? 1 : 0)
            z += [UInt8(n & 0xFF), UInt8(n >> 8), UInt8(~n & 0xFF), UInt8((~n >> 8) & 0xFF)]
            z += raw[i..<(i + n)]
            i += n
        } while i < raw.count
        var a: UInt32 = 1, b: UInt32 = 0
        for byte in raw { a = (a + UInt32(byte)) % 65521; b = (b + a) % 65521 }
        be32(b << 16 | a, &z)
        chunk("IDAT", z, &out)
        chunk("IEND", [], &out)
        return out
    }

    static func be32(_ v: UInt32, _ out: inout [UInt8]) {
        out += [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)]
    }

    static let table: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func chunk(_ type: String, _ data: [UInt8], _ out: inout [UInt8]) {
        be32(UInt32(data.count), &out)
        let body = Array(type.utf8) + data
        out += body
        var c: UInt32 = 0xFFFF_FFFF
        for byte in body { c = table[Int((c ^ UInt32(byte)) & 0xFF)] ^ (c >> 8) }
        be32(~c, &out)
    }
}
