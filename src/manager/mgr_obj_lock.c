/*
 * mgr_obj_lock.c — the hosted lock kinds of the manager server: the lock,
 * the recursive lock (a hold count per holder connection) and the
 * condition bound to one of them (mgr_obj.h says the ops).
 *
 * A lock that is held has a FIFO of waiters; a release hands the lock to
 * the first waiter directly (its fencing token and status included) and
 * wakes that waiter's connection only: no thundering herd, no waiter
 * overtaken. A waiter whose time is up leaves the queue; a destroyed lock
 * wakes all of its waiters with PP_ENOENT. A condition's waiter taking
 * its lock back is not in that queue (its wait spans requests): it takes
 * the lock when it is free and nobody queues.
 *
 * A condition waiter is registered from the moment it releases the lock
 * until it holds it again, across as many requests (slices) as its wait
 * takes: a notify between two slices marks the registered waiter, so it
 * is never lost. A waiter whose connection ends is dropped (conn_end), and
 * a notify it took with it passes to the next waiter: a dead waiter never
 * wedges notify. That includes a waiter handed the notify and the lock in
 * the reply that ends its wait, until its client confirms it read that
 * reply (CONFIRM_NR, mgr_proto.h): killed before, it never saw the
 * wake-up nor ran under the lock, so its end passes the notify on and
 * frees the lock as if it had never been taken (no PP_EOWNERDEAD for it).
 */
#include <stdlib.h>

#include "platform.h"
#include "manager/mgr_obj.h"

/* ----------------------------------------------------------- the locks */

/* A connection waiting in acquire (on its stack): handed the lock (st,
 * fence) or told the lock is gone (PP_ENOENT) when done. */
typedef struct lwaiter {
    pp__mgr_conn *conn;
    int done;
    pp_status st;
    uint64_t fence;
    struct lwaiter *next;
} lwaiter;

typedef struct lock_state {
    pp__mgr_conn *holder; /* NULL: free (and then nobody queues) */
    int64_t count;        /* holds of the holder (RLOCK; 1 for LOCK) */
    int owner_died;       /* released by a connection's end: tell the next one */
    /* The holder took the lock back at the end of a condition wait and has
     * not confirmed it read that reply; died_before: what that take said
     * (the previous holder had died), to tell the next one again. */
    int unconfirmed, died_before;
    uint64_t fence;       /* last fencing token handed out */
    lwaiter *head, *tail; /* acquirers, first come first served */
} lock_state;

static pp_status lock_create(pp__mobj *o, pp__mctx *cx)
{
    (void)cx;
    o->state = calloc(1, sizeof(lock_state));
    return o->state != NULL ? PP_OK : PP_ENOMEM;
}

int pp__mlock_held_by(const pp__mobj *o, const pp__mgr_conn *c)
{
    return ((const lock_state *)o->state)->holder == c;
}

/* c becomes the holder with count holds: its status. */
static pp_status grant(lock_state *l, pp__mgr_conn *c, int64_t count)
{
    pp_status st = l->owner_died ? PP_EOWNERDEAD : PP_OK;

    l->holder = c;
    l->count = count;
    l->owner_died = 0;
    l->unconfirmed = 0;
    l->fence++;
    return st;
}

pp_status pp__mlock_take(pp__mobj *o, pp__mgr_conn *c, int64_t count)
{
    lock_state *l = o->state;

    if (l->holder != NULL)
        return PP_EBUSY;
    return grant(l, c, count);
}

/* The holder lets go: the first waiter gets the lock directly (its
 * connection alone is woken: no broadcast, nobody overtaken), or nobody
 * does, and the waiters of conditions (which re-take a lock they wait
 * with through pp__mlock_take) are told it is free. */
static void pass_on(lock_state *l)
{
    lwaiter *w = l->head;

    l->holder = NULL;
    l->count = 0;
    if (w == NULL) {
        pp__mgr_srv_wake();
        return;
    }
    l->head = w->next;
    if (l->head == NULL)
        l->tail = NULL;
    w->st = grant(l, w->conn, 1);
    w->fence = l->fence;
    w->done = 1;
    pp__mgr_srv_conn_signal(w->conn);
}

