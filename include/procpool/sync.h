/**
 * @file sync.h
 * @brief Local synchronization between processes without a server:
 *        semaphores, events, barriers and conditions (Python's
 *        multiprocessing.Semaphore / BoundedSemaphore, Event, Barrier,
 *        Condition).
 *
 * Each object is named and shareable exactly like a pp_lock (lock.h):
 * created or opened by name from any process of the machine, passed to
 * pool workers as a task or initializer argument (pp_values_add_sem()
 * ... in value.h), inherited under the fork start method, on POSIX and
 * Windows alike. The manager hosts the same kinds (manager_objects.h:
 * pp_msem, pp_mevent, pp_mbarrier, pp_mcond) with the same operations,
 * results and error codes; pick by reach (one machine: these, faster;
 * over a network: the manager's).
 *
 * Names: NULL for a fresh unpredictable one, or 1..#PP_NAME_MAX
 * characters from [A-Za-z0-9._-] (not "." or ".."); one namespace with
 * locks and shm blocks. Lifetime as for locks: the creating handle owns
 * the name and its destroy removes it (later opens get #PP_ENOENT);
 * handles others hold keep working among themselves; a creator killed
 * without destroying does not leave the name behind (lock.h). A name
 * destroyed and created again is another object: a handle that arrives
 * in task arguments names the object it was made from, never a newer
 * one (#PP_ENOENT if that one is gone). On Windows the name itself
 * cannot be created again (#PP_EEXIST) until the last handle of the
 * destroyed object closes, in any process (shm.h; on POSIX it can at
 * once).
 *
 * Robustness: a participant is a process. Every wait is sliced: a waiter
 * checks the liveness of the processes that could block it at least
 * every 50 ms, so the death of a participant (killed, crashed) is noticed
 * within a slice and never makes another wait forever. A process killed
 * in the middle of an operation cannot leave an object half-updated: the
 * next process repairs it (each update is logged before it is applied).
 * What a death does, per kind:
 *  - semaphore: the units the dead process had acquired (and not
 *    released) are given back, and the next acquirer gets
 *    #PP_EOWNERDEAD ("acquired; a holder died"), once; created with
 *    #PP_SEM_UNOWNED: no owner-death reporting (nothing given back,
 *    nobody told: Python's counting semantics);
 *  - event: nothing to give back;
 *  - barrier: a waiter that dies breaks the barrier: the others get
 *    #PP_EBROKEN;
 *  - condition: a waiter that dies is forgotten; a notify it had been
 *    given passes on to the next waiter (never lost to a dead process).
 * At most #PP_SYNC_PROCS processes can hold a semaphore's units, wait at
 * a barrier or wait on a condition at the same time (#PP_ETOOBIG past).
 *
 * fork(): a child inherits working handles (the objects are shared
 * memory), but it is another participant: units its parent acquired
 * stay the parent's (the child's release just adds a unit, Python's
 * semantics), and what the child acquires is given back when it ends.
 *
 * Timeouts: milliseconds, #PP_INFINITE (-1) for none, other negative
 * values #PP_EINVAL. Each object has a short internal critical section
 * (a few stores); a process stopped inside one (SIGSTOP, a debugger; a
 * dead one is repaired at once) delays the others until it runs again.
 * pp_sem_acquire() and pp_event_wait() still end by their timeout then;
 * pp_barrier_wait(), pp_cond_wait(), and the calls without a timeout
 * wait for it. Handles are thread-safe. Common errors of every
 * call, not repeated below: #PP_EINVAL for a NULL handle or pointer,
 * #PP_ESYS for an OS failure (pp_os_error()).
 */
#ifndef PROCPOOL_SYNC_H
#define PROCPOOL_SYNC_H

#include <stdint.h>

#include "common.h"
#include "error.h"
#include "export.h"
#include "lock.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Processes a semaphore, barrier or condition records at once. */
#define PP_SYNC_PROCS 128
/** Largest value of a semaphore. */
#define PP_SEM_MAX ((int64_t)1 << 30)
/** Largest number of parties of a barrier. */
#define PP_BARRIER_MAX PP_SYNC_PROCS

/* ========================================================== Semaphore */

/** A named semaphore (Semaphore / BoundedSemaphore). */
typedef struct pp_sem pp_sem;

/** pp_sem_create() flag: a BoundedSemaphore, whose release above the
 *  initial value fails with #PP_ESTATE (Python: ValueError). */
