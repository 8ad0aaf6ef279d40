/**
 * @file manager_objects.h
 * @brief The objects a manager (manager.h) hosts besides its lock: a
 *        recursive lock, semaphores, conditions, events, barriers,
 *        shared values, queues and dicts, each with Python's
 *        multiprocessing.managers method set in C form.
 *
 * Every object lives in the manager's server process and is used through
 * a handle bound to one pp_manager connection. Common rules:
 *  - create (pp_m*_create(), through a pp_manager) makes the object and a
 *    handle to it; the object lives until that handle is destroyed or its
 *    connection closes (pp_manager_destroy(), the process ends); then
 *    calls through other handles to it get #PP_ENOENT.
 *  - open (pp_m*_open(), by the id of pp_m*_id()) makes another handle to
 *    an existing object, through any connection to the same manager (another
 *    process's, say); destroying it only frees the handle. An id of an
 *    object of another kind is #PP_ETYPE.
 *  - destroy handles before pp_manager_destroy() of their connection:
 *    they point to it. A handle's calls are serialized with every other
 *    call on its connection (manager.h).
 *  - every blocking call takes a timeout in milliseconds (#PP_INFINITE:
 *    none); the server waits at most about a second per request, the
 *    client loops, so a dead server is noticed: #PP_ECONNLOST within a
 *    few seconds, and the connection stays broken.
 *  - "Who holds" is the connection: units of a semaphore, a recursive
 *    lock's holds, a barrier or condition waiter belong to the
 *    connection that took them; when it closes (its process was killed,
 *    say) the server gives them back (semaphore units: the next acquirer
 *    gets #PP_EOWNERDEAD, "acquired; a holder died"), breaks the barrier
 *    it waited at, and drops its condition waits (a notify never goes to
 *    a dead waiter that is gone; notify(n) is never wedged by one).
 *  - try forms answer #PP_EBUSY when they would have to wait, as
 *    pp_lock_try_acquire() does.
 *  - every handle is a value: it travels in task arguments, initializer
 *    arguments and results to any worker, on every start method (end of
 *    this file, "Proxies as values").
 *
 * Errors every call below may return besides those listed with it:
 * #PP_EINVAL (NULL handle or argument), #PP_ECONNLOST (the server is
 * gone, did not answer within a few seconds, or the connection broke
 * before), #PP_EPROTO (a malformed reply: the connection is broken),
 * #PP_ENOENT (the object was destroyed), #PP_ENOMEM.
 */
#ifndef PROCPOOL_MANAGER_OBJECTS_H
#define PROCPOOL_MANAGER_OBJECTS_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "error.h"
#include "export.h"
#include "lock.h"
#include "value.h"

