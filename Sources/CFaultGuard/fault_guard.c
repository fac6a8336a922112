// SIGBUS on a mapped file (truncated underneath us, or a hole that cannot be
// backed because the file system is full) must not kill the process: see
// include/fault_guard.h. Everything the handler touches is lock-free atomics
// on a static table; mmap is a plain system call.
#define _GNU_SOURCE
#include "fault_guard.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define SLOTS 64

struct range {
    _Atomic uintptr_t start;   // 0: free
    _Atomic uintptr_t end;
    _Atomic uint64_t faults;
    _Atomic uintptr_t first;
    _Atomic int fd;               // >= 0: a regular file whose size is checked after each persist
    _Atomic uint64_t file_end;    // the file offset just past the mapping
    void (*_Atomic inner)(const void *, size_t);
};

static struct range table[SLOTS];
// The persist function of the last watched slot: pmt_fault_guard_persist_checked never skips a
// persist, even for an address no slot holds (libpmem2 gives every page-granularity map the same one).
static void (*_Atomic any_inner)(const void *, size_t);
static struct sigaction previous;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int install_error;

static void on_sigbus(int sig, siginfo_t *info, void *context) {
    uintptr_t a = (uintptr_t)info->si_addr;
    for (int i = 0; i < SLOTS; i++) {
        uintptr_t s = atomic_load(&table[i].start);
        if (s == 0 || a < s || a >= atomic_load(&table[i].end)) continue;
        uintptr_t page = a & ~((uintptr_t)sysconf(_SC_PAGESIZE) - 1);
        void *p = mmap((void *)page, (size_t)sysconf(_SC_PAGESIZE), PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        if (p == MAP_FAILED) break;
        uintptr_t none = 0;
        atomic_compare_exchange_strong(&table[i].first, &none, a);
        atomic_fetch_add(&table[i].faults, 1);
        return;  // the faulting instruction runs again, against the zero page
    }
    // Not ours: let the previous disposition handle the fault when it recurs.
    sigaction(SIGBUS, &previous, NULL);
    (void)sig;
    (void)context;
}

static void install_once(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigbus;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGBUS, &sa, &previous) != 0) { install_error = errno; return; }
    struct sigaction ignore;
    memset(&ignore, 0, sizeof ignore);
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    if (sigaction(SIGXFSZ, &ignore, NULL) != 0) install_error = errno;
}

int pmt_fault_guard_install(void) {
    pthread_once(&once, install_once);
    return install_error;
}

int pmt_fault_guard_register(const void *base, size_t length) {
    uintptr_t s = (uintptr_t)base;
    for (int i = 0; i < SLOTS; i++) {
        uintptr_t expected = 0;
        if (atomic_compare_exchange_strong(&table[i].start, &expected, (uintptr_t)-1)) {
            atomic_store(&table[i].faults, 0);
            atomic_store(&table[i].first, 0);
            atomic_store(&table[i].fd, -1);
            atomic_store(&table[i].end, s + length);
            atomic_store(&table[i].start, s);
            return i;
        }
    }
    return -1;
}

void pmt_fault_guard_unregister(int slot) {
    if (slot < 0 || slot >= SLOTS) return;
    atomic_store(&table[slot].fd, -1);
    atomic_store(&table[slot].end, 0);
    atomic_store(&table[slot].start, 0);
}

uint64_t pmt_fault_guard_faults(int slot, uintptr_t *first_address) {
    if (slot < 0 || slot >= SLOTS) { *first_address = 0; return 0; }
    *first_address = atomic_load(&table[slot].first);
    return atomic_load(&table[slot].faults);
}

const volatile uint64_t *pmt_fault_guard_counter(int slot) {
    if (slot < 0 || slot >= SLOTS) return 0;
    // The count is an _Atomic uint64_t; an aligned 8-byte load of it is atomic on every target we run.
    return (const volatile uint64_t *)&table[slot].faults;
}

void pmt_fault_guard_watch_size(int slot, int fd, uint64_t file_end, void (*persist)(const void *, size_t)) {
    if (slot < 0 || slot >= SLOTS || fd < 0 || persist == 0) return;
    atomic_store(&table[slot].inner, persist);
    atomic_store(&any_inner, persist);
    atomic_store(&table[slot].file_end, file_end);
    atomic_store(&table[slot].fd, fd);
}

void pmt_fault_guard_persist_checked(const void *addr, size_t len) {
    uintptr_t a = (uintptr_t)addr;
    for (int i = 0; i < SLOTS; i++) {
        uintptr_t s = atomic_load(&table[i].start);
        if (s == 0 || a < s || a >= atomic_load(&table[i].end)) continue;
        void (*inner)(const void *, size_t) = atomic_load(&table[i].inner);
        if (inner) inner(addr, len);
        int fd = atomic_load(&table[i].fd);
        struct stat st;
        uint64_t end = atomic_load(&table[i].file_end);
        if (fd >= 0 && fstat(fd, &st) == 0 && (uint64_t)st.st_size < end) {
            // Shorter than the mapping: the pages past the new end are gone, whether or not a
            // store of ours touched them since (msync reports nothing for them).
            uintptr_t none = 0;
            uint64_t file_start = end - (uint64_t)(atomic_load(&table[i].end) - s);
            uintptr_t cut = (uint64_t)st.st_size > file_start ? s + (uintptr_t)((uint64_t)st.st_size - file_start) : s;
            atomic_compare_exchange_strong(&table[i].first, &none, cut);
            atomic_fetch_add(&table[i].faults, 1);
        }
        return;
    }
    void (*inner)(const void *, size_t) = atomic_load(&any_inner);
    if (inner) inner(addr, len);
}
