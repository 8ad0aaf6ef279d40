/**
 * @file queue.h
 * @brief Named FIFO queue of value tuples between processes of one
 *        machine, without a server: Python's multiprocessing.Queue.
 *
 * A pp_queue carries ::pp_values tuples (value.h) from any number of
 * producers to any number of consumers: the creator, pool workers (as a
 * task or initializer argument, or inherited in a global under the fork
 * start method, exactly like a pp_lock) and unrelated processes that call
 * pp_queue_open(). Items are encoded as task arguments are: integers,
 * doubles, strings and bytes are copied; locks, shm blocks and the other
 * local sync objects travel by name and arrive as working handles, as do
 * manager and Redis objects (by their locators).
 *
 * Layout: one sync segment (a named shared memory object with a robust
 * state mutex and a wake word) holding a ring of capacity_bytes bytes.
 * Each item takes a 24-byte header (length, state mark, the process
 * putting or getting it) plus its encoded tuple rounded up to 8 bytes.
 * The queue is bounded twice: by maxsize items (0: no count limit) and
 * always by the ring's bytes; a put waits while either bound would be
 * exceeded. The state mutex is held for a few stores at a time: items of
 * up to 512 encoded bytes are copied in and out under it, larger ones are
 * copied in (room reserved first, published after; unless one takes more
 * than a quarter of the ring) and decoded without it.
 *
 * Semantics:
 *  - FIFO per producer: the items one thread puts are got in the order it
 *    put them; items of different producers interleave in the order their
 *    puts completed.
 *  - An item is visible only once it is completely written: it is copied
 *    into free (or reserved) ring space first and published in one step
 *    afterwards (under the state mutex, with a redo record for the step).
 *  - A producer killed inside pp_queue_put() leaves no item (nothing half
 *    written is ever got) and never blocks the others: the next caller
 *    that takes the state mutex gets it back (robust mutex) and repairs
 *    the queue's counters from the redo record; room it had reserved is
 *    freed by whoever it holds up, within a slice (50 ms) of waiting.
 *  - A consumer killed inside pp_queue_get() loses at most the one item it
 *    was taking: the item leaves the queue in one step (under the state
 *    mutex); killed before that step, the item stays for the next getter,
 *    killed after it (before pp_queue_get() returned), the item is gone
 *    with the consumer, and the ring room of a large item it was decoding
 *    is freed by whoever it holds up, within a slice (50 ms) of waiting.
 *    Every other item stays.
 *  - qsize/empty/full are snapshots: another process may change the queue
 *    right after (as in Python).
 *
 * Lifetime of names exactly as lock.h: the creator owns the name;
 * pp_queue_destroy() on the creating handle removes it (later opens get
 * #PP_ENOENT) while handles others hold keep working among themselves;
 * a creator killed without destroying it leaves no name behind (resource
 * tracker on POSIX; the kernel object's last handle on Windows). A name
 * destroyed and created again names a new queue: a worker given the old
 * one gets #PP_ENOENT for it, never the new one. On Windows the name
 * cannot be created again (#PP_EEXIST) until the last handle of the
 * destroyed queue closes, in any process (as shm.h).
 *
 * Handles are thread-safe: any number of threads may put and get through
 * one handle at the same time.
 */
#ifndef PROCPOOL_QUEUE_H
#define PROCPOOL_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "error.h"
#include "export.h"
#include "value.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Opaque queue handle. Thread-safe. */
typedef struct pp_queue pp_queue;

/** Ring size used when pp_queue_create() is given 0 bytes: 1 MiB. */
#define PP_QUEUE_DEFAULT_BYTES ((size_t)1 << 20)
/** Smallest ring: 64 bytes (pp_queue_create() rounds up to a multiple of 8). */
#define PP_QUEUE_MIN_BYTES ((size_t)64)
/** Largest ring: 1 GiB. */
#define PP_QUEUE_MAX_BYTES ((size_t)1 << 30)
/** Largest maxsize: 2^31 items (as pp_mqueue_create()). */
#define PP_QUEUE_MAX_ITEMS ((size_t)1 << 31)
/** Bytes of ring each item takes besides its encoded tuple (rounded up to 8). */
#define PP_QUEUE_ITEM_OVERHEAD ((size_t)24)

/**
 * @brief Create a new queue.
 *
 * @param name NULL for a fresh unpredictable name, or a name of
 *        1..#PP_NAME_MAX characters from [A-Za-z0-9._-] (one namespace with
 *        locks, shm blocks and the other sync objects).
 * @param maxsize most items it holds at once; 0: no count limit (the ring's
 *        bytes still bound it).
 * @param capacity_bytes size of the ring; 0 for #PP_QUEUE_DEFAULT_BYTES;
 *        else #PP_QUEUE_MIN_BYTES..#PP_QUEUE_MAX_BYTES, rounded up to a
 *        multiple of 8. One item needs its encoded size
 *        (pp_queue_item_size()) rounded up to 8 plus
 *        #PP_QUEUE_ITEM_OVERHEAD bytes of it.
 * @param[out] out receives the handle, owned by the caller; free it with
 *        pp_queue_destroy(), which also removes the name.
 * @return #PP_OK.
 *
 * Errors the caller must handle:
 *  - #PP_EINVAL: out is NULL, name malformed, maxsize above
 *    #PP_QUEUE_MAX_ITEMS, capacity_bytes out of range.
 *  - #PP_EEXIST: an object with this name exists already.
 *  - #PP_ENOTINIT: pp_init() has not been called.
 *  - #PP_ENOMEM, #PP_EACCES, #PP_ESYS: resources or OS failure.
 */
PP_API pp_status pp_queue_create(const char *name, size_t maxsize, size_t capacity_bytes,
                                 pp_queue **out);

