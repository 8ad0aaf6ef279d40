/*
 * named_cache.c — per-process cache of named shared objects (see
 * named_cache.h for the semantics every kind shares).
 *
 * Handles are light references to a shared, reference-counted entry that
 * holds the one platform object of a name. An entry stays findable by
 * name until its creator destroys the name or its last handle closes,
 * whichever comes first. Under the fork start method workers inherit the
 * whole cache, so opening a name the parent had open reuses the parent's
 * mapping without attaching at all.
 */
#include <stdlib.h>
#include <string.h>

#include <apr_hash.h>

#include "platform.h"
#include "core/core.h"
#include "sync/named_cache.h"

struct pp__named_entry {
    char name[PP__NAME_BUF];
    const pp__named_kind *kind; /* outlives the cache: see pp__named_destroy() */
    void *obj;
    unsigned refs; /* handles pointing here; guarded by the cache mutex */
    int cached;    /* still findable by name in entries */
};

struct pp__named_cache {
    const pp__named_kind *kind;
    pp__plat_mtx *mu;
    apr_hash_t *entries;  /* name -> pp__named_entry */
    apr_hash_t *resolved; /* name -> pp__named_handle, see pp__named_resolve() */
};

/*
 * Fork safety: a fork start method forks a zygote from whatever thread
 * creates the pool, while another thread of the program may hold a
 * cache's mutex (creating or opening a lock, say). The child would then
 * wait forever on its first lock or shm call. Every live cache is listed
 * here, and the child resets their mutexes. (A fork in the middle of a
 * hash table update would still leave that table inconsistent in the
 * child; the update is a few pointer moves, the mutex wait is forever.)
 */
#define MAX_CACHES 8
static pp__named_cache *g_caches[MAX_CACHES];

static void caches_reset_after_fork(void)
{
    int i;

    for (i = 0; i < MAX_CACHES; i++) {
        if (g_caches[i] != NULL)
            pp__plat_mtx_reset_after_fork(g_caches[i]->mu);
    }
}

/* Add or remove c from the list; called from pp_init / pp_shutdown only
 * (single-threaded by contract). */
static pp_status caches_track(pp__named_cache *c, int add)
{
    static int registered;
    int i;

    for (i = 0; i < MAX_CACHES; i++) {
        if (add ? g_caches[i] == NULL : g_caches[i] == c) {
            g_caches[i] = add ? c : NULL;
            break;
        }
    }
    if (add && i == MAX_CACHES)
        return PP_ENOMEM; /* a kind per cache: cannot happen */
    if (add && !registered) {
        registered = 1;
        pp__plat_atfork_child(caches_reset_after_fork);
    }
    return PP_OK;
}

pp_status pp__named_cache_create(const pp__named_kind *kind, pp__named_cache **out)
{
    apr_pool_t *mp = pp__global_pool();
    pp__named_cache *c;
    pp_status st;

    /* The cache itself is malloc'ed, not pool memory: a leak checker
     * that does not scan APR's (possibly mmap'ed) pool memory still sees
     * the mutex as reachable from g_caches. */
    c = calloc(1, sizeof *c);
    if (c == NULL)
        return PP_ENOMEM;
    c->kind = kind;
    c->entries = apr_hash_make(mp);
    c->resolved = apr_hash_make(mp);
    st = c->entries != NULL && c->resolved != NULL ? pp__plat_mtx_create(&c->mu) : PP_ENOMEM;
    if (st == PP_OK) {
        st = caches_track(c, 1);
        if (st != PP_OK)
            pp__plat_mtx_destroy(c->mu);
    }
    if (st != PP_OK) {
        free(c);
        return st;
    }
    *out = c;
    return PP_OK;
}

void pp__named_cache_shutdown(pp__named_cache *c)
{
    apr_hash_index_t *hi;
    void *val;
    pp__named_handle *h;

    if (c == NULL)
        return;
    while ((hi = apr_hash_first(NULL, c->resolved)) != NULL) {
        apr_hash_this(hi, NULL, NULL, &val);
        h = val;
        apr_hash_set(c->resolved, h->entry->name, APR_HASH_KEY_STRING, NULL);
        pp__named_destroy(c, h);
    }
    caches_track(c, 0);
    pp__plat_mtx_destroy(c->mu);
    free(c);
}

/* ------------------------------------------------ entries (mutex held) */

static void cache_remove(pp__named_cache *c, pp__named_entry *e)
{
    if (e->cached) {
        apr_hash_set(c->entries, e->name, APR_HASH_KEY_STRING, NULL);
        e->cached = 0;
    }
}

/* Undo entry_make(). */
static void entry_free(pp__named_cache *c, pp__named_entry *e)
{
    cache_remove(c, e);
    e->kind->close(e->obj);
    free(e);
}

static pp_status new_handle(pp__named_cache *c, pp__named_entry *e, int creator,
                            pp__named_handle **out)
{
    pp__named_handle *h = malloc(c->kind->handle_size);

    if (h == NULL)
        return PP_ENOMEM;
    memset(h, 0, c->kind->handle_size);
    h->entry = e;
    h->creator = creator;
    e->refs++;
    *out = h;
    return PP_OK;
}

