/*
 * sobj.c — the common part of the local synchronization kinds (see
 * sync/sobj.h): one cache for every kind, redo records, critical
 * sections, sliced waits, participants.
 *
 * One named cache holds the sync objects of all kinds (they share one
 * namespace with locks and shm blocks anyway): it opens a name whatever
 * its kind, and the typed calls here check the kind afterwards
 * (PP_ETYPE), so a name of the wrong kind costs one attach, never a
 * second cache per kind.
 */
#include <assert.h>
#include <string.h>

#include "platform.h"
#include "core/core.h"
#include "sync/named_cache.h"
#include "sync/sobj.h"

static pp__named_cache *g_cache;

/* The creation parameters through the cache (named_cache.h: arg). */
typedef struct create_arg {
    uint32_t kind;
    size_t size;
    const void *init;
} create_arg;

static pp_status kind_create(const char *name, const void *arg, void **obj)
{
    const create_arg *a = arg;
    return pp__plat_sobj_create(name, a->kind, a->size, a->init, (pp__plat_sobj **)obj);
}

static pp_status kind_open(const char *name, void **obj)
{
    return pp__plat_sobj_open(name, 0, (pp__plat_sobj **)obj);
}

static void kind_close(void *obj)
{
    pp__plat_sobj_close(obj);
}

static uint64_t kind_id(const void *obj)
{
    return pp__plat_sobj_id(obj);
}

static const pp__named_kind g_kind = {sizeof(pp__sobj), kind_create,          kind_open,
                                      kind_close,       pp__plat_sobj_unlink, kind_id};

volatile uint64_t pp__sobj_me_pid, pp__sobj_me_stamp;

/* A fork child is another participant: it computes its identity again. */
static void me_forget_after_fork(void)
{
    pp__sobj_me_pid = 0;
}

pp_status pp__sobj_cache_init(void)
{
    static int registered;

    if (!registered) {
        registered = 1;
        pp__plat_atfork_child(me_forget_after_fork);
    }
    return pp__named_cache_create(&g_kind, &g_cache);
}

void pp__sobj_cache_shutdown(void)
{
    pp__named_cache_shutdown(g_cache);
    g_cache = NULL;
}

/* Cache the platform object and its state in a new handle (a resolved
 * one is the cache's, set by its first resolve). */
static void remember(pp__sobj *o)
{
    pp__plat_sobj *ps = pp__named_obj(&o->h);

    if (o->plat != ps) {
        o->state = pp__plat_sobj_state(ps);
        o->plat = ps;
    }
}

pp_status pp__sobj_create(uint32_t kind, const char *name, size_t state_size, const void *init,
                          pp__sobj **out)
{
    create_arg a;
    pp__named_handle *h = NULL;
    pp_status st;

    if (out == NULL)
        return PP_EINVAL;
    *out = NULL;
    a.kind = kind;
    a.size = state_size;
    a.init = init;
    st = pp__named_create(g_cache, name, &a, &h);
    *out = (pp__sobj *)h;
    if (st == PP_OK)
        remember(*out);
    return st;
}

/* The least state a kind's segment must have (0: the kind checks its
 * own, as queue.c and array.c do). */
static size_t state_min(uint32_t kind)
{
    switch (kind) {
    case PP__SOBJ_SEM:
        return pp__sem_state_size();
    case PP__SOBJ_EVENT:
        return pp__event_state_size();
    case PP__SOBJ_BARRIER:
        return pp__barrier_state_size();
    case PP__SOBJ_COND:
        return pp__cond_state_size();
    default:
        return 0;
    }
}

/* A handle of another kind than wanted is closed again: PP_ETYPE; one
 * with less state than its kind has: PP_EINVAL. */
