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
        let (status, text, pool) = try runCProgram(Self.program, name: "writer")
        defer { unlink(pool) }
        #expect(status == 0)
        #expect(text.contains("empty name: invalid volume name: empty"))
        // Merged by timestamp: lane 0 record i, lane 1 record i, lane 0 record i+1, …
        let expected = (0..<1000).flatMap { i in (0..<2).map { "lane \($0) record \(i)\n" } }.joined()
        #expect(try pmtrace(["read", pool, "from-c"]).out == expected)
        // Each lane's 300 accesses became one memory-access batch record after its blobs.
        let dump = try pmtrace(["dump", pool, "from-c"]).out.split(separator: "\n")
        #expect(dump.filter { $0.contains("kind=memory-access") && $0.contains("accesses=300") }.count == 2)
    }
}
