/*
 * sobj.h — the common part of the local synchronization kinds (sync.h:
 * semaphores, events, barriers, conditions; and the queue and arrays):
 * each is one sync segment of the platform (pp__plat_sobj) behind a
 * named, cached handle like a lock's or a shm block's (named_cache.h:
 * the same name ownership, identity and per-process cache), plus the
 * helpers every kind uses to stay robust against a participant's death.
 *
 * Robustness rules (every kind):
 *  - all state lives in the segment; the state mutex is held only for
 *    short critical sections, never while waiting;
 *  - an update of several words is a REDO RECORD (pp__sobj_redo): the
 *    target values are written and committed before the first store, and
 *    the record is cleared after the last, so whoever takes the state
 *    mutex with PP_EOWNERDEAD (its holder died inside) rolls a committed
 *    record forward (the stores are idempotent) or finds none (nothing
 *    was stored yet): pp__sobj_enter() does it;
 *  - a participant is a process (pid, start stamp); waits are sliced
 *    (PP__SOBJ_SLICE_MS) and after each slice a waiter checks the
 *    liveness of the participants that could be blocking it.
 *
 * Not installed. Every function is thread-safe.
 */
#ifndef PROCPOOL_SYNC_SOBJ_H
#define PROCPOOL_SYNC_SOBJ_H

#include <stddef.h>
#include <stdint.h>

#include "procpool/error.h"
#include "platform.h"
#include "sync/named_cache.h"

/* Kind tags, stored in the segment (part of its format: never renumber). */
enum {
    PP__SOBJ_SEM = 1,
    PP__SOBJ_EVENT = 2,
    PP__SOBJ_BARRIER = 3,
    PP__SOBJ_COND = 4,
    PP__SOBJ_QUEUE = 5,
    PP__SOBJ_ARRAY = 6,
    PP__SOBJ_KIND_MAX = 6 /* the last: larger tags are malformed (value decoding) */
};

/* Participants a kind records at once (holders, waiters): more at the
 * same time is PP_ETOOBIG. */
#define PP__SOBJ_PROCS 128

/* A waiter checks for dead participants at least this often. */
#define PP__SOBJ_SLICE_MS 50

/* Every public handle of a kind (struct pp_sem, ...) is exactly this. */
typedef struct pp__sobj {
    pp__named_handle h; /* first member: same address as the handle */
    /* Zero in a new handle; a kind may cache per-handle data here (the
     * semaphore: its slot in the holder table), read and written with
     * pp__plat_atomic_load64() / pp__plat_atomic_store64(). */
    uint64_t kc;
    /* The platform object and its state, cached at create / open /
     * resolve (what pp__sobj_plat() / pp__sobj_state() return), so that a
     * fast path reads them without a call. */
    pp__plat_sobj *plat;
    void *state;
} pp__sobj;

/* Create / open / resolve as pp_lock_create() / pp_lock_open() /
 * pp__lock_resolve(), for a segment of kind with state_size bytes of
 * state (init: NULL for zeroes, or state_size bytes). open and resolve:
 * PP_ETYPE if name is a sync object of another kind (resolve: kind 0
 * accepts any), PP_EINVAL if it is another procpool object. */
pp_status pp__sobj_create(uint32_t kind, const char *name, size_t state_size, const void *init,
                          pp__sobj **out);
pp_status pp__sobj_open(uint32_t kind, const char *name, pp__sobj **out);
pp_status pp__sobj_resolve(uint32_t kind, const char *name, uint64_t id, pp__sobj **out);
/* Close a handle (NULL ok); the creator's also removes the name. */
void pp__sobj_destroy(pp__sobj *o);

/* The state sizes of the kinds whose state is one fixed struct (sem.c,
 * event.c, barrier.c, cond.c): open and resolve refuse a segment of such
 * a kind with less state (PP_EINVAL: another build's layout, or damage),
 * whose struct would be read past its end. */
size_t pp__sem_state_size(void);
size_t pp__event_state_size(void);
size_t pp__barrier_state_size(void);
size_t pp__cond_state_size(void);

