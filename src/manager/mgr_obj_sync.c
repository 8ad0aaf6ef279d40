/*
 * mgr_obj_sync.c — the hosted semaphore, bounded semaphore, event and
 * barrier of the manager server (mgr_obj.h says the ops).
 *
 * A semaphore counts the units each connection took and has not given
 * back; a connection that ends returns them, and the next acquirer is
 * told PP_EOWNERDEAD. A barrier waiter is registered (a ticket) for its
 * whole wait, across slices; a waiter whose connection ends breaks the
 * barrier, so the others are told PP_EBROKEN instead of waiting forever.
 */
#include <stdlib.h>

#include "procpool/manager_objects.h"
#include "platform.h"
#include "manager/mgr_obj.h"

/* ---------------------------------------------------------- semaphore */

typedef struct sem_holder {
    pp__mgr_conn *conn;
    int64_t units;
    struct sem_holder *next;
} sem_holder;

typedef struct sem_state {
    int64_t value, initial;
    int owner_died;
    sem_holder *holders;
} sem_state;

static pp_status sem_create(pp__mobj *o, pp__mctx *cx)
{
    sem_state *s;

    if (cx->rq->a < 0 || cx->rq->a > PP_MANAGER_SEM_MAX)
        return PP_EINVAL;
    s = calloc(1, sizeof *s);
    if (s == NULL)
        return PP_ENOMEM;
    s->value = s->initial = cx->rq->a;
    o->state = s;
    return PP_OK;
}

static sem_holder **holder_of(sem_state *s, const pp__mgr_conn *c)
{
    sem_holder **pp;

    for (pp = &s->holders; *pp != NULL; pp = &(*pp)->next) {
        if ((*pp)->conn == c)
            return pp;
    }
    return pp; /* the end: *pp is NULL */
}

static pp_status sem_acquire(pp__mobj *o, pp__mctx *cx)
{
    int64_t deadline = pp__mgr_srv_deadline(cx->rq);
    uint64_t id = o->id;
    sem_state *s = o->state;
    sem_holder **h;
    pp_status st;

    while (s->value == 0) {
        if (pp__plat_now_ms() >= deadline)
            return PP_ETIMEDOUT;
        pp__mgr_srv_wait(deadline);
        o = pp__mgr_srv_find(id);
        if (o == NULL)
            return PP_ENOENT;
        s = o->state;
    }
    h = holder_of(s, cx->conn);
    if (*h == NULL) {
        *h = calloc(1, sizeof **h);
        if (*h == NULL)
            return PP_ENOMEM;
        (*h)->conn = cx->conn;
    }
    (*h)->units++;
    s->value--;
    st = s->owner_died ? PP_EOWNERDEAD : PP_OK;
    s->owner_died = 0;
    return st;
}

static pp_status sem_release(pp__mobj *o, pp__mctx *cx)
{
    sem_state *s = o->state;
    sem_holder **h;

    if ((o->kind == PP__MK_BSEM && s->value >= s->initial) || s->value >= PP_MANAGER_SEM_MAX)
        return PP_ESTATE;
    s->value++;
    h = holder_of(s, cx->conn);
    if (*h != NULL && --(*h)->units == 0) {
        sem_holder *gone = *h;
        *h = gone->next;
        free(gone);
    }
    pp__mgr_srv_wake();
    return PP_OK;
}

static pp_status sem_op(pp__mobj *o, pp__mctx *cx)
{
    switch (cx->rq->op) {
    case PP__MOP_ACQUIRE:
        return sem_acquire(o, cx);
    case PP__MOP_RELEASE:
        return sem_release(o, cx);
    case PP__MOP_GET:
        cx->value = (uint64_t)((sem_state *)o->state)->value;
        return PP_OK;
    default:
        return PP_EINVAL;
    }
}

static void sem_conn_end(pp__mobj *o, pp__mgr_conn *c)
{
    sem_state *s = o->state;
    sem_holder **h = holder_of(s, c), *gone = *h;

    if (gone == NULL)
        return;
    *h = gone->next;
    s->value += gone->units;
    if (o->kind == PP__MK_BSEM && s->value > s->initial)
        s->value = s->initial; /* others released its units already */
    if (s->value > PP_MANAGER_SEM_MAX)
        s->value = PP_MANAGER_SEM_MAX;
    s->owner_died = 1;
    free(gone);
}

