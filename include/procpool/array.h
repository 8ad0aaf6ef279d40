/**
 * @file array.h
 * @brief Named typed shared arrays with their own robust lock, between
 *        processes of one machine: Python's multiprocessing Value and
 *        Array (Value('q') is an int64 array of length 1).
 *
 * A pp_array is a fixed number of elements — int64_t, double, or raw
 * records of a fixed size — zero-filled at creation, that every process
 * which knows its name can use: the creator, pool workers (as a task or
 * initializer argument, or inherited in a global under the fork start
 * method, exactly like a pp_lock) and unrelated processes that call
 * pp_array_open().
 *
 * Two ways to use it:
 *  - under its lock: pp_array_read() / pp_array_write() (and the typed
 *    one-element forms) copy a range of elements while holding the
 *    array's lock; pp_array_lock() / pp_array_unlock() hold it across
 *    several calls (a read-modify-write). The lock is robust: when its
 *    holder dies, the next locker gets #PP_EOWNERDEAD ("acquired; a
 *    holder died": the elements may be half-written, as with a pp_lock)
 *    within a slice of its wait. The lock is held by a thread of a
 *    process; the element calls made by the thread that holds it do not
 *    take it again (as Python's default RLock lets a[i] work inside
 *    `with a.get_lock()`), but pp_array_lock() itself is not recursive
 *    (#PP_EDEADLK). Death is a process's: a thread that ends holding
 *    the lock while its process goes on leaves it held.
 *  - without the lock: pp_array_load_int64(), _store_, _add_ and _cas_
 *    change one int64 element atomically (a process killed in the middle
 *    leaves it changed or not, never half-written), like shm.h's atomic
 *    slots. Mixing them with writes under the lock to the same element is
 *    the caller's race.
 *
 * Lifetime of names exactly as lock.h: the creator owns the name;
 * pp_array_destroy() on the creating handle removes it while handles
 * others hold keep working among themselves; a killed creator leaves no
 * name behind; a name destroyed and created again is another array. On
 * Windows the name cannot be created again (#PP_EEXIST) until the last
 * handle of the destroyed array closes, in any process (pool workers
 * keep theirs until they exit; as shm.h).
 *
 * Handles are thread-safe.
 */
#ifndef PROCPOOL_ARRAY_H
#define PROCPOOL_ARRAY_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "error.h"
#include "export.h"
#include "value.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Opaque array handle. Thread-safe. */
typedef struct pp_array pp_array;

/** Element type of an array (stored in it: values never change). */
typedef enum pp_array_type {
    PP_ARRAY_INT64 = 1,  /**< int64_t elements (Python 'q') */
    PP_ARRAY_DOUBLE = 2, /**< double elements (Python 'd') */
    PP_ARRAY_RECORD = 3  /**< raw records of a fixed size (a C struct without pointers) */
} pp_array_type;

/** Largest record: 64 KiB. */
#define PP_ARRAY_RECORD_MAX ((size_t)64 * 1024)
/** Largest array: 1 GiB of elements. */
#define PP_ARRAY_BYTES_MAX ((size_t)1 << 30)

/**
 * @brief Create a zero-filled array of length int64_t (#PP_ARRAY_INT64) or
 *        double (#PP_ARRAY_DOUBLE) elements.
 *
 * @param name NULL for a fresh unpredictable name, or a name of
 *        1..#PP_NAME_MAX characters from [A-Za-z0-9._-] (one namespace with
 *        locks, shm blocks and the other sync objects).
 * @param length number of elements, at least 1.
 * @param[out] out the handle, owned by the caller; free it with
 *        pp_array_destroy(), which also removes the name.
 *
 * Errors the caller must handle:
 *  - #PP_EINVAL: out NULL, name malformed, type not INT64 or DOUBLE (see
 *    pp_array_create_records()), length 0 or beyond #PP_ARRAY_BYTES_MAX.
 *  - #PP_EEXIST: an object with this name exists already.
 *  - #PP_ENOTINIT, #PP_ENOMEM, #PP_EACCES, #PP_ESYS.
 */
PP_API pp_status pp_array_create(const char *name, pp_array_type type, size_t length,
                                 pp_array **out);

/**
 * @brief Create a zero-filled array of length records of record_size
 *        bytes each (#PP_ARRAY_RECORD; records start 8-byte aligned when
 *        record_size is a multiple of 8).
 *
 * Errors the caller must handle: as pp_array_create(); #PP_EINVAL also for
 * record_size 0 or above #PP_ARRAY_RECORD_MAX.
 */
PP_API pp_status pp_array_create_records(const char *name, size_t record_size, size_t length,
                                         pp_array **out);

/**
 * @brief Open an existing array by name, from any process.
 *
 * Errors the caller must handle: #PP_EINVAL (NULL, malformed name, or the
 * name is another procpool object), #PP_ETYPE (another sync object),
 * #PP_ENOENT (no such name), #PP_ENOTINIT, #PP_ENOMEM, #PP_EACCES,
 * #PP_ESYS.
 */
PP_API pp_status pp_array_open(const char *name, pp_array **out);

