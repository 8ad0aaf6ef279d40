/*
 * sem.c — local named semaphores (sync.h) on a sync segment (sobj.h).
 *
 * State: the free units, the bound, and a table of the processes that
 * hold units (pid, stamp, units). Acquire takes a unit and records it
 * against the caller; release gives one back, from the caller's record
 * if it has one (Python lets any process release). A holder found dead —
 * by a waiter, at least once a slice while the value is 0, or by a try
 * that finds none free — has its units given back, and the next
 * acquirer is told (PP_EOWNERDEAD), once.
 */
#include <stdlib.h>
#include <string.h>

#include "procpool/sync.h"
#include "core/core.h"
#include "sync/sobj.h"

struct pp_sem {
    pp__sobj o;
};

typedef struct sem_holder {
    pp__sobj_proc p; /* pid 0: a free slot */
    uint64_t units;
} sem_holder;

typedef struct sem_state {
    pp__sobj_redo redo; /* first: see sobj.h */
    uint64_t value;     /* free units */
    uint64_t initial;
    uint64_t bounded;
    uint64_t notice; /* 1: a holder died, the next acquirer is told */
    uint64_t slots;  /* holders[0..slots-1] may be in use */
    sem_holder holders[PP__SOBJ_PROCS];
} sem_state;

size_t pp__sem_state_size(void)
{
    return sizeof(sem_state);
}

static sem_state *state_of(pp_sem *s)
{
    return pp__sobj_state(&s->o);
}

pp_status pp_sem_create(const char *name, int64_t value, int bounded, pp_sem **out)
{
    sem_state *init;
    pp__sobj *o = NULL;
    pp_status st;

    if (out == NULL)
        return PP_EINVAL;
    *out = NULL;
    if (value < 0 || value > PP_SEM_MAX)
        return PP_EINVAL;
    init = calloc(1, sizeof *init);
    if (init == NULL)
        return PP_ENOMEM;
    init->value = (uint64_t)value;
    init->initial = (uint64_t)value;
    init->bounded = bounded != 0;
    st = pp__sobj_create(PP__SOBJ_SEM, name, sizeof *init, init, &o);
    free(init);
    *out = (pp_sem *)o;
    return st;
}

pp_status pp_sem_open(const char *name, pp_sem **out)
{
    pp__sobj *o = NULL;
    pp_status st;

    if (out == NULL)
        return PP_EINVAL;
    st = pp__sobj_open(PP__SOBJ_SEM, name, &o);
    *out = (pp_sem *)o;
    return st;
}

/* Give back the units of every dead holder (state mutex held). */
static void reap(sem_state *ss)
{
    pp__sobj_tx tx;
    uint64_t i, value;

    for (i = 0; i < ss->slots && i < PP__SOBJ_PROCS; i++) {
        sem_holder *h = &ss->holders[i];
        if (h->p.pid == 0 || h->units == 0 || pp__sobj_proc_alive(&h->p))
            continue;
        value = ss->value + h->units;
        if (ss->bounded && value > ss->initial)
            value = ss->initial; /* others released its units for it */
        pp__sobj_tx_begin(&tx, ss);
        pp__sobj_tx_set(&tx, &ss->value, value);
        pp__sobj_tx_set(&tx, &h->units, 0);
        pp__sobj_tx_set(&tx, &h->p.stamp, 0);
        pp__sobj_tx_set(&tx, &h->p.pid, 0);
        pp__sobj_tx_set(&tx, &ss->notice, 1);
        pp__sobj_tx_commit(&tx);
    }
}

/* The caller's slot, or a free one (pid 0, or no units held) if it has
 * none, or NULL. */
static sem_holder *find_slot(sem_state *ss, const pp__sobj_proc *me, uint64_t *index)
{
    sem_holder *free_slot = NULL;
    uint64_t i, n = ss->slots < PP__SOBJ_PROCS ? ss->slots : PP__SOBJ_PROCS;

    for (i = 0; i < n; i++) {
        sem_holder *h = &ss->holders[i];
        if (pp__sobj_proc_is(&h->p, me)) {
            *index = i;
            return h;
        }
        /* free: never used, or its process holds nothing now (a slot
         * stays with its process between holds: no table update per
         * acquire) */
        if ((h->p.pid == 0 || h->units == 0) && free_slot == NULL) {
            free_slot = h;
            *index = i;
        }
    }
    if (free_slot == NULL && n < PP__SOBJ_PROCS) {
        free_slot = &ss->holders[n];
        *index = n;
    }
    return free_slot;
}

