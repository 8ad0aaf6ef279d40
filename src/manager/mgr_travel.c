/*
 * mgr_travel.c — manager locks and the other hosted objects (proxies)
 * that arrive in task arguments (or results): the resolver the value
 * codec reaches through sync/remote.h.
 *
 * A process (a pool worker, mostly) keeps one authenticated connection per
 * manager it met — per address and server instance — and one handle per
 * object, for its whole life: every task that names the object gets the
 * same handle, and no request is made after the first. A condition comes
 * with its lock's locator: the lock is resolved first (the same cached
 * handle a task given that lock gets), then the condition is opened with
 * it. The connection ends
 * with the process (the OS closes it, however the process ends), so the
 * server releases what the process held and the next acquirer gets
 * PP_EOWNERDEAD. The key comes from the keyring (sync/keyring.h): the
 * manager's own, or the program key every worker inherits.
 *
 * A forked child must not use its parent's connections (two processes on
 * one socket would interleave requests, and share a holder): after a
 * fork the child forgets what it inherited and connects for itself.
 */
#include <stdlib.h>
#include <string.h>

#include "procpool/manager.h"
#include "procpool/manager_objects.h"
#include "platform.h"
#include "core/core.h"
#include "sync/keyring.h"
#include "sync/remote.h"
#include "manager/manager.h"
#include "manager/mgr_client.h"

#define MAX_CONNS 64 /* managers (address, instance) one process meets */

/* A manager's address (a unix path or a TCP host name) travels whole in a
 * locator and is a keyring's key. */
_Static_assert(PP__LOC_ADDR_MAX == PP_MANAGER_ADDR_MAX, "a locator carries any manager address");
_Static_assert(PP__KEYRING_ADDR == PP_MANAGER_ADDR_MAX, "the keyring holds any manager address");
#define MAX_LOCKS 65536 /* object handles one process keeps */

typedef struct tconn {
    char addr[PP_MANAGER_ADDR_MAX];
    uint64_t instance;
    pp_manager *m;
    struct tconn *next;
} tconn;

/* One resolved object: a pp_lock * (PP__OBJ_LOCK, RLOCK) or the kind's
 * handle (manager_objects.h), which starts with a pp__mgr_ref. */
typedef struct tlock {
    tconn *c;
    uint8_t object;
    uint64_t id, lock_id; /* lock_id: a condition's lock */
    void *h;
    struct tlock *next;
} tlock;

static struct {
    pp__plat_mtx *mu;
    tconn *conns;
    tlock *locks;
    size_t nconns, nlocks;
} g;

static tconn *find_conn(const char *addr, uint64_t instance)
{
    tconn *c;

    for (c = g.conns; c != NULL; c = c->next) {
        if (c->instance == instance && strcmp(c->addr, addr) == 0)
            return c;
    }
    return NULL;
}

static tlock *find_lock(const pp__locator *loc)
{
    tlock *t;

    for (t = g.locks; t != NULL; t = t->next) {
        if (t->id == loc->id && t->object == loc->object && t->lock_id == loc->lock_id &&
            t->c->instance == loc->instance && strcmp(t->c->addr, loc->addr) == 0)
            return t;
    }
    return NULL;
}

/* A new connection to addr with the key the keyring has for it. PP_EAUTH
 * if it has none, or the manager refused it. */
static pp_status connect_new(const char *addr, tconn **out)
{
    uint8_t key[PP__KEY_MAX];
    size_t keylen = 0;
    int is_program = 0;
    tconn *c;
    pp_status st;

    if (g.nconns >= MAX_CONNS)
        return PP_ETOOBIG;
    st = pp__keyring_find(addr, key, &keylen, &is_program);
    if (st == PP_ENOENT)
        return PP_EAUTH; /* no key to try */
    if (st != PP_OK)
        return st;
    c = calloc(1, sizeof *c);
    if (c == NULL) {
        pp__keyring_wipe(key, sizeof key);
        return PP_ENOMEM;
    }
    st = pp__manager_open(addr, key, keylen, &c->m);
    pp__keyring_wipe(key, sizeof key);
    if (st != PP_OK) {
        free(c);
        return st;
    }
    pp__strlcpy(c->addr, addr, sizeof c->addr);
    c->instance = pp__manager_instance(c->m);
    *out = c;
    return PP_OK;
}

static void conn_free(tconn *c)
{
    pp_manager_destroy(c->m);
    free(c);
}

/* The connection to loc's server instance: cached, or new. PP_ENOENT if
 * the server at that address is another instance (restarted): the
 * locator's objects are gone with the old one. */
static pp_status conn_for(const pp__locator *loc, tconn **out)
{
    tconn *c = find_conn(loc->addr, loc->instance);
    pp_status st;

    if (c != NULL) {
        *out = c;
        return PP_OK;
    }
    st = connect_new(loc->addr, &c);
    if (st != PP_OK)
        return st;
    if (find_conn(c->addr, c->instance) != NULL) {
        conn_free(c); /* a connection to that instance exists already */
        return PP_ENOENT;
    }
    c->next = g.conns;
    g.conns = c;
    g.nconns++;
    if (c->instance != loc->instance)
        return PP_ENOENT; /* kept: later locators of this instance use it */
    *out = c;
    return PP_OK;
}

static int is_lock(uint8_t object)
{
    return object == PP__OBJ_LOCK || object == PP__OBJ_RLOCK;
}

static void handle_free(uint8_t object, void *h)
{
    if (is_lock(object))
        pp_lock_destroy(h);
    else
        pp__mgr_handle_destroy(h); /* opened, not created: only the handle */
}

