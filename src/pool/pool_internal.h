/*
 * pool_internal.h — the pool's data structures and the functions its
 * files share:
 *   job.c         jobs and items, their memory, the shared core
 *   dispatch.c    the queue, the prefetch window, writing to workers
 *   reader.c      a reader thread per worker: results, READY, death
 *   supervisor.c  the supervisor thread (starts, reaps) and result thread
 *   lifecycle.c   create, close, terminate, join, destroy
 *   submit.c      apply / map / starmap / imap and their async forms
 *   result.c      reading results and iterators
 *   worker.c, task.c  the worker process's side
 *
 * Locking: one mutex per pool, core->mu, guards every field below except
 * where noted. Jobs keep the core alive by reference so results stay
 * readable after the pool is gone.
 */
#ifndef PROCPOOL_POOL_POOL_INTERNAL_H
#define PROCPOOL_POOL_POOL_INTERNAL_H

#include "procpool/pool.h"
#include "platform.h"
#include "core/core.h"
#include "core/mem.h"
#include "wire/buf.h"
#include "wire/frame.h"
#include "wire/msg.h"
#include "pool/wctl.h"
#include "pool/broker.h"
#include "pool/waitany.h"

/* Synchronisation shared by a pool and its results. */
typedef struct pp__core {
    pp__plat_mtx *mu;
    pp__plat_cond *cond; /* results changed, workers changed */
    unsigned refs;       /* pool + live jobs */
    uint64_t pid;        /* the process that made it (pp__pool_self_pid) */
} pp__core;

/* One item of a submission: 16 bytes, and all-zero means "not finished",
 * so a million-item map needs no initialisation pass over its items and
 * touches their memory only when results arrive. */
enum { IT_PENDING = 0, IT_SCALAR, IT_RAW, IT_VALUE, IT_ERROR, IT_STR, IT_BYTES, IT_COLVAL };

typedef struct pp__item {
    uint32_t state; /* IT_* */
    uint32_t aux;   /* IT_SCALAR, IT_COLVAL: the pp_type; IT_RAW: length of raw;
                       IT_STR, IT_BYTES: length of the bytes at raw;
                       IT_ERROR: the status (int32) */
    union {
        uint64_t bits;      /* IT_SCALAR: a one-int / one-double result, kept
                               here instead of its frame (no copy of it) */
        const uint8_t *raw; /* IT_RAW: encoded result inside a pp__rawbuf;
                               IT_STR, IT_BYTES: a one-string / one-buffer
                               result's bytes there, a NUL after them (a
                               blob column, values/column.h) */
        pp_values *value;   /* IT_VALUE: decoded on first access;
                               IT_COLVAL: NULL until read as a tuple (one in
                               the job's slab; the value stays at colvals[i]) */
        pp_error *error;    /* IT_ERROR: NULL if there was no memory for it */
    } u;
} pp__item;

/* The payload of one RESULT frame, kept whole when it has a result that is
 * not a single scalar: results are decoded only when read, so a
 * million-item map costs one allocation per chunk here, not several per
 * item. */
typedef struct pp__rawbuf {
    struct pp__rawbuf *next;
    size_t size; /* of the whole allocation (pp__mem_free) */
    uint8_t data[1];
} pp__rawbuf;

/* Storage for the tuples of scalar results once they are read: blocks
 * that grow from a few slots to 4 MiB, so reading a million results costs
 * a few dozen allocations, not two per result. */
typedef struct pp__slab {
    struct pp__slab *next;
    size_t size; /* bytes of data */
    size_t used;
    uint64_t data[1]; /* 8-byte aligned slots */
} pp__slab;

/* Jobs of fewer items keep column scalars in their items (IT_SCALAR). */
#define PP__COLVALS_MIN 64

enum { JOB_APPLY, JOB_MAP, JOB_IMAP, JOB_IMAP_UNORDERED };

