/*
 * cond.c — local named condition variables (sync.h) on a sync segment
 * (sobj.h), bound to a local pp_lock (Python's Condition(lock)).
 *
 * The bound lock is part of the condition: its name and identity are in
 * the state, so every process that opens the condition (or receives it
 * in task arguments) gets the same lock, through the per-process handle
 * of pp__lock_resolve().
 *
 * State: the next ticket and one slot per waiter (pid, stamp, ticket,
 * notified). A waiter takes a slot before it releases the lock, so a
 * notify after that release is never missed. notify(n) marks the n
 * oldest live waiters that are not marked yet; a waiter found dead is
 * forgotten, and if it had been marked, its notify passes on to the
 * oldest unmarked live waiter (at least once a slice, waiters look for
 * dead ones). Threads of one process wait in slots of their own.
 */
#include <stdlib.h>
#include <string.h>

#include "procpool/sync.h"
#include "core/core.h"
#include "sync/sobj.h"
#include "sync/sync.h"

struct pp_cond {
    pp__sobj o;
};

typedef struct cond_slot {
    pp__sobj_proc p; /* pid 0: a free slot */
    uint64_t ticket;
    uint64_t notified;
} cond_slot;

typedef struct cond_state {
    pp__sobj_redo redo; /* first: see sobj.h */
    uint64_t lock_id;
    uint64_t lock_name[(PP__NAME_BUF + 7) / 8]; /* NUL-terminated */
    uint64_t next_ticket;
    uint64_t slots;
    cond_slot slot[PP__SOBJ_PROCS];
} cond_state;

size_t pp__cond_state_size(void)
{
    return sizeof(cond_state);
}

static cond_state *state_of(pp_cond *c)
{
    return pp__sobj_state(&c->o);
}

static uint64_t nslots(const cond_state *cs)
{
    return cs->slots < PP__SOBJ_PROCS ? cs->slots : PP__SOBJ_PROCS;
}

pp_status pp_cond_create(const char *name, pp_lock *lock, pp_cond **out)
{
    cond_state *init;
    pp__sobj *o = NULL;
    const char *lname;
    pp_status st;

    if (out == NULL)
        return PP_EINVAL;
    *out = NULL;
    lname = lock != NULL ? pp_lock_name(lock) : NULL;
    if (lname == NULL || pp__lock_id(lock) == 0)
        return PP_EINVAL; /* not a local lock (manager.h: pp_mcond) */
    init = calloc(1, sizeof *init);
    if (init == NULL)
        return PP_ENOMEM;
    init->lock_id = pp__lock_id(lock);
    memcpy(init->lock_name, lname, strlen(lname) + 1); /* <= PP_NAME_MAX */
    init->next_ticket = 1;
    st = pp__sobj_create(PP__SOBJ_COND, name, sizeof *init, init, &o);
    free(init);
    *out = (pp_cond *)o;
    return st;
}

pp_status pp_cond_open(const char *name, pp_cond **out)
{
    pp__sobj *o = NULL;
    pp_status st;

    if (out == NULL)
        return PP_EINVAL;
    st = pp__sobj_open(PP__SOBJ_COND, name, &o);
    *out = (pp_cond *)o;
    return st;
}

pp_status pp_cond_lock(pp_cond *c, pp_lock **lock)
{
    char name[PP__NAME_BUF];
    cond_state *cs;

    if (c == NULL || lock == NULL)
        return PP_EINVAL;
    *lock = NULL;
    cs = state_of(c);
    memcpy(name, cs->lock_name, PP__NAME_BUF); /* written once, at create */
    name[PP_NAME_MAX] = '\0';
    if (pp__name_check(name) != PP_OK)
        return PP_EINVAL;
    return pp__lock_resolve(name, cs->lock_id, lock);
}

/* Does the calling thread hold lock? PP_OK if so, else PP_EPERM. Asked
 * without taking the lock: a probe by trylock and release used up the
 * PP_EOWNERDEAD of a holder that had died, and the next real acquirer was
 * never told. */
static pp_status check_held(pp_lock *lock)
{
    return pp__lock_held(lock) ? PP_OK : PP_EPERM;
}

static void slot_free(cond_slot *s)
{
    /* plain stores under the state mutex, pid last (see barrier.c) */
    s->notified = 0;
    s->ticket = 0;
    s->p.stamp = 0;
    s->p.pid = 0;
}

/* The oldest live waiter not marked yet, or NULL (state mutex held). A
 * dead one met on the way is forgotten. */
static cond_slot *oldest_unmarked(cond_state *cs)
{
    for (;;) {
        cond_slot *best = NULL;
        uint64_t i, n = nslots(cs);

        for (i = 0; i < n; i++) {
            cond_slot *s = &cs->slot[i];
            if (s->p.pid != 0 && !s->notified && (best == NULL || s->ticket < best->ticket))
                best = s;
        }
        if (best == NULL || pp__sobj_proc_alive(&best->p))
            return best;
        slot_free(best);
    }
}

/* Mark up to n waiters (state mutex held); returns how many. */
static uint64_t mark(cond_state *cs, uint64_t n)
{
    uint64_t done = 0;
    cond_slot *s;

    while (done < n && (s = oldest_unmarked(cs)) != NULL) {
        s->notified = 1;
        done++;
    }
    return done;
}

/* Forget dead waiters; the marks of dead marked ones pass on (state
 * mutex held). */
