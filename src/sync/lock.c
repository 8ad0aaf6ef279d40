/*
 * lock.c — public named robust lock on top of pp__plat_mutex.
 *
 * A process holds at most one platform mutex per name (the ports rely on
 * it for per-thread ownership checks, and a Windows mutex opened twice by
 * one thread would otherwise count recursively). Handles are light
 * references to a shared, reference-counted entry of the per-process
 * cache in named_cache.c, which shm.c uses the same way.
 */
#include "procpool/lock.h"
#include "platform.h"
#include "core/core.h"
#include "sync/named_cache.h"
#include "sync/sync.h"

/* The cache allocates and frees handles as pp__named_handle; public
 * functions convert through a local, never by writing through a cast of
 * the caller's pp_lock ** (two pointer types must not alias). */
struct pp_lock {
    pp__named_handle h; /* first member: same address as the handle */
};

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

static const pp__named_kind g_kind = {sizeof(struct pp_lock), kind_create, kind_open, kind_close,
                                      pp__plat_mutex_unlink};

static pp__plat_mutex *mutex_of(const pp_lock *lock)
{
    return pp__named_obj(&lock->h);
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

pp_status pp_lock_create(const char *name, pp_lock **out)
{
    pp__named_handle *h = NULL;
    pp_status st;

    if (out == NULL)
        return PP_EINVAL;
    st = pp__named_create(g_cache, name, NULL, &h);
    *out = (pp_lock *)h;
    return st;
}

pp_status pp_lock_open(const char *name, pp_lock **out)
{
    pp__named_handle *h = NULL;
    pp_status st;

    if (out == NULL)
        return PP_EINVAL;
    st = pp__named_open(g_cache, name, &h);
    *out = (pp_lock *)h;
    return st;
}

pp_status pp_lock_acquire(pp_lock *lock, int64_t timeout_ms)
{
    if (lock == NULL || timeout_ms < PP_INFINITE)
        return PP_EINVAL;
    return pp__plat_mutex_lock(mutex_of(lock), timeout_ms);
}

pp_status pp_lock_try_acquire(pp_lock *lock)
{
    if (lock == NULL)
        return PP_EINVAL;
    return pp__plat_mutex_trylock(mutex_of(lock));
}

pp_status pp_lock_release(pp_lock *lock)
{
    if (lock == NULL)
        return PP_EINVAL;
    return pp__plat_mutex_unlock(mutex_of(lock));
}

const char *pp_lock_name(const pp_lock *lock)
{
    return lock ? pp__named_name(&lock->h) : NULL;
}

void pp_lock_destroy(pp_lock *lock)
{
    pp__named_destroy(g_cache, lock ? &lock->h : NULL);
}

/* A process-lifetime handle per name for locks that arrive in task
 * arguments (see pp__named_resolve()). */
pp_status pp__lock_resolve(const char *name, pp_lock **out)
{
    pp__named_handle *h = NULL;
    pp_status st;

    if (out == NULL)
        return PP_EINVAL;
    st = pp__named_resolve(g_cache, name, &h);
    *out = (pp_lock *)h;
    return st;
}
