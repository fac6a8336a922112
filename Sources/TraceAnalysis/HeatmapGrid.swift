/// Address × time access counts on a fixed grid, for `pmtrace heatmap`.
///
/// The address axis is compressed: rows follow the rank of each touched
/// page (or cache line) among all touched ones, so the empty space between a
/// program's regions (or a guest's RAM holes) takes no rows. Two passes over
/// the trace: `notePass1` learns the touched units and the time span,
/// `finishPass1` sorts them, `countPass2` fills the grid. Memory: one entry
/// per touched unit plus the grid; a 1.7 G-access trace is downsampled into
/// the same grid. Not thread-safe.
public final class HeatmapGrid {
    /// log2 of the address unit: 12 (4 KiB pages) or 6 (64-byte lines).
    public let unitShift: UInt64
    /// Grid size in cells.
    public let width: Int, height: Int
    /// Counts, row-major, row 0 = lowest addresses.
    public private(set) var cells: [UInt64]
    /// The touched units, sorted (valid after `finishPass1`).
    public private(set) var units: [UInt64] = []
    var unitSet = Set<UInt64>()
    var lastUnit = UInt64.max
    /// Earliest and latest access timestamps seen in pass 1.
    public private(set) var firstTime = UInt64.max, lastTime: UInt64 = 0
    /// Rows in use: `height`, or fewer when fewer units were touched (one
    /// row each; a renderer stretches them to `height`).
    public private(set) var rows = 1
    /// Accesses counted in pass 2.
    public private(set) var total: UInt64 = 0

    /// A grid of `width` × `height` cells over units of 2^`unitShift` bytes.
    public init(width: Int, height: Int, unitShift: UInt64) {
        precondition(width > 0 && height > 0)
        self.width = width
        self.height = height
        self.unitShift = unitShift
        cells = [UInt64](repeating: 0, count: width * height)
    }

    /// Pass 1: learns the touched units and the time span of `block`.
    public func notePass1(_ block: AccessBlock) {
        guard block.count > 0 else { return }
        firstTime = min(firstTime, block.timestamp[0])
        lastTime = max(lastTime, block.timestamp[block.count - 1])
        for i in 0..<block.count {
            let u = block.address[i] >> unitShift
            if u != lastUnit { unitSet.insert(u); lastUnit = u }
        }
    }

    /// Ends pass 1.
    public func finishPass1() {
        units = unitSet.sorted()
        rows = max(1, min(height, units.count))
        unitSet = []
        lastUnit = .max
    }

    /// The row of a touched unit (binary search over `units`).
    public func row(ofUnit u: UInt64) -> Int {
        var lo = 0, hi = units.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if units[mid] < u { lo = mid + 1 } else { hi = mid }
        }
        return units.isEmpty ? 0 : min(rows - 1, lo * rows / units.count)
    }

    /// The column of a timestamp.
    public func column(ofTime t: UInt64) -> Int {
        guard lastTime > firstTime, t > firstTime else { return 0 }
        return min(width - 1, Int(Double(t - firstTime) / Double(lastTime - firstTime) * Double(width)))
    }

    /// Pass 2: counts `block` into the grid.
    public func countPass2(_ block: AccessBlock) {
        var lastRow = 0
        lastUnit = .max
        var column = -1, lastTimestamp = UInt64.max
        for i in 0..<block.count {
            let t = block.timestamp[i]
            if t != lastTimestamp { column = self.column(ofTime: t); lastTimestamp = t }
            let u = block.address[i] >> unitShift
            if u != lastUnit { lastRow = row(ofUnit: u); lastUnit = u }
            cells[lastRow * width + column] &+= 1
        }
        total &+= UInt64(block.count)
    }

    /// The address ranges the rows cover (row numbers out of `rows`): touched units split where the gap
    /// between neighbours exceeds `gapUnits`, each with its first row.
    public func regions(gapUnits: UInt64 = 256) -> [(start: UInt64, end: UInt64, row: Int)] {
        var out: [(UInt64, UInt64, Int)] = []
        var i = 0
        while i < units.count {
            var j = i
            while j + 1 < units.count, units[j + 1] - units[j] <= gapUnits { j += 1 }
            out.append((units[i] << unitShift, (units[j] + 1) << unitShift, i * rows / units.count))
            i = j + 1
        }
        return out
    }
}
