/*
 * mgr_travel.c — manager locks that arrive in task arguments (or results):
 * the resolver the value codec reaches through sync/remote.h.
 *
 * A process (a pool worker, mostly) keeps one authenticated connection per
 * manager it met — per address and server instance — and one handle per
 * lock, for its whole life: every task that names the lock gets the same
 * handle, and no request is made after the first. The connection ends
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

#define MAX_CONNS 64 /* managers (address, instance) one process meets */

/* A manager's address (a unix path or a TCP host name) travels whole in a
 * locator and is a keyring's key. */
_Static_assert(PP__LOC_ADDR_MAX == PP_MANAGER_ADDR_MAX, "a locator carries any manager address");
_Static_assert(PP__KEYRING_ADDR == PP_MANAGER_ADDR_MAX, "the keyring holds any manager address");
#define MAX_LOCKS 65536 /* lock handles one process keeps */

typedef struct tconn {
    char addr[PP_MANAGER_ADDR_MAX];
    uint64_t instance;
    pp_manager *m;
    struct tconn *next;
} tconn;

typedef struct tlock {
    tconn *c;
    uint64_t id;
    pp_lock *lock;
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
        if (t->id == loc->id && t->c->instance == loc->instance &&
            strcmp(t->c->addr, loc->addr) == 0)
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

static pp_status resolve_locked(const pp__locator *loc, void **out)
{
    tlock *t = find_lock(loc);
    tconn *c = NULL;
    pp_lock *lock = NULL;
    pp_status st;

    if (t != NULL) {
        *out = t->lock;
        return PP_OK;
    }
    if (g.nlocks >= MAX_LOCKS)
        return PP_ETOOBIG;
    st = conn_for(loc, &c);
    if (st == PP_OK)
        st = loc->object == PP__OBJ_RLOCK ? pp_manager_rlock_open(c->m, loc->id, &lock)
                                          : pp_manager_lock_open(c->m, loc->id, &lock);
    if (st != PP_OK)
        return st;
    t = calloc(1, sizeof *t);
    if (t == NULL) {
        pp_lock_destroy(lock);
        return PP_ENOMEM;
    }
    t->c = c;
    t->id = loc->id;
    t->lock = lock;
    t->next = g.locks;
    g.locks = t;
    g.nlocks++;
    *out = lock;
    return PP_OK;
}

static pp_status resolve(const pp__locator *loc, void **out)
{
    pp_status st;

    if (loc->backend != PP__LOC_MANAGER ||
        (loc->object != PP__OBJ_LOCK && loc->object != PP__OBJ_RLOCK))
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
    while ((t = g.locks) != NULL) {
        g.locks = t->next;
        pp_lock_destroy(t->lock);
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
