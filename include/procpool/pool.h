/**
 * @file pool.h
 * @brief A pool of reusable worker processes (Python's multiprocessing.Pool).
 *
 * @code
 * pp_pool *pool;
 * pp_result *r;
 * const pp_values *v;
 * pp_pool_create(&pool, NULL);                   // CPU-count workers
 * pp_apply_async(pool, square, args, NULL, &r);
 * if (pp_result_get(r, PP_INFINITE, &v) == PP_OK) ...
 * pp_result_release(r);
 * pp_pool_close(pool);
 * pp_pool_join(pool, PP_INFINITE);
 * pp_pool_destroy(pool);
 * @endcode
 *
 * Crash-proof: a worker that dies (crash, abort, exit inside a task, kill
 * from outside) fails exactly the task it was running with
 * #PP_EWORKERDIED; tasks it had only been sent are given to other workers,
 * a replacement starts, and no call hangs. Workers never outlive the
 * parent process.
 *
 * Sharing a lock (lock.h) or a shared memory block (shm.h) with workers,
 * with the same code on every start method:
 *  - as a task argument (pp_values_add_lock(), pp_values_add_shm(), 'k'
 *    and 'm' in pp_values_pack()): the worker attaches it by name once
 *    and keeps the handle for its life (pp_values_get_lock() gives the
 *    same handle to every task it runs). A lock destroyed and created
 *    again under the same name is another lock: the worker attaches the
 *    new one for arguments that carry it, and a task whose arguments
 *    were built with the old one never runs with the new one: it fails
 *    with #PP_ENOENT in a worker that had not attached the old one, and
 *    gets the old handle in a worker that had (the destroyed lock, which
 *    nobody reaches by name any more). The worker keeps its handle of the
 *    old one (a task or initializer may have stored it) until it exits: a name
 *    re-created N times while a pool lives costs each worker up to N
 *    mappings; give such locks fresh names (NULL) or bound the workers'
 *    lives with maxtasksperchild;
 *  - as an initializer argument (pp_pool_options.initargs): the
 *    initializer stores the handles in globals its tasks use — the
 *    documented way for state every task needs;
 *  - inherited in a global set before pp_pool_create(): only under
 *    #PP_START_FORK, where workers are copies of the parent. Under spawn
 *    and forkserver (and on Windows) the worker's global is what the
 *    program's image starts with (NULL), so pp_lock_acquire() on it
 *    returns #PP_EINVAL: never a different lock. Use one of the above.
 *
 * Thread-safety: every function may be called from any thread, including
 * from callbacks running on the pool's result thread (except waiting for a
 * result whose own callback is pending, see result.h, and pp_pool_join() /
 * pp_pool_destroy(), which return #PP_EDEADLK / refuse there).
 */
#ifndef PROCPOOL_POOL_H
#define PROCPOOL_POOL_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "export.h"
#include "result.h"
#include "task.h"
#include "value.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pp_pool pp_pool;

/** How workers are started (see README, "Start methods"). */
typedef enum pp_start_method {
    /** fork on Linux and other POSIX systems except macOS; spawn on macOS and Windows. */
    PP_START_DEFAULT = 0,
    /** POSIX: workers are forked from a copy of the process made at pool
     *  creation; they inherit globals and locks created before the pool. */
    PP_START_FORK = 1,
    /** Fresh execution of the program (main() up to pp_init()). */
    PP_START_SPAWN = 2,
    /** POSIX: a fresh server process forks the workers. */
    PP_START_FORKSERVER = 3
} pp_start_method;

/** Upper bound of pp_pool_options.processes. */
#define PP_POOL_MAX_PROCESSES 1024
/** Largest chunk size (items per task message) a map form accepts. */
#define PP_MAX_CHUNKSIZE 65535

