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

#include <stdint.h>

/* Open (or reuse) a per-process, process-lifetime handle to the lock
 * called name (a valid name) whose identity is id (pp__lock_id() in the
 * sending process). Never closed by the caller. Errors: those of
 * pp_lock_open(), and PP_ENOENT if name now names another lock (the one
 * with id was destroyed and the name created again). */
pp_status pp__lock_resolve(const char *name, uint64_t id, pp_lock **out);

/* The same for a shared memory block. */
pp_status pp__shm_resolve(const char *name, uint64_t id, pp_shm **out);

/* The identity of a lock or block: random, non-zero, the same in every
 * process, another one for an object created later under the same name.
 * 0 for NULL, and for a lock of a backend without one (manager). */
uint64_t pp__lock_id(const pp_lock *lock);
uint64_t pp__shm_id(const pp_shm *shm);

/* 1 if the calling thread holds the local lock (without taking it: the
 * "a holder died" notice stays for the next acquirer); 0 if not, or for
 * another backend's lock. */
int pp__lock_held(const pp_lock *lock);

/* A lock hosted elsewhere (a manager's): 1 and its locator in *loc
 * (struct pp__locator, sync/remote.h); 0 for a lock that travels by
 * name. */
struct pp__locator;
int pp__lock_locator(const pp_lock *lock, struct pp__locator *loc);

/* The int64 atomics shm blocks and arrays share (shm_atomic.c): add
 * delta and return the new value; compare-and-swap, telling whether it
 * swapped (*swapped) and the value it met (*seen; either may be NULL). */
int64_t pp__atomic64_add(volatile uint64_t *p, int64_t delta);
void pp__atomic64_cas(volatile uint64_t *p, int64_t expected, int64_t desired, int *swapped,
                      int64_t *seen);

#endif /* PROCPOOL_SYNC_SYNC_H */
