/*
 * init.c — pp_init(): library start-up and the role dispatch.
 *
 * The same executable plays several roles: the user's program, a spawned
 * pool worker, a fork server (inside the POSIX port). The port finds the
 * role marker on the command line; for a worker we run the worker loop
 * here and exit, so the user's main() never gets past pp_init() in it.
 */
#include <stdlib.h>

#include <apr_general.h>
#include <apr_pools.h>

#include "procpool/init.h"
#include "platform.h"
#include "codec.h"
#include "pp_internal.h"

static apr_pool_t *g_pool;
static int g_initialized;

apr_pool_t *pp__global_pool(void)
{
    return g_pool;
}

pp_status pp__check_init(void)
{
    return g_initialized ? PP_OK : PP_ENOTINIT;
}

static pp_status init_library(void)
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
    pp__mem_init();
    st = pp__lock_cache_init();
    if (st == PP_OK)
        st = pp__shm_cache_init();
    if (st != PP_OK) {
        apr_pool_destroy(g_pool);
        g_pool = NULL;
        apr_terminate();
    }
    return st;
}

pp_status pp_init(int *argc, char ***argv)
{
    pp__plat_chan *chan = NULL;
    int role = PP__ROLE_MAIN;
    int no_args = 0;
    pp_status st;

    if ((argc == NULL) != (argv == NULL))
        return PP_EINVAL;
    if (g_initialized)
        return PP_OK;
    st = init_library();
    if (st != PP_OK)
        return st;
    /* Without argv we cannot re-execute the program: spawn-based pools then
     * fail at creation with PP_ESPAWN rather than guessing arguments. */
    if (argc == NULL || *argc < 1 || *argv == NULL)
        no_args = 1;
    /* Initialised before the role dispatch: a fork server never returns
     * from it, and the workers it forks use the library (lock attach). */
    g_initialized = 1;
    pp__plat_set_worker_entry(pp__worker_main);
    if (!no_args) {
        st = pp__plat_role_detect(argc, argv, &role, &chan);
        if (st != PP_OK)
            return st;
    }
    if (role == PP__ROLE_WORKER)
        pp__plat_exit(pp__worker_main(chan));
    return PP_OK;
}

void pp_shutdown(void)
{
    if (!g_initialized)
        return;
    pp__lock_cache_shutdown();
    pp__shm_cache_shutdown();
    pp__mem_trim();
    apr_pool_destroy(g_pool);
    g_pool = NULL;
    apr_terminate();
    g_initialized = 0;
}