/** Pool options. Zero-initialise (`pp_pool_options o = {0};`) for defaults. */
typedef struct pp_pool_options {
    int processes;                /**< workers; 0 = CPU count */
    pp_start_method start_method; /**< 0 = platform default */
    /** run once in every worker before its tasks; NULL = none. A failing initializer breaks
        the pool: see pp_pool_create() */
    pp_task_fn initializer;
    const pp_values *initargs; /**< initializer's arguments (copied); NULL = none */
    int maxtasksperchild;      /**< replace a worker after this many tasks; 0 = never */
    size_t chunksize;          /**< default chunk size of map forms; 0 = automatic;
                                    at most #PP_MAX_CHUNKSIZE */
    /** how long a new worker may take to be ready (start, initializer) before it is
        killed and counts as a failed start; 0 = 60000 ms, PP_INFINITE = no limit */
    int64_t start_timeout_ms;
    /** replace a worker whose memory in RAM (resident set; Windows: working set) is above
        this many bytes after a task, as maxtasksperchild does after a count; 0 = never */
    uint64_t max_worker_memory;
    /** a worker idle this long exits; it is started again when work comes; 0 = never */
    int64_t idle_timeout_ms;
    /** distributed pool: "redis://host:port/POOLNAME" (POOLNAME: 1-64 of [A-Za-z0-9_.-]).
        Tasks may also run on remote workers: this program started elsewhere with
        PROCPOOL_REMOTE set to the same address (see pp_pool_remote_workers() for the
        model). Credentials come from the environment as for pp_redis_connect()
        (PROCPOOL_REDIS_USERNAME, PROCPOOL_REDIS_PASSWORD or PROCPOOL_REDIS_PASSWORD_FILE),
        never from the address. NULL = local workers only */
    const char *broker;
    /** remote workers' heartbeat lease in ms: a remote worker silent this long is dead and
        the tasks it had claimed fail with #PP_EWORKERDIED; 0 = 3000, 300 to 3600000
        (an hour; #PP_EINVAL otherwise) */
    int64_t broker_lease_ms;
    /** every key the pool makes in Redis expires this long after the pool was last seen
        alive (a crashed program's leftovers); 0 = 60000, 1000 to 86400000 (a day;
        #PP_EINVAL otherwise) */
    int64_t broker_expire_ms;
} pp_pool_options;

/** Per-submission options. Zero-initialise for defaults. */
typedef struct pp_submit_options {
    pp_callback callback;             /**< on success, on the result thread */
    pp_error_callback error_callback; /**< on failure, on the result thread */
    void *userdata;                   /**< passed to the callbacks */
    size_t chunksize;                 /**< map forms: items per task; 0 = pool default;
                                           at most #PP_MAX_CHUNKSIZE. A task whose items
                                           would not fit one message (#PP_MESSAGE_MAX) is
                                           split; the automatic size also keeps a task's
                                           arguments near 4 MiB */
    pp_progress_fn progress;          /**< map forms: called as items finish (sync forms:
                                           on the calling thread; async: result thread) */
    void *progress_userdata;
    /** per task (each map item): a task still running this many ms after it started fails
        with #PP_ETIMEDOUT, its worker is killed and replaced, the pool goes on; 0 = no
        limit. Measured from the task's own start, not from submission. */
    int64_t timeout_ms;
    /** sync map forms (pp_map(), pp_starmap()), optional: when the call returns a failure,
        filled like pp_apply()'s error out-parameter — the first failed item's status, code and
        message, or the call's own failure (#PP_ECLOSED, ...) — so no pp_result_error() call is
        needed; untouched on success. Must be NULL for the async forms (#PP_EINVAL). */
    pp_error *error;
    /** with the above: the index of that item, or SIZE_MAX for the call's own failure. */
    size_t *error_index;
    /** optional: values appended to every task's arguments, for what every item shares (a
        lock, a size) — Python's functools.partial. A map item x runs as (x, extra...), a
        starmap tuple as (argv[i]..., extra...), apply as (args..., extra...). Copied at
        submission; #PP_ETOOBIG if an item's arguments would exceed the tuple limits. */
    const pp_values *extra_args;
    /** the same as an array of values (pp_values_from()'s items), usually set by
        PP_EXTRA_ARGS(); not together with extra_args (#PP_EINVAL); errors of
        pp_values_from() for a bad value. */
    const pp_value_arg *extra_values;
    size_t n_extra_values;
} pp_submit_options;

#if !defined(__cplusplus) && defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
/** Designated initializers of pp_submit_options for extra values given in
 *  place, each type-checked as by pp_values_of() (C11):
 *  `&(pp_submit_options){PP_EXTRA_ARGS(max_ms, lock)}`. */
#define PP_EXTRA_ARGS(...)                                                                         \
    .extra_values = (const pp_value_arg[]){PP__MAP(PP_VALUE, __VA_ARGS__)},                        \
    .n_extra_values =                                                                              \
        sizeof((const pp_value_arg[]){PP__MAP(PP_VALUE, __VA_ARGS__)}) / sizeof(pp_value_arg)
