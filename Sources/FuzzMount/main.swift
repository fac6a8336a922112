// Replays the files named on the command line (a corpus or a crash
// reproducer) through the fuzz body. scripts/fuzz.sh renames this entry point
// so that libFuzzer's main runs instead.
import Foundation
import FuzzTarget

var replayed = 0
for path in CommandLine.arguments.dropFirst() {
    guard let data = FileManager.default.contents(atPath: path) else {
        FileHandle.standardError.write(Data("FuzzMount: cannot read \(path)\n".utf8))
        exit(2)
    }
    data.withUnsafeBytes { fuzzOne($0) }
    replayed += 1
}
print("FuzzMount: replayed \(replayed) input(s) without a trap")
