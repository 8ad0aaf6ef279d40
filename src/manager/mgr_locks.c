/*
 * mgr_locks.c — the locks a manager hosts (mgr_server.h).
 *
 * Every lock lives in one table under one mutex (the table is a list,
 * searched by id). A lock that is held has a FIFO of waiters; a release
 * hands the lock to the first waiter directly (its fencing token and
 * status included) and wakes that waiter's connection only: no
 * broadcast, no thundering herd, no waiter overtaken. A waiter whose
 * time is up leaves the queue; a destroyed lock wakes all of its waiters
 * with PP_ENOENT.
 */
#include <stdlib.h>

#include "procpool/manager.h"
#include "platform.h"
#include "manager/mgr_proto.h"
#include "manager/mgr_server.h"

#define MAX_OBJECTS  65536 /* in the whole server */
#define MAX_PER_CONN PP_MANAGER_OBJECTS_MAX

typedef struct waiter {
    pp__mgr_owner *o;
    int done; /* granted (st, fence) or the lock is gone (PP_ENOENT) */
    pp_status st;
    uint64_t fence;
    struct waiter *next;
} waiter;

typedef struct mlock {
    uint64_t id;
    pp__mgr_owner *holder; /* NULL: free */
    pp__mgr_owner *creator;
    int owner_died; /* released by an owner's end: tell the next one */
    uint64_t fence; /* last fencing token handed out */
    waiter *head, *tail;
    struct mlock *next;
} mlock;

static struct {
    pp__plat_mtx *mu;
    mlock *locks;
    size_t nlocks;
    uint64_t next_id;
} g;

pp_status pp__mgr_locks_init(void)
{
    return pp__plat_mtx_create(&g.mu);
}

pp__plat_mtx *pp__mgr_locks_mutex(void)
{
    return g.mu;
}

static mlock *find_lock(uint64_t id)
{
    mlock *l;

    for (l = g.locks; l != NULL; l = l->next) {
        if (l->id == id)
            return l;
    }
    return NULL;
}

static pp_status op_create(pp__mgr_owner *o, uint64_t *value)
{
    mlock *l;

    if (g.nlocks >= MAX_OBJECTS || o->nobjects >= MAX_PER_CONN)
        return PP_ETOOBIG;
    l = calloc(1, sizeof *l);
    if (l == NULL)
        return PP_ENOMEM;
    l->id = ++g.next_id;
    l->creator = o;
    l->next = g.locks;
    g.locks = l;
    g.nlocks++;
    o->nobjects++;
    *value = l->id;
    return PP_OK;
}

/* o becomes the holder: its token and status. */
static pp_status grant(mlock *l, pp__mgr_owner *o, uint64_t *fence)
{
    pp_status st = l->owner_died ? PP_EOWNERDEAD : PP_OK;

    l->holder = o;
    l->owner_died = 0;
    *fence = ++l->fence;
    return st;
}

/* The holder lets go: the first waiter gets the lock, or nobody. */
static void pass_on(mlock *l)
{
    waiter *w = l->head;

    l->holder = NULL;
    if (w == NULL)
        return;
    l->head = w->next;
    if (l->head == NULL)
        l->tail = NULL;
    w->st = grant(l, w->o, &w->fence);
    w->done = 1;
    pp__plat_cond_signal(w->o->cv);
}

static void leave_queue(mlock *l, waiter *w)
{
    waiter **pp, *prev = NULL;

    for (pp = &l->head; *pp != NULL; prev = *pp, pp = &(*pp)->next) {
        if (*pp == w) {
            *pp = w->next;
            if (l->tail == w)
                l->tail = prev;
            return;
        }
    }
}

/* The server waits at most PP__MGR_SLICE_MS; the client loops. */
static pp_status op_acquire(pp__mgr_owner *o, uint64_t id, int64_t timeout_ms, uint64_t *value)
{
    mlock *l = find_lock(id);
    int64_t deadline;
    waiter w;

    if (l == NULL)
        return PP_ENOENT;
    if (l->holder == o)
        return PP_EDEADLK;
    if (l->holder == NULL)
        return grant(l, o, value);
    if (timeout_ms == 0)
        return PP_ETIMEDOUT;
    if (timeout_ms < 0 || timeout_ms > PP__MGR_SLICE_MS)
        timeout_ms = PP__MGR_SLICE_MS;
    deadline = pp__plat_now_ms() + timeout_ms;
    w.o = o;
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
        int64_t left = deadline - pp__plat_now_ms();
        if (left <= 0) {
            leave_queue(l, &w); /* not done: l still exists */
            return PP_ETIMEDOUT;
        }
        (void)pp__plat_cond_wait(o->cv, g.mu, left);
    }
    *value = w.fence;
    return w.st;
}

static pp_status op_release(pp__mgr_owner *o, uint64_t id)
{
    mlock *l = find_lock(id);

    if (l == NULL)
        return PP_ENOENT;
    if (l->holder != o)
        return PP_EPERM;
    pass_on(l);
    return PP_OK;
}

static void destroy_lock(mlock *l)
{
    mlock **pp;
    waiter *w;

    for (w = l->head; w != NULL; w = w->next) {
        w->st = PP_ENOENT;
        w->done = 1;
        pp__plat_cond_signal(w->o->cv);
    }
    for (pp = &g.locks; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == l) {
            *pp = l->next;
            break;
        }
    }
    g.nlocks--;
    l->creator->nobjects--;
    free(l);
}

static pp_status op_destroy(pp__mgr_owner *o, uint64_t id)
{
    mlock *l = find_lock(id);

    if (l == NULL)
        return PP_ENOENT;
    if (l->creator != o)
        return PP_EPERM;
    destroy_lock(l);
    return PP_OK;
}

pp_status pp__mgr_locks_request(pp__mgr_owner *o, uint8_t type, uint64_t id, int64_t timeout_ms,
                                uint64_t *value)
{
    switch (type) {
    case PP__MGR_CREATE_LOCK:
        return op_create(o, value);
    case PP__MGR_ACQUIRE:
        return op_acquire(o, id, timeout_ms, value);
    case PP__MGR_TRY:
        return op_acquire(o, id, 0, value);
    case PP__MGR_RELEASE:
    case PP__MGR_RELEASE_NR:
        return op_release(o, id);
    case PP__MGR_DESTROY:
        return op_destroy(o, id);
    case PP__MGR_OPEN:
        return find_lock(id) != NULL ? PP_OK : PP_ENOENT;
    default:
        return PP_EPROTO;
    }
}

void pp__mgr_locks_drop(pp__mgr_owner *o)
{
    mlock *l, *next;

    for (l = g.locks; l != NULL; l = next) {
        next = l->next;
        if (l->holder == o) {
            l->owner_died = 1;
            pass_on(l);
        }
        if (l->creator == o)
            destroy_lock(l);
    }
}