static void reap(cond_state *cs, const cond_slot *mine)
{
    uint64_t i, n = nslots(cs), passed = 0;

    for (i = 0; i < n; i++) {
        cond_slot *s = &cs->slot[i];
        if (s == mine || s->p.pid == 0 || pp__sobj_proc_alive(&s->p))
            continue;
        if (s->notified)
            passed++;
        slot_free(s);
    }
    if (passed > 0)
        mark(cs, passed);
}

/* Take a slot with a fresh ticket (state mutex held). */
static cond_slot *enlist(cond_state *cs)
{
    pp__sobj_proc me;
    pp__sobj_tx tx;
    uint64_t i, n = nslots(cs);

    for (i = 0; i < n && cs->slot[i].p.pid != 0; i++)
        ;
    if (i == PP__SOBJ_PROCS)
        return NULL;
    pp__sobj_self(&me);
    pp__sobj_tx_begin(&tx, cs);
    pp__sobj_tx_set(&tx, &cs->slot[i].ticket, cs->next_ticket);
    pp__sobj_tx_set(&tx, &cs->slot[i].notified, 0);
    pp__sobj_tx_set(&tx, &cs->slot[i].p.stamp, me.stamp);
    pp__sobj_tx_set(&tx, &cs->slot[i].p.pid, me.pid);
    pp__sobj_tx_set(&tx, &cs->next_ticket, cs->next_ticket + 1);
    if (i >= cs->slots)
        pp__sobj_tx_set(&tx, &cs->slots, i + 1);
    pp__sobj_tx_commit(&tx);
    return &cs->slot[i];
}

/* Wait for the mark of slot s (lock released): PP_OK or PP_ETIMEDOUT. */
static pp_status await_mark(pp_cond *c, cond_slot *s, int64_t deadline)
{
    cond_state *cs = state_of(c);
    int64_t last_reap = pp__plat_now_ms();
    uint32_t seen;
    pp_status st;

    for (;;) {
        seen = pp__plat_sobj_seq(pp__sobj_plat(&c->o));
        (void)pp__sobj_enter(&c->o, PP_INFINITE, NULL);
        if (pp__plat_now_ms() - last_reap >= PP__SOBJ_SLICE_MS) {
            reap(cs, s);
            last_reap = pp__plat_now_ms();
        }
        st = s->notified ? PP_OK : pp__sobj_left(deadline) == 0 ? PP_ETIMEDOUT : PP_ENOTREADY;
        if (st != PP_ENOTREADY) {
            slot_free(s);
            pp__sobj_leave(&c->o);
            return st;
        }
        pp__sobj_leave(&c->o);
        pp__sobj_nap(&c->o, seen, deadline);
    }
}

pp_status pp_cond_wait(pp_cond *c, int64_t timeout_ms)
{
    pp_lock *lock = NULL;
    cond_slot *s;
    int64_t deadline;
    pp_status st, lst;

    if (c == NULL || timeout_ms < PP_INFINITE)
        return PP_EINVAL;
    deadline = pp__sobj_deadline(timeout_ms);
    st = pp_cond_lock(c, &lock);
    if (st != PP_OK)
        return st;
    if (check_held(lock) != PP_OK)
        return PP_EPERM;
    st = pp__sobj_enter(&c->o, PP_INFINITE, NULL);
    if (st != PP_OK)
        return st;
    s = enlist(state_of(c));
    if (s == NULL) { /* full: of live waiters, or are some gone? */
        reap(state_of(c), NULL);
        s = enlist(state_of(c));
    }
    pp__sobj_leave(&c->o);
    if (s == NULL)
        return PP_ETOOBIG;
    lst = pp_lock_release(lock);
    if (lst != PP_OK) { /* cannot happen: held above */
        (void)pp__sobj_enter(&c->o, PP_INFINITE, NULL);
        slot_free(s);
        pp__sobj_leave(&c->o);
        return lst;
    }
    st = await_mark(c, s, deadline);
    /* Python: the lock is held again whatever happened, without a bound
     * (a holder that dies frees it: PP_EOWNERDEAD) */
    lst = pp_lock_acquire(lock, PP_INFINITE);
    if (lst == PP_EOWNERDEAD)
        return PP_EOWNERDEAD;
    return lst != PP_OK ? lst : st;
}

static pp_status notify(pp_cond *c, uint64_t n)
{
    pp_lock *lock = NULL;
    pp_status st;

    st = pp_cond_lock(c, &lock);
    if (st != PP_OK)
        return st;
    if (check_held(lock) != PP_OK)
        return PP_EPERM;
    st = pp__sobj_enter(&c->o, PP_INFINITE, NULL);
    if (st != PP_OK)
        return st;
    n = mark(state_of(c), n);
    pp__sobj_leave(&c->o);
    if (n > 0)
        pp__plat_sobj_wake(pp__sobj_plat(&c->o));
    return PP_OK;
}

pp_status pp_cond_notify(pp_cond *c, int64_t n)
{
    if (c == NULL || n < 1)
        return PP_EINVAL;
    return notify(c, (uint64_t)n);
}

pp_status pp_cond_notify_all(pp_cond *c)
{
    if (c == NULL)
        return PP_EINVAL;
    return notify(c, UINT64_MAX);
}

const char *pp_cond_name(const pp_cond *c)
{
    return c ? pp__sobj_name(&c->o) : NULL;
}

void pp_cond_destroy(pp_cond *c)
{
    pp__sobj_destroy(c ? &c->o : NULL);
}