/** @brief Element type; 0 for NULL. */
PP_API pp_array_type pp_array_type_of(const pp_array *a);
/** @brief Number of elements; 0 for NULL. */
PP_API size_t pp_array_length(const pp_array *a);
/** @brief Bytes per element (8 for INT64 and DOUBLE); 0 for NULL. */
PP_API size_t pp_array_elem_size(const pp_array *a);
/** @brief The array's name (valid until pp_array_destroy()); NULL for NULL. */
PP_API const char *pp_array_name(const pp_array *a);

/**
 * @brief The elements in this process's memory (64-byte aligned), valid
 *        until the last handle of this process is destroyed; NULL for
 *        NULL. Access it under the lock, or through the atomic calls.
 */
PP_API void *pp_array_ptr(const pp_array *a);

/**
 * @brief Take the array's lock, waiting at most timeout_ms.
 *
 * @param timeout_ms 0: do not wait; #PP_INFINITE: no bound (a dead holder
 *        is still noticed); other negative values are invalid.
 * @return #PP_OK, or #PP_EOWNERDEAD: taken, and the previous holder died
 *         holding it (the elements may be half-written).
 *
 * Errors the caller must handle:
 *  - #PP_ETIMEDOUT: not taken in time.
 *  - #PP_EDEADLK: the calling thread holds it already.
 *  - #PP_EINVAL: a NULL or invalid argument.
 */
PP_API pp_status pp_array_lock(pp_array *a, int64_t timeout_ms);

/**
 * @brief Release the lock the calling thread holds.
 * Errors the caller must handle: #PP_EPERM (the calling thread does not
 * hold it), #PP_EINVAL (NULL).
 */
PP_API pp_status pp_array_unlock(pp_array *a);

/**
 * @brief Copy count elements from index first out of the array (read) or
 *        into it (write), under the lock.
 *
 * The lock is taken for the copy (waiting up to timeout_ms as
 * pp_array_lock()) unless the calling thread holds it already.
 *
 * @param out / in count * pp_array_elem_size() bytes.
 * @return #PP_OK, or #PP_EOWNERDEAD: done, and the lock's previous holder
 *         had died holding it (other elements may be half-written).
 *
 * Errors the caller must handle: #PP_ERANGE (the range is not inside the
 * array), #PP_ETIMEDOUT (lock not taken in time; nothing copied),
 * #PP_EINVAL (NULL, count 0).
 */
PP_API pp_status pp_array_read(pp_array *a, size_t first, size_t count, void *out,
                               int64_t timeout_ms);
/** @brief See pp_array_read(). */
PP_API pp_status pp_array_write(pp_array *a, size_t first, size_t count, const void *in,
                                int64_t timeout_ms);

/**
 * @name One typed element under the lock (pp_array_read() / _write() of
 *       one element). Errors as pp_array_read(), and #PP_ETYPE if the
 *       array has another element type.
 */
/**@{*/
PP_API pp_status pp_array_get_int64(pp_array *a, size_t i, int64_t *out, int64_t timeout_ms);
PP_API pp_status pp_array_set_int64(pp_array *a, size_t i, int64_t x, int64_t timeout_ms);
PP_API pp_status pp_array_get_double(pp_array *a, size_t i, double *out, int64_t timeout_ms);
PP_API pp_status pp_array_set_double(pp_array *a, size_t i, double x, int64_t timeout_ms);
/**@}*/

/**
 * @name Lock-free atomic int64 elements (Python's Value('q') without the
 *       lock). Load has acquire, store release, add and compare-and-swap
 *       sequentially consistent ordering.
 *
 * Errors the caller must handle (each call): #PP_ETYPE (not an
 * #PP_ARRAY_INT64 array), #PP_ERANGE (i out of range), #PP_EINVAL (NULL).
 */
/**@{*/
/** @brief *out = element i. */
PP_API pp_status pp_array_load_int64(pp_array *a, size_t i, int64_t *out);
/** @brief element i = x. */
PP_API pp_status pp_array_store_int64(pp_array *a, size_t i, int64_t x);
/** @brief element i += delta (wrapping); *now (optional) gets the new value. */
PP_API pp_status pp_array_add_int64(pp_array *a, size_t i, int64_t delta, int64_t *now);
/** @brief If element i is expected, make it desired; *swapped (optional)
 *         1 if it did, else 0; *seen (optional) expected if it did, else
 *         the value read just after. */
PP_API pp_status pp_array_cas_int64(pp_array *a, size_t i, int64_t expected, int64_t desired,
                                    int *swapped, int64_t *seen);
/**@}*/

/**
 * @brief Close a handle. Accepts NULL. On the creating handle this also
 *        removes the name. Do not destroy a handle whose thread holds the
 *        lock (release it first: the others would get #PP_EOWNERDEAD only
 *        once this process exits).
 */
PP_API void pp_array_destroy(pp_array *a);

/**
 * @name An array as a value (task and initializer arguments, results,
 *       queue items). As pp_values_add_queue() / pp_values_get_queue()
 *       (queue.h): stored by name and identity; a worker's handle is kept
 *       open by its process (do not destroy it). Errors as those.
 */
/**@{*/
PP_API pp_status pp_values_add_array(pp_values *v, pp_array *a);
PP_API pp_status pp_values_get_array(const pp_values *v, size_t i, pp_array **out);
/**@}*/

#ifdef __cplusplus
}
#endif

#endif /* PROCPOOL_ARRAY_H */
