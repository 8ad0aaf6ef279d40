/*
 * remote_cache.c — the per-process cache through which locators of hosted
 * objects (sync/remote.h) become handles: one connection per server
 * (address and instance) and one handle per object, for the process's
 * life, per backend (a manager, Redis). The backends say how to connect
 * and open (pp__remote_ops); what they share — the lookup, the limits,
 * the restarted-server rule, forgetting after fork, the order of closing —
 * is here once.
 */
#include <stdlib.h>
#include <string.h>

#include "platform.h"
#include "core/core.h"
#include "sync/remote.h"

typedef struct rconn {
    char addr[PP__LOC_ADDR_MAX];
    uint64_t instance;
    void *conn;
    struct rconn *next;
} rconn;

typedef struct robj {
    pp__locator loc; /* the object's locator: its key */
    void *h;
    struct robj *next;
} robj;

typedef struct rcache {
    const pp__remote_ops *ops;
    rconn *conns;
    robj *objs; /* newest first */
    size_t nconns, nobjs;
} rcache;

static struct {
    pp__plat_mtx *mu;
    rcache caches[PP__LOC_BACKENDS];
} g;

/* Two locators of one object: every field that names it. (Fields a
 * backend does not use are 0 or empty in both: the decoder and the
 * encoders zero them.) */
static int same_object(const pp__locator *a, const pp__locator *b)
{
    return a->object == b->object && a->id == b->id && a->instance == b->instance &&
           a->lock_object == b->lock_object && a->lock_id == b->lock_id &&
           strcmp(a->addr, b->addr) == 0 && strcmp(a->name, b->name) == 0;
}

static rconn *find_conn(const rcache *c, const char *addr, uint64_t instance)
{
    rconn *k;

    for (k = c->conns; k != NULL; k = k->next) {
        if (k->instance == instance && strcmp(k->addr, addr) == 0)
            return k;
    }
    return NULL;
}

/* The connection to loc's server instance: cached, or new. PP_ENOENT if
 * the server at that address is another instance (restarted): the
 * locator's objects went with the old one. */
static pp_status conn_for(rcache *c, const pp__locator *loc, rconn **out)
{
    rconn *k = find_conn(c, loc->addr, loc->instance);
    pp_status st;

    if (k != NULL) {
        *out = k;
        return PP_OK;
    }
    if (c->nconns >= c->ops->max_servers)
        return PP_ETOOBIG;
    k = calloc(1, sizeof *k);
    if (k == NULL)
        return PP_ENOMEM;
    st = c->ops->connect(loc->addr, &k->conn, &k->instance);
    if (st != PP_OK) {
        free(k);
        return st;
    }
    if (find_conn(c, loc->addr, k->instance) != NULL) {
        c->ops->disconnect(k->conn); /* a connection to that instance exists */
        free(k);
        return PP_ENOENT;
    }
    pp__strlcpy(k->addr, loc->addr, sizeof k->addr);
    k->next = c->conns;
    c->conns = k;
    c->nconns++;
    if (k->instance != loc->instance)
        return PP_ENOENT; /* kept: later locators of this instance use it */
    *out = k;
    return PP_OK;
}

pp_status pp__remote_resolve_locked(const pp__locator *loc, void **out)
{
    rcache *c = loc->backend < PP__LOC_BACKENDS ? &g.caches[loc->backend] : NULL;
    rconn *k = NULL;
    robj *o;
    void *h = NULL;
    pp_status st;

    *out = NULL;
    if (c == NULL || c->ops == NULL)
        return PP_ENOTSUP;
    for (o = c->objs; o != NULL; o = o->next) {
        if (same_object(&o->loc, loc)) {
            *out = o->h;
            return PP_OK;
        }
    }
    if (c->nobjs >= c->ops->max_objects)
        return PP_ETOOBIG;
    st = conn_for(c, loc, &k);
    if (st == PP_OK)
        st = c->ops->open(k->conn, loc, &h);
    if (st != PP_OK)
        return st;
    o = calloc(1, sizeof *o);
    if (o == NULL) {
        c->ops->close(loc, h);
        return PP_ENOMEM;
    }
    o->loc = *loc;
    o->h = h;
    o->next = c->objs;
    c->objs = o;
    c->nobjs++;
    *out = h;
    return PP_OK;
}

pp_status pp__remote_resolve(const pp__locator *loc, void **out)
{
    pp_status st;

    *out = NULL;
    if (loc->backend >= PP__LOC_BACKENDS || g.caches[loc->backend].ops == NULL)
        return PP_ENOTSUP;
    if (g.mu == NULL)
        return PP_ENOTINIT;
    pp__plat_mtx_lock(g.mu);
    st = pp__remote_resolve_locked(loc, out);
    pp__plat_mtx_unlock(g.mu);
    return st;
}

/* The child of a fork: what the parent had is the parent's. Leaked, not
 * closed: closing could send on a socket the parent still uses, and a
 * handle's helper threads (a Redis lock's renewer) do not exist here. */
static void forget_after_fork(void)
{
    size_t i;

    if (g.mu == NULL)
        return;
    pp__plat_mtx_reset_after_fork(g.mu);
    for (i = 0; i < PP__LOC_BACKENDS; i++) {
        g.caches[i].conns = NULL;
        g.caches[i].objs = NULL;
        g.caches[i].nconns = 0;
        g.caches[i].nobjs = 0;
    }
}

pp_status pp__remote_register(const pp__remote_ops *ops)
{
    static int registered;
    pp_status st;

    if (ops == NULL || ops->backend == 0 || ops->backend >= PP__LOC_BACKENDS)
        return PP_EINVAL;
    if (g.mu == NULL) {
        st = pp__plat_mtx_create(&g.mu);
        if (st != PP_OK)
            return st;
    }
    if (!registered) {
        registered = 1;
        pp__plat_atfork_child(forget_after_fork);
    }
    g.caches[ops->backend].ops = ops;
    return PP_OK;
}

void pp__remote_unregister(uint8_t backend)
{
    rcache *c;
    robj *o;
    rconn *k;
    size_t i;

    if (backend >= PP__LOC_BACKENDS || g.caches[backend].ops == NULL)
        return;
    c = &g.caches[backend];
    while ((o = c->objs) != NULL) {
        c->objs = o->next;
        c->ops->close(&o->loc, o->h);
        free(o);
    }
    while ((k = c->conns) != NULL) {
        c->conns = k->next;
        c->ops->disconnect(k->conn);
        free(k);
    }
    c->nconns = c->nobjs = 0;
    c->ops = NULL;
    for (i = 0; i < PP__LOC_BACKENDS; i++) {
        if (g.caches[i].ops != NULL)
            return;
    }
    if (g.mu != NULL) {
        pp__plat_mtx_destroy(g.mu);
        g.mu = NULL;
    }
}