#define PP_SEM_BOUNDED 1
/**
 * pp_sem_create() flag: no owner-death reporting. Python's counting
 * semantics: an acquire consumes a unit and only a release (by any
 * process) adds one; units a process took are NOT given back when it
 * dies, and no acquirer is told (never #PP_EOWNERDEAD). In exchange no
 * holder is recorded: any number of processes (never #PP_ETOOBIG), and
 * acquire / release are one atomic operation on shared memory, without
 * the state mutex. For semaphores used as counters or signals (a
 * producer releases, a consumer acquires) rather than as a bounded
 * number of holders of a resource.
 */
#define PP_SEM_UNOWNED 2

/**
 * @brief Create a semaphore with an initial value.
 *
 * @param name NULL or a name (file comment).
 * @param value initial value, 0..#PP_SEM_MAX.
 * @param flags 0, or #PP_SEM_BOUNDED and / or #PP_SEM_UNOWNED (or-ed).
 *        (0 and 1 mean what the former "bounded" argument meant.)
 * @param[out] out a handle owned by the caller; pp_sem_destroy() frees it
 *        and removes the name.
 * @return #PP_OK.
 *
 * Errors the caller must handle:
 *  - #PP_EINVAL: out NULL, bad name, value out of range, unknown flags.
 *  - #PP_EEXIST: the name is taken (by any procpool object).
 *  - #PP_ENOTINIT, #PP_ENOMEM, #PP_EACCES, #PP_ESYS.
 */
PP_API pp_status pp_sem_create(const char *name, int64_t value, int flags, pp_sem **out);

/**
 * @brief Open an existing semaphore by name.
 * @param[out] out a handle owned by the caller (pp_sem_destroy() only
 *        closes it).
 * @return #PP_OK.
 *
 * Errors the caller must handle: #PP_ENOENT (no such name), #PP_ETYPE
 * (another sync kind), #PP_EINVAL (bad name, or another procpool object:
 * a lock, a shm block), #PP_ENOTINIT, #PP_ENOMEM, #PP_EACCES, #PP_ESYS.
 */
PP_API pp_status pp_sem_open(const char *name, pp_sem **out);

/**
 * @brief Take one unit, waiting up to timeout_ms while the value is 0.
 *
 * The unit is recorded against the calling process until a release by it
 * (or its death: then the unit is given back). Not so with
 * #PP_SEM_UNOWNED: the unit is consumed, nothing is recorded.
 *
 * @return #PP_OK, or #PP_EOWNERDEAD: acquired, and a process that held
 *         units died without releasing them (told once, to the next
 *         acquirer; never with #PP_SEM_UNOWNED).
 *
 * Errors the caller must handle:
 *  - #PP_ETIMEDOUT: no unit within timeout_ms.
 *  - #PP_ETOOBIG: #PP_SYNC_PROCS other processes hold units already
 *    (never with #PP_SEM_UNOWNED).
 *  - #PP_EINVAL: timeout below 0 and not #PP_INFINITE.
 */
PP_API pp_status pp_sem_acquire(pp_sem *s, int64_t timeout_ms);

/**
 * @brief Take one unit if one is free now.
 * @return #PP_OK or #PP_EOWNERDEAD (as pp_sem_acquire()).
 *
 * Errors the caller must handle: #PP_EBUSY (value 0), #PP_ETOOBIG.
 */
PP_API pp_status pp_sem_try_acquire(pp_sem *s);

/**
 * @brief Give one unit back. Any process may (Python's semantics): the
 *        caller's own record is decreased if it holds units, else a unit
 *        is just added.
 * @return #PP_OK.
 *
 * Errors the caller must handle: #PP_ESTATE: a bounded semaphore is at
 * its initial value, or the value is at #PP_SEM_MAX.
 */
PP_API pp_status pp_sem_release(pp_sem *s);

/**
 * @brief The value now (free units) in *value.
 * @return #PP_OK. Errors: the common ones (file comment).
 */
PP_API pp_status pp_sem_value(pp_sem *s, int64_t *value);

/** @brief The name (valid until pp_sem_destroy()); NULL for NULL. */
PP_API const char *pp_sem_name(const pp_sem *s);

/** @brief Close the handle; the creator's also removes the name. NULL ok.
 *  Units this process holds stay held until it releases them or ends. */
PP_API void pp_sem_destroy(pp_sem *s);

/* ============================================================== Event */

