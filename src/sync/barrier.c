/*
 * barrier.c — local named barriers (sync.h) on a sync segment (sobj.h).
 *
 * State: parties, arrivals of the current generation, the generation
 * number, a broken flag, and one slot per waiting process (pid, stamp,
 * the generation it waits in, its outcome). The last arrival ends the
 * generation (generation + 1): a waiter whose generation is over passed,
 * unless its slot was marked broken by a reset. A waiter that times out,
 * an abort, or a waiter found dead (by the others, at least once a slice)
 * break the barrier (Python's semantics: the waiters get PP_EBROKEN, and
 * so does every wait until a reset).
 */
#include <stdlib.h>

#include "procpool/sync.h"
#include "core/core.h"
#include "sync/sobj.h"

struct pp_barrier {
    pp__sobj o;
};

enum { OUT_WAITING = 0, OUT_BROKEN = 2 };

typedef struct bar_slot {
    pp__sobj_proc p; /* pid 0: a free slot */
    uint64_t gen;
    uint64_t outcome;
} bar_slot;

typedef struct barrier_state {
    pp__sobj_redo redo; /* first: see sobj.h */
    uint64_t parties;
    uint64_t count; /* arrivals in the current generation */
    uint64_t gen;
    uint64_t broken;
    uint64_t slots; /* slot[0..slots-1] may be in use */
    bar_slot slot[PP__SOBJ_PROCS];
} barrier_state;

size_t pp__barrier_state_size(void)
{
    return sizeof(barrier_state);
}

static barrier_state *state_of(pp_barrier *b)
{
    return pp__sobj_state(&b->o);
}

pp_status pp_barrier_create(const char *name, int64_t parties, pp_barrier **out)
{
    barrier_state *init;
    pp__sobj *o = NULL;
    pp_status st;

    if (out == NULL)
        return PP_EINVAL;
    *out = NULL;
    if (parties < 1 || parties > PP_BARRIER_MAX)
        return PP_EINVAL;
    init = calloc(1, sizeof *init);
    if (init == NULL)
        return PP_ENOMEM;
    init->parties = (uint64_t)parties;
    st = pp__sobj_create(PP__SOBJ_BARRIER, name, sizeof *init, init, &o);
    free(init);
    *out = (pp_barrier *)o;
    return st;
}

pp_status pp_barrier_open(const char *name, pp_barrier **out)
{
    pp__sobj *o = NULL;
    pp_status st;

    if (out == NULL)
        return PP_EINVAL;
    st = pp__sobj_open(PP__SOBJ_BARRIER, name, &o);
    *out = (pp_barrier *)o;
    return st;
}

static uint64_t nslots(const barrier_state *bs)
{
    return bs->slots < PP__SOBJ_PROCS ? bs->slots : PP__SOBJ_PROCS;
}

/* Plain stores under the state mutex, pid last: a death in between
 * leaves a slot of a dead process, which the next reap frees. */
static void slot_free(bar_slot *s)
{
    s->outcome = OUT_WAITING;
    s->gen = 0;
    s->p.stamp = 0;
    s->p.pid = 0; /* last: the slot is free once this is stored */
}

/* Record the caller as waiting in the current generation (state mutex
 * held): PP_ETOOBIG if no slot is free. */
static pp_status enter_wait(barrier_state *bs, uint64_t *index)
{
    pp__sobj_proc me;
    pp__sobj_tx tx;
    uint64_t i, n = nslots(bs);

    for (i = 0; i < n && bs->slot[i].p.pid != 0; i++)
        ;
    if (i == PP__SOBJ_PROCS)
        return PP_ETOOBIG;
    pp__sobj_self(&me);
    pp__sobj_tx_begin(&tx, bs);
    pp__sobj_tx_set(&tx, &bs->slot[i].gen, bs->gen);
    pp__sobj_tx_set(&tx, &bs->slot[i].outcome, OUT_WAITING);
    pp__sobj_tx_set(&tx, &bs->slot[i].p.stamp, me.stamp);
    pp__sobj_tx_set(&tx, &bs->slot[i].p.pid, me.pid);
    pp__sobj_tx_set(&tx, &bs->count, bs->count + 1);
    if (i >= bs->slots)
        pp__sobj_tx_set(&tx, &bs->slots, i + 1);
    pp__sobj_tx_commit(&tx);
    *index = i;
    return PP_OK;
}

