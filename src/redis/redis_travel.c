/*
 * redis_travel.c — Redis locks that arrive in task arguments (or results):
 * the resolver of PP__LOC_REDIS locators (sync/remote.h).
 *
 * A process (a pool worker, mostly) keeps one pp_redis handle per server
 * address it met and one lock handle per lock name, for its whole life
 * (sync/remote_cache.c keeps them): every task that names the lock gets
 * the same handle. The credentials
 * are the process's own — PROCPOOL_REDIS_USERNAME / PROCPOOL_REDIS_PASSWORD
 * from its environment (a pool worker inherits the program's), never from
 * the task's arguments. A holder is this process: a worker killed while
 * holding stops renewing, and the next acquirer gets PP_EOWNERDEAD after
 * the lease.
 *
 * A forked child must not use its parent's connections (two processes on
 * one socket would interleave commands; the renewer thread does not exist
 * in the child): after a fork the cache forgets them and the child
 * connects anew.
 */
#include "procpool/redis.h"
#include "sync/remote.h"
#include "redis/redis_internal.h"

#define MAX_SERVERS 16
#define MAX_LOCKS   4096

static pp_status connect_new(const char *addr, void **conn, uint64_t *instance)
{
    pp_redis *r = NULL;
    pp_status st = pp_redis_connect(addr, NULL, &r);

    *instance = 0; /* Redis has one lock per name: no instance to tell apart */
    *conn = r;
    return st;
}

static void conn_free(void *conn)
{
    pp_redis_destroy(conn);
}

static pp_status open_lock(void *conn, const pp__locator *loc, void **h)
{
    pp_lock *lock = NULL;
    pp_status st;

    if (loc->object != PP__OBJ_LOCK)
        return PP_ENOTSUP;
    st = pp_redis_lock_open(conn, loc->name, &lock);
    *h = lock;
    return st;
}

static void lock_free(const pp__locator *loc, void *h)
{
    (void)loc;
    pp_lock_destroy(h);
}

static const pp__remote_ops ops = {
    PP__LOC_REDIS, MAX_SERVERS, MAX_LOCKS, connect_new, conn_free, open_lock, lock_free,
};

pp_status pp__redis_travel_init(void)
{
    pp_status st = pp__remote_register(&ops);

    if (st == PP_OK)
        pp__redis_broker_init();
    return st;
}

void pp__redis_travel_shutdown(void)
{
    pp__redis_broker_shutdown();
    pp__remote_unregister(PP__LOC_REDIS);
}
