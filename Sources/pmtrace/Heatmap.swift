import ArgumentParser
import Foundation
import PMTrace
import TraceAnalysis

struct Heatmap: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Draw accesses as an address × time heatmap (SVG, or PNG without axis text).",
        discussion: """
            Columns are equal slices of the volume's time span; rows are the touched pages (or 64-byte lines) \
            in address order with the untouched space between them squeezed out, so a 45 MB-wide process \
            and a 4 GiB guest both fill the picture. Colour is log10 of the accesses per cell. The SVG labels \
            each address region (start address and, for `pmtrace record` volumes, the mapping) and the time \
            axis. Any trace size is downsampled into the grid: two passes over the accesses, memory = one entry \
            per touched page/line + the grid. PNG output is the bare grid (no text: no font renderer here).
            """)

    enum Unit: String, ExpressibleByArgument, CaseIterable { case page, line }

    @Argument(help: "Pool file or device.") var pool: String
    @Argument(help: "Volume with memory-access batches.", completion: VolumeCompletion.kind, transform: VolumeName.existing) var volume: VolumeName
    @Option(help: "Output file: .svg or .png.") var out: String
    @Option(help: "Address unit of a row: page (4 KiB) or line (64 bytes).") var by: Unit = .page
    @Option(parsing: .unconditional, help: "Cells across (time).") var width = 800
    @Option(parsing: .unconditional, help: "Cells down (address).") var height = 480
    @OptionGroup var filter: ReadFilterOptions

    func validate() throws {
        guard (16...8192).contains(width), (16...8192).contains(height) else { throw ValidationError("--width and --height must be 16…8192") }
        guard out.hasSuffix(".svg") || out.hasSuffix(".png") else { throw ValidationError("--out must end in .svg or .png") }
    }

    func run() throws {
        try OutputGuard.refuse(out, option: "--out", samePoolAs: pool)
        let p = try openPool(pool, writable: false)
        let grid = HeatmapGrid(width: width, height: height, unitShift: by == .page ? 12 : 6)
        let block = AccessBlock()
        var maps = MappingTable([])
        for pass in 1...2 {
            let reader = try p.store.openReader(volumeBytes: volume.bytes)
            let stream = try AccessStream(reader: reader, filter: try filter.filter(for: reader))
            while try stream.next(into: block) {
                if pass == 1 { grid.notePass1(block) } else { grid.countPass2(block) }
            }
            if pass == 1 { grid.finishPass1(); maps = try filter.recordedMaps(stream, store: p.store, volumeBytes: volume.bytes) }
        }
        guard grid.total > 0 else { throw CLIError("volume '\(volume.value)' has no accesses in the range read") }
        let (pixels, peak) = Self.pixels(grid)
        let png = PNGWriter.encode(width: width, height: height, pixels: pixels, palette: Self.palette)
        let bytes: [UInt8] = out.hasSuffix(".png") ? png : Array(svg(grid, png: png, peak: peak, maps: maps).utf8)
        try OutputGuard.write(bytes, to: out, option: "--out", samePoolAs: pool)
        standardErrorWrite(Data("pmtrace: heatmap of \(grid.total) accesses over \(grid.units.count) \(by.rawValue)s written to \(out)\n".utf8))
    }

    /// 0 = no access (white); 1…255 = log density, dark blue → yellow.
    static let palette: [(UInt8, UInt8, UInt8)] = [(255, 255, 255)] + (1...255).map { i in
        let t = Double(i - 1) / 254
        let r = 68 + t * (253 - 68), g = 1 + t * (231 - 1), b = 84 + (t < 0.5 ? t * 2 * (140 - 84) : (140 - (t - 0.5) * 2 * (140 - 37)))
        return (UInt8(r), UInt8(g), UInt8(b))
    }

    /// Palette indices, top row = highest addresses; and the busiest cell's count.
    static func pixels(_ g: HeatmapGrid) -> ([UInt8], UInt64) {
        let peak = g.cells.max() ?? 0
        let scale = peak > 1 ? 254 / log10(Double(peak)) : 0
        var px = [UInt8](repeating: 0, count: g.width * g.height)
        for y in 0..<g.height {
            let row = y * g.rows / g.height  // fewer rows in use than pixels: stretched
            for col in 0..<g.width {
                let n = g.cells[row * g.width + col]
                guard n > 0 else { continue }
                px[(g.height - 1 - y) * g.width + col] = UInt8(1 + min(254, Int(log10(Double(n)) * scale)))
            }
        }
        return (px, peak)
    }

    func svg(_ g: HeatmapGrid, png: [UInt8], peak: UInt64, maps: MappingTable) -> String {
        let left = 330, top = 40, plotW = max(g.width, 600), plotH = max(g.height, 400)
        let totalW = left + plotW + 20, totalH = top + plotH + 60
        func esc(_ s: String) -> String {
            s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
        }
        var s = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(totalW)" height="\(totalH)" font-family="monospace" font-size="11">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(left)" y="20" font-size="14">\(esc(volume.value)): \(g.total) accesses, \(g.units.count) \(by.rawValue)s touched; colour = log10(accesses per cell), peak \(peak)</text>
            <image x="\(left)" y="\(top)" width="\(plotW)" height="\(plotH)" preserveAspectRatio="none" style="image-rendering:pixelated" href="data:image/png;base64,\(Data(png).base64EncodedString())"/>
            <rect x="\(left)" y="\(top)" width="\(plotW)" height="\(plotH)" fill="none" stroke="black"/>

            """
        // Address regions: a line and a label at each region's first row (labels kept ≥ 12 px apart).
        var lastY = Int.min  // regions top (high addresses) first: y grows
        for r in g.regions().reversed() where g.units.count > 0 {
            let y = top + plotH - r.row * plotH / g.rows
            let name = maps.lines.isEmpty ? "" : " " + String(maps.label(of: r.start).suffix(28))
            s += "<line x1=\"\(left - 4)\" y1=\"\(y)\" x2=\"\(left + plotW)\" y2=\"\(y)\" stroke=\"#888\" stroke-width=\"0.5\"/>\n"
            if lastY == Int.min || y - lastY >= 12 {
                s += "<text x=\"\(left - 6)\" y=\"\(y)\" text-anchor=\"end\">0x\(String(r.start, radix: 16))\(esc(name))</text>\n"
                lastY = y
            }
        }
        let span = Double(g.lastTime &- g.firstTime) / 1e9
        for k in 0...5 {
            let x = left + k * plotW / 5
            s += "<line x1=\"\(x)\" y1=\"\(top + plotH)\" x2=\"\(x)\" y2=\"\(top + plotH + 5)\" stroke=\"black\"/>\n"
            s += "<text x=\"\(x)\" y=\"\(top + plotH + 18)\" text-anchor=\"middle\">\(String(format: "%.3f s", span * Double(k) / 5))</text>\n"
        }
        s += "<text x=\"\(left + plotW / 2)\" y=\"\(top + plotH + 40)\" text-anchor=\"middle\">time since \(formatTime(g.firstTime)) (batch seal times)</text>\n"
        s += "<text x=\"12\" y=\"\(top + plotH / 2)\" transform=\"rotate(-90 12 \(top + plotH / 2))\" text-anchor=\"middle\">address (touched \(by.rawValue)s, gaps squeezed out)</text>\n"
        return s + "</svg>\n"
    }
}
