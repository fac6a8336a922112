import MetadataCatalog

/// One fuzz input for the demangler: the bytes as a name, and with the C++
/// (`_Z`) and Swift (`$s`) prefixes. The result must come back (libFuzzer's
/// -timeout and -rss_limit_mb catch a demangler that runs away) and be no
/// longer than the bound `Demangler` documents, nor than the estimate
/// `Demangler.outputBound` gives for it.
public func fuzzDemangleOne(_ data: UnsafeRawBufferPointer) {
    let raw = String(decoding: data, as: UTF8.self)
    for name in [raw, "_Z" + raw, "$s" + raw] {
        let out = Demangler.demangle(name)
        if out.utf8.count > max(name.utf8.count, Demangler.maxOutputBytes) {
            fatalError("demangled \(name.utf8.count) bytes into \(out.utf8.count), past the bound")
        }
        // The estimate must hold at every size, not just the limit: an input whose output
        // beats it at a few hundred bytes is the seed of one that beats it at gigabytes.
        if out != name, let bound = Demangler.outputBound(name), out.utf8.count > bound {
            fatalError("estimate \(bound) bytes, but '\(name)' demangled to \(out.utf8.count) bytes")
        }
    }
}
