/*
 * mgr_travel.c — manager locks and the other hosted objects (proxies)
 * that arrive in task arguments (or results): the resolver the value
 * codec reaches through sync/remote.h.
 *
 * A process (a pool worker, mostly) keeps one authenticated connection per
 * manager it met — per address and server instance — and one handle per
 * object, for its whole life (sync/remote_cache.c keeps them): every task that names the object
 * gets the same handle, and no request is made after the first. A condition comes with its lock's
 * locator: the lock is resolved first (the same cached handle a task given that lock gets), then
 * the condition is opened with it. The connection ends with the process (the OS closes it, however
 * the process ends), so the server releases what the process held and the next acquirer gets
 * PP_EOWNERDEAD. The key comes from the keyring (sync/keyring.h): the
 * manager's own, or the program key every worker inherits.
 *
 * A forked child must not use its parent's connections (two processes on
 * one socket would interleave requests, and share a holder): after a
 * fork the cache forgets what the child inherited, and it connects for
 * itself.
 */
#include "procpool/manager.h"
#include "procpool/manager_objects.h"
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

/* A new connection to addr with the key the keyring has for it. PP_EAUTH
 * if it has none, or the manager refused it. */
static pp_status connect_new(const char *addr, void **conn, uint64_t *instance)
{
    uint8_t key[PP__KEY_MAX];
    size_t keylen = 0;
    int is_program = 0;
    pp_manager *m = NULL;
    pp_status st;

    st = pp__keyring_find(addr, key, &keylen, &is_program);
    if (st == PP_ENOENT)
        return PP_EAUTH; /* no key to try */
    if (st != PP_OK)
        return st;
    st = pp__manager_open(addr, key, keylen, &m);
    pp__keyring_wipe(key, sizeof key);
    if (st != PP_OK)
        return st;
    *instance = pp__manager_instance(m);
    *conn = m;
    return PP_OK;
}

static void conn_free(void *conn)
{
    pp_manager_destroy(conn);
}

static int is_lock(uint8_t object)
{
    return object == PP__OBJ_LOCK || object == PP__OBJ_RLOCK;
}

static void handle_free(const pp__locator *loc, void *h)
{
    if (is_lock(loc->object))
        pp_lock_destroy(h);
    else
        pp__mgr_handle_destroy(h); /* opened, not created: only the handle */
}

/* Open loc's object through conn, the connection to its server; a
 * condition with its lock (resolved through the cache). */
static pp_status open_object(void *conn, const pp__locator *loc, void **out)
{
    pp_manager *m = conn;
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
        st = pp__remote_resolve_locked(&lloc, &lock);
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

static const pp__remote_ops ops = {
    PP__LOC_MANAGER, MAX_CONNS, MAX_LOCKS, connect_new, conn_free, open_object, handle_free,
};

pp_status pp__manager_travel_init(void)
{
    return pp__remote_register(&ops);
}

void pp__manager_travel_shutdown(void)
{
    pp__remote_unregister(PP__LOC_MANAGER);
}
