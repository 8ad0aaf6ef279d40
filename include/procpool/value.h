/**
 * @file value.h
 * @brief Typed value tuples: task arguments and task results.
 *
 * A ::pp_values is an ordered tuple of typed values: 64-bit integers,
 * doubles, strings, byte buffers and shareable handles (locks, shared
 * memory blocks, proxies of a manager's hosted objects). Tuples are
 * what tasks receive as arguments and what they return; procpool encodes
 * them for the trip to a worker process (versioned, bounds-checked), so no
 * user serialisation is needed. Anything else travels as bytes.
 *
 * Ownership: a tuple created with pp_values_create() belongs to the caller
 * and is freed with pp_values_destroy(). Adding copies the data (strings,
 * bytes); a lock or a shared memory block is stored by name and reaches a
 * worker as a working pp_lock / pp_shm handle (attached by name once per
 * worker process, or inherited under the fork start method); a manager's
 * lock is stored by its locator and reaches a worker the same way, through
 * one connection per manager and worker (manager.h). So does every other
 * object a manager hosts (a pp_mqueue, pp_mdict, ...: a proxy item, added
 * and read with the typed pp_values_add_mqueue() / pp_values_get_mqueue()
 * pairs of manager_objects.h). Getters return
 * borrowed pointers, valid while the tuple lives.
 *
 * Limits: a tuple holds at most #PP_VALUES_MAX_ITEMS items and encodes to
 * at most #PP_MESSAGE_MAX bytes (about 7 million integers: enough for the
 * input of a large map; split bigger inputs); one string or byte buffer
 * holds at most #PP_VALUE_MAX_BYTES bytes; one message (a task's arguments,
 * a chunk of map items, a result) at most #PP_MESSAGE_MAX bytes. Larger values fail with
 * #PP_ETOOBIG when added or submitted, never later in a worker.
 *
 * Not thread-safe: do not modify a tuple while another thread reads it.
 */
#ifndef PROCPOOL_VALUE_H
#define PROCPOOL_VALUE_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "export.h"
#include "lock.h"
#include "shm.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PP_VALUES_MAX_ITEMS (1u << 24)
#define PP_VALUE_MAX_BYTES  ((size_t)32 << 20)
#define PP_MESSAGE_MAX      ((size_t)64 << 20)

/** Type of one value. Numeric values are part of the wire format. */
typedef enum pp_type {
    PP_TYPE_NONE = 0,   /**< no value (index out of range) */
    PP_TYPE_INT = 1,    /**< int64_t */
    PP_TYPE_DOUBLE = 2, /**< double */
    PP_TYPE_STR = 3,    /**< NUL-terminated UTF-8/byte string without embedded NUL */
    PP_TYPE_BYTES = 4,  /**< byte buffer, any content */
    PP_TYPE_LOCK = 5,   /**< pp_lock handle, travels by name */
    PP_TYPE_SHM = 6,    /**< pp_shm handle, travels by name */
    /** handle of an object a manager hosts (manager_objects.h: pp_msem,
     *  pp_mcond, pp_mevent, pp_mbarrier, pp_mvalue, pp_mqueue, pp_mdict),
     *  travels by its locator; read it with the kind's typed getter
     *  (pp_values_get_mqueue(), ...). Never a tag on the wire. */
    PP_TYPE_PROXY = 7
} pp_type;

/** A tuple of typed values. */
typedef struct pp_values pp_values;

/**
 * @brief Create an empty tuple.
 * Errors the caller must handle: #PP_EINVAL (out is NULL), #PP_ENOMEM.
 */
PP_API pp_status pp_values_create(pp_values **out);

/**
 * @brief Create a tuple from a format string and arguments.
 *
 * Format characters: 'i' int, 'l' int64_t, 'd' double, 's' const char *,
 * 'b' const void * followed by size_t length, 'k' pp_lock *, 'm' pp_shm *.
 * Example: `pp_values_pack(&v, "iskm", 3, "name", lock, shm)`.
 *
 * Errors the caller must handle: #PP_EINVAL (NULL out/fmt, unknown format
 * character, NULL string, lock or shm), #PP_ETOOBIG, #PP_ENOMEM. On error *out
 * is NULL and nothing leaks.
 */
