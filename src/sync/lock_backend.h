/*
 * lock_backend.h — the seam where a lock backend plugs in behind pp_lock.
 *
 * Every pp_lock starts with a pointer to its backend's operations; the
 * public calls (lock.c) check their arguments once and dispatch. Today
 * there are two backends, the local named robust mutex (lock_local.c)
 * and the manager's lock (manager/mgr_client.c, a layer above, which
 * includes this header); a Redis lease would be another row of the same
 * table (DESIGN.md §8). A backend keeps the public semantics of lock.h:
 * acquire returns PP_OK, PP_EOWNERDEAD (acquired; the previous holder
 * died), PP_ETIMEDOUT or PP_EDEADLK; release by a non-holder is PP_EPERM.
 */
#ifndef PROCPOOL_SYNC_LOCK_BACKEND_H
#define PROCPOOL_SYNC_LOCK_BACKEND_H

#include <stdint.h>

#include "procpool/lock.h"
#include "sync/remote.h"

typedef struct pp__lock_backend {
    const char *kind; /* "local", ... (log lines, tests) */
    /* timeout_ms: PP_INFINITE or >= 0 (checked by the caller). */
    pp_status (*acquire)(pp_lock *lock, int64_t timeout_ms);
    pp_status (*try_acquire)(pp_lock *lock);
    pp_status (*release)(pp_lock *lock);
    /* The lock's name (lock.h); what travels in task arguments unless
     * the backend has a locator. NULL: no name (manager locks). */
    const char *(*name)(const pp_lock *lock);
    /* Fencing token of the last acquire through this handle; NULL: the
     * backend has none (pp_lock_fencing_token() returns 0). */
    uint64_t (*fencing_token)(const pp_lock *lock);
    /* Close the handle; the creating handle also removes the name. */
    void (*destroy)(pp_lock *lock);
    /* A lock hosted elsewhere: its locator (sync/remote.h), what travels
     * in task arguments instead of a name. NULL: travels by name. */
    void (*locator)(const pp_lock *lock, pp__locator *out);
} pp__lock_backend;

/* First member of every backend's handle. */
struct pp_lock {
    const pp__lock_backend *backend;
};

/* The local backend (lock_local.c): create / open by name. */
pp_status pp__lock_local_create(const char *name, pp_lock **out);
pp_status pp__lock_local_open(const char *name, pp_lock **out);

#endif /* PROCPOOL_SYNC_LOCK_BACKEND_H */
