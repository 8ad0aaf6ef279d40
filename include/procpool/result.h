/**
 * @file result.h
 * @brief Results of submitted work: async results and imap iterators.
 *
 * A ::pp_result stands for one submission (apply: one item; map/starmap:
 * one item per input). It is thread-safe. Ownership: the caller owns the
 * handle it received and frees it with pp_result_release(); the pool keeps
 * its own reference while the work runs, so releasing early is allowed
 * (the work still runs, callbacks still fire). A result stays readable
 * after its pool was destroyed (terminated work reads #PP_ETERMINATED).
 *
 * Failure statuses an item can have:
 *  - #PP_ETASK: the task function failed (code and message from the task);
 *  - a procpool status the task function returned (e.g. #PP_ETOOBIG from
 *    pp_values_add_bytes(), #PP_ENOMEM): the task failed because of it;
 *  - #PP_EWORKERDIED: the worker running it died (exit code or signal in
 *    the code, a description in the message);
 *  - #PP_ETERMINATED: the pool was terminated before it finished;
 *  - #PP_ETIMEDOUT: it ran longer than pp_submit_options.timeout_ms (its
 *    worker was killed and replaced);
 *  - #PP_ECANCELED: pp_result_cancel() / pp_iter_cancel() before it
 *    finished;
 *  - the status a broken pool fails its work with (#PP_ESPAWN: workers
 *    cannot be started; #PP_ETASK: the initializer failed), with the
 *    reason in the message (pp_pool_get_stats());
 *  - #PP_ENOTREGISTERED: the worker does not know the function (registered
 *    after pp_init()?);
 *  - #PP_ETOOBIG: the task's result did not fit in a message;
 *  - others from the OS (lock named in arguments gone: #PP_ENOENT, ...).
 *
 * Never silent: a failed result that nobody observed (no pp_result_get(),
 * pp_result_successful(), pp_result_item(), error callback, or imap
 * iteration saw the failure) is reported through the log hook (log.h) when
 * it is released or when its pool is destroyed: one line with the task's
 * name, the first failed item's index (map forms), status, code and
 * message. Work that failed with #PP_ETERMINATED is not reported: the
 * caller asked for it (pp_pool_terminate(), or destroying a pool without
 * close and join).
 *
 * In a fork child of the process that created the pool (the program's own
 * fork()), a result finished before the fork can still be read; waiting
 * for an unfinished one, and pp_result_cancel(), return #PP_ESTATE (the
 * pool is its creator's). A call that finds the pool's internal lock held
 * there (another thread of the creator held it at the moment of the fork,
 * and that thread does not exist in the child) returns #PP_ESTATE too
 * instead of waiting for ever: pp_result_ready() says 0,
 * pp_result_error() NULL, and pp_result_release() leaves the child's copy
 * of the result to the child's exit.
 */
#ifndef PROCPOOL_RESULT_H
#define PROCPOOL_RESULT_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "export.h"
#include "value.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pp_result pp_result;

/** Description of a failed item. */
typedef struct pp_error {
    pp_status status;  /**< PP_ETASK, PP_EWORKERDIED, PP_ETERMINATED, ... */
    int code;          /**< task code (PP_ETASK); exit code or signal number
                            (PP_EWORKERDIED); 0 otherwise */
    char message[256]; /**< human-readable, NUL-terminated */
} pp_error;

/** Called on the pool's result thread when a submission succeeded. */
typedef void (*pp_callback)(pp_result *result, void *userdata);
/** Called on the pool's result thread when a submission failed (the
 * first failed item's error is passed). */
typedef void (*pp_error_callback)(pp_result *result, const pp_error *error, void *userdata);
/** Progress of a map-like call: items finished so far, of total. */
typedef void (*pp_progress_fn)(size_t done, size_t total, void *userdata);

/**
 * @brief Cancel a submission: its queued items are dropped, work it was
 * sent ahead is taken back, and the workers running its items are killed
 * (and replaced). Every item not finished yet gets #PP_ECANCELED at once,
 * so the result is ready (its callbacks run) when this returns, or soon
 * after on the result thread. Finished items keep their results.
 * Idempotent; a no-op on a finished result.
 * Errors: #PP_EINVAL (NULL); #PP_ESTATE in a fork child of the process
 * that created the pool (nothing is canceled: the work is its creator's).
 */
PP_API pp_status pp_result_cancel(pp_result *result);