static void sem_destroy(pp__mobj *o)
{
    sem_state *s = o->state;

    while (s->holders != NULL) {
        sem_holder *h = s->holders;
        s->holders = h->next;
        free(h);
    }
    free(s);
}

const pp__mkind_ops pp__mk_sem = {sem_create, sem_op, NULL, sem_conn_end, sem_destroy};
const pp__mkind_ops pp__mk_bsem = {sem_create, sem_op, NULL, sem_conn_end, sem_destroy};

/* -------------------------------------------------------------- event */

typedef struct event_state {
    int flag;
    uint64_t sets; /* how many times it was set: a wait's ticket is sets + 1 */
} event_state;

static pp_status event_create(pp__mobj *o, pp__mctx *cx)
{
    (void)cx;
    o->state = calloc(1, sizeof(event_state));
    return o->state != NULL ? PP_OK : PP_ENOMEM;
}

/* Done when set now, or set since the wait began (the ticket remembers
 * the count of sets then), so a set and a clear between two slices still
 * end the wait. */
static pp_status event_wait(pp__mobj *o, pp__mctx *cx)
{
    int64_t deadline = pp__mgr_srv_deadline(cx->rq);
    uint64_t id = o->id;
    event_state *e = o->state;
    uint64_t seen = cx->rq->ticket != 0 ? cx->rq->ticket - 1 : e->sets;

    for (;;) {
        if (e->flag || e->sets != seen)
            return PP_OK;
        if (cx->rq->flags & PP__MGR_FLAG_GIVE_UP)
            return PP_ETIMEDOUT;
        if (pp__plat_now_ms() >= deadline) {
            cx->value = seen + 1;
            return PP_ENOTREADY;
        }
        pp__mgr_srv_wait(deadline);
        o = pp__mgr_srv_find(id);
        if (o == NULL || o->kind != PP__MK_EVENT)
            return PP_ENOENT;
        e = o->state;
    }
}

static pp_status event_op(pp__mobj *o, pp__mctx *cx)
{
    event_state *e = o->state;

    switch (cx->rq->op) {
    case PP__MOP_SET:
        if (!e->flag) {
            e->flag = 1;
            e->sets++;
            pp__mgr_srv_wake();
        }
        return PP_OK;
    case PP__MOP_CLEAR:
        e->flag = 0;
        return PP_OK;
    case PP__MOP_GET:
        cx->value = (uint64_t)e->flag;
        return PP_OK;
    case PP__MOP_WAIT:
        return event_wait(o, cx);
    default:
        return PP_EINVAL;
    }
}

static void no_conn_end(pp__mobj *o, pp__mgr_conn *c)
{
    (void)o;
    (void)c;
}

static void state_free(pp__mobj *o)
{
    free(o->state);
}

const pp__mkind_ops pp__mk_event = {event_create, event_op, NULL, no_conn_end, state_free};

/* ------------------------------------------------------------ barrier */

enum { B_WAITING, B_PASSED, B_BROKEN };

typedef struct bwaiter {
    uint64_t ticket;
    pp__mgr_conn *conn;
    int64_t index;
    int state;
    struct bwaiter *next;
} bwaiter;

typedef struct barrier_state {
    int64_t parties, count; /* count: waiting now */
    int broken;
    bwaiter *waiters; /* waiting, or passed/broken and not told yet */
} barrier_state;

static pp_status barrier_create(pp__mobj *o, pp__mctx *cx)
{
    barrier_state *b;

    if (cx->rq->a < 1 || cx->rq->a > PP_MANAGER_BARRIER_MAX)
        return PP_EINVAL;
    b = calloc(1, sizeof *b);
    if (b == NULL)
        return PP_ENOMEM;
    b->parties = cx->rq->a;
    o->state = b;
    return PP_OK;
}

/* Every waiting waiter gets state; nobody waits any more. */
static void end_waits(barrier_state *b, int state)
{
    bwaiter *w;

    for (w = b->waiters; w != NULL; w = w->next) {
        if (w->state == B_WAITING)
            w->state = state;
    }
    b->count = 0;
    pp__mgr_srv_wake();
}

static void barrier_break(barrier_state *b)
{
    b->broken = 1;
    end_waits(b, B_BROKEN);
}

