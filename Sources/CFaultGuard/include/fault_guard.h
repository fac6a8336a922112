#ifndef PMT_FAULT_GUARD_H
#define PMT_FAULT_GUARD_H

#include <stddef.h>
#include <stdint.h>

/// Installs (once, process-wide) a SIGBUS handler for registered mappings and
/// sets SIGXFSZ to be ignored, so a file-size limit makes the system call fail
/// with EFBIG instead of killing the process. Returns 0, or an errno value.
///
/// On a SIGBUS inside a registered range the handler maps an anonymous zero
/// page over the faulting page and records the fault (first address, count):
/// the faulting load or store then completes against that page (loads read
/// zeros, stores are lost). A SIGBUS anywhere else restores the previous
/// disposition and lets the fault happen again, so it behaves as before.
int pmt_fault_guard_install(void);

/// Registers [base, base+length). Returns a slot >= 0, or -1 if the table
/// (64 entries) is full. Async-signal-safe to race with faults.
int pmt_fault_guard_register(const void *base, size_t length);

/// Forgets a slot (call before unmapping the range).
void pmt_fault_guard_unregister(int slot);

/// Faults recorded in a slot since registration; *first_address receives the
/// first faulting address (0 when there was none).
uint64_t pmt_fault_guard_faults(int slot, uintptr_t *first_address);

/// The address of a slot's fault count (what pmt_fault_guard_faults
/// returns), for a store to poll with one load (pmt_region.lost_stores).
/// Valid until the slot is unregistered; NULL for a slot out of range.
const volatile uint64_t *pmt_fault_guard_counter(int slot);

/// Makes pmt_fault_guard_persist_checked, for addresses in `slot`, call
/// `persist` and then compare the size of regular file `fd` with
/// `file_end` (the file offset just past the mapping): a file found shorter
/// counts as a fault (first address: where the file now ends), because the
/// pages past its end are gone even if no store of ours touched them since
/// and msync reports nothing for them. For page-granularity mappings of
/// regular files, where persist is already a system call. `fd` must stay
/// open until the slot is unregistered.
void pmt_fault_guard_watch_size(int slot, int fd, uint64_t file_end, void (*persist)(const void *, size_t));

/// A persist function (pmt_persist_fn) for watched slots: the slot's persist,
/// then the size check above. An address outside every slot is still
/// persisted (with the last watched slot's function), without the check.
void pmt_fault_guard_persist_checked(const void *addr, size_t len);

#endif