/* A waiter of the current generation found dead (state mutex held):
 * breaks the barrier. Returns 1 if one was found. */
static int reap(barrier_state *bs, uint64_t mine)
{
    uint64_t i, n = nslots(bs);
    int found = 0;

    for (i = 0; i < n; i++) {
        bar_slot *s = &bs->slot[i];
        if (i == mine || s->p.pid == 0 || pp__sobj_proc_alive(&s->p))
            continue;
        /* a waiter of an earlier generation had passed: only its slot */
        if (s->gen == bs->gen && s->outcome == OUT_WAITING) {
            bs->broken = 1;
            found = 1;
        }
        slot_free(s);
    }
    return found;
}

pp_status pp_barrier_wait(pp_barrier *b, int64_t timeout_ms, int64_t *index)
{
    int64_t deadline, last_reap;
    barrier_state *bs;
    pp__sobj_tx tx;
    uint64_t arrival, mine = 0, gen;
    uint32_t seen;
    pp_status st;

    if (b == NULL || timeout_ms < PP_INFINITE)
        return PP_EINVAL;
    deadline = pp__sobj_deadline(timeout_ms);
    bs = state_of(b);
    st = pp__sobj_enter(&b->o, PP_INFINITE, NULL);
    if (st != PP_OK)
        return st;
    if (bs->broken) {
        pp__sobj_leave(&b->o);
        return PP_EBROKEN;
    }
    arrival = bs->count;
    gen = bs->gen;
    /* The last: the generation ends, unless a waiter of it died (it is
     * counted in arrival but never made the rendezvous): then the
     * barrier breaks, as it does for the other waiters. */
    if (arrival + 1 >= bs->parties && arrival > 0 && reap(bs, PP__SOBJ_PROCS)) {
        pp__sobj_leave(&b->o);
        pp__plat_sobj_wake(pp__sobj_plat(&b->o));
        return PP_EBROKEN;
    }
    if (arrival + 1 >= bs->parties) {
        pp__sobj_tx_begin(&tx, bs);
        pp__sobj_tx_set(&tx, &bs->count, 0);
        pp__sobj_tx_set(&tx, &bs->gen, gen + 1);
        pp__sobj_tx_commit(&tx);
        pp__sobj_leave(&b->o);
        pp__plat_sobj_wake(pp__sobj_plat(&b->o));
        if (index != NULL)
            *index = (int64_t)arrival;
        return PP_OK;
    }
    st = enter_wait(bs, &mine);
    if (st == PP_ETOOBIG) { /* full: of live waiters, or are some gone? */
        if (reap(bs, PP__SOBJ_PROCS)) {
            pp__sobj_leave(&b->o);
            pp__plat_sobj_wake(pp__sobj_plat(&b->o));
            return PP_EBROKEN; /* a waiter of this generation died */
        }
        st = enter_wait(bs, &mine);
    }
    pp__sobj_leave(&b->o);
    if (st != PP_OK)
        return st;
    last_reap = pp__plat_now_ms();
    for (;;) {
        seen = pp__plat_sobj_seq(pp__sobj_plat(&b->o));
        st = pp__sobj_enter(&b->o, PP_INFINITE, NULL);
        if (st != PP_OK)
            return st; /* cannot happen short of an OS failure */
        if (bs->slot[mine].outcome == OUT_BROKEN)
            st = PP_EBROKEN; /* reset while waiting */
        else if (bs->gen != gen)
            st = PP_OK;
        else if (bs->broken)
            st = PP_EBROKEN;
        else if (pp__plat_now_ms() - last_reap >= PP__SOBJ_SLICE_MS && reap(bs, mine))
            st = PP_EBROKEN;
        else if (pp__sobj_left(deadline) == 0) {
            bs->broken = 1; /* Python: a timeout breaks the barrier */
            st = PP_ETIMEDOUT;
        } else
            st = PP_ENOTREADY;
        if (st != PP_ENOTREADY) {
            slot_free(&bs->slot[mine]);
            pp__sobj_leave(&b->o);
            if (st != PP_OK)
                pp__plat_sobj_wake(pp__sobj_plat(&b->o));
            else if (index != NULL)
                *index = (int64_t)arrival;
            return st;
        }
        if (pp__plat_now_ms() - last_reap >= PP__SOBJ_SLICE_MS)
            last_reap = pp__plat_now_ms();
        pp__sobj_leave(&b->o);
        pp__sobj_nap(&b->o, seen, deadline);
    }
}