PP_API pp_status pp_values_pack(pp_values **out, const char *fmt, ...);

/**
 * @brief Read several values at once: the inverse of pp_values_pack().
 *
 * Format as pp_values_pack() with pointers: 'i' int * (PP_ERANGE if the
 * value does not fit), 'l' int64_t *, 'd' double *, 's' const char **,
 * 'b' const void ** then size_t *, 'k' pp_lock **, 'm' pp_shm **. The
 * tuple may hold more items than the format names.
 *
 * Errors the caller must handle: #PP_EINVAL (NULL argument, unknown format
 * character), #PP_ERANGE (fewer items than the format, or an int that
 * does not fit), #PP_ETYPE (an item has another type), and for 'k' / 'm'
 * the reason a worker could not attach the lock / block (see
 * pp_values_get_lock()).
 */
PP_API pp_status pp_values_unpack(const pp_values *v, const char *fmt, ...);

/** @brief Free a tuple. Accepts NULL. */
PP_API void pp_values_destroy(pp_values *v);

/**
 * @brief Deep copy of a tuple.
 * Errors the caller must handle: #PP_EINVAL, #PP_ENOMEM.
 */
PP_API pp_status pp_values_copy(const pp_values *v, pp_values **out);

/** @name Appending. Errors: #PP_EINVAL (NULL), #PP_ETOOBIG (limits), #PP_ENOMEM. */
/**@{*/
PP_API pp_status pp_values_add_int(pp_values *v, int64_t x);
PP_API pp_status pp_values_add_double(pp_values *v, double x);
/** Copies s; PP_EINVAL for NULL. */
PP_API pp_status pp_values_add_str(pp_values *v, const char *s);
/** Copies n bytes from p (p may be NULL when n is 0). */
PP_API pp_status pp_values_add_bytes(pp_values *v, const void *p, size_t n);
/** Stores the lock's name (a manager or Redis lock, manager.h, redis.h:
 *  its locator); the lock must still exist when a worker uses it. */
PP_API pp_status pp_values_add_lock(pp_values *v, pp_lock *lock);
/** Stores the block's name; the block must still exist when a worker uses it. */
PP_API pp_status pp_values_add_shm(pp_values *v, pp_shm *shm);
/**@}*/

/** @brief Number of items (0 for NULL). */
PP_API size_t pp_values_count(const pp_values *v);

/** @brief Type of item i, #PP_TYPE_NONE when out of range or v is NULL. */
PP_API pp_type pp_values_type(const pp_values *v, size_t i);

/** @name Typed access to item i.
 * Errors the caller must handle: #PP_EINVAL (NULL argument), #PP_ERANGE
 * (i out of range), #PP_ETYPE (item i has another type).
 * Returned pointers are borrowed and valid while the tuple lives. */
/**@{*/
PP_API pp_status pp_values_get_int(const pp_values *v, size_t i, int64_t *out);
PP_API pp_status pp_values_get_double(const pp_values *v, size_t i, double *out);
PP_API pp_status pp_values_get_str(const pp_values *v, size_t i, const char **out);
PP_API pp_status pp_values_get_bytes(const pp_values *v, size_t i, const void **data, size_t *len);
/** In the parent: the handle that was added. In a worker: a handle the
 * worker process keeps open (one per lock name) for its whole life. In a
 * worker where the lock could not be attached (its creator destroyed it:
 * #PP_ENOENT), that error is returned with *out NULL, never #PP_OK. */
PP_API pp_status pp_values_get_lock(const pp_values *v, size_t i, pp_lock **out);
/** As pp_values_get_lock(), for a shared memory block: in a worker a
 * handle kept for the process's life (so pp_shm_ptr() is stable across
 * tasks), or the reason it could not be attached with *out NULL. */
PP_API pp_status pp_values_get_shm(const pp_values *v, size_t i, pp_shm **out);
/**@}*/

#ifdef __cplusplus
}
#endif

#endif /* PROCPOOL_VALUE_H */