static pp_status entry_make(pp__named_cache *c, const char *name, int create, const void *arg,
                            pp__named_entry **out)
{
    pp__named_entry *e = calloc(1, sizeof *e);
    pp_status st;

    if (e == NULL)
        return PP_ENOMEM;
    strcpy(e->name, name); /* checked: at most PP_NAME_MAX */
    e->kind = c->kind;
    st = create ? c->kind->create(name, arg, &e->obj) : c->kind->open(name, &e->obj);
    if (st != PP_OK) {
        free(e);
        return st;
    }
    apr_hash_set(c->entries, e->name, APR_HASH_KEY_STRING, e);
    e->cached = 1;
    *out = e;
    return PP_OK;
}

static void entry_unref(pp__named_cache *c, pp__named_entry *e)
{
    if (--e->refs > 0)
        return;
    entry_free(c, e);
}

static pp_status create_named(pp__named_cache *c, const char *name, const void *arg,
                              pp__named_handle **out)
{
    pp__named_entry *e;
    pp_status st;

    /* A name this process has open exists, even if the OS would let a
     * second creation through (it would not: O_EXCL / ERROR_ALREADY_EXISTS). */
    if (apr_hash_get(c->entries, name, APR_HASH_KEY_STRING) != NULL)
        return PP_EEXIST;
    st = entry_make(c, name, 1, arg, &e);
    if (st != PP_OK)
        return st;
    st = new_handle(c, e, 1, out);
    if (st != PP_OK) {
        c->kind->unlink(name);
        entry_free(c, e);
    }
    return st;
}

/* ------------------------------------------------------------- handles */

pp_status pp__named_create(pp__named_cache *c, const char *name, const void *arg,
                           pp__named_handle **out)
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

    pp__plat_mtx_lock(c->mu);
    if (name != NULL) {
        st = create_named(c, name, arg, out);
    } else {
        /* A generated name can only collide with a stale object left by a
         * crashed process with a recycled pid; retry with fresh randomness. */
        st = PP_EEXIST;
        for (tries = 0; tries < 8 && st == PP_EEXIST; tries++) {
            st = pp__name_generate(gen);
            if (st == PP_OK)
                st = create_named(c, gen, arg, out);
        }
    }
    pp__plat_mtx_unlock(c->mu);
    return st;
}

pp_status pp__named_open(pp__named_cache *c, const char *name, pp__named_handle **out)
{
    pp__named_entry *e;
    pp_status st;

    if (out == NULL)
        return PP_EINVAL;
    *out = NULL;
    if (pp__name_check(name) != PP_OK)
        return PP_EINVAL;
    st = pp__check_init();
    if (st != PP_OK)
        return st;

    pp__plat_mtx_lock(c->mu);
    e = apr_hash_get(c->entries, name, APR_HASH_KEY_STRING);
    if (e != NULL) {
        st = new_handle(c, e, 0, out);
    } else {
        st = entry_make(c, name, 0, NULL, &e);
        if (st == PP_OK) {
            st = new_handle(c, e, 0, out);
            if (st != PP_OK)
                entry_free(c, e); /* no handle took a reference */
        }
    }
    pp__plat_mtx_unlock(c->mu);
    return st;
}

void pp__named_destroy(pp__named_cache *c, pp__named_handle *h)
{
    pp__named_entry *e;

    if (h == NULL)
        return;
    e = h->entry;
    if (c == NULL) {
        /* After pp_shutdown() the tables are gone and the entry is left
         * allocated, but a creator still owes the system its name. */
        if (h->creator)
            e->kind->unlink(e->name);
        free(h);
        return;
    }
    pp__plat_mtx_lock(c->mu);
    if (h->creator) {
        /* The creator owns the name: remove it now, even if other handles
         * (here or in other processes) still use the object. */
        cache_remove(c, e);
        c->kind->unlink(e->name);
    }
    entry_unref(c, e);
    pp__plat_mtx_unlock(c->mu);
    free(h);
}

/*
 * Handles for objects that arrive inside task arguments. A worker attaches
 * once per name and keeps the handle for its whole life, so a task that
 * runs ten thousand times does not map and unmap the object ten thousand
 * times. Under the fork start method the entries were inherited, so
 * pp__named_open() reuses the parent's mapping without attaching at all.
 */
pp_status pp__named_resolve(pp__named_cache *c, const char *name, pp__named_handle **out)
{
    pp__named_handle *h;
    pp_status st;

    if (out == NULL || pp__name_check(name) != PP_OK)
        return PP_EINVAL;
    st = pp__check_init();
    if (st != PP_OK)
        return st;
    pp__plat_mtx_lock(c->mu);
    h = apr_hash_get(c->resolved, name, APR_HASH_KEY_STRING);
    pp__plat_mtx_unlock(c->mu);
    if (h != NULL) {
        *out = h;
        return PP_OK;
    }
    st = pp__named_open(c, name, &h);
    if (st != PP_OK)
        return st;
    pp__plat_mtx_lock(c->mu);
    if (apr_hash_get(c->resolved, name, APR_HASH_KEY_STRING) == NULL) {
        apr_hash_set(c->resolved, h->entry->name, APR_HASH_KEY_STRING, h);
        *out = h;
        h = NULL;
    } else {
        *out = apr_hash_get(c->resolved, name, APR_HASH_KEY_STRING);
    }
    pp__plat_mtx_unlock(c->mu);
    pp__named_destroy(c, h); /* lost a race with another thread: keep theirs */
    return PP_OK;
}

const char *pp__named_name(const pp__named_handle *h)
{
    return h ? h->entry->name : NULL;
}

void *pp__named_obj(const pp__named_handle *h)
{
    return h ? h->entry->obj : NULL;
}
