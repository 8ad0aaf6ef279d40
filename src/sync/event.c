/*
 * event.c — local named events (sync.h) on a sync segment (sobj.h).
 *
 * State: the flag and the number of sets that turned it on. A waiter
 * returns once the flag is on or that number moved since it started
 * waiting (Python: a set during the wait counts even if a clear follows
 * at once). Nobody owns an event: a death leaves nothing to give back,
 * and a set is one committed update (redo record) or none.
 */
#include "procpool/sync.h"
#include "core/core.h"
#include "sync/sobj.h"

struct pp_event {
    pp__sobj o;
};

typedef struct event_state {
    pp__sobj_redo redo; /* first: see sobj.h */
    uint64_t flag;
    uint64_t sets;
} event_state;

size_t pp__event_state_size(void)
{
    return sizeof(event_state);
}

static event_state *state_of(pp_event *e)
{
    return pp__sobj_state(&e->o);
}

pp_status pp_event_create(const char *name, pp_event **out)
{
    pp__sobj *o = NULL;
    pp_status st;

    if (out == NULL)
        return PP_EINVAL;
    st = pp__sobj_create(PP__SOBJ_EVENT, name, sizeof(event_state), NULL, &o);
    *out = (pp_event *)o;
    return st;
}

pp_status pp_event_open(const char *name, pp_event **out)
{
    pp__sobj *o = NULL;
    pp_status st;

    if (out == NULL)
        return PP_EINVAL;
    st = pp__sobj_open(PP__SOBJ_EVENT, name, &o);
    *out = (pp_event *)o;
    return st;
}

pp_status pp_event_set(pp_event *e)
{
    event_state *es;
    pp__sobj_tx tx;
    pp_status st;

    if (e == NULL)
        return PP_EINVAL;
    es = state_of(e);
    st = pp__sobj_enter(&e->o, PP_INFINITE, NULL);
    if (st != PP_OK)
        return st;
    if (!es->flag) {
        pp__sobj_tx_begin(&tx, es);
        pp__sobj_tx_set(&tx, &es->sets, es->sets + 1);
        pp__sobj_tx_set(&tx, &es->flag, 1);
        pp__sobj_tx_commit(&tx);
    }
    pp__sobj_leave(&e->o);
    pp__plat_sobj_wake(pp__sobj_plat(&e->o));
    return PP_OK;
}

pp_status pp_event_clear(pp_event *e)
{
    pp__sobj_tx tx;
    pp_status st;

    if (e == NULL)
        return PP_EINVAL;
    st = pp__sobj_enter(&e->o, PP_INFINITE, NULL);
    if (st != PP_OK)
        return st;
    pp__sobj_tx_begin(&tx, state_of(e));
    pp__sobj_tx_set(&tx, &state_of(e)->flag, 0);
    pp__sobj_tx_commit(&tx);
    pp__sobj_leave(&e->o);
    return PP_OK;
}

pp_status pp_event_is_set(pp_event *e, int *set)
{
    pp_status st;

    if (e == NULL || set == NULL)
        return PP_EINVAL;
    st = pp__sobj_enter(&e->o, PP_INFINITE, NULL);
    if (st != PP_OK)
        return st;
    *set = state_of(e)->flag != 0;
    pp__sobj_leave(&e->o);
    return PP_OK;
}

pp_status pp_event_wait(pp_event *e, int64_t timeout_ms)
{
    int64_t deadline;
    event_state *es;
    uint64_t sets0 = 0;
    uint32_t seen;
    int first = 1, done;
    pp_status st;

    if (e == NULL || timeout_ms < PP_INFINITE)
        return PP_EINVAL;
    deadline = pp__sobj_deadline(timeout_ms);
    es = state_of(e);
    for (;;) {
        seen = pp__plat_sobj_seq(pp__sobj_plat(&e->o));
        /* bounded by the deadline too: a holder of the state mutex that
         * is stopped (not dead) must not make a timed wait hang */
        st = pp__sobj_enter(&e->o, deadline, NULL);
        if (st != PP_OK)
            return st;
        if (first)
            sets0 = es->sets;
        first = 0;
        done = es->flag != 0 || es->sets != sets0;
        pp__sobj_leave(&e->o);
        if (done)
            return PP_OK;
        if (pp__sobj_left(deadline) == 0)
            return PP_ETIMEDOUT;
        pp__sobj_nap(&e->o, seen, deadline);
    }
}

const char *pp_event_name(const pp_event *e)
{
    return e ? pp__sobj_name(&e->o) : NULL;
}

void pp_event_destroy(pp_event *e)
{
    pp__sobj_destroy(e ? &e->o : NULL);
}