static void leave_queue(lock_state *l, lwaiter *w)
{
    lwaiter **pp, *prev = NULL;

    for (pp = &l->head; *pp != NULL; prev = *pp, pp = &(*pp)->next) {
        if (*pp == w) {
            *pp = w->next;
            if (l->tail == w)
                l->tail = prev;
            return;
        }
    }
}

void pp__mlock_release_all(pp__mobj *o, pp__mgr_conn *c, int64_t *count)
{
    lock_state *l = o->state;

    *count = 0;
    if (l->holder != c)
        return;
    *count = l->count;
    pass_on(l);
}

/* The server waits at most one slice; the client loops. A waiter that is
 * not done when it wakes is still queued, so its lock still exists (a
 * destroyed lock marks every waiter done). */
static pp_status lock_acquire(pp__mobj *o, pp__mctx *cx)
{
    int64_t deadline = pp__mgr_srv_deadline(cx->rq);
    lock_state *l = o->state;
    lwaiter w;
    pp_status st;

    if (l->holder == cx->conn) {
        if (o->kind == PP__MK_LOCK)
            return PP_EDEADLK;
        if (l->count >= INT32_MAX)
            return PP_ERANGE;
        l->count++;
        cx->value = l->fence;
        return PP_OK;
    }
    st = pp__mlock_take(o, cx->conn, 1);
    if (st != PP_EBUSY) {
        cx->value = l->fence;
        return st;
    }
    if (pp__plat_now_ms() >= deadline)
        return PP_ETIMEDOUT;
    w.conn = cx->conn;
    w.done = 0;
    w.st = PP_OK;
    w.fence = 0;
    w.next = NULL;
    if (l->tail != NULL)
        l->tail->next = &w;
    else
        l->head = &w;
    l->tail = &w;
    while (!w.done) {
        if (pp__plat_now_ms() >= deadline) {
            leave_queue(l, &w);
            return PP_ETIMEDOUT;
        }
        pp__mgr_srv_conn_wait(cx->conn, deadline);
    }
    cx->value = w.fence;
    return w.st;
}

static pp_status lock_op(pp__mobj *o, pp__mctx *cx)
{
    lock_state *l = o->state;

    switch (cx->rq->op) {
    case PP__MOP_ACQUIRE:
        return lock_acquire(o, cx);
    case PP__MOP_RELEASE:
        if (l->holder != cx->conn)
            return PP_EPERM;
        if (--l->count <= 0)
            pass_on(l);
        return PP_OK;
    default:
        return PP_EINVAL;
    }
}

static void lock_conn_end(pp__mobj *o, pp__mgr_conn *c)
{
    lock_state *l = o->state;

    if (l->holder == c) {
        /* a hold it never knew it had tells nobody it died */
        l->owner_died = l->unconfirmed ? l->died_before : 1;
        pass_on(l);
    }
}

/* Its waiters (each still on its connection's thread) learn it is gone. */
static void lock_destroy(pp__mobj *o)
{
    lock_state *l = o->state;
    lwaiter *w;

    while ((w = l->head) != NULL) {
        l->head = w->next;
        w->st = PP_ENOENT;
        w->done = 1;
        pp__mgr_srv_conn_signal(w->conn);
    }
    free(l);
}

const pp__mkind_ops pp__mk_lock = {lock_create, lock_op, NULL, lock_conn_end, lock_destroy};
const pp__mkind_ops pp__mk_rlock = {lock_create, lock_op, NULL, lock_conn_end, lock_destroy};

/* ----------------------------------------------------------- condition */

/* W_TAKEN: the lock is taken back and the reply sent; the record stays
 * until the client confirms (notified: whether a notify ended the wait). */
enum { W_WAITING, W_NOTIFIED, W_TIMEDOUT, W_TAKEN };

typedef struct cwaiter {
    uint64_t ticket;
    pp__mgr_conn *conn;
    int state;
    int notified;  /* W_TAKEN: a notify ended the wait (not the timeout) */
    int64_t count; /* the lock's holds to take back */
    struct cwaiter *next;
} cwaiter;

typedef struct cond_state {
    uint64_t lock_id;
    cwaiter *head; /* in arrival order: notify wakes the oldest */
} cond_state;