/* One submission: the object behind pp_result and pp_iter. */
struct pp_result {
    pp__core *core;
    pp_pool *pool; /* NULL once the pool is destroyed */
    int kind;
    size_t n;
    pp__item *items;
    size_t done;
    size_t first_failed; /* index, or n when none */
    size_t nheld;        /* items owning a decoded value or an error */
    int complete;        /* every item finished */
    int ready;           /* complete and callbacks have run */
    int observed;        /* someone saw the outcome (see result.h) */
    int reported;        /* unobserved failure already logged */
    int sync;            /* a sync call waits: it runs progress itself */
    int lazy;            /* its chunks may be lazy (pp__chunk): a sync map */
    int blob_tuples;     /* blob column results get their tuples on arrival
                            (not pp_map_array's: it copies their bytes) */
    int cb_queued;       /* callbacks pending on the result thread */
    unsigned refs;       /* user handle + pool while running */
    /* 1 once ready is: read without the mutex by a sync call's spin (submit.c) */
    volatile uint64_t ready_flag;
    pp_callback callback;
    pp_error_callback error_callback;
    void *userdata;
    pp_progress_fn progress;
    void *progress_ud;
    size_t progress_seen; /* async progress: last value reported */
    int64_t timeout_ms;   /* per item, from its start; 0: none */
    int canceled;         /* pp_result_cancel(): nothing more of it runs */
    int progress_queued;
    size_t cursor;   /* imap: next index to return */
    size_t *order;   /* imap_unordered: completion order */
    pp__rawbuf *raw; /* result payloads, freed with the job */
    pp__slab *slab;  /* tuples of read scalar results */
    /* blob_tuples: the read-only tuples of blob column results, one per
     * item at the item's index (n x pp__values_scalar_size() bytes, in
     * one block sized once for the job instead of one per RESULT frame;
     * not zeroed: a slot is written before its item points at it). NULL
     * until the first blob column, or if there was no memory for it
     * (then those items get their tuples when read). */
    void *tuples;
    int tuples_failed;
    /* Scalars that came in a column (pp__items_succeed_column), one per
     * item at the item's index, host order; only IT_COLVAL items' entries
     * are meaningful (the block is not zeroed). NULL until the first
     * column of a job of PP__COLVALS_MIN items or more, or if there was
     * no memory for it (then such items are IT_SCALAR). */
    uint64_t *colvals;
    size_t ncolval[2];  /* IT_COLVAL items: ints, doubles */
    int colvals_failed; /* no memory for colvals: not tried again */
    size_t order_len;
    pp__item item1;                          /* items of a one-item job (an apply): no allocation */
    struct pp_result *live_prev, *live_next; /* pool's live list */
    struct pp_result *cb_next;               /* result-thread queue */
    char fname[PP_TASK_NAME_MAX + 1];        /* for messages */
};

struct pp_iter {
    struct pp_result r;
};

/* One TASK frame: count consecutive items of a job. */
typedef struct pp__chunk {
    struct pp__chunk *next;
    struct pp_result *job;
    uint64_t id;
    size_t first;
    uint16_t count;
    uint16_t answered; /* items answered by partial RESULT frames */
    int64_t sent_ns;   /* when it was written to its worker */
    size_t wire_len;   /* bytes its sending put on the channel (frame, or
                          the inbox descriptor); 0 while not sent */
    size_t inbox_off;  /* in_inbox: where its payload is in the worker's inbox */
    int in_inbox;      /* sent through the inbox of the worker holding it */
    /* A "lazy" chunk (lazy_bytes > 0): a sync map's string or byte column
     * whose entries are not copied yet. frame holds the TASK frame up to
     * the column's type byte; the lazy_bytes of entries are encoded from
     * the caller's items (l_*) straight into the worker's inbox when it is
     * sent, or into frame first when it must go through the channel
     * (pp__chunk_materialize). The caller's items outlive it: a sync call
     * waits until every item has finished, then drops what is left of its
     * lazy chunks (pp__job_forget_source_locked; l_* NULL: gone). */
    size_t lazy_bytes;
    const pp_values *l_items;
    const pp_values *const *l_argv;
    const uint8_t *l_arr;
    size_t l_arr_size;
    pp__buf frame;
} pp__chunk;

/* A lazy chunk whose source is gone (pp__job_forget_source_locked). */
static inline int pp__chunk_gone(const pp__chunk *c)
{
    return c->lazy_bytes > 0 && c->l_items == NULL && c->l_argv == NULL && c->l_arr == NULL;
}

