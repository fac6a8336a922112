#ifndef PMT_FORK_LOCKS_H
#define PMT_FORK_LOCKS_H

/// Writer-lock descriptors that a forked child must not keep.
///
/// A region's writer lock is an flock on an open file description of its
/// own (not the one mapped: a mapping holds its file description, so a
/// child that inherits the mapping would hold the lock for as long as it
/// lives). A child inherits the lock's descriptor too; the child handler
/// installed here closes every registered one in the child, so the lock is
/// released when the parent lets it go, whatever the child does. While
/// descriptors are registered, fork() returns in the parent only after the
/// child has closed its copies (a pipe: the child closes its end in its
/// handler), so a parent may close its store and reopen it at once. Cost:
/// one pipe and one wake-up of the child per fork. vfork and posix_spawn
/// run no handlers; the descriptors are close-on-exec.
///
/// Thread safety: all functions may be called from any thread; fork() from
/// any thread is safe (the registry's mutex is held across the fork).

/// Registers `fd` (installs the fork handlers on first use). Returns 0, or
/// an errno value (ENOMEM) when it cannot be registered.
int pmt_fork_locks_register(int fd);

/// Forgets `fd` (call before closing it). Does nothing for an fd not registered.
void pmt_fork_locks_unregister(int fd);

/// How many descriptors are registered (for tests).
int pmt_fork_locks_count(void);

#endif