static pp_status check_kind(uint32_t kind, pp__named_handle *h, int close, pp__sobj **out)
{
    const pp__plat_sobj *p = pp__named_obj(h);
    uint32_t got = pp__plat_sobj_kind(p);
    pp_status st = PP_OK;

    if (kind != 0 && got != kind)
        st = PP_ETYPE;
    else if (pp__plat_sobj_state_size(p) < state_min(got))
        st = PP_EINVAL;
    if (st != PP_OK) {
        if (close)
            pp__named_destroy(g_cache, h);
        return st;
    }
    *out = (pp__sobj *)h;
    remember(*out);
    return PP_OK;
}

pp_status pp__sobj_open(uint32_t kind, const char *name, pp__sobj **out)
{
    pp__named_handle *h = NULL;
    pp_status st;

    if (out == NULL)
        return PP_EINVAL;
    *out = NULL;
    st = pp__named_open(g_cache, name, &h);
    return st == PP_OK ? check_kind(kind, h, 1, out) : st;
}

pp_status pp__sobj_resolve(uint32_t kind, const char *name, uint64_t id, pp__sobj **out)
{
    pp__named_handle *h = NULL;
    pp_status st;

    if (out == NULL)
        return PP_EINVAL;
    *out = NULL;
    st = pp__named_resolve(g_cache, name, id, &h);
    /* a resolved handle is the cache's (process lifetime): never closed */
    return st == PP_OK ? check_kind(kind, h, 0, out) : st;
}

void pp__sobj_destroy(pp__sobj *o)
{
    pp__named_destroy(g_cache, o ? &o->h : NULL);
}

const char *pp__sobj_name(const pp__sobj *o)
{
    return o ? pp__named_name(&o->h) : NULL;
}

uint64_t pp__sobj_id(const pp__sobj *o)
{
    return o ? pp__named_id(&o->h) : 0;
}

pp__plat_sobj *pp__sobj_plat(const pp__sobj *o)
{
    return o->plat;
}

uint32_t pp__sobj_kind(const pp__sobj *o)
{
    return o ? pp__plat_sobj_kind(pp__sobj_plat(o)) : 0;
}

void *pp__sobj_state(const pp__sobj *o)
{
    return o->state;
}

/* ------------------------------------------------------- redo records */

/* The record's words are read back by another process after a death,
 * so their stores must happen in program order: volatile keeps the
 * compiler from reordering or merging them, and a process is killed at
 * an instruction boundary (interrupts are precise: what it stored before
 * is in memory, nothing after). Ordering against other processes is the
 * state mutex's job. (No <stdatomic.h> in src/: MSVC builds it.) */
static void word_store(uint64_t *w, uint64_t v)
{
    *(volatile uint64_t *)w = v;
}

void pp__sobj_tx_begin(pp__sobj_tx *tx, void *state)
{
    tx->state = state;
    tx->n = 0;
}

void pp__sobj_tx_set(pp__sobj_tx *tx, const uint64_t *word, uint64_t v)
{
    assert(tx->n < PP__SOBJ_REDO_MAX);
    if (tx->n >= PP__SOBJ_REDO_MAX)
        return;
    tx->off[tx->n] = (uint64_t)(word - tx->state);
    tx->val[tx->n] = v;
    tx->n++;
}

static void redo_apply(uint64_t *state, const uint64_t *off, const uint64_t *val, uint64_t n)
{
    uint64_t i;

    for (i = 0; i < n; i++)
        word_store(state + off[i], val[i]);
}

void pp__sobj_tx_commit(pp__sobj_tx *tx)
{
    pp__sobj_redo *r = (pp__sobj_redo *)tx->state;
    unsigned i;

    if (tx->n == 1) { /* one aligned store is atomic: no record needed */
        word_store(tx->state + tx->off[0], tx->val[0]);
        return;
    }
    for (i = 0; i < tx->n; i++) {
        word_store(&r->off[i], tx->off[i]);
        word_store(&r->val[i], tx->val[i]);
    }
    word_store(&r->n, tx->n); /* committed */
    /* from the caller's copy: the same values, without reading back what
     * was just stored */
    redo_apply(tx->state, tx->off, tx->val, tx->n);
    word_store(&r->n, 0); /* done */
}