static bwaiter *bfind(barrier_state *b, uint64_t ticket, const pp__mgr_conn *c)
{
    bwaiter *w;

    for (w = b->waiters; w != NULL; w = w->next) {
        if ((ticket == 0 || w->ticket == ticket) && w->conn == c &&
            (ticket != 0 || w->state == B_WAITING))
            return w;
    }
    return NULL;
}

static void bremove(barrier_state *b, bwaiter *w)
{
    bwaiter **pp;

    for (pp = &b->waiters; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == w) {
            *pp = w->next;
            free(w);
            return;
        }
    }
}

/* The first request of a wait: arrive (and trip the barrier if last). */
static pp_status barrier_arrive(barrier_state *b, pp__mctx *cx, uint64_t *ticket)
{
    bwaiter *w;

    if (b->broken)
        return PP_EBROKEN;
    if (bfind(b, 0, cx->conn) != NULL)
        return PP_EBUSY;
    w = calloc(1, sizeof *w);
    if (w == NULL)
        return PP_ENOMEM;
    w->ticket = pp__mgr_srv_ticket();
    w->conn = cx->conn;
    w->index = b->count++;
    w->state = B_WAITING;
    w->next = b->waiters;
    b->waiters = w;
    *ticket = w->ticket;
    if (b->count == b->parties)
        end_waits(b, B_PASSED);
    return PP_OK;
}

static pp_status barrier_wait(pp__mobj *o, pp__mctx *cx)
{
    int64_t deadline = pp__mgr_srv_deadline(cx->rq);
    uint64_t id = o->id, ticket = cx->rq->ticket;
    pp_status st;

    if (ticket == 0) {
        st = barrier_arrive(o->state, cx, &ticket);
        if (st != PP_OK)
            return st;
    }
    for (;;) {
        barrier_state *b = o->state;
        bwaiter *w = bfind(b, ticket, cx->conn);

        if (w == NULL)
            return PP_ENOENT;
        if (w->state != B_WAITING) {
            st = w->state == B_PASSED ? PP_OK : PP_EBROKEN;
            cx->value = (uint64_t)w->index;
            bremove(b, w);
            return st;
        }
        if (cx->rq->flags & PP__MGR_FLAG_GIVE_UP) {
            bremove(b, w);
            barrier_break(b);
            return PP_ETIMEDOUT;
        }
        if (pp__plat_now_ms() >= deadline) {
            cx->value = ticket;
            return PP_ENOTREADY;
        }
        pp__mgr_srv_wait(deadline);
        o = pp__mgr_srv_find(id);
        if (o == NULL || o->kind != PP__MK_BARRIER)
            return PP_ENOENT;
    }
}

static pp_status barrier_op(pp__mobj *o, pp__mctx *cx)
{
    barrier_state *b = o->state;

    switch (cx->rq->op) {
    case PP__MOP_WAIT:
        return barrier_wait(o, cx);
    case PP__MOP_ABORT:
        barrier_break(b);
        return PP_OK;
    case PP__MOP_RESET:
        end_waits(b, B_BROKEN);
        b->broken = 0;
        return PP_OK;
    case PP__MOP_GET:
        cx->value = (uint64_t)b->count | ((uint64_t)(b->broken != 0) << 32);
        return PP_OK;
    default:
        return PP_EINVAL;
    }
}

/* A waiter's connection ended: the barrier breaks (the others would wait
 * for it forever); its records go. */
static void barrier_conn_end(pp__mobj *o, pp__mgr_conn *c)
{
    barrier_state *b = o->state;
    bwaiter **pp = &b->waiters;
    int waited = 0;

    while (*pp != NULL) {
        bwaiter *w = *pp;
        if (w->conn == c) {
            waited |= w->state == B_WAITING;
            *pp = w->next;
            free(w);
        } else {
            pp = &w->next;
        }
    }
    if (waited)
        barrier_break(b);
}

static void barrier_destroy(pp__mobj *o)
{
    barrier_state *b = o->state;

    while (b->waiters != NULL) {
        bwaiter *w = b->waiters;
        b->waiters = w->next;
        free(w);
    }
    free(b);
}

const pp__mkind_ops pp__mk_barrier = {barrier_create, barrier_op, NULL, barrier_conn_end,
                                      barrier_destroy};
