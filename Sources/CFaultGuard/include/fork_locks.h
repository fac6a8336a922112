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

/// Takes the writer lock of the file open at `fd`: opens a new file
/// description of it (`/proc/self/fd/<fd>`, else `path`, which must name the
/// same file), flocks it exclusively without blocking and registers it, all
/// under the registry's mutex (a concurrent fork() waits, so no child
/// inherits a lock descriptor that is not registered). Returns 0 and the
/// lock's descriptor in *out, or an errno value: EWOULDBLOCK when another
/// open file description holds the lock, ESTALE when `path` names another
/// file now, ENOMEM, or what open/fstat/flock/pthread_atfork reported.
int pmt_fork_locks_take(int fd, const char *path, int *out);

/// Unregisters and closes a descriptor from pmt_fork_locks_take (under the
/// mutex, so a concurrent fork() never copies it unregistered). Nothing for -1.
void pmt_fork_locks_release(int fd);

#endif
