/*
 * named_cache.h — the per-process cache behind every named shared object
 * (locks in lock.c, shared memory blocks in shm.c).
 *
 * Semantics shared by all kinds, so that a lock and a shm block behave
 * alike when they are created, opened, passed to workers and destroyed:
 *  - one OS object per name per process: opening a name this process has
 *    open already returns another light handle to the same object (the
 *    lock port relies on it for per-thread ownership; a shm block keeps
 *    one address per process) if the name still names it (checked by a
 *    brief fresh attach, which is closed again unused);
 *  - the creating handle owns the name: destroying it removes the name at
 *    once, even while other handles (here or elsewhere) still use the
 *    object, which lives on until its last handle in this process closes;
 *  - pp__named_resolve() gives objects that arrive by name in task
 *    arguments a process-lifetime handle: one attach per name and process;
 *  - an object is its name AND its identity (a random id chosen at
 *    creation): a name destroyed and created again is another object, and
 *    an object that arrives by name and id never resolves to the handle of
 *    an earlier object of that name (held since, or inherited by fork).
 *
 * Not installed. Every function is thread-safe.
 */
#ifndef PROCPOOL_SYNC_NAMED_CACHE_H
#define PROCPOOL_SYNC_NAMED_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "procpool/error.h"

/* What differs between kinds: the platform calls. */
typedef struct pp__named_kind {
    /* Size of the public handle (struct pp_lock, struct pp_shm); it must
     * start with a pp__named_handle. */
    size_t handle_size;
    /* Create exclusively (PP_EEXIST if taken); arg is the kind's creation
     * parameter (the size of a shm block), passed through. */
    pp_status (*create)(const char *name, const void *arg, void **obj);
    pp_status (*open)(const char *name, void **obj);
    void (*close)(void *obj);
    pp_status (*unlink)(const char *name);
    /* The object's identity (pp__plat_mutex_id, pp__plat_shm_id): non-zero,
     * the same in every process, another one for an object created later
     * under the same name. */
    uint64_t (*id)(const void *obj);
} pp__named_kind;

typedef struct pp__named_entry pp__named_entry;

/* First member of every public handle of a cached kind. */
typedef struct pp__named_handle {
    pp__named_entry *entry;
    int creator; /* this handle created the name and removes it */
} pp__named_handle;

typedef struct pp__named_cache pp__named_cache;

/* Create the cache of one kind in the library's global pool (pp_init). */
pp_status pp__named_cache_create(const pp__named_kind *kind, pp__named_cache **out);

/* pp_shutdown: close the handles pp__named_resolve() handed out and free
 * the cache. Entries still referenced by handles the user leaked stay
 * allocated; the tables go with the global pool. */
void pp__named_cache_shutdown(pp__named_cache *c);

/*
 * Create a new object. name NULL: a fresh unpredictable name. Same
 * validation and errors as pp_lock_create(): PP_EINVAL (NULL out, bad
 * name), PP_EEXIST, PP_ENOTINIT, and whatever kind->create returns.
 */
pp_status pp__named_create(pp__named_cache *c, const char *name, const void *arg,
                           pp__named_handle **out);

/* Open by name (a new handle to the cached object, or a fresh attach). */
pp_status pp__named_open(pp__named_cache *c, const char *name, pp__named_handle **out);

/* Close a handle (NULL ok); the creator's handle also removes the name.
 * c may be NULL after pp_shutdown(): the name is still removed. */
void pp__named_destroy(pp__named_cache *c, pp__named_handle *h);

/* Process-lifetime handle for the object called name whose identity is
 * id (see the file comment); never closed by the caller. A handle this
 * process holds for an earlier object of that name is not used (it stays
 * valid for whoever has it). PP_ENOENT if the name is gone or now names
 * another object (destroyed and re-created since id was read); else the
 * errors of pp__named_open(). */
pp_status pp__named_resolve(pp__named_cache *c, const char *name, uint64_t id,
                            pp__named_handle **out);

/* The name (valid while the handle lives), the identity and the platform
 * object. */
const char *pp__named_name(const pp__named_handle *h);
uint64_t pp__named_id(const pp__named_handle *h);
void *pp__named_obj(const pp__named_handle *h);

/* The caches of each kind (lock.c, shm.c), started and stopped by
 * pp__sync_init() / pp__sync_shutdown() (sync.c). */
pp_status pp__lock_cache_init(void);
void pp__lock_cache_shutdown(void);
pp_status pp__shm_cache_init(void);
void pp__shm_cache_shutdown(void);

#endif /* PROCPOOL_SYNC_NAMED_CACHE_H */