/* Bytes of c's TASK frame, its lazy entries included. */
static inline size_t pp__chunk_len(const pp__chunk *c)
{
    return c->frame.len + c->lazy_bytes;
}

enum { W_EMPTY, W_STARTING, W_READY, W_DEAD };

typedef struct pp__wslot {
    pp_pool *pool;
    int idx;
    int state;
    pp__plat_proc *proc;
    pp__plat_chan *chan;
    pp__plat_shm *ctl_shm; /* the control block (pool/wctl.h) */
    pp__wctl *ctl;
    char ctl_name[PP__NAME_BUF];
    int ctl_linked; /* ctl_name still exists (it is removed at READY) */
    pp__plat_thread *reader;
    uint64_t pid;
    pp__chunk *inflight, *inflight_tail; /* sent, result not yet back */
    unsigned ninflight;
    size_t inflight_bytes;
    uint32_t sent;        /* chunks sent (maxtasksperchild) */
    uint64_t chunks_done; /* results received (statistics) */
    int pumping;          /* one thread writes to this worker at a time */
    pp__buf out;          /* the frames it writes (kept between pumps; freed
                             with the pool) */
    int launching;        /* the supervisor is starting it (mutex released):
                             W_EMPTY still, but join must wait for it */
    int repump;
    /* sync calls looking at its channel (submit.c): the slot is not reaped */
    int peeking;
    int quit_wanted; /* send QUIT when idle */
    int quit_sent;
    int killed;             /* killed on purpose (terminate, protocol) */
    int init_reported;      /* READY received */
    int64_t last_result_ns; /* when its last result arrived */
    int64_t start_ms;       /* when it was launched */
    int start_timed_out;    /* killed by the supervisor for it */
    int retired;            /* quit for being idle: started again when work comes */
    int64_t idle_since_ms;  /* ready with nothing in flight since */
    int task_timed_out;     /* killed because item timeout_item of chunk
                               timeout_chunk ran past its job's timeout */
    uint64_t timeout_chunk;
    unsigned timeout_item;
    pp__exit_info exit;
} pp__wslot;

/* A new fork pool's first workers' control blocks, made with their HELLO
 * before the zygote is forked (supervisor.c: pp__first_prepare). */
typedef struct pp__first_ctl {
    pp__plat_shm *shm; /* NULL once a slot took it over, or released */
    pp__wctl *ctl;
    char name[PP__NAME_BUF];
} pp__first_ctl;

enum { P_RUNNING, P_CLOSED, P_TERMINATING, P_JOINED };

struct pp_pool {
    pp__core *core; /* its pid: the process that made the pool (a fork child's copy is not one) */
    int n;
    int method;
    uint32_t maxtasks;
    size_t chunksize;
    pp__buf hello; /* HELLO payload every worker gets (wire/msg.h) */
    pp__plat_launcher *launcher;
    pp__first_ctl *first; /* n entries, or NULL (supervisor.c) */
    pp__wslot *w;
    pp__chunk *q_head, *q_tail;
    int state;
    pp_status broken; /* PP_OK, or why no work can run any more */
    char broken_msg[256];
    int creating;
    int init_pending;
    /* Restart policy (supervisor.c): failed starts that count, in a ring
     * of their times; the next start waits until next_start_ms. */
    int64_t fail_ms[8];
    unsigned nfails;    /* counted failures so far (ring index) */
    int64_t backoff_ms; /* 0 after a start that succeeded */
    int64_t next_start_ms;
    int64_t start_timeout_ms;                     /* PP_INFINITE: none */
    int64_t idle_timeout_ms;                      /* 0: none */
    char degraded_msg[160];                       /* why starts are failing now ("" if not) */
    uint64_t n_started, n_start_failed, n_deaths; /* statistics */
    uint64_t n_inbox;                             /* chunks sent through an inbox */
    uint64_t n_in_place;                          /* chunks whose results were read in an inbox */
    int stop;                                     /* threads: leave */
    int launcher_retired;    /* pp__plat_launcher_retire() was called (supervisor.c) */
    pp__plat_cond *sup_cond; /* supervisor: worker states, lifecycle */
    pp__plat_cond *res_cond; /* result thread: callback queue */
    pp__plat_thread *supervisor;
    pp__plat_thread *resthread; /* started by the first submission that needs it */
    uint64_t resthread_id;      /* pp__plat_thread_id() of the result thread */
    int resthread_busy;
    struct pp_result *cb_head, *cb_tail;
    struct pp_result *live;
    uint64_t next_id;
    int feeding;                /* submitting calls in progress (submit.c) */
    struct pp__feeder *feeders; /* their threads (submit.c) */
    int feed_waiters;           /* sync submissions waiting for room in the queue */
    size_t queued_bytes;        /* frame bytes of the queued chunks */
    uint64_t chunk_ema_ns;      /* moving average of a chunk's service time */
    /* Freed small chunks kept for the next submissions (job.c): a chunk
     * is made on the submitting thread and freed on a reader thread, so
     * malloc's per-thread caches never serve it (20,000 applies: a
     * quarter of the submitting thread's time was malloc and free). */
    pp__chunk *free_chunks;
    unsigned nfree_chunks;
    pp__broker *broker; /* remote workers (pool/broker.h); NULL: none */
    const pp__broker_ops *bops;
};

