/*
 * lock_fork_global — the tutorial's lock example with the fork start
 * method and the lock in a global variable, created before the pool: the
 * workers inherit it, tasks use it without it being passed. The task is in
 * tutorial.h (it uses the global tutorial_lock when no lock is passed).
 *
 * How procpool differs from Python: this is the way Python's docs
 * recommend, and it works the same here. What differs is the failure
 * mode: on a platform without fork (Windows) Python's get_context("fork")
 * raises ValueError; here pp_pool_create() returns PP_ENOTSUP and this
 * program says so. With spawn or forkserver a global is not inherited;
 * pass the lock as an argument or through the pool initializer instead
 * (see lock_async_starmap) — the task then fails with a clear error
 * rather than using a second, unrelated lock.
 *
 * usage: lock_fork_global [max-sleep-ms]   (default 1000)
 */
#include "tutorial.h"

int main(int argc, char **argv)
{
    static const char prog[] = "lock_fork_global";
    pp_values *ids = NULL;
    pp_result *result = NULL;
    pp_pool *pool = NULL;
    pp_status st;
    int rc = 0;

    st = pp_init(&argc, &argv);
    if (st != PP_OK)
        return tutorial_fail(prog, "pp_init", st);
    st = pp_lock_create(NULL, &tutorial_lock); /* the global, before the pool */
    if (st == PP_OK) /* task i runs with (i, max_ms) and the global lock */
        st = pp_values_of(&ids, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9);
    if (st == PP_OK)
        st = pp_pool_create(&pool, &(pp_pool_options){.start_method = PP_START_FORK});
    if (st == PP_ENOTSUP) {
        printf("The fork start method is not available on this platform (%s): "
               "pass the lock as a task argument instead.\n",
               pp_err_name(st));
        rc = 2;
    } else {
        if (st == PP_OK)
            st = pp_map_async(pool, tutorial_task, ids,
                              &(pp_submit_options){PP_EXTRA_ARGS(argc > 1 ? atoll(argv[1]) : 1000)},
                              &result);
        if (st == PP_OK)
            st = pp_result_get(result, PP_INFINITE, NULL);
        if (st != PP_OK)
            rc = tutorial_fail(prog, "map_async", st);
    }
    pp_result_release(result);
    pp_pool_destroy(pool);
    pp_values_destroy(ids);
    pp_lock_destroy(tutorial_lock);
    printf("All done.\n");
    return rc;
}