/* After a holder died inside: roll a committed record forward. A record
 * with an offset outside the state is damage, not ours: dropped. */
static void redo_recover(pp__sobj *o)
{
    uint64_t *state = pp__sobj_state(o);
    pp__sobj_redo *r = (pp__sobj_redo *)state;
    uint64_t words = pp__plat_sobj_state_size(pp__sobj_plat(o)) / 8;
    uint64_t n = r->n, i;

    if (n > PP__SOBJ_REDO_MAX)
        n = 0;
    for (i = 0; i < n; i++) {
        if (r->off[i] < sizeof(pp__sobj_redo) / 8 || r->off[i] >= words)
            n = 0;
    }
    redo_apply(state, r->off, r->val, n);
    word_store(&r->n, 0);
}

/* ------------------------------------------------ critical sections */

int64_t pp__sobj_deadline(int64_t timeout_ms)
{
    int64_t now;

    if (timeout_ms < 0)
        return PP_INFINITE;
    now = pp__plat_now_ms();
    /* now + timeout would overflow (undefined): a deadline past the end
     * of time is no deadline */
    if (timeout_ms >= INT64_MAX - now)
        return PP_INFINITE;
    return pp__plat_deadline_ms(timeout_ms); /* never a millisecond early */
}

int64_t pp__sobj_left(int64_t deadline)
{
    int64_t left;

    if (deadline == PP_INFINITE)
        return PP_INFINITE;
    left = deadline - pp__plat_now_ms();
    return left > 0 ? left : 0;
}

pp_status pp__sobj_enter(pp__sobj *o, int64_t deadline, int *repaired)
{
    int64_t left = pp__sobj_left(deadline);
    pp_status st;

    if (repaired != NULL)
        *repaired = 0;
    /* The mutex is held for a few stores at a time: waiting for it a
     * little past a deadline of 0 (try forms) is better than a spurious
     * "busy" from a holder in the middle of a short section. */
    if (left == 0)
        left = 10;
    st = pp__plat_sobj_lock(pp__sobj_plat(o), left);
    if (st == PP_EOWNERDEAD) {
        redo_recover(o);
        if (repaired != NULL)
            *repaired = 1;
        st = PP_OK;
    }
    return st;
}

pp_status pp__sobj_try_enter(pp__sobj *o, int *repaired)
{
    pp_status st = pp__plat_sobj_lock(pp__sobj_plat(o), 0);

    if (repaired != NULL)
        *repaired = 0;
    if (st == PP_EOWNERDEAD) {
        redo_recover(o);
        if (repaired != NULL)
            *repaired = 1;
        st = PP_OK;
    }
    return st;
}

void pp__sobj_leave(pp__sobj *o)
{
    pp__plat_sobj_unlock(pp__sobj_plat(o));
}

void pp__sobj_nap(pp__sobj *o, uint32_t seen, int64_t deadline)
{
    int64_t left = pp__sobj_left(deadline);

    if (left == PP_INFINITE || left > PP__SOBJ_SLICE_MS)
        left = PP__SOBJ_SLICE_MS;
    (void)pp__plat_sobj_wait(pp__sobj_plat(o), seen, left);
}

/* -------------------------------------------------------- participants */

void pp__sobj_self(pp__sobj_proc *me)
{
    pp__plat_proc_self_stamp(&me->pid, &me->stamp);
    if (pp__sobj_me_pid != me->pid) {
        pp__sobj_me_stamp = me->stamp; /* before the pid: a reader checks both */
        pp__sobj_me_pid = me->pid;
    }
}

int pp__sobj_proc_is(const pp__sobj_proc *p, const pp__sobj_proc *me)
{
    return p->pid == me->pid && p->stamp == me->stamp;
}

int pp__sobj_proc_alive(const pp__sobj_proc *p)
{
    return p->pid != 0 && pp__plat_proc_alive(p->pid, p->stamp);
}