/* ---------------------------------------------------------------- job.c */
pp_status pp__core_create(pp__core **out);
/* Drop a reference to c; the caller holds c->mu, which this releases. The
 * last reference frees the core. */
void pp__core_unref_unlock(pp__core *c);
/* PP_ENOTREADY, PP_OK or the item's error status. */
pp_status pp__item_status(const pp__item *it);
/* The error of a failed item (never NULL for one: a static stand-in when
 * there was no memory for the details); NULL for any other item. */
const pp_error *pp__item_error(const pp__item *it);
/* The decoded value of successful item i (decoding it on first use);
 * caller holds the mutex. */
pp_status pp__item_value_locked(struct pp_result *j, size_t i, const pp_values **value);
/* Item i's outcome (each a no-op for an item that has finished already).
 * Caller holds the mutex. */
void pp__item_fail(struct pp_result *j, size_t i, pp_status st, int code, const char *msg);
void pp__item_succeed(struct pp_result *j, size_t i, const uint8_t *raw, size_t len);
void pp__item_succeed_scalar(struct pp_result *j, size_t i, pp_type type, uint64_t bits);
/* Items first..first+n-1 succeeded with the n little-endian 8-byte values
 * at le (one int or one double each, of type): one pass, no call per item. */
/* Before n results are copied into out (size bytes) and status (optional):
 * large arrays are mapped in one call, not faulted page by page (bulk.c). */
void pp__prefault_outputs(void *out, size_t size, void *status, size_t n);
void pp__items_succeed_column(struct pp_result *j, size_t first, size_t n, pp_type type,
                              const uint8_t *le);
/* The slot of item first in j's block of blob tuples (struct pp_result's
 * tuples), the block allocated at the first call; NULL if j makes none or
 * there is no memory. Caller holds the mutex. */
void *pp__job_tuples(struct pp_result *j, size_t first);
/* Items first..first+n-1 succeeded with one string or byte buffer (type)
 * each: the n entries of a blob column at p (values/column.h, checked),
 * inside one of j's kept payloads. With tuples (pp__job_tuples(j, first))
 * each item gets its read-only tuple there at once (one pass, no call per
 * item: a bulk read hands them out as they are); else its bytes are read
 * in place when they are asked for. Caller holds the mutex. */
void pp__items_succeed_blobs(struct pp_result *j, size_t first, size_t n, pp_type type,
                             const uint8_t *p, void *tuples);
/* After items of j finished: complete it, or wake readers and queue async
 * progress. Caller holds the mutex. */
void pp__job_after_items_locked(struct pp_result *j);
void pp__job_complete_locked(struct pp_result *j);
/* Drop a reference; the last one frees the job and its core reference
 * (never the core's last: callers hold another). Caller holds the mutex. */
void pp__job_unref_locked(struct pp_result *j);
void pp__job_complete_empty_locked(struct pp_result *j);
/* Fail items from..to-1 of j that are not finished yet. */
void pp__job_fail_range_locked(struct pp_result *j, size_t from, size_t to, pp_status st,
                               const char *msg);
