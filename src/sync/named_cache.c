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
#include <apr_tables.h>

#include "platform.h"
#include "core/core.h"
#include "sync/named_cache.h"

struct pp__named_entry {
    char name[PP__NAME_BUF];
    const pp__named_kind *kind; /* outlives the cache: see pp__named_destroy() */
    void *obj;
    uint64_t id;   /* kind->id(obj), read once */
    unsigned refs; /* handles pointing here; guarded by the cache mutex */
    int cached;    /* still findable by name in entries */
};

struct pp__named_cache {
    const pp__named_kind *kind;
    pp__plat_mtx *mu;
    apr_hash_t *entries;  /* name -> pp__named_entry */
    apr_hash_t *resolved; /* name -> pp__named_handle, see pp__named_resolve() */
    /* Resolved handles of objects whose name now names another object:
     * no longer found by name, but tuples decoded earlier (an initializer's
     * arguments kept in a global, say) may still use them. Closed at
     * shutdown. */
    apr_array_header_t *stale;
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
    c->stale = apr_array_make(mp, 4, sizeof(pp__named_handle *));
    st = c->entries != NULL && c->resolved != NULL && c->stale != NULL ? pp__plat_mtx_create(&c->mu)
                                                                       : PP_ENOMEM;
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
    while (c->stale->nelts > 0)
        pp__named_destroy(c, *(pp__named_handle **)apr_array_pop(c->stale));
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

/* Create or open the object, not yet findable by name. */
static pp_status entry_attach(pp__named_cache *c, const char *name, int create, const void *arg,
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
    e->id = c->kind->id(e->obj);
    *out = e;
    return PP_OK;
}

static void cache_add(pp__named_cache *c, pp__named_entry *e)
{
    apr_hash_set(c->entries, e->name, APR_HASH_KEY_STRING, e);
    e->cached = 1;
}

static pp_status entry_make(pp__named_cache *c, const char *name, int create, const void *arg,
                            pp__named_entry **out)
{
    pp_status st = entry_attach(c, name, create, arg, out);

    if (st == PP_OK)
        cache_add(c, *out);
    return st;
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

/*
 * Open by name when this process has an entry for it (mutex held). The
 * name may have been destroyed and created again since the entry was
 * made: by another process, or, for an entry a fork worker inherited, by
 * the parent after the fork. A fresh attach tells: the same identity ->
 * the entry (the fresh object is closed again without being locked or
 * written); another object -> it replaces the entry in the cache; the
 * name gone -> PP_ENOENT, as for any process. If the fresh attach fails
 * otherwise (out of descriptors, say), the entry is used as before.
 */
static pp_status open_current(pp__named_cache *c, pp__named_entry *e, pp__named_handle **out)
{
    pp__named_entry *fresh;
    pp_status st = entry_attach(c, e->name, 0, NULL, &fresh);

    if (st == PP_ENOENT) {
        cache_remove(c, e);
        return st;
    }
    if (st != PP_OK || fresh->id == e->id) {
        if (st == PP_OK)
            entry_free(c, fresh); /* not cached: only closed */
        return new_handle(c, e, 0, out);
    }
    cache_remove(c, e);
    cache_add(c, fresh);
    st = new_handle(c, fresh, 0, out);
    if (st != PP_OK)
        entry_free(c, fresh);
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
        st = open_current(c, e, out);
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
 * A new handle to the object called name whose identity is id (mutex
 * held). The entry this process has for name is used only if it is that
 * object: under fork a worker inherits the parent's entries, and the
 * parent may have destroyed that object and created another one under
 * the same name since. Otherwise the name is opened afresh; if that gives
 * another object, the one the caller wants is gone (PP_ENOENT). Briefly
 * opening a second object for a name this process has open is harmless:
 * it is closed again without being locked or written.
 */
static pp_status open_id(pp__named_cache *c, const char *name, uint64_t id, pp__named_handle **out)
{
    pp__named_entry *e = apr_hash_get(c->entries, name, APR_HASH_KEY_STRING);
    pp__named_entry *fresh;
    pp_status st;

    if (e != NULL && e->id == id)
        return new_handle(c, e, 0, out);
    st = entry_attach(c, name, 0, NULL, &fresh);
    if (st != PP_OK)
        return st;
    if (e != NULL && e->id != fresh->id)
        cache_remove(c, e); /* out of date here: the name names fresh now */
    if (fresh->id != id) {
        entry_free(c, fresh); /* not cached: only closed */
        return PP_ENOENT;     /* destroyed, and the name re-created since */
    }
    cache_add(c, fresh);
    st = new_handle(c, fresh, 0, out);
    if (st != PP_OK)
        entry_free(c, fresh);
    return st;
}

/*
 * Handles for objects that arrive inside task arguments. A worker attaches
 * once per object and keeps the handle for its whole life, so a task that
 * runs ten thousand times does not map and unmap the object ten thousand
 * times. Under the fork start method the entries were inherited, so
 * open_id() reuses the parent's mapping without attaching at all. The
 * identity decides, not the name alone: a resolved handle of an earlier
 * object of that name is set aside (it stays valid for whoever has it).
 */
pp_status pp__named_resolve(pp__named_cache *c, const char *name, uint64_t id,
                            pp__named_handle **out)
{
    pp__named_handle *h, **slot;
    pp_status st;

    if (out == NULL || id == 0 || pp__name_check(name) != PP_OK)
        return PP_EINVAL;
    st = pp__check_init();
    if (st != PP_OK)
        return st;
    pp__plat_mtx_lock(c->mu);
    h = apr_hash_get(c->resolved, name, APR_HASH_KEY_STRING);
    if (h != NULL && h->entry->id != id) {
        slot = apr_array_push(c->stale); /* pool memory: no failure to handle */
        *slot = h;
        apr_hash_set(c->resolved, name, APR_HASH_KEY_STRING, NULL);
        h = NULL;
    }
    st = PP_OK;
    if (h == NULL) {
        st = open_id(c, name, id, &h);
        if (st == PP_OK)
            apr_hash_set(c->resolved, h->entry->name, APR_HASH_KEY_STRING, h);
    }
    pp__plat_mtx_unlock(c->mu);
    if (st == PP_OK)
        *out = h;
    return st;
}

const char *pp__named_name(const pp__named_handle *h)
{
    return h ? h->entry->name : NULL;
}

uint64_t pp__named_id(const pp__named_handle *h)
{
    return h ? h->entry->id : 0;
}

void *pp__named_obj(const pp__named_handle *h)
{
    return h ? h->entry->obj : NULL;
}