/** A named event: a flag with wait (Python's Event). */
typedef struct pp_event pp_event;

/**
 * @brief Create an event, clear.
 * @param[out] out a handle owned by the caller (pp_event_destroy() also
 *        removes the name).
 * @return #PP_OK.
 *
 * Errors the caller must handle: #PP_EINVAL (out NULL, bad name),
 * #PP_EEXIST, #PP_ENOTINIT, #PP_ENOMEM, #PP_EACCES, #PP_ESYS.
 */
PP_API pp_status pp_event_create(const char *name, pp_event **out);

/**
 * @brief Open an event by name.
 * @return #PP_OK. Errors the caller must handle: as pp_sem_open().
 */
PP_API pp_status pp_event_open(const char *name, pp_event **out);

/** @brief Set the flag and wake every waiter. @return #PP_OK. */
PP_API pp_status pp_event_set(pp_event *e);

/** @brief Clear the flag. @return #PP_OK. */
PP_API pp_status pp_event_clear(pp_event *e);

/** @brief The flag now: *set gets 1 or 0. @return #PP_OK. */
PP_API pp_status pp_event_is_set(pp_event *e, int *set);

/**
 * @brief Wait up to timeout_ms until the flag is set. A set during the
 *        wait counts even if a clear follows at once (Python: wait()
 *        returns True).
 * @return #PP_OK.
 *
 * Errors the caller must handle: #PP_ETIMEDOUT (not set in time),
 * #PP_EINVAL (timeout below 0 and not #PP_INFINITE).
 */
PP_API pp_status pp_event_wait(pp_event *e, int64_t timeout_ms);

/** @brief The name (valid until pp_event_destroy()); NULL for NULL. */
PP_API const char *pp_event_name(const pp_event *e);

/** @brief Close the handle; the creator's also removes the name. NULL ok. */
PP_API void pp_event_destroy(pp_event *e);

/* ============================================================ Barrier */

/** A named barrier (Python's Barrier, without an action). */
typedef struct pp_barrier pp_barrier;

/**
 * @brief Create a barrier for parties waits (1..#PP_BARRIER_MAX).
 * @param[out] out a handle owned by the caller (pp_barrier_destroy()
 *        also removes the name).
 * @return #PP_OK.
 *
 * Errors the caller must handle: #PP_EINVAL (out NULL, bad name, parties
 * out of range), #PP_EEXIST, #PP_ENOTINIT, #PP_ENOMEM, #PP_EACCES,
 * #PP_ESYS.
 */
PP_API pp_status pp_barrier_create(const char *name, int64_t parties, pp_barrier **out);

/**
 * @brief Open a barrier by name.
 * @return #PP_OK. Errors the caller must handle: as pp_sem_open().
 */
PP_API pp_status pp_barrier_open(const char *name, pp_barrier **out);

/**
 * @brief Wait until parties waits (of any processes and threads) have
 *        arrived; *index (may be NULL) gets this one's arrival index,
 *        0..parties-1 (Python's return value).
 *
 * @return #PP_OK.
 *
 * Errors the caller must handle:
 *  - #PP_EBROKEN: the barrier is broken (aborted, reset while waiting, a
 *    waiter timed out, or a waiting process died), or broke during this
 *    wait. It stays broken until pp_barrier_reset().
 *  - #PP_ETIMEDOUT: this wait timed out; it broke the barrier (Python's
 *    semantics: the other waiters get #PP_EBROKEN).
 *  - #PP_ETOOBIG: #PP_SYNC_PROCS waits are recorded already.
 *  - #PP_EINVAL (timeout below 0 and not #PP_INFINITE).
 */
PP_API pp_status pp_barrier_wait(pp_barrier *b, int64_t timeout_ms, int64_t *index);

/**
 * @brief Break the barrier: waiters and later waits get #PP_EBROKEN.
 * @return #PP_OK.
 */
PP_API pp_status pp_barrier_abort(pp_barrier *b);

/**
 * @brief Back to the initial state: waiters now get #PP_EBROKEN, later
 *        waits work again.
 * @return #PP_OK.
 */
PP_API pp_status pp_barrier_reset(pp_barrier *b);

/**
 * @brief The barrier's state: *waiting (may be NULL) gets how many wait
 *        now (0 while broken), *broken (may be NULL) 1 if broken.
 * @return #PP_OK.
 */
PP_API pp_status pp_barrier_state(pp_barrier *b, int64_t *waiting, int *broken);