/* Fail every unfinished item of a chunk; free a chunk (dropping its
 * reference to its job: every queued or sent chunk holds one, so a job
 * outlives its chunks, also when it completes early (cancel)). Caller
 * holds the mutex if the chunk has a job. */
void pp__chunk_fail_locked(pp__chunk *c, pp_status st, int code, const char *msg);
void pp__chunk_free(pp__chunk *c);
/* A freed chunk of p to make the next one from (its frame's memory kept,
 * every other field zero), or NULL. Caller holds the mutex. */
pp__chunk *pp__chunk_take_free_locked(pp_pool *p);
/* Log a failed job nobody observed (once). */
void pp__report_unobserved(struct pp_result *j);

/* ----------------------------------------------------------- dispatch.c */
/* A sync submission queues its next batch only while at most this many
 * bytes of frames are queued (not yet sent): the parent's memory for a
 * large map stays its input plus about this much (submit.c). */
#define PP__FEED_QUEUE_BYTES ((size_t)32 * 1024 * 1024)

/* Give the chunks of list (in order) to job j and append them to the
 * queue (a broken pool fails them instead). Ids are given at each send.
 * Caller holds the mutex. */
void pp__queue_append_locked(pp_pool *p, pp__chunk *list, struct pp_result *j);
/* Put a list of chunks back at the front, keeping their order. */
void pp__queue_push_front_locked(pp_pool *p, pp__chunk *list);
/* The next queued chunk, taken off the queue with its id given as a
 * send gives it (the broker's pump); NULL if the queue is empty. */
pp__chunk *pp__queue_take_locked(pp_pool *p);
/* Fail and free every queued chunk. */
void pp__fail_queue_locked(pp_pool *p, pp_status st, const char *msg);
/* Write whatever w can take now (the mutex is released while writing). */
void pp__pump_locked(pp_pool *p, pp__wslot *w);
void pp__pump_all_locked(pp_pool *p);
/* After a submission queued chunks: as pp__pump_all_locked(), but workers
 * that hold several chunks already are left to their reader threads
 * (dispatch.c). */
void pp__pump_submitted_locked(pp_pool *p);
/* With nothing queued and a worker idle, take back chunks that busy
 * workers were sent ahead and have not started, and give them to the
 * idle ones (no work waits behind a long task). */
void pp__balance_locked(pp_pool *p);
/* Take back from v every chunk it was sent and has not started (the
 * control block's gate decides, pool/wctl.h), to the front of the queue.
 * Returns how many. */
unsigned pp__take_back_locked(pp_pool *p, pp__wslot *v);
/* Drop j's chunks from the queue (their items are the caller's to fail). */
void pp__remove_job_from_queue_locked(pp_pool *p, struct pp_result *j);
/* A new chunk for items from..count-1 of c (same job, function and
 * arguments): what is left of a chunk whose worker died at item from-1. */
pp_status pp__chunk_tail(const pp__chunk *c, unsigned from, pp__chunk **out);
/* When the pool is closed and the queue is empty, idle workers may go. */
void pp__maybe_quit_workers_locked(pp_pool *p);
/* A submitting call has ended (p->feeding was counted up by submit.c):
 * wake join and let idle workers of a closed pool go. */
void pp__feed_end_locked(pp_pool *p);
/* The pool cannot run work any more: record why (first reason wins), fail
 * the queue, wake everyone. */
void pp__break_pool_locked(pp_pool *p, pp_status st, const char *msg);

/* ------------------------------------------------------------- chunks.c */
/* Where a submission's items come from: exactly one of one (apply),
 * items (map: item i as a one-item tuple), argv (starmap), gen
 * (pp_map_stream: made on demand) or arr (pp_map_array: record i as a
 * one-item tuple of its arr_size bytes); extra values appended to each. */
typedef struct pp__item_src {
    const pp_values *one;
    const pp_values *items;
    const pp_values *const *argv;
    pp_item_fn gen;
    void *gen_ud;
    const uint8_t *arr;
    size_t arr_size;
    const pp_values *extra; /* NULL: none */
    uint8_t flags;          /* frame flags for every chunk (PP__FLAG_TIMED) */
} pp__item_src;