#endif

/**
 * @brief Create a pool and start its workers.
 *
 * Returns once every worker has started and run its initializer.
 *
 * @param[out] out the pool, owned by the caller: pp_pool_destroy().
 * @param opts NULL for all defaults.
 *
 * Errors the caller must handle:
 *  - #PP_EINVAL: NULL out, processes < 0 or > #PP_POOL_MAX_PROCESSES,
 *    maxtasksperchild < 0, chunksize above #PP_MAX_CHUNKSIZE, a negative
 *    timeout, unknown start method, broker_lease_ms or broker_expire_ms
 *    set without a broker. The log hook gets an ERROR naming the option.
 *  - #PP_ENOTSUP: start method not available here (fork on Windows); a
 *    broker with a library built without hiredis (the log hook says so).
 *  - With a broker (the log hook gets a message for each): #PP_EINVAL (a
 *    malformed address or pool name, a lease or expiry out of range),
 *    #PP_ECONNLOST (Redis does not answer), #PP_EAUTH (credentials
 *    refused), #PP_EEXIST (another live program uses that pool name),
 *    #PP_ENOTSUP (initargs hold a local lock, shared memory block or sync
 *    object: remote workers run the initializer too).
 *  - #PP_ENOTREGISTERED: the initializer is not registered and the start
 *    method is not fork.
 *  - #PP_ENOTINIT: pp_init() was not called, or was called without argv
 *    (pp_init(NULL, NULL)) and the start method is spawn or forkserver,
 *    which re-run the program with the arguments pp_init() saw.
 *  - #PP_ESPAWN: a worker could not be started (pp_os_error() has why).
 *  - #PP_ETASK: the initializer failed in a worker (the log hook gets
 *    its message).
 *  - #PP_ETOOBIG, #PP_ENOMEM, #PP_ESYS.
 */
PP_API pp_status pp_pool_create(pp_pool **out, const pp_pool_options *opts);

/** @brief Number of worker processes the pool keeps. 0 for NULL. */
PP_API int pp_pool_size(const pp_pool *pool);

/** A pool's health (pp_pool_get_stats()). */
typedef enum pp_pool_health {
    /** workers are running or starting normally */
    PP_POOL_HEALTHY = 0,
    /** worker starts are failing and being retried (with a growing pause); the reason says
        why. Starts killed from outside are retried without limit; starts that fail on their
        own (crash, exit, launch error, start timeout) break the pool after 5 within 30 s.
        Windows does not say who ended a process: there a start killed from outside counts
        as one that failed. */
    PP_POOL_DEGRADED = 1,
    /** final: no work can run any more. Every pending and every later item fails at once
        with broken_status and the reason; submissions return broken_status. Create a new
        pool. */
    PP_POOL_BROKEN = 2
} pp_pool_health;

/** A snapshot of a pool's state (pp_pool_get_stats()). */
typedef struct pp_pool_stats {
    pp_pool_health health;
    pp_status broken_status;  /**< PP_OK unless broken: what its items fail with */
    char reason[256];         /**< why degraded or broken; "" when healthy */
    int workers;              /**< the pool's size */
    int ready;                /**< workers ready for work (idle or busy) */
    int busy;                 /**< ready workers with work sent to them */
    int starting;             /**< workers starting (before their initializer is done) */
    size_t queued;            /**< chunks (tasks, or map chunks) waiting for a worker */
    uint64_t workers_started; /**< workers that became ready since the pool was created */
    uint64_t worker_deaths;   /**< ready workers that died (not those the pool stopped) */
    uint64_t start_failures;  /**< worker starts that failed (every kind) */
    /** map chunks whose arguments went to their worker through shared memory (its
        inbox) instead of the channel: chunks from 8 KiB up that fit the inbox (8 MiB) */
    uint64_t inbox_chunks;
} pp_pool_stats;

/**
 * @brief A snapshot of the pool's health and counters. Thread-safe; also
 * from a callback.
 * Errors: #PP_EINVAL (NULL argument); #PP_ESTATE in a fork child of the
 * process that created the pool (see pp_pool_close()).
 */
PP_API pp_status pp_pool_get_stats(pp_pool *pool, pp_pool_stats *out);

