/*
 * state.c — the library's process-wide state: the port and APR started,
 * the global APR pool, and whether pp_init() has run.
 */
#include <apr_general.h>
#include <apr_pools.h>

#include "platform.h"
#include "core/core.h"

static apr_pool_t *g_pool;
static int g_initialized;
static int g_have_argv;

void pp__core_set_have_argv(int on)
{
    g_have_argv = on;
}

int pp__core_have_argv(void)
{
    return g_have_argv;
}

apr_pool_t *pp__global_pool(void)
{
    return g_pool;
}

pp_status pp__check_init(void)
{
    return g_initialized ? PP_OK : PP_ENOTINIT;
}

void pp__core_set_initialized(int on)
{
    g_initialized = on;
}

pp_status pp__core_init(void)
{
    apr_status_t ast;
    pp_status st;

    st = pp__plat_init();
    if (st != PP_OK)
        return st;
    ast = apr_initialize();
    if (ast != APR_SUCCESS)
        return pp__from_apr(ast);
    ast = apr_pool_create(&g_pool, NULL);
    if (ast != APR_SUCCESS) {
        apr_terminate();
        return pp__from_apr(ast);
    }
    return PP_OK;
}

void pp__core_shutdown(void)
{
    apr_pool_destroy(g_pool);
    g_pool = NULL;
    apr_terminate();
    g_initialized = 0;
    g_have_argv = 0;
}
