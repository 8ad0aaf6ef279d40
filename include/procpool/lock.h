/**
 * @file lock.h
 * @brief Named, robust, non-recursive cross-process mutex.
 *
 * A pp_lock can be used by any thread of any process that knows its name:
 * the creator, pool workers (see pool.h for how a lock reaches them) and
 * unrelated processes that call pp_lock_open().
 *
 * Semantics, identical on every platform:
 *  - acquire returns #PP_OK, or #PP_EOWNERDEAD when the caller now holds
 *    the lock but its previous holder died while holding it (the data the
 *    lock protects may need repair; the lock itself works normally after).
 *  - non-recursive: acquiring a lock the calling thread already holds
 *    returns #PP_EDEADLK immediately instead of deadlocking or counting.
 *  - releasing a lock the calling thread does not hold returns #PP_EPERM.
 *
 * Implementation: POSIX uses a PTHREAD_PROCESS_SHARED + PTHREAD_MUTEX_ROBUST
 * pthread mutex in a named shared memory object (mode 0600); Windows uses a
 * named mutex in the session-local namespace. On platforms without robust
 * pthread mutexes (macOS) create/open return #PP_ENOTSUP.
 *
 * Lifetime of names: the process that created the lock owns its name;
 * pp_lock_destroy() on the creating handle removes the name, so later
 * pp_lock_open() calls get #PP_ENOENT. Handles other processes already hold
 * keep working among themselves (POSIX: the memory stays mapped until
 * they close; Windows: the mutex object lives until its last handle
 * closes): pool workers that had attached the lock keep excluding each
 * other and any remaining handle of the creator's process until they
 * exit, while a worker that had not attached it yet fails the task that
 * names it with #PP_ENOENT. The same holds for shared memory (shm.h).
 *
 * A lock hosted by a manager process (manager.h: pp_manager_lock()) is a
 * pp_lock too: the calls below work on it with the same results, its
 * holder is a manager connection instead of a thread, and it adds the
 * errors listed in manager.h (#PP_ECONNLOST above all).
 *
 * A creator that exits without pp_lock_destroy() (killed, crashed) does
 * not leave the name behind: on POSIX a resource tracker process removes
 * it once the creating process and every process forked from it have
 * exited (README, "Platform notes", has its limits); on Windows the
 * mutex goes with its last handle.
 */
#ifndef PROCPOOL_LOCK_H
#define PROCPOOL_LOCK_H

#include <stdint.h>

#include "common.h"
#include "error.h"
#include "export.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Opaque lock handle. Thread-safe: one handle may be used by many threads. */
typedef struct pp_lock pp_lock;

/**
 * @brief Create a new lock.
 *
 * @param name NULL for a fresh unpredictable name ("pp-<pid>-<seq>-<random>"),
 *        or a name of 1..#PP_NAME_MAX characters from [A-Za-z0-9._-], not
 *        "." or "..".
 * @param[out] out receives the handle, owned by the caller; free it with
 *        pp_lock_destroy(), which also removes the name.
 * @return #PP_OK.
 *
 * Errors the caller must handle:
 *  - #PP_EINVAL: out is NULL, or name is empty, too long, or has a
 *    character outside [A-Za-z0-9._-] ('/' and '\\' included).
 *  - #PP_EEXIST: an object with this name exists already.
 *  - #PP_ENOTINIT: pp_init() has not been called.
 *  - #PP_ENOTSUP: no robust cross-process mutex on this platform.
 *  - #PP_ENOMEM, #PP_EACCES, #PP_ESYS: resources or OS failure
 *    (pp_os_error() has the OS code).
 */
PP_API pp_status pp_lock_create(const char *name, pp_lock **out);

/**
 * @brief Open an existing lock by name, from any process.
 *
 * Opening a name that this process already has open returns another handle
 * to the same underlying lock (ownership is per thread, not per handle),
 * as long as the name still names that lock: a lock destroyed and created
 * again under the name is another lock, and this opens the new one (also
 * in a fork worker that inherited a handle of the old one).
 *
 * @param[out] out receives the handle, owned by the caller; free it with
 *        pp_lock_destroy() (which, for an opened handle, only detaches).
 *
 * Errors the caller must handle:
 *  - #PP_EINVAL: NULL argument or malformed name (see pp_lock_create()),
 *    or the name exists but is not a procpool lock (a shm block, say).
 *  - #PP_ENOENT: no object with this name.
 *  - #PP_ENOTINIT, #PP_ENOTSUP, #PP_ENOMEM, #PP_EACCES, #PP_ESYS.
 */
PP_API pp_status pp_lock_open(const char *name, pp_lock **out);

/**
 * @brief Acquire the lock, waiting at most timeout_ms milliseconds.
 *
 * @param timeout_ms 0 behaves like pp_lock_try_acquire() but reports
 *        #PP_ETIMEDOUT; #PP_INFINITE waits forever; other negative values
 *        are invalid.
 * @return #PP_OK, or #PP_EOWNERDEAD (acquired: see the file comment).
 *
 * Errors the caller must handle:
 *  - #PP_ETIMEDOUT: not acquired within the timeout.
 *  - #PP_EDEADLK: the calling thread already holds the lock.
 *  - #PP_EINVAL: lock is NULL or timeout_ms < -1.
 *  - #PP_ESYS: OS failure.
 */
PP_API pp_status pp_lock_acquire(pp_lock *lock, int64_t timeout_ms);

/**
 * @brief Acquire the lock if it is free, without waiting.
 * @return #PP_OK or #PP_EOWNERDEAD (acquired).
 *
 * Errors the caller must handle:
 *  - #PP_EBUSY: another thread or process holds it.
 *  - #PP_EDEADLK: the calling thread already holds it.
 *  - #PP_EINVAL: lock is NULL.  #PP_ESYS: OS failure.
 */
PP_API pp_status pp_lock_try_acquire(pp_lock *lock);

/**
 * @brief Release the lock held by the calling thread.
 *
 * Errors the caller must handle:
 *  - #PP_EPERM: the calling thread does not hold the lock.
 *  - #PP_EINVAL: lock is NULL.  #PP_ESYS: OS failure.
 */
PP_API pp_status pp_lock_release(pp_lock *lock);

/**
 * @brief The lock's name (valid until pp_lock_destroy()); NULL for NULL
 *        and for a manager lock (manager.h), which has an id instead.
 */
PP_API const char *pp_lock_name(const pp_lock *lock);

/**
 * @brief The fencing token of the current hold of the lock through this
 *        handle: a number that strictly increases with every acquire of
 *        the lock, across holders, so a resource guarded by the lock can
 *        reject the writes of a holder that has been superseded.
 *
 * @return the token of the last successful acquire through this handle
 *         (manager locks, manager.h); 0 for local locks, which have no
 *         tokens, for a handle that never acquired, and for NULL.
 */
PP_API uint64_t pp_lock_fencing_token(const pp_lock *lock);

/**
 * @brief Close a handle. Accepts NULL.
 *
 * On the handle returned by pp_lock_create() this also removes the name.
 * Do not destroy a handle while a thread holds the lock through it.
 */
PP_API void pp_lock_destroy(pp_lock *lock);

#ifdef __cplusplus
}
#endif

#endif /* PROCPOOL_LOCK_H */
