import ArgumentParser
import PMTrace

/// Shell completion of volume names (bash, zsh and fish scripts from
/// `pmtrace --generate-completion-script`): the volumes of the pool named
/// earlier on the command line, in the escaped form `list` prints (which every
/// command accepts back). The pool is opened read-only; nothing is written.
enum VolumeCompletion {
    static let kind = CompletionKind.custom { words, index, prefix in names(words: words, index: index, prefix: prefix) }

    /// `words` are the shell words (program name first); the pool is the
    /// first word after the subcommand(s) that opens as a PMTrace region.
    static func names(words: [String], index: Int, prefix: String) -> [String] {
        for word in words.prefix(max(0, index)).dropFirst() where !word.hasPrefix("-") {
            guard let r = try? RegionPath(word), let pool = try? TracePool.open(path: r.path, offset: r.offset, writable: false) else { continue }
            return pool.store.volumes()
                .filter { !$0.name.hasPrefix(".") }
                .map { TerminalText.escape(bytes: $0.nameBytes) }
                .filter { $0.hasPrefix(prefix) }
        }
        return []
    }
}
