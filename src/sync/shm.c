/*
 * shm.c — public named shared memory on top of pp__plat_shm.
 *
 * Same cache as locks (named_cache.c): one mapping per name per process,
 * so every handle of a process sees the block at one address, and a
 * worker forked from the parent finds the parent's mapping in the
 * inherited cache instead of mapping the block a second time.
 */
#include "procpool/shm.h"
#include "platform.h"
#include "core/core.h"
#include "sync/named_cache.h"
#include "sync/sync.h"

/* As struct pp_lock (see lock.c). */
struct pp_shm {
    pp__named_handle h; /* first member: same address as the handle */
};

static pp__named_cache *g_cache;

static pp_status kind_create(const char *name, const void *arg, void **obj)
{
    return pp__plat_shm_create(name, *(const size_t *)arg, (pp__plat_shm **)obj);
}

static pp_status kind_open(const char *name, void **obj)
{
    return pp__plat_shm_open(name, (pp__plat_shm **)obj);
}

static void kind_close(void *obj)
{
    pp__plat_shm_close(obj);
}

static uint64_t kind_id(const void *obj)
{
    return pp__plat_shm_id(obj);
}

static const pp__named_kind g_kind = {sizeof(struct pp_shm), kind_create, kind_open, kind_close,
                                      pp__plat_shm_unlink,   kind_id};

static const pp__plat_shm *plat_of(const pp_shm *shm)
{
    return pp__named_obj(&shm->h);
}

pp_status pp__shm_cache_init(void)
{
    return pp__named_cache_create(&g_kind, &g_cache);
}

void pp__shm_cache_shutdown(void)
{
    pp__named_cache_shutdown(g_cache);
    g_cache = NULL;
}

pp_status pp_shm_create(const char *name, size_t size, pp_shm **out)
{
    pp__named_handle *h = NULL;
    pp_status st;

    if (out == NULL)
        return PP_EINVAL;
    *out = NULL;
    /* Checked here, not left to the port: a size-0 request must fail the
     * same way on every platform, before any name is taken. */
    if (size == 0)
        return PP_EINVAL;
    st = pp__named_create(g_cache, name, &size, &h);
    *out = (pp_shm *)h;
    return st;
}

pp_status pp_shm_open(const char *name, pp_shm **out)
{
    pp__named_handle *h = NULL;
    pp_status st;

    if (out == NULL)
        return PP_EINVAL;
    st = pp__named_open(g_cache, name, &h);
    *out = (pp_shm *)h;
    return st;
}

void *pp_shm_ptr(const pp_shm *shm)
{
    return shm ? pp__plat_shm_ptr(plat_of(shm)) : NULL;
}

size_t pp_shm_size(const pp_shm *shm)
{
    return shm ? pp__plat_shm_size(plat_of(shm)) : 0;
}

const char *pp_shm_name(const pp_shm *shm)
{
    return shm ? pp__named_name(&shm->h) : NULL;
}

void pp_shm_destroy(pp_shm *shm)
{
    pp__named_destroy(g_cache, shm ? &shm->h : NULL);
}

/* A process-lifetime handle per block for blocks that arrive in task
 * arguments (see pp__named_resolve()). */
pp_status pp__shm_resolve(const char *name, uint64_t id, pp_shm **out)
{
    pp__named_handle *h = NULL;
    pp_status st;

    if (out == NULL)
        return PP_EINVAL;
    st = pp__named_resolve(g_cache, name, id, &h);
    *out = (pp_shm *)h;
    return st;
}

uint64_t pp__shm_id(const pp_shm *shm)
{
    return shm ? pp__named_id(&shm->h) : 0;
}