/* Take a unit (state mutex held, value > 0). */
static pp_status take(sem_state *ss)
{
    pp__sobj_proc me;
    pp__sobj_tx tx;
    sem_holder *h;
    uint64_t i = 0;
    pp_status st = PP_OK;

    pp__sobj_self(&me);
    h = find_slot(ss, &me, &i);
    if (h == NULL) { /* full: of live holders, or are some gone? */
        reap(ss);
        h = find_slot(ss, &me, &i);
    }
    if (h == NULL)
        return PP_ETOOBIG;
    pp__sobj_tx_begin(&tx, ss);
    pp__sobj_tx_set(&tx, &ss->value, ss->value - 1);
    if (pp__sobj_proc_is(&h->p, &me)) {
        pp__sobj_tx_set(&tx, &h->units, h->units + 1);
    } else {
        pp__sobj_tx_set(&tx, &h->units, 1);
        pp__sobj_tx_set(&tx, &h->p.pid, me.pid);
        pp__sobj_tx_set(&tx, &h->p.stamp, me.stamp);
    }
    if (i >= ss->slots)
        pp__sobj_tx_set(&tx, &ss->slots, i + 1);
    if (ss->notice) {
        pp__sobj_tx_set(&tx, &ss->notice, 0);
        st = PP_EOWNERDEAD;
    }
    pp__sobj_tx_commit(&tx);
    return st;
}

static pp_status acquire(pp_sem *s, int64_t timeout_ms, pp_status busy)
{
    int64_t deadline = pp__sobj_deadline(timeout_ms), last_reap = 0;
    pp__plat_sobj *ps = pp__sobj_plat(&s->o);
    sem_state *ss = state_of(s);
    uint32_t seen;
    pp_status st;

    for (;;) {
        seen = pp__plat_sobj_seq(ps);
        st = pp__sobj_enter(&s->o, deadline, NULL);
        if (st != PP_OK)
            return st == PP_ETIMEDOUT ? busy : st;
        if (ss->value == 0 && pp__plat_now_ms() - last_reap >= PP__SOBJ_SLICE_MS) {
            reap(ss);
            last_reap = pp__plat_now_ms();
        }
        if (ss->value > 0) {
            st = take(ss);
            pp__sobj_leave(&s->o);
            return st;
        }
        pp__sobj_leave(&s->o);
        if (pp__sobj_left(deadline) == 0)
            return busy;
        pp__sobj_nap(&s->o, seen, deadline);
    }
}

pp_status pp_sem_acquire(pp_sem *s, int64_t timeout_ms)
{
    if (s == NULL || timeout_ms < PP_INFINITE)
        return PP_EINVAL;
    return acquire(s, timeout_ms, PP_ETIMEDOUT);
}

pp_status pp_sem_try_acquire(pp_sem *s)
{
    if (s == NULL)
        return PP_EINVAL;
    return acquire(s, 0, PP_EBUSY);
}

pp_status pp_sem_release(pp_sem *s)
{
    sem_state *ss;
    pp__sobj_proc me;
    pp__sobj_tx tx;
    sem_holder *h;
    uint64_t i = 0;
    pp_status st;

    if (s == NULL)
        return PP_EINVAL;
    ss = state_of(s);
    pp__sobj_self(&me);
    st = pp__sobj_enter(&s->o, PP_INFINITE, NULL);
    if (st != PP_OK)
        return st;
    if ((ss->bounded && ss->value >= ss->initial) || ss->value >= (uint64_t)PP_SEM_MAX) {
        pp__sobj_leave(&s->o);
        return PP_ESTATE;
    }
    h = find_slot(ss, &me, &i);
    pp__sobj_tx_begin(&tx, ss);
    pp__sobj_tx_set(&tx, &ss->value, ss->value + 1);
    if (h != NULL && pp__sobj_proc_is(&h->p, &me) && h->units > 0)
        pp__sobj_tx_set(&tx, &h->units, h->units - 1);
    pp__sobj_tx_commit(&tx);
    pp__sobj_leave(&s->o);
    pp__plat_sobj_wake(pp__sobj_plat(&s->o));
    return PP_OK;
}

pp_status pp_sem_value(pp_sem *s, int64_t *value)
{
    pp_status st;

    if (s == NULL || value == NULL)
        return PP_EINVAL;
    st = pp__sobj_enter(&s->o, PP_INFINITE, NULL);
    if (st != PP_OK)
        return st;
    *value = (int64_t)state_of(s)->value;
    pp__sobj_leave(&s->o);
    return PP_OK;
}

const char *pp_sem_name(const pp_sem *s)
{
    return s ? pp__sobj_name(&s->o) : NULL;
}

void pp_sem_destroy(pp_sem *s)
{
    pp__sobj_destroy(s ? &s->o : NULL);
}