/**
 * @brief Open an existing queue by name, from any process.
 *
 * @param[out] out receives the handle, owned by the caller; free it with
 *        pp_queue_destroy() (which, for an opened handle, only detaches).
 *
 * Errors the caller must handle:
 *  - #PP_EINVAL: NULL argument, malformed name, or the name is another
 *    procpool object (a lock, a shm block).
 *  - #PP_ETYPE: the name is another sync object (a semaphore, an array...).
 *  - #PP_ENOENT: no object with this name.
 *  - #PP_ENOTINIT, #PP_ENOMEM, #PP_EACCES, #PP_ESYS.
 */
PP_API pp_status pp_queue_open(const char *name, pp_queue **out);

/**
 * @brief Append a copy of v (NULL: an empty tuple), waiting up to
 *        timeout_ms while the queue is full (maxsize items, or not enough
 *        free ring bytes for this item).
 *
 * @param timeout_ms 0: do not wait (#PP_ETIMEDOUT if full);
 *        #PP_INFINITE: no bound; other negative values are invalid.
 * @return #PP_OK, the item is in the queue.
 *
 * Errors the caller must handle:
 *  - #PP_ETIMEDOUT: still full after timeout_ms; nothing was added.
 *  - #PP_ETOOBIG: v can never fit: its encoding plus the item header is
 *    larger than the ring (not waited for; a message is logged with both
 *    sizes). Create the queue with a larger capacity_bytes.
 *  - #PP_EINVAL: q is NULL, timeout_ms invalid.
 *  - #PP_ENOMEM.
 */
PP_API pp_status pp_queue_put(pp_queue *q, const pp_values *v, int64_t timeout_ms);

/**
 * @brief As pp_queue_put() without waiting: #PP_EBUSY when full (Python's
 *        put_nowait() / queue.Full).
 */
PP_API pp_status pp_queue_try_put(pp_queue *q, const pp_values *v);

/**
 * @brief Take the oldest item, waiting up to timeout_ms while the queue
 *        is empty.
 *
 * @param[out] out a tuple owned by the caller (pp_values_destroy()). Lock,
 *        shm and sync-object items are this process's handles, opened by
 *        name once per object (as a worker's task arguments; an object
 *        that could not be opened reports why through its typed getter,
 *        pp_values_get_lock() ...).
 * @param timeout_ms as pp_queue_put().
 * @return #PP_OK.
 *
 * Errors the caller must handle:
 *  - #PP_ETIMEDOUT: still empty after timeout_ms.
 *  - #PP_EPROTO: the item taken was malformed (only if the ring's memory
 *    was overwritten by someone else); it is dropped.
 *  - #PP_EINVAL: NULL argument, timeout_ms invalid.
 *  - #PP_ENOMEM: no memory for the item; it stays in the queue.
 */
PP_API pp_status pp_queue_get(pp_queue *q, pp_values **out, int64_t timeout_ms);

/**
 * @brief As pp_queue_get() without waiting: #PP_EBUSY when empty (Python's
 *        get_nowait() / queue.Empty).
 */
PP_API pp_status pp_queue_try_get(pp_queue *q, pp_values **out);

/**
 * @brief Snapshots: how many items it holds now (*n); whether it is empty
 *        or full now (*flag 1 or 0; full: maxsize items, never for a queue
 *        without maxsize even when its ring is full).
 * @return #PP_OK. Errors the caller must handle: #PP_EINVAL (NULL).
 */
PP_API pp_status pp_queue_qsize(pp_queue *q, size_t *n);
/** @brief See pp_queue_qsize(). */
PP_API pp_status pp_queue_empty(pp_queue *q, int *flag);
/** @brief See pp_queue_qsize(). */
PP_API pp_status pp_queue_full(pp_queue *q, int *flag);

/** @brief maxsize given at creation (0: none); 0 for NULL. */
PP_API size_t pp_queue_maxsize(const pp_queue *q);
/** @brief Ring bytes (after rounding); 0 for NULL. */
PP_API size_t pp_queue_capacity(const pp_queue *q);
/** @brief Ring bytes the item v takes (header and padding included), to
 *         size a queue; 0 for an item that can never be queued. */
PP_API size_t pp_queue_item_size(const pp_values *v);
/** @brief The queue's name (valid until pp_queue_destroy()); NULL for NULL. */
PP_API const char *pp_queue_name(const pp_queue *q);

/**
 * @brief Close a handle. Accepts NULL.
 *
 * On the handle returned by pp_queue_create() this also removes the name
 * (items still in the queue stay readable through other processes'
 * handles, see the file comment). Do not destroy a handle while another
 * thread uses it.
 */
PP_API void pp_queue_destroy(pp_queue *q);

/**
 * @name A queue as a value (task and initializer arguments, results,
 *       items of another local queue).
 *
 * pp_values_add_queue() stores the queue's name and identity; a worker's
 * pp_values_get_queue() gives a handle its process keeps open (one per
 * queue, opened by name, or inherited under fork) — do not destroy it.
 * Errors the caller must handle: add: #PP_EINVAL (NULL), #PP_ETOOBIG,
 * #PP_ENOMEM; get: #PP_EINVAL (NULL), #PP_ERANGE (i out of range),
 * #PP_ETYPE (item i is not a queue), and in a worker the reason it could
 * not be opened (#PP_ENOENT: destroyed, or its name now names another
 * object), with *out NULL.
 */
/**@{*/
PP_API pp_status pp_values_add_queue(pp_values *v, pp_queue *q);
PP_API pp_status pp_values_get_queue(const pp_values *v, size_t i, pp_queue **out);
/**@}*/

#ifdef __cplusplus
}
#endif

#endif /* PROCPOOL_QUEUE_H */