/** @brief The number of parties; 0 for NULL. */
PP_API int64_t pp_barrier_parties(const pp_barrier *b);

/** @brief The name (valid until pp_barrier_destroy()); NULL for NULL. */
PP_API const char *pp_barrier_name(const pp_barrier *b);

/** @brief Close the handle; the creator's also removes the name. NULL ok. */
PP_API void pp_barrier_destroy(pp_barrier *b);

/* ========================================================== Condition */

/** A named condition variable bound to a local pp_lock (Python's
 *  Condition(lock)). */
typedef struct pp_cond pp_cond;

/**
 * @brief Create a condition bound to lock.
 *
 * The lock is part of the condition: every process that opens the
 * condition, or receives it in task arguments, uses that lock
 * (pp_cond_lock()). It must be a local lock (lock.h), not a manager's
 * (those have pp_mcond, manager_objects.h), and must outlive the
 * condition's use.
 *
 * @param[out] out a handle owned by the caller (pp_cond_destroy() also
 *        removes the name).
 * @return #PP_OK.
 *
 * Errors the caller must handle: #PP_EINVAL (out NULL, bad name, lock
 * NULL or not a local lock), #PP_EEXIST, #PP_ENOTINIT, #PP_ENOMEM,
 * #PP_EACCES, #PP_ESYS.
 */
PP_API pp_status pp_cond_create(const char *name, pp_lock *lock, pp_cond **out);

/**
 * @brief Open a condition by name.
 * @return #PP_OK. Errors the caller must handle: as pp_sem_open().
 */
PP_API pp_status pp_cond_open(const char *name, pp_cond **out);

/**
 * @brief The condition's lock in this process, in *lock: a handle the
 *        process keeps for its life (do not destroy it); any handle of
 *        the same lock works with the condition.
 * @return #PP_OK.
 *
 * Errors the caller must handle: #PP_ENOENT (the lock was destroyed, or
 * destroyed and created again), and those of pp_lock_open().
 */
PP_API pp_status pp_cond_lock(pp_cond *c, pp_lock **lock);

/**
 * @brief Release the lock, wait for a notify up to timeout_ms, acquire
 *        the lock again.
 *
 * The caller must hold the lock. The wait is recorded before the lock is
 * released, so a notify after the release is never lost. The re-acquire,
 * as in Python, is not bounded by timeout_ms (a holder that dies frees
 * the lock). Python's wait_for(predicate) is the caller's loop:
 * `while (!pred()) { st = pp_cond_wait(c, left); ... }` with the time
 * left recomputed each round.
 *
 * @return #PP_OK (notified; the lock is held again), or #PP_EOWNERDEAD
 *         (notified or timed out, the lock is held again, and a holder of
 *         it died meanwhile: the data it protects may need repair).
 *
 * Errors the caller must handle:
 *  - #PP_ETIMEDOUT: not notified within timeout_ms; the lock is held
 *    again.
 *  - #PP_EPERM: the calling thread does not hold the lock (nothing
 *    waited).
 *  - #PP_ETOOBIG: #PP_SYNC_PROCS waits are recorded already (nothing
 *    waited).
 *  - #PP_ENOENT: the lock is gone (pp_cond_lock()).
 *  - #PP_EINVAL (timeout below 0 and not #PP_INFINITE).
 */
PP_API pp_status pp_cond_wait(pp_cond *c, int64_t timeout_ms);

/**
 * @brief Wake up to n waiters (n >= 1), the longest waiting first; the
 *        caller must hold the lock.
 * @return #PP_OK (also when nobody waits).
 *
 * Errors the caller must handle: #PP_EPERM (lock not held), #PP_EINVAL
 * (n < 1), #PP_ENOENT (the lock is gone).
 */
PP_API pp_status pp_cond_notify(pp_cond *c, int64_t n);

/**
 * @brief Wake every waiter; the caller must hold the lock.
 * @return #PP_OK. Errors: as pp_cond_notify().
 */
PP_API pp_status pp_cond_notify_all(pp_cond *c);

/** @brief The name (valid until pp_cond_destroy()); NULL for NULL. */
PP_API const char *pp_cond_name(const pp_cond *c);

/** @brief Close the handle; the creator's also removes the name. NULL ok. */
PP_API void pp_cond_destroy(pp_cond *c);

#ifdef __cplusplus
}
#endif

#endif /* PROCPOOL_SYNC_H */
