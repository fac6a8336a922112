import ArgumentParser

/// A command that works on one pool: an error it raises is reported as
/// "<pool>: <error>" unless the message already names the pool, so every
/// message says which file or device it concerns.
protocol PoolCommand {
    var pool: String { get }
}

extension Dump: PoolCommand {}
extension Format: PoolCommand {}
extension Fsck: PoolCommand {}
extension Hot: PoolCommand {}
extension ImportLackey: PoolCommand {}
extension Info: PoolCommand {}
extension List: PoolCommand {}
extension Read: PoolCommand {}
extension Stats: PoolCommand {}
extension SymbolsImport: PoolCommand {}
extension SymbolsList: PoolCommand {}
extension SymbolsRemove: PoolCommand {}
extension MapsImport: PoolCommand {}
extension Symbolize: PoolCommand {}
extension TortureWriter: PoolCommand {}
extension Create: PoolCommand {}
extension Rename: PoolCommand {}
extension Seal: PoolCommand {}
extension Delete: PoolCommand {}
extension Write: PoolCommand {}
extension Export: PoolCommand {}
extension Heatmap: PoolCommand {}
extension WorkingSet: PoolCommand {}

extension ExitStatus {
    /// `message` about `command`, prefixed with the pool's path when it does not name it.
    static func naming(_ message: String, of command: ParsableCommand?) -> String {
        guard let pool = (command as? PoolCommand)?.pool, !message.contains(pool) else { return message }
        // A region at an offset (`<path>@<offset>`): the message names the file; name the region instead.
        if let file = (try? RegionPath(pool))?.path, file != pool, message.hasPrefix(file + ":") {
            return pool + message.dropFirst(file.count)
        }
        return "\(pool): \(message)"
    }
}