/** What a worker is doing (pp_pool_workers()). */
typedef enum pp_worker_state {
    PP_WORKER_STARTING = 1, /**< started, initializer not done */
    PP_WORKER_IDLE = 2,     /**< ready, no work */
    PP_WORKER_BUSY = 3,     /**< running work */
    PP_WORKER_GONE = 4      /**< exited or died; being replaced or reaped */
} pp_worker_state;

/** One worker of a pool (pp_pool_workers()). */
typedef struct pp_worker_info {
    uint64_t pid; /**< OS process id */
    pp_worker_state state;
    uint64_t tasks_done;             /**< chunks this worker has finished (a task, or a
                                          map chunk) */
    char task[PP_TASK_NAME_MAX + 1]; /**< function of the work it runs now; "" if none */
    int64_t busy_ms;                 /**< how long it has run that work (from when it could
                                          start it); -1 when not busy */
} pp_worker_info;

/**
 * @brief List the pool's workers: up to cap entries into out, and the
 * number of worker slots (the pool's size) in *count. Thread-safe.
 * Errors: #PP_EINVAL (NULL pool or count, or NULL out with cap > 0);
 * #PP_ESTATE in a fork child of the process that created the pool (see
 * pp_pool_close()).
 */
PP_API pp_status pp_pool_workers(pp_pool *pool, pp_worker_info *out, size_t cap, size_t *count);

/** A remote worker serving a pool (pp_pool_remote_workers()). */
typedef struct pp_remote_worker {
    char host[64];             /**< its host name (truncated) */
    uint64_t pid;              /**< its process id on that host */
    uint64_t tasks_done;       /**< chunks (tasks, or map chunks) it has finished, for any
                                    program that used this pool name since it started */
    int64_t last_heartbeat_ms; /**< how long ago (ms, by the Redis server's clock) it last
                                    renewed its heartbeat */
} pp_remote_worker;

/**
 * @brief List the remote workers serving a pool with a broker (see
 * pp_pool_options.broker): up to cap entries into out, their number in
 * *count. A snapshot of the last heartbeat scan (about every 500 ms):
 * a worker appears once it has heartbeat for this pool, and is gone once
 * its lease expired. Thread-safe; the caller owns out.
 *
 * Distributed pool model: the program's tasks go to a Redis stream
 * (keys "pp:{POOLNAME}:*"); a remote worker is this same program (the
 * same registered task functions) started on any machine with
 * PROCPOOL_REMOTE=redis://host:port/POOLNAME in its environment: its
 * pp_init() then serves that pool name and never returns (exit code 3:
 * the address is malformed, the server refuses its credentials, or the
 * library was built without hiredis; 5: out of memory; else it waits for
 * Redis while it does not answer and serves every program that uses that
 * pool name, one after another, until killed).
 * Task functions and the initializer travel by registered name
 * (#PP_ENOTREGISTERED otherwise, also with the fork start method); a
 * remote worker never calls a function named by address. Chunks go to
 * idle local workers first, then to Redis (about two per remote worker
 * alive); chunks no remote worker has claimed are taken back when local
 * workers are idle or no remote worker is alive. Tasks whose arguments
 * hold local named locks, shared memory blocks or sync objects are
 * refused at submission (#PP_ENOTSUP, with a message through the log
 * hook): they cannot reach another machine; so are such initializer
 * arguments, by pp_pool_create(); Redis locks and manager
 * proxies travel (each worker connects with its own credentials).
 *
 * What differs from local workers:
 *  - a remote worker that stops heartbeating (killed, machine gone,
 *    paused longer than the lease) fails the whole chunk it had claimed
 *    with #PP_EWORKERDIED after its lease (results travel per chunk: the
 *    items it had finished in that chunk are lost with it); nothing is
 *    run again;
 *  - if Redis becomes unreachable (or restarts), the chunks sent there
 *    fail with #PP_ECONNLOST (whether they ran is not known); new work
 *    runs on local workers until Redis answers again;
 *  - per-task timeouts (pp_submit_options.timeout_ms) are not enforced
 *    on remote workers; pp_result_cancel() and pp_pool_terminate() do not
 *    stop a task a remote worker is running (its result is discarded),
 *    they only withdraw what no remote worker has started;
 *  - maxtasksperchild, max_worker_memory, idle and start timeouts apply
 *    to local workers only; a remote worker whose initializer fails logs
 *    it and does not serve that program (the pool is not broken);
 *  - pp_pool_get_stats() and pp_pool_workers() count local workers only;
 *  - one live program per pool name; anybody with access to the Redis
 *    server can submit tasks to remote workers (registered functions
 *    only) or forge results: protect it (password or ACL user, private
 *    network, TLS through a proxy).
 *
 * Errors the caller must handle:
 *  - #PP_EINVAL: NULL pool or count, or NULL out with cap > 0.
 *  - #PP_ESTATE: the pool has no broker, or this is a fork child of the
 *    process that created the pool (see pp_pool_close()).
 */