static pp_status resolve_locked(const pp__locator *loc, void **out);

/* Open loc's object through m, the connection to its server; a
 * condition with its lock (resolved through the cache). */
static pp_status open_object(pp_manager *m, const pp__locator *loc, void **out)
{
    union {
        pp_lock *lock;
        pp_msem *sem;
        pp_mcond *cond;
        pp_mevent *event;
        pp_mbarrier *barrier;
        pp_mvalue *value;
        pp_mqueue *queue;
        pp_mdict *dict;
    } h;
    pp__locator lloc;
    void *lock = NULL;
    pp_status st;

    switch (loc->object) {
    case PP__OBJ_LOCK:
        st = pp_manager_lock_open(m, loc->id, &h.lock);
        *out = st == PP_OK ? (void *)h.lock : NULL;
        return st;
    case PP__OBJ_RLOCK:
        st = pp_manager_rlock_open(m, loc->id, &h.lock);
        *out = st == PP_OK ? (void *)h.lock : NULL;
        return st;
    case PP__OBJ_SEM:
    case PP__OBJ_BSEM:
        st = pp_msem_open(m, loc->id, &h.sem);
        *out = st == PP_OK ? (void *)h.sem : NULL;
        return st;
    case PP__OBJ_COND:
        lloc = *loc;
        lloc.object = loc->lock_object;
        lloc.id = loc->lock_id;
        lloc.lock_object = 0;
        lloc.lock_id = 0;
        st = resolve_locked(&lloc, &lock);
        if (st == PP_OK)
            st = pp_mcond_open(m, loc->id, lock, &h.cond);
        *out = st == PP_OK ? (void *)h.cond : NULL;
        return st;
    case PP__OBJ_EVENT:
        st = pp_mevent_open(m, loc->id, &h.event);
        *out = st == PP_OK ? (void *)h.event : NULL;
        return st;
    case PP__OBJ_BARRIER:
        st = pp_mbarrier_open(m, loc->id, &h.barrier);
        *out = st == PP_OK ? (void *)h.barrier : NULL;
        return st;
    case PP__OBJ_VALUE:
        st = pp_mvalue_open(m, loc->id, &h.value);
        *out = st == PP_OK ? (void *)h.value : NULL;
        return st;
    case PP__OBJ_QUEUE:
        st = pp_mqueue_open(m, loc->id, &h.queue);
        *out = st == PP_OK ? (void *)h.queue : NULL;
        return st;
    case PP__OBJ_DICT:
        st = pp_mdict_open(m, loc->id, &h.dict);
        *out = st == PP_OK ? (void *)h.dict : NULL;
        return st;
    default:
        return PP_ENOTSUP;
    }
}

static pp_status resolve_locked(const pp__locator *loc, void **out)
{
    tlock *t = find_lock(loc);
    tconn *c = NULL;
    void *h = NULL;
    pp_status st;

    if (t != NULL) {
        *out = t->h;
        return PP_OK;
    }
    if (g.nlocks >= MAX_LOCKS)
        return PP_ETOOBIG;
    st = conn_for(loc, &c);
    if (st == PP_OK)
        st = open_object(c->m, loc, &h);
    if (st != PP_OK)
        return st;
    t = calloc(1, sizeof *t);
    if (t == NULL) {
        handle_free(loc->object, h);
        return PP_ENOMEM;
    }
    t->c = c;
    t->object = loc->object;
    t->id = loc->id;
    t->lock_id = loc->lock_id;
    t->h = h;
    t->next = g.locks;
    g.locks = t;
    g.nlocks++;
    *out = h;
    return PP_OK;
}

static pp_status resolve(const pp__locator *loc, void **out)
{
    pp_status st;

    if (loc->backend != PP__LOC_MANAGER || loc->object == 0 || loc->object >= PP__OBJ_KINDS)
        return PP_ENOTSUP;
    if (g.mu == NULL)
        return PP_ENOTINIT;
    pp__plat_mtx_lock(g.mu);
    st = resolve_locked(loc, out);
    pp__plat_mtx_unlock(g.mu);
    return st;
}

/* The child of a fork: what the parent had is the parent's. (Leaked, not
 * closed: the child's copies of the sockets go with it.) */
static void forget_after_fork(void)
{
    if (g.mu == NULL)
        return;
    pp__plat_mtx_reset_after_fork(g.mu);
    g.conns = NULL;
    g.locks = NULL;
    g.nconns = 0;
    g.nlocks = 0;
}

pp_status pp__manager_travel_init(void)
{
    static int registered;
    pp_status st;

    if (g.mu == NULL) {
        st = pp__plat_mtx_create(&g.mu);
        if (st != PP_OK)
            return st;
    }
    if (!registered) {
        registered = 1;
        pp__plat_atfork_child(forget_after_fork);
    }
    pp__remote_set_resolver(PP__LOC_MANAGER, resolve);
    return PP_OK;
}

void pp__manager_travel_shutdown(void)
{
    tlock *t;
    tconn *c;

    pp__remote_set_resolver(PP__LOC_MANAGER, NULL);
    if (g.mu == NULL)
        return;
    /* Newest first: a condition goes before the lock it was opened with. */
    while ((t = g.locks) != NULL) {
        g.locks = t->next;
        handle_free(t->object, t->h);
        free(t);
    }
    while ((c = g.conns) != NULL) {
        g.conns = c->next;
        conn_free(c);
    }
    g.nconns = 0;
    g.nlocks = 0;
    pp__plat_mtx_destroy(g.mu);
    g.mu = NULL;
}
