import Foundation
import Testing

/// A C program links libPMTraceC.so through include/pmtrace.h, writes two
/// lanes from two threads, and `pmtrace` reads the result back in another
/// process.
@Suite(.serialized) struct CInterfaceTests {
    static let program = #"""
    #include <pmtrace.h>
    #include <pthread.h>
    #include <stdio.h>
    #include <string.h>

    static pmt_pool *pool;

    static void *writer(void *arg) {
        uint32_t lane = (uint32_t)(uintptr_t)arg;
        pmt_lane *l;
        if (pmt_lane_open(pool, "from-c", lane, &l) != 0) { fprintf(stderr, "lane: %s\n", pmt_last_error()); return (void *)1; }
        char buf[64];
        for (int i = 0; i < 1000; i++) {
            int n = snprintf(buf, sizeof buf, "lane %u record %d\n", lane, i);
            if (pmt_append(l, PMT_KIND_BLOB, buf, (size_t)n, 1000000u * (uint64_t)i + lane + 1) != 0) {
                fprintf(stderr, "append: %s\n", pmt_last_error());
                return (void *)1;
            }
            if (i % 100 == 99) pmt_commit(l);
        }
        /* Memory accesses through the batch encoder, written at close. */
        pmt_access a[300];
        for (int i = 0; i < 300; i++) {
            a[i].address = 0x10000u * lane + 8u * (uint64_t)i;
            a[i].size = 8;
            a[i].kind = PMT_ACCESS_STORE;
        }
        if (pmt_append_accesses(l, a, 300) != 0) { fprintf(stderr, "accesses: %s\n", pmt_last_error()); return (void *)1; }
        a[0].kind = 9;
        if (pmt_append_accesses(l, a, 1) != PMT_E_INVALID) { fprintf(stderr, "bad access kind accepted\n"); return (void *)1; }
        pmt_lane_close(l);
        return 0;
    }

    int main(int argc, char **argv) {
        if (pmt_open(argv[1], 1, 0, &pool) != 0) { fprintf(stderr, "open: %s\n", pmt_last_error()); return 1; }
        if (pmt_volume_create(pool, "from-c", 2, 0) < 0) { fprintf(stderr, "create: %s\n", pmt_last_error()); return 1; }
        if (pmt_volume_create(pool, "", 1, 0) == 0) { fprintf(stderr, "empty name accepted\n"); return 1; }
        printf("empty name: %s\n", pmt_last_error());
        pthread_t t[2];
        for (uintptr_t i = 0; i < 2; i++) pthread_create(&t[i], 0, writer, (void *)i);
        void *r0, *r1;
        pthread_join(t[0], &r0);
        pthread_join(t[1], &r1);
        pmt_close(pool);
        return r0 || r1;
    }
    """#

    @Test func cProgramWritesTwoLanes() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let binDir = URL(fileURLWithPath: pmtraceBinary).deletingLastPathComponent().path
        let source = scratchPath("writer") + ".c", exe = scratchPath("writer"), pool = scratchPath("pool")
        defer { unlink(source); unlink(exe); unlink(pool) }
        try Self.program.write(toFile: source, atomically: true, encoding: .utf8)
        let swift = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map { "\($0)/swift" }
            .first { FileManager.default.isExecutableFile(atPath: $0) }
        let clang = swift.map { URL(fileURLWithPath: $0).resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent("clang").path } ?? "/usr/bin/cc"
        let cc = Process()
        cc.executableURL = URL(fileURLWithPath: FileManager.default.isExecutableFile(atPath: clang) ? clang : "/usr/bin/cc")
        cc.arguments = [source, "-o", exe, "-I", root.appendingPathComponent("include").path, "-L", binDir, "-lPMTraceC",
                        "-Wl,-rpath,\(binDir)", "-lpthread", "-Wall", "-Werror"]
        try cc.run()
        cc.waitUntilExit()
        try #require(cc.terminationStatus == 0, "the C program did not compile")
        #expect(try pmtrace(["format", pool, "--size", "16M"]).status == 0)
        let run = Process()
        run.executableURL = URL(fileURLWithPath: exe)
        run.arguments = [pool]
        let out = Pipe()
        run.standardOutput = out
        try run.run()
        let text = String(decoding: out.fileHandleForReading.readToEndRetrying(), as: UTF8.self)
        run.waitUntilExit()
        #expect(run.terminationStatus == 0)
        #expect(text.contains("empty name: invalid volume name: empty"))
        // Merged by timestamp: lane 0 record i, lane 1 record i, lane 0 record i+1, …
        let expected = (0..<1000).flatMap { i in (0..<2).map { "lane \($0) record \(i)\n" } }.joined()
        #expect(try pmtrace(["read", pool, "from-c"]).out == expected)
        // Each lane's 300 accesses became one memory-access batch record after its blobs.
        let dump = try pmtrace(["dump", pool, "from-c"]).out.split(separator: "\n")
        #expect(dump.filter { $0.contains("kind=memory-access") && $0.contains("accesses=300") }.count == 2)
    }
}
