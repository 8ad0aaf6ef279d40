/*
 * lock_local.c — the local lock backend: a named robust mutex of the
 * platform (pp__plat_mutex), one per name per process.
 *
 * A process holds at most one platform mutex per name (the ports rely on
 * it for per-thread ownership checks, and a Windows mutex opened twice by
 * one thread would otherwise count recursively). Handles are light
 * references to a shared, reference-counted entry of the per-process
 * cache in named_cache.c, which shm.c uses the same way.
 */
#include <stddef.h>

#include "procpool/lock.h"
#include "platform.h"
#include "core/core.h"
#include "sync/lock_backend.h"
#include "sync/named_cache.h"
#include "sync/sync.h"

/* The cache allocates and frees handles as pp__named_handle (its first
 * member); the pp_lock inside is what users hold. Conversions go through
 * locals, never by writing through a cast of the caller's pp_lock ** (two
 * pointer types must not alias). */
typedef struct local_lock {
    pp__named_handle h; /* first member: same address as the handle */
    pp_lock lock;
} local_lock;

static pp__named_cache *g_cache;

static pp_status kind_create(const char *name, const void *arg, void **obj)
{
    (void)arg;
    return pp__plat_mutex_create(name, (pp__plat_mutex **)obj);
}

static pp_status kind_open(const char *name, void **obj)
{
    return pp__plat_mutex_open(name, (pp__plat_mutex **)obj);
}

static void kind_close(void *obj)
{
    pp__plat_mutex_close(obj);
}

static uint64_t kind_id(const void *obj)
{
    return pp__plat_mutex_id(obj);
}

static const pp__named_kind g_kind = {sizeof(local_lock), kind_create,           kind_open,
                                      kind_close,         pp__plat_mutex_unlink, kind_id};

static local_lock *local_of(const pp_lock *lock)
{
    return (local_lock *)((char *)lock - offsetof(local_lock, lock));
}

static pp__plat_mutex *mutex_of(const pp_lock *lock)
{
    return pp__named_obj(&local_of(lock)->h);
}

pp_status pp__lock_cache_init(void)
{
    return pp__named_cache_create(&g_kind, &g_cache);
}

void pp__lock_cache_shutdown(void)
{
    /* Handles opened for task arguments live until here. */
    pp__named_cache_shutdown(g_cache);
    g_cache = NULL;
}

static pp_status local_acquire(pp_lock *lock, int64_t timeout_ms)
{
    return pp__plat_mutex_lock(mutex_of(lock), timeout_ms);
}

static pp_status local_try_acquire(pp_lock *lock)
{
    return pp__plat_mutex_trylock(mutex_of(lock));
}

static pp_status local_release(pp_lock *lock)
{
    return pp__plat_mutex_unlock(mutex_of(lock));
}

static const char *local_name(const pp_lock *lock)
{
    return pp__named_name(&local_of(lock)->h);
}

static void local_destroy(pp_lock *lock)
{
    pp__named_destroy(g_cache, &local_of(lock)->h);
}

static const pp__lock_backend g_local = {"local",       local_acquire, local_try_acquire,
                                         local_release, local_name,    NULL, /* no fencing tokens */
                                         local_destroy, NULL /* travels by name */};

/* A handle from the cache as a pp_lock (NULL stays NULL). Handles the
 * cache hands out again (resolve) are already set up: setting the same
 * backend again is harmless. */
static pp_lock *lock_of(pp__named_handle *h)
{
    local_lock *l = (local_lock *)h;

    if (l == NULL)
        return NULL;
    l->lock.backend = &g_local;
    return &l->lock;
}

pp_status pp__lock_local_create(const char *name, pp_lock **out)
{
    pp__named_handle *h = NULL;
    pp_status st;

    if (out == NULL)
        return PP_EINVAL;
    st = pp__named_create(g_cache, name, NULL, &h);
    *out = lock_of(h);
    return st;
}

pp_status pp__lock_local_open(const char *name, pp_lock **out)
{
    pp__named_handle *h = NULL;
    pp_status st;

    if (out == NULL)
        return PP_EINVAL;
    st = pp__named_open(g_cache, name, &h);
    *out = lock_of(h);
    return st;
}

/* A process-lifetime handle per lock for locks that arrive in task
 * arguments (see pp__named_resolve()). */
pp_status pp__lock_resolve(const char *name, uint64_t id, pp_lock **out)
{
    pp__named_handle *h = NULL;
    pp_status st;

    if (out == NULL)
        return PP_EINVAL;
    st = pp__named_resolve(g_cache, name, id, &h);
    *out = lock_of(h);
    return st;
}

int pp__lock_held(const pp_lock *lock)
{
    if (lock == NULL || lock->backend != &g_local)
        return 0;
    return pp__plat_mutex_held(mutex_of(lock));
}

uint64_t pp__lock_id(const pp_lock *lock)
{
    if (lock == NULL || lock->backend != &g_local)
        return 0;
    return pp__named_id(&local_of(lock)->h);
}
