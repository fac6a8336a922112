import Foundation

/// A line chart written as a standalone SVG: axes with units, log scales on
/// request, a legend, one polyline with markers per series.
struct Chart {
    struct Series {
        var name: String
        var points: [(x: Double, y: Double)]
    }

    var title: String
    var subtitle: String
    var xLabel: String
    var yLabel: String
    var logX: Bool
    var logY: Bool
    var series: [Series]
    /// Explicit x tick positions (e.g. powers of 4 for byte sizes).
    var xTickValues: [Double]? = nil
    var xTickLabel: (Double) -> String = { v in String(format: "%g", v) }
    var yTickLabel: (Double) -> String = { v in String(format: "%g", v) }

    static let colors = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"]

    func svg() -> String {
        let width = 1020.0, height = 580.0
        let left = 90.0, right = 330.0, top = 78.0, bottom = 70.0
        let plotW = width - left - right, plotH = height - top - bottom
        let all = series.flatMap(\.points).filter { (!logX || $0.x > 0) && (!logY || $0.y > 0) }
        guard !all.isEmpty else { return "<svg xmlns='http://www.w3.org/2000/svg'/>" }
        func t(_ v: Double, _ log: Bool) -> Double { log ? log10(v) : v }
        var x0 = t(all.map(\.x).min()!, logX), x1 = t(all.map(\.x).max()!, logX)
        var y0 = t(all.map(\.y).min()!, logY), y1 = t(all.map(\.y).max()!, logY)
        if logY { y0 = floor(y0); y1 = ceil(y1) } else { y0 = Swift.min(0, y0); y1 = y1 * 1.08 }
        if logX { x0 = floor(x0 * 2) / 2; x1 = ceil(x1 * 2) / 2 }
        if x1 == x0 { x1 = x0 + 1 }
        if y1 == y0 { y1 = y0 + 1 }
        func px(_ x: Double) -> Double { left + (t(x, logX) - x0) / (x1 - x0) * plotW }
        func py(_ y: Double) -> Double { top + plotH - (t(y, logY) - y0) / (y1 - y0) * plotH }
        var s = "<svg xmlns='http://www.w3.org/2000/svg' width='\(Int(width))' height='\(Int(height))' font-family='sans-serif' font-size='12'>\n"
        s += "<rect width='100%' height='100%' fill='white'/>\n"
        s += "<text x='\(left)' y='24' font-size='16' font-weight='bold'>\(esc(title))</text>\n"
        for (i, line) in subtitle.split(separator: ";").enumerated() {
            s += "<text x='\(left)' y='\(44 + 15 * i)' fill='#555' font-size='11'>\(esc(line.trimmingCharacters(in: .whitespaces)))</text>\n"
        }
        // Grid and ticks.
        let yTicks: [Double] = logY ? stride(from: y0, through: y1, by: 1).map { pow(10, $0) } : (0...5).map { y0 + (y1 - y0) * Double($0) / 5 }
        for v in yTicks {
            let y = py(v)
            s += "<line x1='\(left)' y1='\(y)' x2='\(left + plotW)' y2='\(y)' stroke='#ddd'/>\n"
            s += "<text x='\(left - 6)' y='\(y + 4)' text-anchor='end'>\(esc(yTickLabel(v)))</text>\n"
        }
        let xTicks: [Double]
        if let xTickValues {
            xTicks = xTickValues.filter { t($0, logX) >= x0 - 1e-9 && t($0, logX) <= x1 + 1e-9 }
        } else if logX {
            let step = (x1 - x0) > 12 ? 2.0 : 1.0
            xTicks = stride(from: ceil(x0), through: floor(x1), by: step).map { pow(10, $0) }
        } else {
            xTicks = (0...5).map { x0 + (x1 - x0) * Double($0) / 5 }
        }
        for v in xTicks {
            let x = px(v)
            s += "<line x1='\(x)' y1='\(top)' x2='\(x)' y2='\(top + plotH)' stroke='#eee'/>\n"
            s += "<text x='\(x)' y='\(top + plotH + 18)' text-anchor='middle'>\(esc(xTickLabel(v)))</text>\n"
        }
        s += "<rect x='\(left)' y='\(top)' width='\(plotW)' height='\(plotH)' fill='none' stroke='#333'/>\n"
        s += "<text x='\(left + plotW / 2)' y='\(height - 22)' text-anchor='middle'>\(esc(xLabel))</text>\n"
        s += "<text transform='translate(22,\(top + plotH / 2)) rotate(-90)' text-anchor='middle'>\(esc(yLabel))</text>\n"
        // Series named "<base>, 2T" share <base>'s colour and are dashed.
        var bases: [String] = []
        for (i, ser) in series.enumerated() {
            let base = ser.name.hasSuffix(", 2T") || ser.name.hasSuffix(", 1T") ? String(ser.name.dropLast(4)) : ser.name
            if !bases.contains(base) { bases.append(base) }
            let c = Self.colors[bases.firstIndex(of: base)! % Self.colors.count]
            let dash = ser.name.hasSuffix(", 2T") ? " stroke-dasharray='6,4'" : ""
            let pts = ser.points.filter { (!logX || $0.x > 0) && (!logY || $0.y > 0) }
            let path = pts.map { "\(fmt(px($0.x), 1)),\(fmt(py($0.y), 1))" }.joined(separator: " ")
            s += "<polyline fill='none' stroke='\(c)' stroke-width='2'\(dash) points='\(path)'/>\n"
            for p in pts { s += "<circle cx='\(fmt(px(p.x), 1))' cy='\(fmt(py(p.y), 1))' r='3' fill='\(c)'/>\n" }
            let ly = top + 10 + Double(i) * 20
            s += "<line x1='\(left + plotW + 15)' y1='\(ly)' x2='\(left + plotW + 40)' y2='\(ly)' stroke='\(c)' stroke-width='3'\(dash)/>\n"
            s += "<text x='\(left + plotW + 46)' y='\(ly + 4)'>\(esc(ser.name))</text>\n"
        }
        s += "</svg>\n"
        return s
    }

    func write(_ ctx: Context, _ name: String) throws {
        try svg().write(to: ctx.outDir.appendingPathComponent("\(name).svg"), atomically: true, encoding: .utf8)
    }

    private func esc(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}

func byteTick(_ v: Double) -> String {
    let n = v.rounded()
    let units: [(Double, String)] = [(1_099_511_627_776, "TiB"), (1_073_741_824, "GiB"), (1_048_576, "MiB"), (1024, "KiB")]
    for (u, name) in units where n >= u { return String(format: "%g %@", n / u, name) }
    return String(format: "%g B", n)
}
