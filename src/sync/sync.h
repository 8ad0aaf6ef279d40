/*
 * sync.h — the sync layer's entry points for the layers above it: start
 * and stop its per-process caches, and resolve objects that arrive by
 * name in task arguments.
 */
#ifndef PROCPOOL_SYNC_SYNC_H
#define PROCPOOL_SYNC_SYNC_H

#include "procpool/lock.h"
#include "procpool/shm.h"

/* Create the per-process caches of named locks and shm blocks (pp_init;
 * needs the core's global pool). */
pp_status pp__sync_init(void);

/* pp_shutdown: close the handles the caches handed out for task
 * arguments, forget the caches. */
void pp__sync_shutdown(void);

/* Open (or reuse) a per-process, process-lifetime handle to the lock
 * called name (a valid name). Never closed by the caller. Errors: those of
 * pp_lock_open(). */
pp_status pp__lock_resolve(const char *name, pp_lock **out);

/* The same for a shared memory block. */
pp_status pp__shm_resolve(const char *name, pp_shm **out);

/* A lock hosted elsewhere (a manager's): 1 and its locator in *loc
 * (struct pp__locator, sync/remote.h); 0 for a lock that travels by
 * name. */
struct pp__locator;
int pp__lock_locator(const pp_lock *lock, struct pp__locator *loc);

#endif /* PROCPOOL_SYNC_SYNC_H */