/**
 * @brief Wait for the result and return its outcome.
 *
 * @param timeout_ms #PP_INFINITE, or >= 0 milliseconds.
 * @param[out] value optional; for a one-item result (apply) the task's
 *        result tuple (borrowed, valid until pp_result_release(), and
 *        read-only: adding to it fails with #PP_EINVAL; pp_values_copy()
 *        gives a tuple of your own); for a map result NULL — read items
 *        with pp_result_item().
 * @return #PP_OK when every item succeeded; else the status of the first
 *         failed item (see the file comment; pp_result_error() has details).
 *
 * Errors the caller must handle: the item failure statuses above;
 * #PP_ETIMEDOUT (not ready in time; the result stays valid);
 * #PP_EINVAL (NULL result, bad timeout); #PP_EDEADLK (called on the pool's
 * result thread, i.e. from a callback, for a result whose own callback
 * is still pending — waiting would deadlock); #PP_ESTATE (an unfinished
 * result waited for in a fork child of the process that created its
 * pool: nothing there can finish it). The other calls that wait for
 * results (pp_result_wait(), the bulk reads, pp_iter_next()) say the same.
 */
PP_API pp_status pp_result_get(pp_result *result, int64_t timeout_ms, const pp_values **value);

/**
 * @brief Wait until ready. #PP_OK when ready (whatever the outcome),
 *        #PP_ETIMEDOUT, #PP_EINVAL, #PP_EDEADLK, #PP_ESTATE as
 *        pp_result_get().
 */
PP_API pp_status pp_result_wait(pp_result *result, int64_t timeout_ms);

/** @brief 1 if the result is complete (callbacks included), else 0. */
PP_API int pp_result_ready(const pp_result *result);

/**
 * @brief Whether the completed result succeeded.
 * @return #PP_OK if every item succeeded, the first failure status if not,
 *         #PP_ENOTREADY if not complete yet, #PP_EINVAL for NULL.
 */
PP_API pp_status pp_result_successful(pp_result *result);

/**
 * @brief First failure of a completed result (NULL if none or not ready).
 * Borrowed, valid until pp_result_release().
 */
PP_API const pp_error *pp_result_error(pp_result *result);

/** @brief Number of items (1 for apply, the input count for map forms). */
PP_API size_t pp_result_count(const pp_result *result);

/**
 * @brief Outcome of item i of a completed result.
 * @param[out] value optional: the item's result tuple (borrowed, valid
 *        until pp_result_release(), read-only like pp_result_get()'s; the
 *        same pointer on every call: it is decoded on first read).
 * @param[out] error optional: the item's error (borrowed), NULL on success.
 * @return the item's status (#PP_OK or a failure status), #PP_ENOTREADY
 *         if that item has not finished, #PP_ERANGE, #PP_EINVAL, or
 *         #PP_ENOMEM when there was no memory to decode the value (the item
 *         stays readable: try again).
 */
PP_API pp_status pp_result_item(pp_result *result, size_t i, const pp_values **value,
                                const pp_error **error);

/**
 * @brief Read many results at once: items first..first+n-1 of a map whose
 *        results are single int64 values, into out[0..n).
 *
 * Waits (up to timeout_ms) until the result is ready, then copies every
 * item in one go: one wait and one lock for the range instead of one
 * pp_result_item() call per item, and no tuple is built for a scalar
 * result. The fast way to read a large map of numbers.
 *
 * @param out n slots; a failed item's slot is 0.
 * @param status optional, n slots: each item's status — #PP_OK, its
 *        failure status (as pp_result_item()), or #PP_ETYPE if its result
 *        is not exactly one int64 (then read it with pp_result_item()).
 * @return #PP_OK if every item of the range is an int64 result, else the
 *         first item's problem (a failure status or #PP_ETYPE); the range
 *         then counts as observed (result.h: never silent). Or:
 *  - #PP_ETIMEDOUT: not ready within timeout_ms (nothing copied);
 *  - #PP_EDEADLK: from a callback, waiting on a result whose callbacks
 *    must run on that same thread;
 *  - #PP_ERANGE: first + n beyond pp_result_count();
 *  - #PP_EINVAL: NULL result or out, bad timeout;
 *  - #PP_ENOMEM: decoding a result that was kept encoded.
 */
PP_API pp_status pp_result_ints(pp_result *result, int64_t timeout_ms, size_t first, size_t n,
                                int64_t *out, pp_status *status);

/** @brief As pp_result_ints() for results that are single doubles (an
 *         int result is #PP_ETYPE: no silent conversion). */
PP_API pp_status pp_result_doubles(pp_result *result, int64_t timeout_ms, size_t first, size_t n,
                                   double *out, pp_status *status);

/**
 * @brief As pp_result_ints() for results of any form: out[k] gets item
 *        first+k's result tuple (borrowed, valid until the result is
 *        released; NULL for a failed item).
 */
PP_API pp_status pp_result_values(pp_result *result, int64_t timeout_ms, size_t first, size_t n,
                                  const pp_values **out, pp_status *status);

/** @brief Drop the caller's reference. Accepts NULL. See file comment. */
PP_API void pp_result_release(pp_result *result);

/* ------------------------------------------------ waiting on many results */