PP_API pp_status pp_pool_remote_workers(pp_pool *pool, pp_remote_worker *out, size_t cap,
                                        size_t *count);

/**
 * @brief Stop accepting work; queued work still runs. Idempotent.
 * Errors: #PP_EINVAL (NULL pool); #PP_ESTATE in a fork child of the
 * process that created the pool (a pool belongs to its creator: the
 * child's copy has no threads and its workers are not the child's; every
 * pool call there returns #PP_ESTATE, pp_pool_destroy() does nothing).
 */
PP_API pp_status pp_pool_close(pp_pool *pool);

/**
 * @brief Kill the workers now; every unfinished result fails with
 *        #PP_ETERMINATED. Idempotent. Errors: #PP_EINVAL; #PP_ESTATE in a
 *        fork child of the pool's creator (see pp_pool_close()).
 */
PP_API pp_status pp_pool_terminate(pp_pool *pool);

/**
 * @brief Wait until the workers have exited (after close: once all work
 *        is done; after terminate: at once).
 *
 * Errors the caller must handle:
 *  - #PP_ESTATE: neither pp_pool_close() nor pp_pool_terminate() was
 *    called; or called in a fork child of the pool's creator.
 *  - #PP_ETIMEDOUT: still running after timeout_ms.
 *  - #PP_EDEADLK: called from a callback on the pool's result thread, or
 *    from a pp_map_stream() item function or a sync map's progress
 *    callback while that call is still submitting (it would wait for
 *    itself).
 *  - #PP_EINVAL.
 */
PP_API pp_status pp_pool_join(pp_pool *pool, int64_t timeout_ms);

/**
 * @brief Free the pool. Accepts NULL. Without a completed close+join this
 *        terminates first (Python's context-manager exit). Reports failed
 *        results nobody observed. Must not be called from a callback
 *        (nor an item function of pp_map_stream(): ignored there, with
 *        an error logged). In a fork child of the process that created
 *        the pool it does nothing but log an error (the pool, its threads
 *        and its workers are the creator's).
 */
PP_API void pp_pool_destroy(pp_pool *pool);

/* ------------------------------------------------------------ submission */
/*
 * Common errors of every submission function (the caller must handle):
 *  - #PP_EINVAL: NULL pool/fn/out where required, bad options.
 *  - #PP_ECLOSED: the pool was closed or terminated.
 *  - #PP_ESTATE: called in a fork child of the process that created the
 *    pool (see pp_pool_close()).
 *  - #PP_ENOTREGISTERED: fn is not registered and the start method is not
 *    fork — detected here, not in the worker.
 *  - #PP_ETOOBIG: arguments larger than a message can hold.
 *  - #PP_ENOMEM.
 *  - #PP_ESYS: the pool's result thread, started by its first submission
 *    with a callback, error callback or async progress, could not be
 *    started (pp_os_error() says why; nothing was submitted).
 * Sync forms additionally return the work's outcome like pp_result_get().
 */

/**
 * @brief Run fn(args) in a worker and wait for it.
 *
 * Made for loops of calls: the caller waits for a fast result in a
 * short spin before it sleeps, and the worker, once it has answered,
 * waits for the caller's next apply the same way (POSIX: up to 50 us,
 * shortened when the calls come further apart, so an idle worker
 * sleeps at once) instead of needing a wake-up for each.
 * @param args NULL for none; copied.
 * @param[out] result optional: a copy of the task's result tuple, owned by
 *        the caller (pp_values_destroy()). Set to NULL on failure.
 * @param[out] error optional: filled on failure.
 */
PP_API pp_status pp_apply(pp_pool *pool, pp_task_fn fn, const pp_values *args, pp_values **result,
                          pp_error *error);

