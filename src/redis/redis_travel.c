/*
 * redis_travel.c — Redis locks that arrive in task arguments (or results):
 * the resolver of PP__LOC_REDIS locators (sync/remote.h).
 *
 * A process (a pool worker, mostly) keeps one pp_redis handle per server
 * address it met and one lock handle per lock name, for its whole life:
 * every task that names the lock gets the same handle. The credentials
 * are the process's own — PROCPOOL_REDIS_USERNAME / PROCPOOL_REDIS_PASSWORD
 * from its environment (a pool worker inherits the program's), never from
 * the task's arguments. A holder is this process: a worker killed while
 * holding stops renewing, and the next acquirer gets PP_EOWNERDEAD after
 * the lease.
 *
 * A forked child must not use its parent's connections (two processes on
 * one socket would interleave commands; the renewer thread does not exist
 * in the child): after a fork the child forgets them and connects anew.
 */
#include <stdlib.h>
#include <string.h>

#include "procpool/redis.h"
#include "platform.h"
#include "core/core.h"
#include "sync/remote.h"
#include "redis/redis_internal.h"

#define MAX_SERVERS 16
#define MAX_LOCKS   4096

typedef struct tserver {
    char addr[PP__LOC_ADDR_MAX];
    pp_redis *r;
    struct tserver *next;
} tserver;

typedef struct tlock {
    tserver *s;
    char name[PP__LOC_NAME_MAX];
    pp_lock *lock;
    struct tlock *next;
} tlock;

static struct {
    pp__plat_mtx *mu;
    tserver *servers;
    tlock *locks;
    size_t nservers, nlocks;
} g;

static pp_status server_for(const char *addr, tserver **out)
{
    tserver *s;
    pp_status st;

    for (s = g.servers; s != NULL; s = s->next) {
        if (strcmp(s->addr, addr) == 0) {
            *out = s;
            return PP_OK;
        }
    }
    if (g.nservers >= MAX_SERVERS)
        return PP_ETOOBIG;
    s = calloc(1, sizeof *s);
    if (s == NULL)
        return PP_ENOMEM;
    st = pp_redis_connect(addr, NULL, &s->r);
    if (st != PP_OK) {
        free(s);
        return st;
    }
    pp__strlcpy(s->addr, addr, sizeof s->addr);
    s->next = g.servers;
    g.servers = s;
    g.nservers++;
    *out = s;
    return PP_OK;
}

static pp_status resolve_locked(const pp__locator *loc, void **out)
{
    tserver *s = NULL;
    pp_lock *lock = NULL;
    tlock *t;
    pp_status st;

    for (t = g.locks; t != NULL; t = t->next) {
        if (strcmp(t->name, loc->name) == 0 && strcmp(t->s->addr, loc->addr) == 0) {
            *out = t->lock;
            return PP_OK;
        }
    }
    if (g.nlocks >= MAX_LOCKS)
        return PP_ETOOBIG;
    st = server_for(loc->addr, &s);
    if (st == PP_OK)
        st = pp_redis_lock_open(s->r, loc->name, &lock);
    if (st != PP_OK)
        return st;
    t = calloc(1, sizeof *t);
    if (t == NULL) {
        pp_lock_destroy(lock);
        return PP_ENOMEM;
    }
    t->s = s;
    pp__strlcpy(t->name, loc->name, sizeof t->name);
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

    if (loc->backend != PP__LOC_REDIS || loc->object != PP__OBJ_LOCK)
        return PP_ENOTSUP;
    if (g.mu == NULL)
        return PP_ENOTINIT;
    pp__plat_mtx_lock(g.mu);
    st = resolve_locked(loc, out);
    pp__plat_mtx_unlock(g.mu);
    return st;
}

/* The child of a fork: what the parent had is the parent's. (Leaked, not
 * closed: closing would send nothing, but freeing a handle whose renewer
 * thread does not exist here is not safe.) */
static void forget_after_fork(void)
{
    if (g.mu == NULL)
        return;
    pp__plat_mtx_reset_after_fork(g.mu);
    g.servers = NULL;
    g.locks = NULL;
    g.nservers = 0;
    g.nlocks = 0;
}

pp_status pp__redis_travel_init(void)
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
    pp__remote_set_resolver(PP__LOC_REDIS, resolve);
    return PP_OK;
}

void pp__redis_travel_shutdown(void)
{
    tlock *t;
    tserver *s;

    pp__remote_set_resolver(PP__LOC_REDIS, NULL);
    if (g.mu == NULL)
        return;
    while ((t = g.locks) != NULL) {
        g.locks = t->next;
        pp_lock_destroy(t->lock);
        free(t);
    }
    while ((s = g.servers) != NULL) {
        g.servers = s->next;
        pp_redis_destroy(s->r);
        free(s);
    }
    g.nservers = g.nlocks = 0;
    pp__plat_mtx_destroy(g.mu);
    g.mu = NULL;
}
