/**
 * @file shm.h
 * @brief Named shared memory blocks: the data a pp_lock usually protects.
 *
 * A pp_shm is a block of memory of a fixed size, zero-filled at creation,
 * that every process which knows its name can map: the creator, pool
 * workers and unrelated processes that call pp_shm_open(). It reaches pool
 * workers exactly like a lock (see value.h): as a task argument, as an
 * initializer argument, or inherited in a global under the fork start
 * method. Python's multiprocessing.shared_memory is the model; unlike it,
 * the name cannot leak: the creator's pp_shm_destroy() removes it, and
 * if the creator dies first it is removed after its exit (see "Lifetime
 * of names").
 *
 * The block holds raw bytes: procpool neither synchronises access to it
 * (use a pp_lock, or atomics) nor stores pointers' meaning across
 * processes (each process may map the block at another address; store
 * offsets, not pointers). The block starts on a 64-byte boundary.
 *
 * One mapping per name per process: opening a name this process has open
 * already returns another handle to the same mapping (same pp_shm_ptr()),
 * as long as the name still names that block (a block destroyed and
 * created again under the name is another block).
 *
 * Implementation: POSIX shm_open("/<name>", mode 0600) + mmap; Windows a
 * pagefile-backed file mapping "Local\procpool-obj-<name>" (session-local).
 * A small header (magic, version, size, ready flag) lets pp_shm_open()
 * refuse objects that are not procpool blocks.
 *
 * Lifetime of names: the process that created the block owns its name;
 * pp_shm_destroy() on the creating handle removes the name at once, so
 * later pp_shm_open() calls (any process) get #PP_ENOENT, even if other
 * handles still use the block. Handles other processes (pool workers)
 * already hold stay valid: their mapping and its contents remain, shared
 * among those handles only, until each of them is destroyed (workers:
 * until they exit); no new process can join. Nothing is left in /dev/shm.
 * On Windows the name itself cannot be reused (#PP_EEXIST) until the last
 * of those handles closes.
 *
 * If the creator exits without pp_shm_destroy() (killed, crashed, or just
 * forgot), the name does not outlive it either. POSIX: a resource tracker
 * process, started at the first creation of a name in a process, removes
 * the name once the creating process and every process forked from it
 * have exited (see README, "Platform notes", for its limits: a creator
 * killed in the instant of creation, or a tracker that could not start,
 * leaves the name). Windows: the kernel object goes with its last
 * handle, and a dead process's handles are closed.
 */
#ifndef PROCPOOL_SHM_H
#define PROCPOOL_SHM_H

#include <stddef.h>

#include "common.h"
#include "error.h"
#include "export.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Opaque shared memory handle. Thread-safe (the memory itself is not
 *  synchronised; see the file comment). */
typedef struct pp_shm pp_shm;

/**
 * @brief Create a new zero-filled shared memory block.
 *
 * @param name NULL for a fresh unpredictable name ("pp-<pid>-<seq>-<random>"),
 *        or a name of 1..#PP_NAME_MAX characters from [A-Za-z0-9._-], not
 *        "." or "..".
 *        Locks and blocks share one namespace on every platform: a
 *        lock's name cannot be used for a block (#PP_EEXIST), nor opened
 *        as one (#PP_EINVAL), and the reverse.
 * @param size bytes, at least 1.
 * @param[out] out receives the handle, owned by the caller; free it with
 *        pp_shm_destroy(), which also removes the name.
 * @return #PP_OK.
 *
 * Errors the caller must handle:
 *  - #PP_EINVAL: out is NULL, size is 0 or larger than the platform can
 *    map, or name is empty, too long, or has a character outside
 *    [A-Za-z0-9._-] ('/' and '\\' included).
 *  - #PP_EEXIST: an object with this name exists already.
 *  - #PP_ENOTINIT: pp_init() has not been called.
 *  - #PP_ENOMEM, #PP_EACCES, #PP_ESYS: resources or OS failure
 *    (pp_os_error() has the OS code).
 */
PP_API pp_status pp_shm_create(const char *name, size_t size, pp_shm **out);

/**
 * @brief Open an existing block by name, from any process.
 *
 * @param[out] out receives the handle, owned by the caller; free it with
 *        pp_shm_destroy() (which, for an opened handle, only detaches).
 *
 * Errors the caller must handle:
 *  - #PP_EINVAL: NULL argument or malformed name (see pp_shm_create()),
 *    or the name exists but is not a procpool shared memory block (a
 *    lock, say).
 *  - #PP_ENOENT: no block with this name (never created, or its creator
 *    destroyed it).
 *  - #PP_ENOTINIT, #PP_ENOMEM, #PP_EACCES, #PP_ESYS.
 */
PP_API pp_status pp_shm_open(const char *name, pp_shm **out);

/**
 * @brief Start of the block in this process (64-byte aligned); valid until
 *        the last handle of this process to the block is destroyed. NULL
 *        for NULL.
 */
PP_API void *pp_shm_ptr(const pp_shm *shm);

/** @brief Size of the block in bytes, as given at creation; 0 for NULL. */
PP_API size_t pp_shm_size(const pp_shm *shm);

/** @brief The block's name (valid until pp_shm_destroy()); NULL for NULL. */
PP_API const char *pp_shm_name(const pp_shm *shm);

/**
 * @name Atomic int64 slots (Python's Value('q') without a lock).
 *
 * The 8 bytes at byte offset `offset` of the block, read and changed
 * atomically by any number of threads and processes that map the block —
 * a shared counter or an array of them needs no lock, and a process
 * killed in the middle of one of these calls leaves the slot either
 * changed or not, never half-written (so a dead participant cannot wedge
 * it). Load has acquire, store release, add and compare-and-swap
 * sequentially consistent ordering. Mixing these with plain writes to the
 * same slot is the caller's race.
 *
 * Errors the caller must handle (each call): #PP_EINVAL (NULL shm, an
 * offset not a multiple of 8), #PP_ERANGE (offset + 8 beyond
 * pp_shm_size()).
 */
/**@{*/
/** @brief *out = the slot's value. */
PP_API pp_status pp_shm_load_int64(pp_shm *shm, size_t offset, int64_t *out);
/** @brief The slot = value. */
PP_API pp_status pp_shm_store_int64(pp_shm *shm, size_t offset, int64_t value);
/** @brief The slot += delta (wrapping, two's complement); *now (optional)
 *         gets the new value. */
PP_API pp_status pp_shm_add_int64(pp_shm *shm, size_t offset, int64_t delta, int64_t *now);
/** @brief If the slot is expected, make it desired; *swapped (optional) 1
 *         if it did, else 0; *seen (optional) expected if it did, else the
 *         slot's value read just after (it may have changed again). */
PP_API pp_status pp_shm_cas_int64(pp_shm *shm, size_t offset, int64_t expected, int64_t desired,
                                  int *swapped, int64_t *seen);
/**@}*/

/**
 * @brief Close a handle. Accepts NULL.
 *
 * On the handle returned by pp_shm_create() this also removes the name
 * (see the file comment for what other processes' handles do then). The
 * memory stays mapped in this process while other handles of this process
 * to the same block exist.
 */
PP_API void pp_shm_destroy(pp_shm *shm);

#ifdef __cplusplus
}
#endif

#endif /* PROCPOOL_SHM_H */