/**
 * @brief Wait until at least one of several results is ready
 *        (concurrent.futures.wait(..., FIRST_COMPLETED)).
 *
 * The results may come from different pools and submission forms. Ready
 * means what pp_result_ready() says (complete and callbacks run); read
 * each one's outcome with pp_result_get() & co. as usual (waiting does not
 * count as observing a failure). Thread-safe; the handles stay the
 * caller's.
 *
 * @param results n result handles (duplicates allowed).
 * @param timeout_ms #PP_INFINITE or >= 0 (0: just look).
 * @param[out] index optional: the lowest index of a ready result.
 * @return #PP_OK.
 *
 * Errors the caller must handle:
 *  - #PP_ETIMEDOUT: none became ready within timeout_ms;
 *  - #PP_EDEADLK: called on the result thread (from a callback) while
 *    every result not ready yet still has callbacks to run there: none
 *    could ever become ready (wait_all: while any has);
 *  - #PP_EINVAL: results NULL, n 0, a NULL handle, bad timeout;
 *  - #PP_ENOTINIT: pp_init() has not been called.
 */
PP_API pp_status pp_result_wait_any(pp_result *const *results, size_t n, int64_t timeout_ms,
                                    size_t *index);

/**
 * @brief Wait until every one of several results is ready
 *        (concurrent.futures.wait(..., ALL_COMPLETED)).
 *
 * As pp_result_wait_any(); one deadline for the whole set.
 *
 * Errors the caller must handle: #PP_ETIMEDOUT (not all ready within
 * timeout_ms), #PP_EDEADLK, #PP_EINVAL, #PP_ENOTINIT (as
 * pp_result_wait_any()).
 */
PP_API pp_status pp_result_wait_all(pp_result *const *results, size_t n, int64_t timeout_ms);

/**
 * Results in the order they complete (concurrent.futures.as_completed),
 * across submissions and pools. One thread at a time per iterator.
 */
typedef struct pp_completion pp_completion;

/**
 * @brief Start iterating over results in completion order.
 *
 * @param results n handles, borrowed: they must stay alive (not
 *        released) until pp_completion_release(). The array itself is
 *        copied.
 * @param[out] out the iterator, owned by the caller
 *        (pp_completion_release()).
 * @return #PP_OK.
 *
 * Errors the caller must handle: #PP_EINVAL (NULL array, n 0, a NULL
 * handle, NULL out), #PP_ENOMEM.
 */
PP_API pp_status pp_completion_create(pp_result *const *results, size_t n, pp_completion **out);

/**
 * @brief The next result to be ready, each result exactly once.
 *
 * Results that became ready between two calls come out in index order.
 * Costs O(number not returned yet) per call.
 *
 * @param[out] index optional: its index in the array given to
 *        pp_completion_create(); read it through your handle.
 * @return #PP_OK, or:
 *  - #PP_EOF: every result has been returned;
 *  - #PP_ETIMEDOUT: none of the rest became ready within timeout_ms (call
 *    again to keep waiting);
 *  - #PP_EDEADLK, #PP_ENOTINIT: as pp_result_wait_any();
 *  - #PP_EINVAL: NULL iterator or bad timeout.
 */
PP_API pp_status pp_completion_next(pp_completion *c, int64_t timeout_ms, size_t *index);

/** @brief How many results have not been returned yet (0 for NULL). */
PP_API size_t pp_completion_left(const pp_completion *c);

/** @brief Free the iterator (not the results). Accepts NULL. */
PP_API void pp_completion_release(pp_completion *c);

/* ------------------------------------------------------------- iterators */

/** Incremental results of pp_imap() / pp_imap_unordered(). Thread-safe. */
typedef struct pp_iter pp_iter;

/**
 * @brief Next item: in input order (imap) or completion order
 *        (imap_unordered).
 *
 * @param[out] index optional: the item's input index.
 * @param[out] value optional: its result tuple (borrowed, valid until
 *        pp_iter_release(); read-only).
 * @param[out] error optional: its error (borrowed) or NULL.
 * @return the item's status (#PP_OK or its failure status — iteration goes
 *         on after a failed item), or:
 *  - #PP_EOF: every item has been returned;
 *  - #PP_ETIMEDOUT: no item within timeout_ms;
 *  - #PP_EINVAL: NULL iterator or bad timeout.
 */
PP_API pp_status pp_iter_next(pp_iter *it, int64_t timeout_ms, size_t *index,
                              const pp_values **value, const pp_error **error);

/** @brief Total number of items. */
PP_API size_t pp_iter_count(const pp_iter *it);

/** @brief Free the iterator; unfinished work still runs. Accepts NULL. */
PP_API void pp_iter_release(pp_iter *it);

/**
 * @brief Cancel the rest of an imap: as pp_result_cancel(); the items not
 * finished yet come out of pp_iter_next() with #PP_ECANCELED.
 * Errors: #PP_EINVAL (NULL).
 */
PP_API pp_status pp_iter_cancel(pp_iter *it);

#ifdef __cplusplus
}
#endif

#endif /* PROCPOOL_RESULT_H */
