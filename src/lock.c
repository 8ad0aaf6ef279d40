/*
 * lock.c — public named robust lock on top of pp__plat_mutex.
 *
 * A process holds at most one platform mutex per name (the ports rely on
 * it for per-thread ownership checks, and a Windows mutex opened twice by
 * one thread would otherwise count recursively). Handles are light
 * references to a shared, reference-counted entry of a per-process cache.
 */
#include <stdlib.h>
#include <string.h>

#include <apr_hash.h>
#include <apr_thread_mutex.h>

#include "procpool/lock.h"
#include "platform.h"
#include "codec.h"
#include "pp_internal.h"

typedef struct lock_entry {
    char name[PP__NAME_BUF];
    pp__plat_mutex *mtx;
    unsigned refs;   /* handles pointing here; guarded by g_cache_mutex */
    int cached;      /* still findable by name in g_cache */
} lock_entry;

struct pp_lock {
    lock_entry *entry;
    int creator;     /* this handle created the name and removes it */
};

static apr_thread_mutex_t *g_cache_mutex;
static apr_hash_t *g_cache;
static apr_hash_t *g_resolved; /* see pp__lock_resolve() */

pp_status pp__lock_cache_init(void)
{
    apr_status_t ast;

    ast = apr_thread_mutex_create(&g_cache_mutex, APR_THREAD_MUTEX_DEFAULT, pp__global_pool());
    if (ast != APR_SUCCESS)
        return pp__from_apr(ast);
    g_cache = apr_hash_make(pp__global_pool());
    return g_cache ? PP_OK : PP_ENOMEM;
}

void pp__lock_cache_shutdown(void)
{
    apr_hash_index_t *hi;
    void *val;
    pp_lock *h;

    /* Handles opened for task arguments live until here. Entries still
     * referenced by handles the user leaked stay allocated; only the
     * tables (in the global pool) go away. */
    while (g_resolved != NULL && (hi = apr_hash_first(NULL, g_resolved)) != NULL) {
        apr_hash_this(hi, NULL, NULL, &val);
        h = val;
        apr_hash_set(g_resolved, h->entry->name, APR_HASH_KEY_STRING, NULL);
        pp_lock_destroy(h);
    }
    g_cache = NULL;
    g_resolved = NULL;
    g_cache_mutex = NULL;
}

static void cache_remove(lock_entry *e)
{
    if (e->cached) {
        apr_hash_set(g_cache, e->name, APR_HASH_KEY_STRING, NULL);
        e->cached = 0;
    }
}

static pp_status new_handle(lock_entry *e, int creator, pp_lock **out)
{
    pp_lock *h = malloc(sizeof *h);

    if (h == NULL)
        return PP_ENOMEM;
    h->entry = e;
    h->creator = creator;
    e->refs++;
    *out = h;
    return PP_OK;
}

/* Called with g_cache_mutex held. */
static pp_status entry_make(const char *name, int create, lock_entry **out)
{
    lock_entry *e = calloc(1, sizeof *e);
    pp_status st;

    if (e == NULL)
        return PP_ENOMEM;
    strcpy(e->name, name);
    st = create ? pp__plat_mutex_create(name, &e->mtx) : pp__plat_mutex_open(name, &e->mtx);
    if (st != PP_OK) {
        free(e);
        return st;
    }
    apr_hash_set(g_cache, e->name, APR_HASH_KEY_STRING, e);
    e->cached = 1;
    *out = e;
    return PP_OK;
}

static void entry_unref(lock_entry *e)
{
    if (--e->refs > 0)
        return;
    cache_remove(e);
    pp__plat_mutex_close(e->mtx);
    free(e);
}

static pp_status lock_create_named(const char *name, pp_lock **out)
{
    lock_entry *e;
    pp_status st;

    /* A name this process has open exists, even if the OS would let a
     * second creation through (it would not: O_EXCL / ERROR_ALREADY_EXISTS). */
    if (apr_hash_get(g_cache, name, APR_HASH_KEY_STRING) != NULL)
        return PP_EEXIST;
    st = entry_make(name, 1, &e);
    if (st != PP_OK)
        return st;
    st = new_handle(e, 1, out);
    if (st != PP_OK) {
        cache_remove(e);
        pp__plat_mutex_unlink(name);
        pp__plat_mutex_close(e->mtx);
        free(e);
    }
    return st;
}