static pp__mobj *lock_of(const cond_state *cs)
{
    pp__mobj *l = pp__mgr_srv_find(cs->lock_id);

    return l != NULL && (l->kind == PP__MK_LOCK || l->kind == PP__MK_RLOCK) ? l : NULL;
}

static pp_status cond_create(pp__mobj *o, pp__mctx *cx)
{
    cond_state *cs;
    pp__mobj *l = pp__mgr_srv_find((uint64_t)cx->rq->a);

    if (l == NULL)
        return PP_ENOENT;
    if (l->kind != PP__MK_LOCK && l->kind != PP__MK_RLOCK)
        return PP_EINVAL;
    cs = calloc(1, sizeof *cs);
    if (cs == NULL)
        return PP_ENOMEM;
    cs->lock_id = l->id;
    o->state = cs;
    return PP_OK;
}

static pp_status cond_open(pp__mobj *o, pp__mctx *cx)
{
    return ((cond_state *)o->state)->lock_id == (uint64_t)cx->rq->a ? PP_OK : PP_EINVAL;
}

static cwaiter *find_waiter(cond_state *cs, uint64_t ticket, const pp__mgr_conn *c)
{
    cwaiter *w;

    for (w = cs->head; w != NULL; w = w->next) {
        if (w->ticket == ticket && w->conn == c)
            return w;
    }
    return NULL;
}

static void remove_waiter(cond_state *cs, cwaiter *w)
{
    cwaiter **pp;

    for (pp = &cs->head; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == w) {
            *pp = w->next;
            free(w);
            return;
        }
    }
}

/* The first request of a wait: release the lock, register. */
static pp_status cond_begin(cond_state *cs, pp__mctx *cx, uint64_t *ticket)
{
    pp__mobj *l = lock_of(cs);
    cwaiter *w, **tail;

    if (l == NULL)
        return PP_ENOENT;
    if (!pp__mlock_held_by(l, cx->conn))
        return PP_EPERM;
    w = calloc(1, sizeof *w);
    if (w == NULL)
        return PP_ENOMEM;
    w->ticket = pp__mgr_srv_ticket();
    w->conn = cx->conn;
    w->state = W_WAITING;
    pp__mlock_release_all(l, cx->conn, &w->count);
    for (tail = &cs->head; *tail != NULL; tail = &(*tail)->next)
        ;
    *tail = w;
    *ticket = w->ticket;
    return PP_OK;
}

/* w's connection is gone: w goes, and a notify it took passes to the
 * next waiter. */
static void pass_notify(cond_state *cs, cwaiter *w)
{
    int unused = w->state == W_NOTIFIED;
    cwaiter *x;

    remove_waiter(cs, w);
    for (x = cs->head; x != NULL && unused; x = x->next) {
        if (x->state == W_WAITING) {
            x->state = W_NOTIFIED;
            unused = 0;
        }
    }
}

/* Wait for a notify, then for the lock, within this request's slice:
 * PP_ENOTREADY (ticket in value) when the slice ends first. */
static pp_status cond_wait(pp__mobj *o, pp__mctx *cx)
{
    int64_t deadline = pp__mgr_srv_deadline(cx->rq);
    uint64_t id = o->id, ticket = cx->rq->ticket;
    pp__mobj *l;
    cwaiter *w;
    pp_status st;

    if (ticket == 0) {
        st = cond_begin(o->state, cx, &ticket);
        if (st != PP_OK)
            return st;
    }
    for (;;) {
        cond_state *cs = o->state;
        w = find_waiter(cs, ticket, cx->conn);
        if (w == NULL)
            return PP_ENOENT;
        if (w->state == W_WAITING && (cx->rq->flags & PP__MGR_FLAG_GIVE_UP))
            w->state = W_TIMEDOUT;
        if (w->state == W_NOTIFIED && pp__mgr_srv_conn_gone(cx->conn)) {
            pass_notify(cs, w);
            return PP_ECONNLOST; /* nobody reads it */
        }
        if (w->state == W_TAKEN)
            return PP_EINVAL; /* that wait was answered */
        if (w->state != W_WAITING) {
            l = lock_of(cs);
            if (l == NULL) {
                remove_waiter(cs, w);
                return PP_ENOENT;
            }
            st = pp__mlock_take(l, cx->conn, w->count);
            if (st != PP_EBUSY) {
                lock_state *ls = l->state;
                cx->value = 0;
                w->notified = w->state == W_NOTIFIED;
                w->state = W_TAKEN; /* until CONFIRM_NR */
                ls->unconfirmed = 1;
                ls->died_before = st == PP_EOWNERDEAD;
                if (!w->notified && st == PP_OK)
                    st = PP_ETIMEDOUT;
                return st;
            }
        }
        if (pp__plat_now_ms() >= deadline) {
            cx->value = ticket;
            return PP_ENOTREADY;
        }
        pp__mgr_srv_wait(deadline);
        o = pp__mgr_srv_find(id);
        if (o == NULL || o->kind != PP__MK_COND)
            return PP_ENOENT;
    }
}

