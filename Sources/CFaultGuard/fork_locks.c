// Writer-lock descriptors closed in a forked child: see fork_locks.h.

#define _GNU_SOURCE
#include "fork_locks.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <unistd.h>

static pthread_mutex_t registry_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t handlers_once = PTHREAD_ONCE_INIT;
static int handlers_error;
static int *fds;
static int count, capacity;

// The mutex is held across fork() so the child never sees a half-updated list.
// With descriptors registered, fork() also makes a pipe: the child closes its
// write end after closing its copies of the locks, and the parent's fork()
// returns only after reading EOF, so once fork() returns the child holds no
// lock (a parent that closes its store right after forking can reopen it).
static int handshake[2] = {-1, -1};

static void before_fork(void) {
    pthread_mutex_lock(&registry_mutex);
    if (count > 0 && pipe2(handshake, O_CLOEXEC) != 0) handshake[0] = handshake[1] = -1;
}

static void in_parent(void) {
    if (handshake[0] >= 0) {
        close(handshake[1]);
        char c;
        // EOF once the child closed its end (or died); EINTR: read again.
        while (read(handshake[0], &c, 1) != 0 && errno == EINTR) {}
        close(handshake[0]);
        handshake[0] = handshake[1] = -1;
    }
    pthread_mutex_unlock(&registry_mutex);
}

// Only the forking thread exists in the child: close() is async-signal-safe.
// Closing the child's copies leaves the parent's lock as it was; the lock's
// file description is released when the parent closes its descriptor.
static void in_child(void) {
    for (int i = 0; i < count; i++) close(fds[i]);
    count = 0;
    if (handshake[0] >= 0) {
        close(handshake[0]);
        close(handshake[1]);
        handshake[0] = handshake[1] = -1;
    }
    pthread_mutex_unlock(&registry_mutex);
}

static void install_handlers(void) { handlers_error = pthread_atfork(before_fork, in_parent, in_child); }

// Room for one more descriptor; called with the mutex held.
static int reserve_slot(void) {
    if (count < capacity) return 0;
    int grown = capacity ? capacity * 2 : 16;
    int *p = realloc(fds, (size_t)grown * sizeof *fds);
    if (p == NULL) return ENOMEM;
    fds = p;
    capacity = grown;
    return 0;
}

int pmt_fork_locks_take(int fd, const char *path, int *out) {
    *out = -1;
    pthread_once(&handlers_once, install_handlers);
    if (handlers_error != 0) return handlers_error;
    // Everything under the mutex: a fork() from another thread waits for it
    // (before_fork takes the mutex), so no child ever inherits a lock
    // descriptor that is not registered yet (or any more).
    pthread_mutex_lock(&registry_mutex);
    int result = reserve_slot();
    int lock_fd = -1;
    if (result == 0) {
        char proc[40];
        snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
        lock_fd = open(proc, O_RDONLY | O_CLOEXEC);
        if (lock_fd < 0 && path != NULL) lock_fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        if (lock_fd < 0) result = errno;
    }
    if (result == 0) {
        // The same file as fd: a fallback open of a renamed path must not lock another one.
        struct stat a, b;
        if (fstat(fd, &a) != 0 || fstat(lock_fd, &b) != 0) result = errno;
        else if (a.st_dev != b.st_dev || a.st_ino != b.st_ino) result = ESTALE;
        else if (flock(lock_fd, LOCK_EX | LOCK_NB) != 0) result = errno;
    }
    if (result == 0) {
        fds[count++] = lock_fd;
        *out = lock_fd;
    } else if (lock_fd >= 0) {
        close(lock_fd);
    }
    pthread_mutex_unlock(&registry_mutex);
    return result;
}

void pmt_fork_locks_release(int fd) {
    if (fd < 0) return;
    pthread_mutex_lock(&registry_mutex);
    for (int i = 0; i < count; i++) {
        if (fds[i] == fd) { fds[i] = fds[--count]; break; }
    }
    close(fd);
    pthread_mutex_unlock(&registry_mutex);
}
