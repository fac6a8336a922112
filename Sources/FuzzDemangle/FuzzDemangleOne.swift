import MetadataCatalog

/// One fuzz input for the demangler: the bytes as a name, and with the C++
/// (`_Z`) and Swift (`$s`) prefixes. The result must come back (libFuzzer's
/// -timeout and -rss_limit_mb catch a demangler that runs away) and be no
/// longer than the bound `Demangler` documents.
public func fuzzDemangleOne(_ data: UnsafeRawBufferPointer) {
    let raw = String(decoding: data, as: UTF8.self)
    for name in [raw, "_Z" + raw, "$s" + raw] {
        let out = Demangler.demangle(name)
        if out.utf8.count > max(name.utf8.count, Demangler.maxOutputBytes) {
            fatalError("demangled \(name.utf8.count) bytes into \(out.utf8.count), past the bound")
        }
    }
}