/* Encodes a submission's items into chunks, batch by batch. */
typedef struct pp__builder {
    const pp__fnref *ref;
    const pp__item_src *src;
    size_t n, cs;       /* items, chunk size */
    size_t fixed;       /* bytes of a TASK frame besides its arguments */
    size_t target;      /* a chunk's frame, at most (unless one item is larger) */
    size_t batch_items; /* a batch's items, at most */
    pp_values *tmp;     /* an item being made (gen, extra values) */
    int tmp_ready;      /* tmp holds the item the next chunk starts with */
    pp_status fail;     /* why the last batch stopped early (PP_OK: it did not) */
    int lazy;           /* may make lazy chunks (a sync map's, local workers) */
    pp__chunk *spare;   /* a freed chunk to make the first one from (or NULL):
                           the builder's, freed with it if unused */
} pp__builder;

pp_status pp__builder_init(pp__builder *b, const pp__fnref *ref, const pp__item_src *src, size_t n,
                           size_t cs, int auto_cs, size_t batch_items);
void pp__builder_free(pp__builder *b);
/* PP_ETOOBIG if an item's arguments cannot fit one message (all items of
 * a source whose items exist; generated ones are checked as made). */
pp_status pp__builder_check(const pp__builder *b);
/* The chunks of the next batch from item from on (*list, in order; NULL
 * if none), *end the first item not in it. Returns PP_OK, or why item
 * *end could not be encoded: PP_ENOMEM, or for a made item PP_ETOOBIG or
 * what its maker returned; the chunks before it are still in *list. */
pp_status pp__builder_batch(pp__builder *b, size_t from, pp__chunk **list, size_t *end);
/* Free a list of chunks that were never queued. */
void pp__chunk_list_free(pp__chunk *c);
/* Write a lazy chunk's column entries (c->lazy_bytes) at dst: 1, or 0 if
 * its items are not what they were when it was made (never more than
 * lazy_bytes written). */
int pp__chunk_put_lazy(const pp__chunk *c, uint8_t *dst);
/* The tail of lazy chunk c from its item from on, as lazy chunk t (its
 * frame made by the caller): sets t's source, returns its entry bytes. */
size_t pp__chunk_lazy_tail(const pp__chunk *c, size_t from, pp__chunk *t);
/* Make a lazy chunk an ordinary one: its entries encoded into its frame.
 * PP_OK (at once for one that is not lazy); PP_ENOMEM; PP_EINVAL if its
 * items changed or are gone (pp__chunk_put_lazy): fail it. Unchanged on
 * failure. */
pp_status pp__chunk_materialize(pp__chunk *c);
/* A sync map, ready (every item finished), before it returns: the
 * caller's items may go now. Its lazy chunks still queued are dropped,
 * those in flight lose their source (l_* NULL: never sent again; the
 * worker reads its inbox copy). Caller holds the mutex. */
void pp__job_forget_source_locked(pp_pool *p, struct pp_result *j);

/* ------------------------------------------------------------- reader.c */
void pp__reader_thread_main(void *arg); /* arg: the pp__wslot */
/* Apply a RESULT frame to c, whose items from c->answered on it answers
 * (c->answered grows; a final frame must answer all of them): PP_EPROTO
 * if it does not fit c or is malformed (items before the fault may have
 * their outcomes). Caller holds the mutex and finishes the job's items
 * (pp__job_after_items_locked). */
pp_status pp__chunk_apply_result_locked(pp__chunk *c, const pp__frame_hdr *h,
                                        const uint8_t *payload);

/* --------------------------------------------------------- supervisor.c */
/* Thread entry points; arg is the pool. */
void pp__supervisor_main(void *arg);
/* Fork pools: make the first workers' control blocks and HELLO frames,
 * and create the launcher with them (pp__plat_launcher_create_pre), so
 * the zygote hands each its HELLO. Errors: as pp__plat_launcher_create. */
pp_status pp__first_launcher_create(pp_pool *p);
/* Release the first control blocks no worker took (idempotent). */
void pp__first_release(pp_pool *p);
void pp__resthread_main(void *arg);
/* The result thread runs the callbacks (and async progress) of jobs that
 * have some: started by the first submission with one (a pool used
 * without callbacks never has it). PP_OK if it runs (or the pool is
 * stopping: no callback is queued then), else why it could not start
 * (the submission fails with it). Caller holds the mutex. */