/**
 * @brief Submit fn(args); returns at once.
 * @param opts optional callbacks.
 * @param[out] out the result handle (pp_result_release()), or NULL to
 *        fire and forget (failures are then reported through the log hook
 *        unless an error callback takes them).
 */
PP_API pp_status pp_apply_async(pp_pool *pool, pp_task_fn fn, const pp_values *args,
                                const pp_submit_options *opts, pp_result **out);

/**
 * @brief fn applied to every item of items, each as a one-value tuple;
 *        waits for all. Items are sent in chunks (opts->chunksize).
 *
 * Size and memory: items is one tuple, so at most #PP_MESSAGE_MAX bytes
 * encoded; for larger inputs use pp_starmap() (an array of tuples, no
 * limit on the total) or pp_map_stream() (items made on demand). The
 * sync forms (pp_map(), pp_starmap(), pp_map_stream()) encode items as
 * workers take them: besides the input and the results, the parent holds
 * a bounded amount of encoded arguments however large the input: about
 * 32 MiB queued, plus the chunks in flight (each worker's running chunk,
 * about 4 MiB with the automatic chunk size, and what was sent ahead into
 * its 8 MiB inbox) and up to 64 MiB of freed chunk memory kept for the
 * next chunks (measured with 64 KiB items: 76 MiB with 2 workers, 111 MiB
 * with 8, 234 MiB with 16). A sync form whose items are each one string
 * or each one byte buffer (no extra_args; pp_map_array()'s records too)
 * encodes nothing ahead: each chunk's items are copied once, from the
 * caller's items straight into the worker's inbox as it is sent (or into
 * a chunk first where the inbox has no room), so they must not change
 * until the call returns (a string or buffer that changed size fails its
 * chunk's items with #PP_EINVAL). The async
 * forms encode every item before they return (one encoded copy of the
 * input until it has been sent). Limits per item stay: an item's
 * arguments (with extra_args) must fit one message (#PP_ETOOBIG from the
 * call, before anything runs), a result must fit one message (that item
 * fails with #PP_ETOOBIG).
 * @param[out] out the result (one item per input): pp_result_item(),
 *        then pp_result_release(). Set even when items failed.
 * @return #PP_OK or the first failed item's status (after all finished);
 *         opts->error / opts->error_index, if set, get that item's
 *         detail and index (as pp_apply()'s error).
 */
PP_API pp_status pp_map(pp_pool *pool, pp_task_fn fn, const pp_values *items,
                        const pp_submit_options *opts, pp_result **out);

/** @brief Asynchronous pp_map(). */
PP_API pp_status pp_map_async(pp_pool *pool, pp_task_fn fn, const pp_values *items,
                              const pp_submit_options *opts, pp_result **out);

/**
 * @brief fn applied to each argument tuple argv[0..n-1]; waits for all.
 * @return as pp_map().
 */
PP_API pp_status pp_starmap(pp_pool *pool, pp_task_fn fn, const pp_values *const *argv, size_t n,
                            const pp_submit_options *opts, pp_result **out);

/**
 * @brief Makes the argument tuple of item i of pp_map_stream(): add its
 *        values to args (an empty tuple owned by the pool, reused for the
 *        next item: do not keep it) and return #PP_OK. Any other status
 *        stops the map: items i..n-1 fail with it (not run).
 */
typedef pp_status (*pp_item_fn)(void *userdata, size_t i, pp_values *args);

/**
 * @brief fn applied to n argument tuples made on demand by item (a
 *        starmap whose input need not exist at once: buffers of a file,
 *        a generator); waits for all.
 *
 * item is called on the calling thread, for i = 0..n-1 in order, each
 * once, as workers take work: the parent holds a bounded amount of
 * encoded arguments at a time (as pp_map(): about 32 MiB queued plus the
 * chunks in flight), however large the input (item may free or reuse
 * what it read for item i once it returns). Results as pp_map(): one per
 * item, read with pp_result_item() / pp_result_ints() / ...
 *
 * @param item must not be NULL; userdata is passed to it.
 * @param opts as pp_map() (extra_args are appended to each made tuple).
 * @return as pp_map(). An item whose tuple (with extra_args) exceeds one
 *         message (#PP_ETOOBIG), or whose item call failed (its status),
 *         fails with the items after it; earlier items still run.
 *
 * Errors the caller must handle: as pp_map(); #PP_EINVAL (NULL item or
 * out), #PP_ETOOBIG (n larger than memory could ever index).
 */
