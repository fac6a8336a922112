import TraceAnalysis
import TracePayloads

/// One line of `dump --accesses`: text like `perf script`, or a JSON object
/// (README, "JSON output": numbers as numbers, null when not recorded,
/// `timestamp` ns + `timestampISO`).
enum AccessLine {
    /// `time`: the last timestamp formatted and its text (a batch's accesses
    /// share one timestamp; formatting it per access took 10.8 s for 100,000).
    static func append(_ b: AccessBlock, _ i: Int, attribution: SymbolAttribution?, json: Bool, volume: String,
                       time: inout (ns: UInt64, text: String)?, to t: inout AccessText) {
        let kind = AccessText.kindName(MemoryAccess.Kind(rawValue: b.kind[i] & 3)!)
        let at = b.hasPC ? b.pc[i] : b.address[i]
        let group = attribution.map { ($0, $0.group(of: at)) }
        if json {
            t.text("{\"volume\":"); t.jsonString(volume)
            t.text(",\"lane\":"); t.decimal(UInt64(b.lane[i]))
            t.text(",\"timestamp\":"); t.decimal(b.timestamp[i])
            t.text(",\"timestampISO\":"); if let iso = JSONTime.iso(b.timestamp[i]) { t.jsonString(iso) } else { t.text("null") }
            t.text(",\"kind\":"); t.jsonString(kind)
            t.text(",\"address\":"); t.decimal(b.address[i])
            t.text(",\"size\":"); t.decimal(UInt64(b.size[i]))
            t.text(",\"pc\":"); if b.hasPC { t.decimal(b.pc[i]) } else { t.text("null") }
            t.text(",\"virtual\":"); if b.hasVirtual { t.decimal(b.virtual[i]) } else { t.text("null") }
            t.text(",\"symbol\":")
            if let (a, g) = group, let name = a.groups[g].name { t.jsonString(name) } else { t.text("null") }
            t.text(",\"offset\":")
            if let (a, g) = group, a.groups[g].name != nil { t.decimal(at &- a.groups[g].range.lowerBound) } else { t.text("null") }
            t.text(",\"image\":")
            if let (a, g) = group { t.jsonString(a.groups[g].image) } else { t.text("null") }
            t.text("}\n")
            return
        }
        if time?.ns != b.timestamp[i] { time = (b.timestamp[i], formatTime(b.timestamp[i])) }
        t.text(time!.text); t.text(" lane="); t.decimal(UInt64(b.lane[i]))
        t.text(" "); t.text(kind.padding(toLength: 6, withPad: " ", startingAt: 0))
        t.text(" "); t.hex(b.address[i]); t.text(" size="); t.decimal(UInt64(b.size[i]))
        if b.hasVirtual { t.text(" virtual="); t.hex(b.virtual[i]) }
        if b.hasPC { t.text(" pc="); t.hex(b.pc[i]) }
        if let (a, g) = group {
            let grp = a.groups[g]
            if let name = grp.name {
                t.text(" "); t.text(TerminalText.escape(name)); t.text("+"); t.hex(at &- grp.range.lowerBound)
                t.text(" ("); t.text(TerminalText.escape(grp.image)); t.text(")")
            } else {
                t.text(" ?? ("); t.text(TerminalText.escape(grp.image)); t.text(")")
            }
        }
        t.bytes.append(10)
    }
}
