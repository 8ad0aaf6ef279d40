/*
 * sem_count.c — semaphores created with PP_SEM_UNOWNED (sync.h): the
 * count word of sem_internal.h alone, Python's counting semantics. An
 * acquire consumes a unit and a release adds one, each with one CAS on
 * the count; nothing records who took what, so nothing is given back
 * when a process dies and nobody is told (no PP_EOWNERDEAD), no holder
 * table bounds the number of processes (no PP_ETOOBIG), and no state
 * mutex is ever taken (the count is never frozen: no repair).
 *
 * Wakes as in sem.c: a waiter marks the count (C_WAITER, while the value
 * is 0, the wake word read before) and naps; the release that makes the
 * value 1 sees the mark, clears it and wakes. A waiter that dies leaves
 * a mark: one useless wake later.
 */
#include "sync/sem_internal.h"

/* One unit if there is one: 1, else 0. */
static int take(sem_state *ss)
{
    uint64_t c = ld(&ss->count);

    while ((c >> C_SHIFT) > 0) {
        if (cas(&ss->count, c, c - C_ONE))
            return 1;
        c = ld(&ss->count);
    }
    return 0;
}

/* Mark the count "a waiter may nap" while it is 0: 1 if it is (marked),
 * 0 if a unit is there now. */
static int mark_waiter(sem_state *ss)
{
    uint64_t c = ld(&ss->count);

    while ((c & C_WAITER) == 0 && (c >> C_SHIFT) == 0) {
        if (cas(&ss->count, c, c | C_WAITER))
            return 1;
        c = ld(&ss->count);
    }
    return (c >> C_SHIFT) == 0;
}

pp_status pp__sem_count_acquire(pp_sem *s, int64_t timeout_ms, pp_status busy)
{
    pp__sobj *o = (pp__sobj *)s;
    sem_state *ss = o->state;
    int64_t deadline;
    uint32_t seen;

    if (take(ss))
        return PP_OK;
    if (timeout_ms == 0)
        return busy;
    deadline = pp__sobj_deadline(timeout_ms);
    for (;;) {
        seen = pp__plat_sobj_seq(o->plat);
        if (take(ss))
            return PP_OK;
        if (pp__sobj_left(deadline) == 0)
            return busy;
        if (mark_waiter(ss))
            pp__sobj_nap(o, seen, deadline);
    }
}

pp_status pp__sem_count_release(pp_sem *s)
{
    pp__sobj *o = (pp__sobj *)s;
    sem_state *ss = o->state;
    uint64_t c = ld(&ss->count), v;

    for (;;) {
        v = c >> C_SHIFT;
        if ((ss->bounded && v >= ss->initial) || v >= (uint64_t)PP_SEM_MAX)
            return PP_ESTATE;
        if (cas(&ss->count, c, (c + C_ONE) & ~C_WAITER))
            break;
        c = ld(&ss->count);
    }
    if ((c & C_WAITER) != 0)
        pp__plat_sobj_wake(o->plat);
    return PP_OK;
}
