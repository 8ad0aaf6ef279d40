/*
 * sync.c — start and stop the sync layer (sync/sync.h).
 */
#include "sync/keyring.h"
#include "sync/named_cache.h"
#include "sync/sobj.h"
#include "sync/sync.h"

pp_status pp__sync_init(void)
{
    pp_status st = pp__lock_cache_init();

    if (st == PP_OK)
        st = pp__shm_cache_init();
    if (st == PP_OK)
        st = pp__sobj_cache_init();
    if (st == PP_OK)
        st = pp__keyring_init();
    if (st != PP_OK) {
        pp__sobj_cache_shutdown();
        pp__shm_cache_shutdown();
        pp__lock_cache_shutdown();
    }
    return st;
}

void pp__sync_shutdown(void)
{
    pp__lock_cache_shutdown();
    pp__shm_cache_shutdown();
    pp__sobj_cache_shutdown();
    pp__keyring_shutdown();
}
