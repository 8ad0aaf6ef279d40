/*
 * redis_none.c — redis.h when the library is built without hiredis
 * (meson option redis disabled or hiredis not found): every call says so.
 */
#include <stddef.h>

#include "procpool/redis.h"
#include "core/core.h"
#include "redis/redis_internal.h"

pp_status pp__redis_travel_init(void)
{
    return PP_OK;
}

void pp__redis_travel_shutdown(void)
{
}

pp_status pp_redis_connect(const char *address, const pp_redis_options *opts, pp_redis **out)
{
    (void)address;
    (void)opts;
    if (out != NULL)
        *out = NULL;
    return PP_ENOTSUP;
}

pp_status pp_redis_lock_create(pp_redis *r, const char *name, pp_lock **out)
{
    (void)r;
    (void)name;
    if (out != NULL)
        *out = NULL;
    return PP_ENOTSUP;
}

pp_status pp_redis_lock_open(pp_redis *r, const char *name, pp_lock **out)
{
    (void)r;
    (void)name;
    if (out != NULL)
        *out = NULL;
    return PP_ENOTSUP;
}

void pp_redis_destroy(pp_redis *r)
{
    (void)r;
}

int pp__redis_remote_main(const char *url)
{
    pp__log(PP_LOG_ERROR,
            "remote worker for %s: this procpool was built without hiredis "
            "(meson option redis): no distributed pool",
            url);
    return 3;
}