pp_status pp_lock_create(const char *name, pp_lock **out)
{
    char gen[PP__NAME_BUF];
    pp_status st;
    int tries;

    if (out == NULL)
        return PP_EINVAL;
    *out = NULL;
    if (name != NULL && pp__name_check(name) != PP_OK)
        return PP_EINVAL;
    st = pp__check_init();
    if (st != PP_OK)
        return st;

    apr_thread_mutex_lock(g_cache_mutex);
    if (name != NULL) {
        st = lock_create_named(name, out);
    } else {
        /* A generated name can only collide with a stale object left by a
         * crashed process with a recycled pid; retry with fresh randomness. */
        st = PP_EEXIST;
        for (tries = 0; tries < 8 && st == PP_EEXIST; tries++) {
            st = pp__name_generate(gen);
            if (st == PP_OK)
                st = lock_create_named(gen, out);
        }
    }
    apr_thread_mutex_unlock(g_cache_mutex);
    return st;
}

pp_status pp_lock_open(const char *name, pp_lock **out)
{
    lock_entry *e;
    pp_status st;

    if (out == NULL)
        return PP_EINVAL;
    *out = NULL;
    if (pp__name_check(name) != PP_OK)
        return PP_EINVAL;
    st = pp__check_init();
    if (st != PP_OK)
        return st;

    apr_thread_mutex_lock(g_cache_mutex);
    e = apr_hash_get(g_cache, name, APR_HASH_KEY_STRING);
    if (e != NULL) {
        st = new_handle(e, 0, out);
    } else {
        st = entry_make(name, 0, &e);
        if (st == PP_OK) {
            st = new_handle(e, 0, out);
            if (st != PP_OK)
                entry_unref(e);
        }
    }
    apr_thread_mutex_unlock(g_cache_mutex);
    return st;
}

pp_status pp_lock_acquire(pp_lock *lock, int64_t timeout_ms)
{
    if (lock == NULL || timeout_ms < PP_INFINITE)
        return PP_EINVAL;
    return pp__plat_mutex_lock(lock->entry->mtx, timeout_ms);
}

pp_status pp_lock_try_acquire(pp_lock *lock)
{
    if (lock == NULL)
        return PP_EINVAL;
    return pp__plat_mutex_trylock(lock->entry->mtx);
}

pp_status pp_lock_release(pp_lock *lock)
{
    if (lock == NULL)
        return PP_EINVAL;
    return pp__plat_mutex_unlock(lock->entry->mtx);
}

const char *pp_lock_name(const pp_lock *lock)
{
    return lock ? lock->entry->name : NULL;
}

void pp_lock_destroy(pp_lock *lock)
{
    lock_entry *e;

    if (lock == NULL)
        return;
    e = lock->entry;
    apr_thread_mutex_lock(g_cache_mutex);
    if (lock->creator) {
        /* The creator owns the name: remove it now, even if other handles
         * (here or in other processes) still use the mutex. */
        cache_remove(e);
        pp__plat_mutex_unlink(e->name);
    }
    entry_unref(e);
    apr_thread_mutex_unlock(g_cache_mutex);
    free(lock);
}

/*
 * Handles for locks that arrive inside task arguments. A worker attaches
 * once per name and keeps the handle for its whole life, so a task that
 * runs ten thousand times does not map and unmap the lock ten thousand
 * times. Under the fork start method the cache above was inherited, so
 * pp_lock_open() reuses the parent's mapping without attaching at all.
 */
pp_status pp__lock_resolve(const char *name, pp_lock **out)
{
    pp_lock *h;
    pp_status st;

    if (out == NULL || pp__name_check(name) != PP_OK)
        return PP_EINVAL;
    st = pp__check_init();
    if (st != PP_OK)
        return st;
    apr_thread_mutex_lock(g_cache_mutex);
    if (g_resolved == NULL)
        g_resolved = apr_hash_make(pp__global_pool());
    h = apr_hash_get(g_resolved, name, APR_HASH_KEY_STRING);
    apr_thread_mutex_unlock(g_cache_mutex);
    if (h != NULL) {
        *out = h;
        return PP_OK;
    }
    st = pp_lock_open(name, &h);
    if (st != PP_OK)
        return st;
    apr_thread_mutex_lock(g_cache_mutex);
    if (apr_hash_get(g_resolved, name, APR_HASH_KEY_STRING) == NULL) {
        apr_hash_set(g_resolved, h->entry->name, APR_HASH_KEY_STRING, h);
        *out = h;
        h = NULL;
    } else {
        *out = apr_hash_get(g_resolved, name, APR_HASH_KEY_STRING);
    }
    apr_thread_mutex_unlock(g_cache_mutex);
    pp_lock_destroy(h); /* lost a race with another thread: keep theirs */
    return PP_OK;
}