#ifdef __cplusplus
extern "C" {
#endif

struct pp_manager;

/** Longest encoded value tuple in a queue or a dict, in bytes (about the
 *  tuple's data plus 5 bytes per item and 4 in all). */
#define PP_MANAGER_ITEM_MAX ((size_t)1 << 20)
/** Most encoded bytes one queue holds at once. (All queues and dicts of
 *  one manager together hold at most 256 MiB: #PP_ETOOBIG past it.) */
#define PP_MANAGER_QUEUE_BYTES_MAX ((size_t)16 << 20)
/** Longest dict key, in bytes (no NUL inside, at least 1). */
#define PP_MANAGER_DICT_KEY_MAX 255
/** Most keys one dict holds. */
#define PP_MANAGER_DICT_KEYS_MAX 1024
/** Most encoded value bytes one dict holds at once. */
#define PP_MANAGER_DICT_BYTES_MAX ((size_t)16 << 20)
/** Largest semaphore value (initial or reached by releases). */
#define PP_MANAGER_SEM_MAX ((int64_t)1 << 30)
/** Most parties of a barrier. */
#define PP_MANAGER_BARRIER_MAX 4096

/* ============================================================== RLock */

/**
 * @brief Create a recursive lock hosted by the manager (Python's RLock).
 *
 * A pp_lock: pp_lock_acquire(), pp_lock_try_acquire(), pp_lock_release(),
 * pp_lock_fencing_token() and pp_lock_destroy() work on it, as on
 * pp_manager_lock() (manager.h), except that its holder (the connection)
 * may acquire it again: each acquire counts, each release uncounts, the
 * last release frees it. An acquire by the holder never waits and keeps
 * the fencing token; release by a connection that does not hold it is
 * #PP_EPERM. A holder that dies frees it whatever its count; the next
 * acquirer gets #PP_EOWNERDEAD. pp_manager_lock_id() gives its id.
 *
 * @param[out] out a pp_lock owned by the caller (pp_lock_destroy()).
 * @return #PP_OK.
 *
 * Errors the caller must handle:
 *  - #PP_ETOOBIG: this connection has #PP_MANAGER_OBJECTS_MAX objects.
 *  - #PP_EINVAL, #PP_ECONNLOST, #PP_EPROTO, #PP_ENOMEM (file comment).
 */
PP_API pp_status pp_manager_rlock(struct pp_manager *mgr, pp_lock **out);

/**
 * @brief Open a recursive lock by its id (pp_manager_lock_id()).
 *
 * @param[out] out a pp_lock owned by the caller; pp_lock_destroy() only
 *        frees the handle.
 * @return #PP_OK.
 *
 * Errors the caller must handle:
 *  - #PP_ENOENT: no object with this id; #PP_ETYPE: not a recursive lock.
 *  - #PP_EINVAL (id 0), #PP_ECONNLOST, #PP_EPROTO, #PP_ENOMEM.
 */
PP_API pp_status pp_manager_rlock_open(struct pp_manager *mgr, uint64_t id, pp_lock **out);

/* ========================================================== Semaphore */

/** A semaphore hosted by a manager (Semaphore / BoundedSemaphore). */
typedef struct pp_msem pp_msem;

/**
 * @brief Create a semaphore with an initial value.
 *
 * @param value initial value, 0..#PP_MANAGER_SEM_MAX.
 * @param bounded nonzero: a BoundedSemaphore, whose release above the
 *        initial value fails with #PP_ESTATE (Python: ValueError).
 * @param[out] out a handle owned by the caller (pp_msem_destroy()).
 * @return #PP_OK.
 *
 * Errors the caller must handle:
 *  - #PP_EINVAL: value out of range; #PP_ETOOBIG: too many objects.
 *  - #PP_ECONNLOST, #PP_EPROTO, #PP_ENOMEM (file comment).
 */
PP_API pp_status pp_msem_create(struct pp_manager *mgr, int64_t value, int bounded, pp_msem **out);

/**
 * @brief Open a semaphore by id (pp_msem_id()).
 * @return #PP_OK.
 *
 * Errors the caller must handle: #PP_ENOENT (no such object), #PP_ETYPE
 * (not a semaphore), #PP_EINVAL, #PP_ECONNLOST, #PP_EPROTO, #PP_ENOMEM.
 */
PP_API pp_status pp_msem_open(struct pp_manager *mgr, uint64_t id, pp_msem **out);

/** @brief The semaphore's id in its manager; 0 for NULL. */
PP_API uint64_t pp_msem_id(const pp_msem *s);

/**
 * @brief Take one unit, waiting up to timeout_ms while the value is 0.
 *
 * The unit belongs to this connection until it releases one (or closes:
 * then it is given back).
 *
 * @return #PP_OK, or #PP_EOWNERDEAD: acquired, and a connection that held
 *         units closed without releasing them (told once, to the next
 *         acquirer).
 *
 * Errors the caller must handle:
 *  - #PP_ETIMEDOUT: no unit within timeout_ms.
 *  - #PP_EINVAL (timeout below 0 and not #PP_INFINITE), #PP_ENOENT,
 *    #PP_ECONNLOST, #PP_EPROTO.
 */
PP_API pp_status pp_msem_acquire(pp_msem *s, int64_t timeout_ms);

/**
 * @brief Take one unit if one is free now.
 * @return #PP_OK or #PP_EOWNERDEAD (as pp_msem_acquire()).
 *
 * Errors the caller must handle: #PP_EBUSY (value 0), #PP_ENOENT,
 * #PP_ECONNLOST, #PP_EPROTO.
 */
PP_API pp_status pp_msem_try_acquire(pp_msem *s);

/**
 * @brief Give one unit back (any connection may; Python's semantics).
 * @return #PP_OK.
 *
 * Errors the caller must handle:
 *  - #PP_ESTATE: a bounded semaphore is at its initial value, or the
 *    value is at #PP_MANAGER_SEM_MAX.
 *  - #PP_ENOENT, #PP_ECONNLOST, #PP_EPROTO.
 */
PP_API pp_status pp_msem_release(pp_msem *s);

/**
 * @brief The semaphore's value now (free units), in *value.
 * @return #PP_OK.
 *
 * Errors the caller must handle: #PP_EINVAL, #PP_ENOENT, #PP_ECONNLOST,
 * #PP_EPROTO.
 */
PP_API pp_status pp_msem_value(pp_msem *s, int64_t *value);

/** @brief Free the handle (the creator's also destroys the semaphore);
 *  NULL ok. */
PP_API void pp_msem_destroy(pp_msem *s);

/* ========================================================== Condition */

/** A condition variable hosted by a manager, bound to one of its locks. */
typedef struct pp_mcond pp_mcond;

/**
 * @brief Create a condition bound to a manager lock or recursive lock.
 *
 * @param lock a pp_manager_lock() or pp_manager_rlock() (or opened) handle
 *        of the same connection mgr; not owned, must outlive the
 *        condition's handle.
 * @param[out] out a handle owned by the caller (pp_mcond_destroy()).
 * @return #PP_OK.
 *
 * Errors the caller must handle:
 *  - #PP_EINVAL: lock is not a manager lock of mgr.
 *  - #PP_ENOENT: the lock was destroyed. #PP_ETOOBIG: too many objects.
 *  - #PP_ECONNLOST, #PP_EPROTO, #PP_ENOMEM.
 */
PP_API pp_status pp_mcond_create(struct pp_manager *mgr, pp_lock *lock, pp_mcond **out);

/**
 * @brief Open a condition by id, with a handle of its lock opened through
 *        the same connection mgr.
 * @return #PP_OK.
 *
 * Errors the caller must handle: #PP_EINVAL (lock is not a manager lock
 * of mgr, or not the condition's lock), #PP_ENOENT, #PP_ETYPE,
 * #PP_ECONNLOST, #PP_EPROTO, #PP_ENOMEM.
 */
PP_API pp_status pp_mcond_open(struct pp_manager *mgr, uint64_t id, pp_lock *lock, pp_mcond **out);

/** @brief The condition's id in its manager; 0 for NULL. */
PP_API uint64_t pp_mcond_id(const pp_mcond *c);

/**
 * @brief Release the lock (all holds of a recursive lock), wait for a
 *        notify up to timeout_ms, re-acquire the lock (with its holds).
 *
 * The caller must hold the lock. The wait is registered in the server
 * from the release on, so a notify after the release is never lost. The
 * re-acquire, as in Python, is not bounded by timeout_ms: it waits while
 * another connection holds the lock (a holder that dies frees it; a dead
 * server is #PP_ECONNLOST). A waiter killed at any point of the wait,
 * even after the server handed it the notify but before it read that
 * reply, does not use the notify up: it goes to the next waiter, and the
 * lock comes back without #PP_EOWNERDEAD (the dead waiter never ran
 * under it). Python's wait_for(predicate) is the caller's
 * loop: `while (!pred()) { st = pp_mcond_wait(c, left); ... }` with the
 * time left recomputed each round.
 *
 * @return #PP_OK (notified; the lock is held again), or #PP_EOWNERDEAD
 *         (notified or timed out, the lock is held again, and a holder of
 *         it died meanwhile).
 *
 * Errors the caller must handle:
 *  - #PP_ETIMEDOUT: not notified within timeout_ms; the lock is held
 *    again.
 *  - #PP_EPERM: the caller does not hold the lock (nothing waited).
 *  - #PP_ENOENT: the condition or its lock was destroyed (the lock is
 *    not held then).
 *  - #PP_EINVAL, #PP_ECONNLOST, #PP_EPROTO.
 */
PP_API pp_status pp_mcond_wait(pp_mcond *c, int64_t timeout_ms);

/**
 * @brief Wake up to n waiters (n >= 1); the caller must hold the lock.
 * @return #PP_OK (also when nobody waits).
 *
 * Errors the caller must handle: #PP_EPERM (lock not held), #PP_EINVAL
 * (n < 1), #PP_ENOENT, #PP_ECONNLOST, #PP_EPROTO.
 */
PP_API pp_status pp_mcond_notify(pp_mcond *c, int64_t n);

/**
 * @brief Wake every waiter; the caller must hold the lock.
 * @return #PP_OK. Errors: as pp_mcond_notify().
 */
PP_API pp_status pp_mcond_notify_all(pp_mcond *c);

/** @brief Free the handle (the creator's also destroys the condition:
 *  its waiters get #PP_ENOENT); NULL ok. */
PP_API void pp_mcond_destroy(pp_mcond *c);

/* ============================================================== Event */

/** An event hosted by a manager: a flag with wait. */
typedef struct pp_mevent pp_mevent;

/**
 * @brief Create an event, clear.
 * @return #PP_OK.
 *
 * Errors the caller must handle: #PP_ETOOBIG (too many objects),
 * #PP_EINVAL, #PP_ECONNLOST, #PP_EPROTO, #PP_ENOMEM.
 */
PP_API pp_status pp_mevent_create(struct pp_manager *mgr, pp_mevent **out);

/**
 * @brief Open an event by id.
 * @return #PP_OK. Errors the caller must handle: #PP_ENOENT, #PP_ETYPE,
 *         #PP_EINVAL, #PP_ECONNLOST, #PP_EPROTO, #PP_ENOMEM.
 */
PP_API pp_status pp_mevent_open(struct pp_manager *mgr, uint64_t id, pp_mevent **out);

/** @brief The event's id in its manager; 0 for NULL. */
PP_API uint64_t pp_mevent_id(const pp_mevent *e);

/**
 * @brief Set the flag and wake every waiter. @return #PP_OK.
 *
 * Errors the caller must handle: #PP_ENOENT, #PP_ECONNLOST, #PP_EPROTO.
 */
PP_API pp_status pp_mevent_set(pp_mevent *e);

/**
 * @brief Clear the flag. @return #PP_OK.
 *
 * Errors the caller must handle: #PP_ENOENT, #PP_ECONNLOST, #PP_EPROTO.
 */
PP_API pp_status pp_mevent_clear(pp_mevent *e);

/**
 * @brief The flag now: *set gets 1 or 0. @return #PP_OK.
 *
 * Errors the caller must handle: #PP_EINVAL, #PP_ENOENT, #PP_ECONNLOST,
 * #PP_EPROTO.
 */
PP_API pp_status pp_mevent_is_set(pp_mevent *e, int *set);

/**
 * @brief Wait up to timeout_ms until the flag is set. A set during the
 *        wait counts even if a clear follows at once (Python: wait()
 *        returns True).
 * @return #PP_OK.
 *
 * Errors the caller must handle: #PP_ETIMEDOUT (not set in time),
 * #PP_EINVAL, #PP_ENOENT, #PP_ECONNLOST, #PP_EPROTO.
 */
PP_API pp_status pp_mevent_wait(pp_mevent *e, int64_t timeout_ms);

/** @brief Free the handle (the creator's also destroys the event); NULL ok. */
PP_API void pp_mevent_destroy(pp_mevent *e);

/* ============================================================ Barrier */

/** A barrier hosted by a manager. */
typedef struct pp_mbarrier pp_mbarrier;

/**
 * @brief Create a barrier for parties connections (1..#PP_MANAGER_BARRIER_MAX).
 * @return #PP_OK.
 *
 * Errors the caller must handle: #PP_EINVAL (parties out of range),
 * #PP_ETOOBIG, #PP_ECONNLOST, #PP_EPROTO, #PP_ENOMEM.
 */
PP_API pp_status pp_mbarrier_create(struct pp_manager *mgr, int64_t parties, pp_mbarrier **out);

/**
 * @brief Open a barrier by id.
 * @return #PP_OK. Errors the caller must handle: #PP_ENOENT, #PP_ETYPE,
 *         #PP_EINVAL, #PP_ECONNLOST, #PP_EPROTO, #PP_ENOMEM.
 */
PP_API pp_status pp_mbarrier_open(struct pp_manager *mgr, uint64_t id, pp_mbarrier **out);

/** @brief The barrier's id in its manager; 0 for NULL. */
PP_API uint64_t pp_mbarrier_id(const pp_mbarrier *b);

/**
 * @brief Wait until parties connections wait; *index (may be NULL) gets
 *        this one's arrival index, 0..parties-1 (Python's return value).
 *
 * @return #PP_OK.
 *
 * Errors the caller must handle:
 *  - #PP_EBROKEN: the barrier is broken (aborted, reset while waiting, a
 *    waiter timed out, or a waiter's connection closed), or broke during
 *    this wait. It stays broken until pp_mbarrier_reset().
 *  - #PP_ETIMEDOUT: this wait timed out; it broke the barrier (Python's
 *    semantics: the other waiters get #PP_EBROKEN).
 *  - #PP_EBUSY: this connection waits at this barrier already (another
 *    handle of it, in another thread).
 *  - #PP_EINVAL, #PP_ENOENT, #PP_ECONNLOST, #PP_EPROTO.
 */
PP_API pp_status pp_mbarrier_wait(pp_mbarrier *b, int64_t timeout_ms, int64_t *index);

/**
 * @brief Break the barrier: waiters and later waits get #PP_EBROKEN.
 * @return #PP_OK. Errors: #PP_ENOENT, #PP_ECONNLOST, #PP_EPROTO.
 */
PP_API pp_status pp_mbarrier_abort(pp_mbarrier *b);

/**
 * @brief Back to the initial state: waiters now get #PP_EBROKEN, later
 *        waits work again.
 * @return #PP_OK. Errors: #PP_ENOENT, #PP_ECONNLOST, #PP_EPROTO.
 */
PP_API pp_status pp_mbarrier_reset(pp_mbarrier *b);

/**
 * @brief The barrier's state: *waiting (may be NULL) gets how many wait
 *        now, *broken (may be NULL) 1 if broken.
 * @return #PP_OK. Errors: #PP_ENOENT, #PP_ECONNLOST, #PP_EPROTO.
 */
PP_API pp_status pp_mbarrier_state(pp_mbarrier *b, int64_t *waiting, int *broken);

/** @brief Free the handle (the creator's also destroys the barrier: its
 *  waiters get #PP_ENOENT); NULL ok. */
PP_API void pp_mbarrier_destroy(pp_mbarrier *b);

/* ============================================================== Value */

/** A shared number hosted by a manager: an int64_t or a double. */
typedef struct pp_mvalue pp_mvalue;

/**
 * @brief Create a shared int64_t (pp_mvalue_create_int()) or double
 *        (pp_mvalue_create_double()) with an initial value.
 * @return #PP_OK.
 *
 * Errors the caller must handle: #PP_ETOOBIG (too many objects),
 * #PP_EINVAL, #PP_ECONNLOST, #PP_EPROTO, #PP_ENOMEM.
 */
PP_API pp_status pp_mvalue_create_int(struct pp_manager *mgr, int64_t initial, pp_mvalue **out);
/** @brief See pp_mvalue_create_int(). */
PP_API pp_status pp_mvalue_create_double(struct pp_manager *mgr, double initial, pp_mvalue **out);

/**
 * @brief Open a shared value by id (its type comes from the server).
 * @return #PP_OK. Errors the caller must handle: #PP_ENOENT, #PP_ETYPE,
 *         #PP_EINVAL, #PP_ECONNLOST, #PP_EPROTO, #PP_ENOMEM.
 */
PP_API pp_status pp_mvalue_open(struct pp_manager *mgr, uint64_t id, pp_mvalue **out);

/** @brief The value's id in its manager; 0 for NULL. */
PP_API uint64_t pp_mvalue_id(const pp_mvalue *v);

/** @brief #PP_TYPE_INT or #PP_TYPE_DOUBLE; #PP_TYPE_NONE for NULL. */
PP_API pp_type pp_mvalue_type(const pp_mvalue *v);

/**
 * @brief Read (get), write (set), add and read the sum (add: *now may be
 *        NULL), or compare-and-swap: if the value equals expected (a
 *        double: the same bits) it becomes desired and *swapped (may be
 *        NULL) is 1, else 0; *old (may be NULL) gets the value before.
 *        Each is one atomic step in the server.
 * @return #PP_OK.
 *
 * Errors the caller must handle:
 *  - #PP_ETYPE: an int call on a double value or the reverse.
 *  - #PP_ERANGE: an int add would overflow (the value is unchanged).
 *  - #PP_EINVAL, #PP_ENOENT, #PP_ECONNLOST, #PP_EPROTO.
 */
PP_API pp_status pp_mvalue_get_int(pp_mvalue *v, int64_t *out);
/** @brief See pp_mvalue_get_int(). */
PP_API pp_status pp_mvalue_set_int(pp_mvalue *v, int64_t x);
/** @brief See pp_mvalue_get_int(). */
PP_API pp_status pp_mvalue_add_int(pp_mvalue *v, int64_t delta, int64_t *now);
/** @brief See pp_mvalue_get_int(). */
PP_API pp_status pp_mvalue_cas_int(pp_mvalue *v, int64_t expected, int64_t desired, int *swapped,
                                   int64_t *old);
/** @brief See pp_mvalue_get_int(). */
PP_API pp_status pp_mvalue_get_double(pp_mvalue *v, double *out);
/** @brief See pp_mvalue_get_int(). */
PP_API pp_status pp_mvalue_set_double(pp_mvalue *v, double x);
/** @brief See pp_mvalue_get_int(). */
PP_API pp_status pp_mvalue_add_double(pp_mvalue *v, double delta, double *now);
/** @brief See pp_mvalue_get_int(). */
PP_API pp_status pp_mvalue_cas_double(pp_mvalue *v, double expected, double desired, int *swapped,
                                      double *old);

/** @brief Free the handle (the creator's also destroys the value); NULL ok. */
PP_API void pp_mvalue_destroy(pp_mvalue *v);

/* ============================================================== Queue */

/** A FIFO queue of value tuples hosted by a manager. */
typedef struct pp_mqueue pp_mqueue;

/**
 * @brief Create a queue holding at most maxsize tuples (0: no count
 *        limit; #PP_MANAGER_QUEUE_BYTES_MAX encoded bytes in any case).
 * @return #PP_OK.
 *
 * Errors the caller must handle: #PP_ETOOBIG (too many objects),
 * #PP_EINVAL (maxsize above 2^31), #PP_ECONNLOST, #PP_EPROTO, #PP_ENOMEM.
 */
PP_API pp_status pp_mqueue_create(struct pp_manager *mgr, size_t maxsize, pp_mqueue **out);

/**
 * @brief Open a queue by id.
 * @return #PP_OK. Errors the caller must handle: #PP_ENOENT, #PP_ETYPE,
 *         #PP_EINVAL, #PP_ECONNLOST, #PP_EPROTO, #PP_ENOMEM.
 */
PP_API pp_status pp_mqueue_open(struct pp_manager *mgr, uint64_t id, pp_mqueue **out);

/** @brief The queue's id in its manager; 0 for NULL. */
PP_API uint64_t pp_mqueue_id(const pp_mqueue *q);

/**
 * @brief Append a copy of v (NULL: an empty tuple), waiting up to
 *        timeout_ms while the queue holds maxsize tuples.
 * @return #PP_OK.
 *
 * Errors the caller must handle:
 *  - #PP_ETIMEDOUT: still full after timeout_ms.
 *  - #PP_ETOOBIG: v encodes to more than #PP_MANAGER_ITEM_MAX bytes, or
 *    the queue would hold more than #PP_MANAGER_QUEUE_BYTES_MAX (not
 *    waited for: a clear error at once).
 *  - #PP_ENOTSUP: v holds a lock or shm block named locally (pp_lock_create(),
 *    pp_shm_create(): they exist on one machine). Manager and Redis locks
 *    and proxies can be put: they travel as their locators, and the getter
 *    gets working handles (opened with its own keys, as a task's arguments
 *    are; one it cannot open reports why through pp_values_get_lock() /
 *    the pp_values_get_m*() getter).
 *  - #PP_EINVAL, #PP_ENOENT, #PP_ECONNLOST, #PP_EPROTO.
 */
PP_API pp_status pp_mqueue_put(pp_mqueue *q, const pp_values *v, int64_t timeout_ms);

/**
 * @brief As pp_mqueue_put() without waiting: #PP_EBUSY when full.
 */
PP_API pp_status pp_mqueue_try_put(pp_mqueue *q, const pp_values *v);

/**
 * @brief Take the oldest tuple, waiting up to timeout_ms while empty.
 *
 * @param[out] out a tuple owned by the caller (pp_values_destroy()).
 * @return #PP_OK.
 *
 * Errors the caller must handle: #PP_ETIMEDOUT (still empty), #PP_EINVAL,
 * #PP_ENOENT, #PP_ECONNLOST, #PP_EPROTO, #PP_ENOMEM.
 */
PP_API pp_status pp_mqueue_get(pp_mqueue *q, pp_values **out, int64_t timeout_ms);

/**
 * @brief As pp_mqueue_get() without waiting: #PP_EBUSY when empty.
 */
PP_API pp_status pp_mqueue_try_get(pp_mqueue *q, pp_values **out);

/**
 * @brief How many tuples it holds now (*n); whether it is empty or full
 *        now (*flag: 1 or 0; never full without a maxsize).
 * @return #PP_OK. Errors: #PP_EINVAL, #PP_ENOENT, #PP_ECONNLOST,
 *         #PP_EPROTO.
 */
PP_API pp_status pp_mqueue_qsize(pp_mqueue *q, size_t *n);
/** @brief See pp_mqueue_qsize(). */
PP_API pp_status pp_mqueue_empty(pp_mqueue *q, int *flag);
/** @brief See pp_mqueue_qsize(). */
PP_API pp_status pp_mqueue_full(pp_mqueue *q, int *flag);

/** @brief Free the handle (the creator's also destroys the queue and its
 *  tuples); NULL ok. */
PP_API void pp_mqueue_destroy(pp_mqueue *q);

/* =============================================================== Dict */

/** A dict from string keys to value tuples hosted by a manager. */
typedef struct pp_mdict pp_mdict;

/**
 * @brief Create an empty dict.
 * @return #PP_OK. Errors the caller must handle: #PP_ETOOBIG (too many
 *         objects), #PP_EINVAL, #PP_ECONNLOST, #PP_EPROTO, #PP_ENOMEM.
 */
PP_API pp_status pp_mdict_create(struct pp_manager *mgr, pp_mdict **out);

/**
 * @brief Open a dict by id.
 * @return #PP_OK. Errors the caller must handle: #PP_ENOENT, #PP_ETYPE,
 *         #PP_EINVAL, #PP_ECONNLOST, #PP_EPROTO, #PP_ENOMEM.
 */
PP_API pp_status pp_mdict_open(struct pp_manager *mgr, uint64_t id, pp_mdict **out);

/** @brief The dict's id in its manager; 0 for NULL. */
PP_API uint64_t pp_mdict_id(const pp_mdict *d);

/**
 * @brief d[key] = a copy of v (NULL: an empty tuple).
 * @param key 1..#PP_MANAGER_DICT_KEY_MAX bytes, NUL-terminated.
 * @return #PP_OK.
 *
 * Errors the caller must handle:
 *  - #PP_EINVAL: key empty, too long, or NULL.
 *  - #PP_ETOOBIG: v encodes to more than #PP_MANAGER_ITEM_MAX bytes; a
 *    new key beyond #PP_MANAGER_DICT_KEYS_MAX keys; the dict would hold
 *    more than #PP_MANAGER_DICT_BYTES_MAX.
 *  - #PP_ENOTSUP: v holds a lock or shm block named locally (as
 *    pp_mqueue_put()).
 *  - #PP_ENOENT (the dict), #PP_ECONNLOST, #PP_EPROTO.
 */
PP_API pp_status pp_mdict_set(pp_mdict *d, const char *key, const pp_values *v);

/**
 * @brief A copy of d[key] in *out (owned by the caller).
 * @return #PP_OK. Errors the caller must handle: #PP_ENOENT (no such key,
 *         or the dict is gone), #PP_EINVAL, #PP_ECONNLOST, #PP_EPROTO,
 *         #PP_ENOMEM.
 */
PP_API pp_status pp_mdict_get(pp_mdict *d, const char *key, pp_values **out);

/**
 * @brief Remove d[key].
 * @return #PP_OK. Errors the caller must handle: #PP_ENOENT (no such key,
 *         or the dict is gone), #PP_EINVAL, #PP_ECONNLOST, #PP_EPROTO.
 */
PP_API pp_status pp_mdict_delete(pp_mdict *d, const char *key);

/**
 * @brief *found = 1 if key is in the dict, else 0.
 * @return #PP_OK. Errors: #PP_EINVAL, #PP_ENOENT (the dict),
 *         #PP_ECONNLOST, #PP_EPROTO.
 */
PP_API pp_status pp_mdict_contains(pp_mdict *d, const char *key, int *found);

/**
 * @brief *n = how many keys the dict holds.
 * @return #PP_OK. Errors: #PP_EINVAL, #PP_ENOENT, #PP_ECONNLOST,
 *         #PP_EPROTO.
 */
PP_API pp_status pp_mdict_len(pp_mdict *d, size_t *n);

/**
 * @brief The keys, as a tuple of strings in *out (owned by the caller),
 *        in no particular order.
 * @return #PP_OK. Errors: #PP_EINVAL, #PP_ENOENT, #PP_ECONNLOST,
 *         #PP_EPROTO, #PP_ENOMEM.
 */
PP_API pp_status pp_mdict_keys(pp_mdict *d, pp_values **out);

/**
 * @brief Atomically add delta to the integer d[key] (a one-int tuple; a
 *        missing key starts at 0) and read the sum into *now (may be NULL).
 * @return #PP_OK.
 *
 * Errors the caller must handle: #PP_ETYPE (d[key] is not one int),
 * #PP_ERANGE (overflow; unchanged), #PP_ETOOBIG (a new key beyond the
 * limits), #PP_EINVAL, #PP_ENOENT (the dict), #PP_ECONNLOST, #PP_EPROTO.
 */
PP_API pp_status pp_mdict_add_int(pp_mdict *d, const char *key, int64_t delta, int64_t *now);

/** @brief Free the handle (the creator's also destroys the dict); NULL ok. */
PP_API void pp_mdict_destroy(pp_mdict *d);

/* ================================================== Proxies as values */

/**
 * @name Proxies as values
 * Every handle above is a value: it travels as a task argument, in the
 * initializer arguments or in a task result, and arrives as a working
 * handle to the same object, on every start method and OS, as a manager
 * lock does through pp_values_add_lock() (manager.h). In a task:
 * `pp_values_get_mqueue(pp_task_args(t), 0, &q)`, then `pp_mqueue_put(q, ...)`.
 *
 * What travels is a locator (the manager's address and server instance,
 * the object's kind and id; never a pointer, never the key). The
 * receiving process opens the object by id through its one connection
 * per manager, authenticated with the key it has for that manager (a
 * worker: the program key all workers inherit, or the manager's own key
 * if it was started before the pool), and keeps that handle for its whole
 * life: every task naming the object gets the same handle, owned by the
 * process (never destroy it). What that connection holds (semaphore
 * units, a barrier wait) is given back when the process ends.
 * A condition travels with its lock: the receiver opens the lock too (the
 * handle a task given that lock with pp_values_add_lock() gets), then the
 * condition with it; pass the lock beside the condition to acquire it.
 *
 * The adding process gets back the very handle it added (borrowed). A
 * proxy item's pp_values_type() is #PP_TYPE_PROXY. A task (or pool
 * initializer) whose arguments name an object the worker cannot open is
 * not run: it fails with the reason below and a message naming the object
 * ("manager queue 9 at tcp://127.0.0.1:PORT cannot be used: ..."). Proxies
 * (and manager or Redis locks) can also be put in a hosted queue or dict:
 * whoever gets the item gets working handles.
 *
 * pp_values_add_m*(): append h as a proxy item (h must stay alive while
 * the tuple is used in this process). Errors the caller must handle:
 * #PP_EINVAL (NULL v or h), #PP_ETOOBIG (the tuple's limits), #PP_ENOMEM.
 *
 * pp_values_get_m*(): item i's handle, borrowed (valid while the tuple
 * lives; in a worker, for the worker's life); *out NULL on every error.
 * Errors the caller must handle: #PP_EINVAL (NULL v or out), #PP_ERANGE
 * (i out of range), #PP_ETYPE (not a proxy, or a proxy of another kind; a
 * pp_msem getter takes both semaphore kinds); where the item was received
 * (a result, in the parent): #PP_ENOENT (the object was destroyed, or its
 * manager restarted), #PP_EAUTH (no key for that manager here, or it was
 * refused), #PP_ECONNLOST (the manager is not reachable), #PP_ETYPE (the
 * id names another kind), #PP_ETOOBIG (too many objects or managers in
 * this process), #PP_EPROTO, #PP_ENOMEM.
 */
/**@{*/
PP_API pp_status pp_values_add_msem(pp_values *v, pp_msem *s);
PP_API pp_status pp_values_get_msem(const pp_values *v, size_t i, pp_msem **out);
PP_API pp_status pp_values_add_mcond(pp_values *v, pp_mcond *c);
PP_API pp_status pp_values_get_mcond(const pp_values *v, size_t i, pp_mcond **out);
PP_API pp_status pp_values_add_mevent(pp_values *v, pp_mevent *e);
PP_API pp_status pp_values_get_mevent(const pp_values *v, size_t i, pp_mevent **out);
PP_API pp_status pp_values_add_mbarrier(pp_values *v, pp_mbarrier *b);
PP_API pp_status pp_values_get_mbarrier(const pp_values *v, size_t i, pp_mbarrier **out);
PP_API pp_status pp_values_add_mvalue(pp_values *v, pp_mvalue *x);
PP_API pp_status pp_values_get_mvalue(const pp_values *v, size_t i, pp_mvalue **out);
PP_API pp_status pp_values_add_mqueue(pp_values *v, pp_mqueue *q);
PP_API pp_status pp_values_get_mqueue(const pp_values *v, size_t i, pp_mqueue **out);
PP_API pp_status pp_values_add_mdict(pp_values *v, pp_mdict *d);
PP_API pp_status pp_values_get_mdict(const pp_values *v, size_t i, pp_mdict **out);
/**@}*/

#ifdef __cplusplus
}
#endif

#endif /* PROCPOOL_MANAGER_OBJECTS_H */