pp_status pp_barrier_abort(pp_barrier *b)
{
    pp_status st;

    if (b == NULL)
        return PP_EINVAL;
    st = pp__sobj_enter(&b->o, PP_INFINITE, NULL);
    if (st != PP_OK)
        return st;
    state_of(b)->broken = 1;
    pp__sobj_leave(&b->o);
    pp__plat_sobj_wake(pp__sobj_plat(&b->o));
    return PP_OK;
}

pp_status pp_barrier_reset(pp_barrier *b)
{
    barrier_state *bs;
    pp__sobj_tx tx;
    uint64_t i, n;
    pp_status st;

    if (b == NULL)
        return PP_EINVAL;
    bs = state_of(b);
    st = pp__sobj_enter(&b->o, PP_INFINITE, NULL);
    if (st != PP_OK)
        return st;
    /* Broken first: a reset cut short by a death leaves the barrier
     * broken (reset it again), never waiters half released. */
    bs->broken = 1;
    n = nslots(bs);
    for (i = 0; i < n; i++) {
        if (bs->slot[i].p.pid != 0 && bs->slot[i].gen == bs->gen)
            bs->slot[i].outcome = OUT_BROKEN;
    }
    pp__sobj_tx_begin(&tx, bs);
    pp__sobj_tx_set(&tx, &bs->count, 0);
    pp__sobj_tx_set(&tx, &bs->gen, bs->gen + 1);
    pp__sobj_tx_set(&tx, &bs->broken, 0);
    pp__sobj_tx_commit(&tx);
    pp__sobj_leave(&b->o);
    pp__plat_sobj_wake(pp__sobj_plat(&b->o));
    return PP_OK;
}

pp_status pp_barrier_state(pp_barrier *b, int64_t *waiting, int *broken)
{
    barrier_state *bs;
    uint64_t i, n, w = 0;
    pp_status st;

    if (b == NULL)
        return PP_EINVAL;
    bs = state_of(b);
    st = pp__sobj_enter(&b->o, PP_INFINITE, NULL);
    if (st != PP_OK)
        return st;
    n = nslots(bs);
    for (i = 0; i < n; i++) {
        if (bs->slot[i].p.pid != 0 && bs->slot[i].gen == bs->gen &&
            bs->slot[i].outcome == OUT_WAITING)
            w++;
    }
    if (waiting != NULL)
        *waiting = bs->broken ? 0 : (int64_t)w;
    if (broken != NULL)
        *broken = bs->broken != 0;
    pp__sobj_leave(&b->o);
    return PP_OK;
}

int64_t pp_barrier_parties(const pp_barrier *b)
{
    return b ? (int64_t)((const barrier_state *)pp__sobj_state(&b->o))->parties : 0;
}

const char *pp_barrier_name(const pp_barrier *b)
{
    return b ? pp__sobj_name(&b->o) : NULL;
}

void pp_barrier_destroy(pp_barrier *b)
{
    pp__sobj_destroy(b ? &b->o : NULL);
}