pp_status pp__resthread_ensure_locked(pp_pool *p);
/* Default of pp_pool_options.start_timeout_ms. */
#define PP__START_TIMEOUT_MS 60000

/* How a start failed (the restart policy treats them differently). */
enum {
    PP__START_KILLED,  /* ended from outside before it was ready: retried */
    PP__START_FAILED,  /* crashed, exited or could not be launched */
    PP__START_TIMEOUT, /* not ready within the start timeout */
};
/* A failed start: retried after a backoff; starts that fail on their own
 * too often within a window break the pool (as does any while the pool is
 * being created, except kills from outside). */
void pp__start_failed_locked(pp_pool *p, int how, const char *msg);
/* A worker reported READY: the restart policy starts over. */
void pp__start_succeeded_locked(pp_pool *p);
/* Queued, in flight, or still being submitted? */
int pp__work_left_locked(const pp_pool *p);
/* Queue work for the result thread (callbacks, async progress). */
void pp__cb_enqueue_locked(pp_pool *p, struct pp_result *j);
int pp__on_result_thread(const pp_pool *p);
/* Is the calling thread inside a submitting call on p (an item function or
 * a progress callback of a sync map run there)? Takes the mutex. */
int pp__on_feeding_thread(pp_pool *p);

/* ----------------------------------------------------------- syncwait.c */
/* Wait until sync submission j is ready, running its progress callback on
 * the calling thread; returns pp_result_successful(j). */
pp_status pp__wait_sync(struct pp_result *j);

/* -------------------------------------------------------------- array.c */
/* What pp_map_array() needs of submit.c: submit src (n items) as a sync
 * map and wait for it; *out gets the job (the caller's reference). */
/* A sync map form's own failure (bad arguments, before anything was
 * submitted) into opts->error / error_index (index SIZE_MAX) when set;
 * what (may be NULL) prefixes the message. Returns st. */
pp_status pp__report_call_failure(const pp_submit_options *o, pp_status st, const char *what);
pp_status pp__submit_sync_map(pp_pool *pool, pp_task_fn fn, const pp__item_src *src, size_t n,
                              const pp_submit_options *opts, struct pp_result **out);

/* ------------------------------------------------------------- result.c */
/* On the result thread, a result whose callbacks are still to run there
 * can never become ready while that thread waits (caller holds the
 * mutex): waiting must be refused (PP_EDEADLK). */
int pp__result_would_deadlock(const struct pp_result *r);
/* Wait until r is ready (timeout_ms: PP_INFINITE or >= 0), caller holds
 * the mutex: PP_OK, PP_ETIMEDOUT, or PP_EDEADLK (as above). */
pp_status pp__result_wait_ready_locked(struct pp_result *r, int64_t timeout_ms);

/* 1 in a fork child of the process that made the pool of c: its copy of
 * the pool has no threads and the workers are not its own (pool.h:
 * PP_ESTATE). Never takes the mutex (another thread of the parent may have
 * held it when it forked). */
static inline int pp__core_foreign(const pp__core *c)
{
    return pp__pool_self_pid() != c->pid;
}

static inline int pp__pool_foreign(const pp_pool *p)
{
    return pp__core_foreign(p->core);
}

/* An unfinished result in a fork child of its pool's creator: nothing
 * there can finish it (the pool's threads are the creator's). Caller
 * holds the mutex. */
static inline int pp__result_foreign_pending(const struct pp_result *r)
{
    return !r->ready && pp__core_foreign(r->core);
}

/* Lock c->mu for a call on a result. In a fork child of the pool's
 * creator only if nobody holds it now: a thread of the creator may have
 * held it at the fork, and that thread does not exist in the child to
 * release it (PP_ESTATE then, result.h). */
static inline pp_status pp__core_lock(pp__core *c)
{
    if (!pp__core_foreign(c)) {
        pp__plat_mtx_lock(c->mu);
        return PP_OK;
    }
    return pp__plat_mtx_trylock(c->mu) ? PP_OK : PP_ESTATE;
}

#endif /* PROCPOOL_POOL_POOL_INTERNAL_H */
