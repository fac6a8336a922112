// Hidden roles for the transfer experiment's child processes; everything
// else goes through the command-line parser.
import Foundation

let arguments = CommandLine.arguments
if arguments.count == 5 && arguments[1] == "_transfer-producer" {
    do { try transferProducer(Array(arguments[2...])) } catch { FileHandle.standardError.write(Data("\(error)\n".utf8)); exit(1) }
} else if arguments.count == 5 && arguments[1] == "_transfer-consumer" {
    do { try transferConsumer(Array(arguments[2...])) } catch { FileHandle.standardError.write(Data("\(error)\n".utf8)); exit(1) }
} else if arguments.count == 4 && arguments[1] == "_anchor-producer" {
    do { try anchorProducer(Array(arguments[2...])) } catch { FileHandle.standardError.write(Data("\(error)\n".utf8)); exit(1) }
} else if arguments.count == 4 && arguments[1] == "_anchor-consumer" {
    do { try anchorConsumer(Array(arguments[2...])) } catch { FileHandle.standardError.write(Data("\(error)\n".utf8)); exit(1) }
} else if (arguments.count == 4 || arguments.count == 5) && ["_profile-append", "_profile-append-each", "_profile-append-batch"].contains(arguments[1]) {
    // For profilers (perf, callgrind): appends of <size>-byte records, <total> bytes, one
    // commit at the end (_profile-append) or after every record (_profile-append-each);
    // _profile-append-batch: up to 4 KiB of records per `append(batch:)` call, one commit;
    // with [window], records come from a window-byte buffer as in `peers` (see profileAppend).
    do {
        try profileAppend(size: Int(arguments[2])!, total: Int(arguments[3])!, window: arguments.count == 5 ? Int(arguments[4])! : 0,
                          commitEach: arguments[1] == "_profile-append-each", batch: arguments[1] == "_profile-append-batch")
    } catch { FileHandle.standardError.write(Data("\(error)\n".utf8)); exit(1) }
} else if arguments.count == 3 && arguments[1] == "_profile-stream" {
    // For profilers: the group stream alone, without the writer (see profileStream).
    do { try profileStream(size: Int(arguments[2])!) } catch { FileHandle.standardError.write(Data("\(error)\n".utf8)); exit(1) }
} else if (4...5).contains(arguments.count) && arguments[1] == "_profile-read" {
    // For profilers: the verified read of <size>-byte records, <total> bytes
    // (`batch` as a last argument: only the batch copy-out rows, 40 times each).
    do { try profileRead(size: Int(arguments[2])!, total: Int(arguments[3])!, onlyBatch: arguments.count == 5 && arguments[4] == "batch") } catch { FileHandle.standardError.write(Data("\(error)\n".utf8)); exit(1) }
} else if (3...5).contains(arguments.count) && arguments[1] == "_profile-bulk-read" {
    // For profilers: the sweep's large verified reads of <block>-byte records (see profileBulkRead).
    do {
        try profileBulkRead(block: Int(arguments[2])!, repetitions: arguments.count >= 4 ? Int(arguments[3])! : 7,
                            only: arguments.count == 5 ? arguments[4] : nil)
    } catch { FileHandle.standardError.write(Data("\(error)\n".utf8)); exit(1) }
} else if (3...4).contains(arguments.count) && arguments[1] == "_profile-copy-calls" {
    // For profilers: the one-pass copy-out's calls timed through the reader and without it (see profileCopyCalls).
    do { try profileCopyCalls(block: Int(arguments[2])!, repetitions: arguments.count == 4 ? Int(arguments[3])! : 7) } catch { FileHandle.standardError.write(Data("\(error)\n".utf8)); exit(1) }
} else if arguments.count == 2 && arguments[1] == "_profile-encode" {
    // For profilers: the memory-access batch encoder alone (what `events` prints as "encoder alone").
    do { try profileEncode() } catch { FileHandle.standardError.write(Data("\(error)\n".utf8)); exit(1) }
} else {
    BenchmarksCommand.main()
}
