import TraceFormat
import TracePayloads
import TraceVolume

extension MetadataCatalog {
    /// Checks the catalog of `store` (FORMAT.md §8.6–§8.8, §12) without
    /// changing anything, even on a writable store; for `fsck`.
    ///
    /// Reports, each as an `.error` naming the volume:
    /// - a symbol table that would not open: a missing or damaged info
    ///   record, a record that is not a contiguous chunk, a chunk that fails
    ///   `SymbolChunk.validate()`, chunks that overlap, fewer or more chunks
    ///   than the info record says;
    /// - a table volume that is not sealed, or whose name is not the one its
    ///   info record gives (`.sym/<app>/<lowercase build-id hex>`);
    /// - a `.maps` record that is not a valid process-map entry.
    ///
    /// and as `.info` each `.tmp/` volume (an import a crash
    /// interrupted, which the next writable open finishes or discards).
    /// O(total size of the catalog's volumes).
    public static func check(store: TraceStore) -> [CheckFinding] {
        let catalog = MetadataCatalog(withoutRecovery: store)
        var out: [CheckFinding] = []
        func damage(_ volume: String, _ message: String) {
            out.append(CheckFinding(severity: .error, location: "catalog volume '\(volume)'", message: message))
        }
        for v in store.volumes() {
            if v.name.hasPrefix(temporaryPrefix) {
                out.append(CheckFinding(severity: .info, location: "catalog volume '\(v.name)'",
                                        message: "an interrupted import; the next writable open finishes or discards it"))
            }
            guard v.name.hasPrefix(symbolPrefix) else { continue }
            if !v.sealed { damage(v.name, "symbol table volume is not sealed") }
            do {
                let t = try catalog.loadTable(v.name)
                let expected = volumeName(app: String(decoding: t.info.app, as: UTF8.self), buildID: t.info.buildID)
                if expected != v.name { damage(v.name, "its info record describes '\(expected)'") }
            } catch let CatalogError.damagedTable(_, reason) {
                damage(v.name, reason)
            } catch {
                damage(v.name, "\(error)")
            }
        }
        if (try? store.volume(named: mapsVolume)) != nil {
            do {
                let reader = try store.openReader(volume: mapsVolume)
                while let r = try reader.next() {
                    guard r.kind == .processMap else { continue }
                    do { _ = try catalog.withJoined(r) { try ProcessMapEntry.decode($0) } } catch {
                        damage(mapsVolume, "record \(r.sequence): \(error)")
                    }
                }
            } catch {
                damage(mapsVolume, "\(error)")
            }
        }
        return out
    }
}