static pp_status cond_notify(cond_state *cs, pp__mctx *cx)
{
    pp__mobj *l = lock_of(cs);
    int64_t n = cx->rq->a;
    cwaiter *w;

    if (l == NULL)
        return PP_ENOENT;
    if (!pp__mlock_held_by(l, cx->conn))
        return PP_EPERM;
    if (n == 0 || n < -1)
        return PP_EINVAL;
    for (w = cs->head; w != NULL && n != 0; w = w->next) {
        if (w->state == W_WAITING) {
            w->state = W_NOTIFIED;
            if (n > 0)
                n--;
        }
    }
    pp__mgr_srv_wake();
    return PP_OK;
}

static pp_status cond_op(pp__mobj *o, pp__mctx *cx)
{
    switch (cx->rq->op) {
    case PP__MOP_WAIT:
        return cond_wait(o, cx);
    case PP__MOP_NOTIFY:
        return cond_notify(o->state, cx);
    default:
        return PP_EINVAL;
    }
}

void pp__mcond_confirm(pp__mobj *o, pp__mgr_conn *c)
{
    cond_state *cs = o->state;
    cwaiter **pp = &cs->head, *w;
    pp__mobj *l = lock_of(cs);

    while (*pp != NULL) {
        w = *pp;
        if (w->conn == c && w->state == W_TAKEN) {
            *pp = w->next;
            free(w);
        } else {
            pp = &w->next;
        }
    }
    if (l != NULL && pp__mlock_held_by(l, c))
        ((lock_state *)l->state)->unconfirmed = 0;
}

/* A waiter's connection ended: its waits go. A notify it had taken and
 * not used yet (its death fell between the notify and its re-acquire, or
 * before it read the reply that handed it the lock) passes to the next
 * waiter, so notify(n) is never lost on a dead one. (The lock's own
 * conn_end frees an unconfirmed hold without PP_EOWNERDEAD.) */
static void cond_conn_end(pp__mobj *o, pp__mgr_conn *c)
{
    cond_state *cs = o->state;
    cwaiter **pp = &cs->head, *w;
    int64_t unused = 0;

    while (*pp != NULL) {
        w = *pp;
        if (w->conn == c) {
            /* a W_TAKEN record is one not confirmed (confirming removes it) */
            unused += w->state == W_NOTIFIED || (w->state == W_TAKEN && w->notified);
            *pp = w->next;
            free(w);
        } else {
            pp = &w->next;
        }
    }
    if (unused == 0)
        return;
    for (w = cs->head; w != NULL && unused > 0; w = w->next) {
        if (w->state == W_WAITING) {
            w->state = W_NOTIFIED;
            unused--;
        }
    }
    pp__mgr_srv_wake();
}

/* (A take not confirmed yet counts as confirmed: its confirm will find
 * no condition to clear the lock's mark through.) */
static void cond_destroy(pp__mobj *o)
{
    cond_state *cs = o->state;
    pp__mobj *l = lock_of(cs);

    while (cs->head != NULL) {
        cwaiter *w = cs->head;
        cs->head = w->next;
        if (w->state == W_TAKEN && l != NULL && pp__mlock_held_by(l, w->conn))
            ((lock_state *)l->state)->unconfirmed = 0;
        free(w);
    }
    free(cs);
}

const pp__mkind_ops pp__mk_cond = {cond_create, cond_op, cond_open, cond_conn_end, cond_destroy};
