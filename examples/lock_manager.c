/*
 * lock_manager — the tutorial "share a lock with pool workers" with a
 * Manager, in C: a manager process hosts the lock, ten tasks get it as a
 * task argument (given once for all, PP_EXTRA_ARGS) in a pool of four,
 * then wait. The
 * task is the one of the other lock_* examples (tutorial.h): it does not
 * know that its lock lives in another process.
 *
 * How procpool differs from Python:
 *  - Python's manager.Lock() is a proxy that any worker can use; so is
 *    this one. It travels as a locator (address, server instance, id),
 *    and the worker authenticates with a key it inherited from this
 *    program (like Python's authkey), never in the task's arguments.
 *  - A worker killed while holding the lock does not leave it locked
 *    forever (Python's manager keeps it held): the manager releases it,
 *    and the next acquirer gets PP_EOWNERDEAD. Every acquire gets a
 *    fencing token (pp_lock_fencing_token()).
 *  - If the manager dies, lock calls fail with PP_ECONNLOST within a few
 *    seconds instead of hanging.
 *
 * usage: lock_manager [max-sleep-ms]   (default 1000, as the tutorial)
 */
#include "tutorial.h"

int main(int argc, char **argv)
{
    static const char prog[] = "lock_manager";
    pp_pool_options opts = {0};
    pp_values *ids = NULL;
    pp_result *result = NULL;
    pp_manager *manager = NULL;
    pp_lock *lock = NULL;
    pp_pool *pool = NULL;
    pp_status st;
    int rc = 0;

    st = pp_init(&argc, &argv); /* in a spawned worker or the manager this never returns */
    if (st != PP_OK)
        return tutorial_fail(prog, "pp_init", st);
    st = pp_manager_start(&manager, NULL); /* with Manager() as manager: */
    if (st == PP_OK)
        st = pp_manager_lock(manager, &lock); /* lock = manager.Lock() */
    if (st == PP_OK)                          /* task i runs with (i, max_ms, lock) */
        st = pp_values_of(&ids, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9);
    opts.processes = 4;
    if (st == PP_OK)
        st = pp_pool_create(&pool, &opts); /* with Pool(4) as pool: */
    if (st == PP_OK)
        st = pp_map_async(
            pool, tutorial_task, ids,
            &(pp_submit_options){PP_EXTRA_ARGS(argc > 1 ? atoll(argv[1]) : 1000, lock)}, &result);
    if (st == PP_OK)
        st = pp_result_get(result, PP_INFINITE, NULL); /* wait, and see any failure */
    if (st != PP_OK)
        rc = tutorial_fail(prog, "manager lock map_async", st);
    pp_result_release(result);
    pp_pool_destroy(pool);
    pp_values_destroy(ids);
    pp_lock_destroy(lock);
    pp_manager_destroy(manager);
    printf("All done.\n");
    return rc;
}