PP_API pp_status pp_map_stream(pp_pool *pool, pp_task_fn fn, size_t n, pp_item_fn item,
                               void *userdata, const pp_submit_options *opts, pp_result **out);

/**
 * @brief fn applied to every record of an array of fixed-size records
 *        (C structs, say), results into an output array; waits for all.
 *
 * Record i is the in_size bytes at (const char *)in + i * in_size; it
 * reaches the task as its one argument, a bytes value of in_size bytes
 * (pp_values_get_bytes(); copy it into a struct before reading fields:
 * the bytes need not be aligned). The task returns one bytes value of
 * exactly out_size bytes, which is copied to (char *)out + i * out_size;
 * with out_size 8 a task may instead return one int or one double (its 8
 * bytes are copied). Records travel without a tuple each, through shared
 * memory where they fit (pp_pool_stats.inbox_chunks), in chunks as
 * pp_map() (opts->chunksize); the parent holds the arrays plus a bounded
 * amount of encoded records however large they are (as pp_map(): about
 * 32 MiB queued plus the chunks in flight).
 *
 * The same failure semantics per record as pp_map(): a record whose task
 * failed, whose worker died (#PP_EWORKERDIED: only the record it was
 * running; the others are still run and valid), that timed out, or whose
 * result has another form or size (#PP_ETYPE) gets that status in
 * status[i] and zeros in its output record; every other output record is
 * valid.
 *
 * @param status optional: n statuses, one per record.
 * @param opts optional; chunksize, timeout_ms, progress, error and
 *        error_index as for pp_map(); extra_args / extra_values must not
 *        be set (#PP_EINVAL): put what every record needs in its struct or
 *        in the pool's initializer.
 * @return #PP_OK when every record succeeded, else the first failed
 *         record's status (opts->error / error_index get its detail and
 *         index).
 *
 * Errors the caller must handle: as pp_map(); #PP_EINVAL (NULL pool or
 * fn, in or out NULL with n > 0, in_size or out_size 0 or above
 * #PP_VALUE_MAX_BYTES, n * size beyond memory, extra values set; each
 * also in opts->error with index SIZE_MAX, as every sync map form reports
 * its own bad arguments).
 */
PP_API pp_status pp_map_array(pp_pool *pool, pp_task_fn fn, const void *in, size_t in_size,
                              size_t n, void *out, size_t out_size, pp_status *status,
                              const pp_submit_options *opts);

/** @brief Asynchronous pp_starmap(). */
PP_API pp_status pp_starmap_async(pp_pool *pool, pp_task_fn fn, const pp_values *const *argv,
                                  size_t n, const pp_submit_options *opts, pp_result **out);

/*
 * C does not convert `pp_values **` (what an array `pp_values *args[n]` is
 * passed as) to `const pp_values *const *` by itself: in C11 the calls
 * above take any of the four pointer forms without a cast. A type other
 * than these is still a compile error.
 */
#if !defined(__cplusplus) && defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
#define PP__ARGV(argv)                                                                             \
    _Generic((argv),                                                                               \
        pp_values **: (const pp_values *const *)(argv),                                            \
        pp_values *const *: (const pp_values *const *)(argv),                                      \
        const pp_values **: (const pp_values *const *)(argv),                                      \
        const pp_values *const *: (argv))
#define pp_starmap(pool, fn, argv, n, opts, out)                                                   \
    pp_starmap((pool), (fn), PP__ARGV(argv), (n), (opts), (out))
#define pp_starmap_async(pool, fn, argv, n, opts, out)                                             \
    pp_starmap_async((pool), (fn), PP__ARGV(argv), (n), (opts), (out))
#endif

/**
 * @brief Like pp_map() but results are read one by one, in input order,
 *        with pp_iter_next() as they become available. Default chunk size 1.
 */
PP_API pp_status pp_imap(pp_pool *pool, pp_task_fn fn, const pp_values *items,
                         const pp_submit_options *opts, pp_iter **out);

/** @brief Like pp_imap() but results come in completion order. */
PP_API pp_status pp_imap_unordered(pp_pool *pool, pp_task_fn fn, const pp_values *items,
                                   const pp_submit_options *opts, pp_iter **out);

#ifdef __cplusplus
}
#endif

#endif /* PROCPOOL_POOL_H */