const char *pp__sobj_name(const pp__sobj *o);
uint64_t pp__sobj_id(const pp__sobj *o);
uint32_t pp__sobj_kind(const pp__sobj *o);
pp__plat_sobj *pp__sobj_plat(const pp__sobj *o);
void *pp__sobj_state(const pp__sobj *o);

/* The cache of sync objects (sync.c). */
pp_status pp__sobj_cache_init(void);
void pp__sobj_cache_shutdown(void);

/* ------------------------------------------------------- redo records */

#define PP__SOBJ_REDO_MAX 12

/* Word offsets are in uint64_t units from the start of the kind's state,
 * whose first member must be this record. */
typedef struct pp__sobj_redo {
    uint64_t n; /* committed stores (0: none pending); written last */
    uint64_t off[PP__SOBJ_REDO_MAX];
    uint64_t val[PP__SOBJ_REDO_MAX];
} pp__sobj_redo;

/* An update being built: stores to the state's 64-bit words. */
typedef struct pp__sobj_tx {
    uint64_t *state;
    unsigned n;
    uint64_t off[PP__SOBJ_REDO_MAX];
    uint64_t val[PP__SOBJ_REDO_MAX];
} pp__sobj_tx;

/* Start an update of the state (whose first member is a pp__sobj_redo). */
void pp__sobj_tx_begin(pp__sobj_tx *tx, void *state);
/* Add "*word = v" (word: a uint64_t of the state). At most
 * PP__SOBJ_REDO_MAX stores per update (asserted). */
void pp__sobj_tx_set(pp__sobj_tx *tx, const uint64_t *word, uint64_t v);
/* Commit: write the record, then the stores, then clear the record. */
void pp__sobj_tx_commit(pp__sobj_tx *tx);

/* ------------------------------------------------ critical sections */

/* Take the state mutex until deadline (pp__plat_now_ms() time, or
 * PP_INFINITE). If its last holder died inside, a committed redo record
 * is rolled forward first and *repaired (may be NULL) is set to 1 (else
 * 0); the result is then PP_OK too. PP_ETIMEDOUT, or an OS error. */
pp_status pp__sobj_enter(pp__sobj *o, int64_t deadline, int *repaired);
/* One attempt without waiting and without reading the clock (the fast
 * path of a busy kind: the queue tries a few times before it computes a
 * deadline): as pp__sobj_enter(), PP_ETIMEDOUT if the mutex is held. */
pp_status pp__sobj_try_enter(pp__sobj *o, int *repaired);
void pp__sobj_leave(pp__sobj *o);

/* Deadline of a timeout (PP_INFINITE stays, and so becomes a timeout too
 * large for the clock to add); and the time left until it
 * (PP_INFINITE for none; 0 once passed). PP_EINVAL for timeouts below
 * PP_INFINITE is the caller's check. */
int64_t pp__sobj_deadline(int64_t timeout_ms);
int64_t pp__sobj_left(int64_t deadline);

/* Sleep until the wake word moves from seen, one slice, or deadline. */
void pp__sobj_nap(pp__sobj *o, uint32_t seen, int64_t deadline);

/* -------------------------------------------------------- participants */

/* One process in a kind's table; pid 0: a free slot. */
typedef struct pp__sobj_proc {
    uint64_t pid;
    uint64_t stamp;
} pp__sobj_proc;

/* The caller's (pid, stamp), cached per process. Also sets
 * pp__sobj_me_pid / pp__sobj_me_stamp. */
void pp__sobj_self(pp__sobj_proc *me);
/* The caller's (pid, stamp) for the kinds' lock-free fast paths, read
 * without a call: pid 0 until pp__sobj_self() ran in this process (and
 * again 0 in a fork child, until it runs there). Written only with the
 * same values by every thread of a process. */
extern volatile uint64_t pp__sobj_me_pid, pp__sobj_me_stamp;
int pp__sobj_proc_is(const pp__sobj_proc *p, const pp__sobj_proc *me);
/* 1 if the recorded process still runs (pid 0: 0). */
int pp__sobj_proc_alive(const pp__sobj_proc *p);

#endif /* PROCPOOL_SYNC_SOBJ_H */
