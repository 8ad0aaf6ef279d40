/*
 * lock_async_starmap — the tutorial "share a lock with pool workers" in C:
 * ten tasks, one lock passed as a task argument, starmap_async, then wait.
 * The task itself is in tutorial.h. Python builds [(i, lock) for i in
 * range(10)]; here the ids are the map's items and what every task shares
 * (max_ms, lock) is given once (PP_EXTRA_ARGS, in pp_submit_options), so
 * task i runs with (i, max_ms, lock) as with starmap.
 *
 * How procpool differs from Python:
 *  - Python raises "RuntimeError: Lock objects should only be shared
 *    between processes through inheritance" when a multiprocessing.Lock is
 *    a task argument — and with starmap_async nobody sees it unless get()
 *    is called: the program prints nothing but "All done.". Here a lock is
 *    a valid argument on every start method (it travels by name; each
 *    worker attaches once).
 *  - An eleventh task fails on purpose and nobody checks its result (we
 *    only wait()). procpool does not swallow that: when the result is
 *    released unobserved the failure is reported on stderr (log hook).
 *
 * usage: lock_async_starmap [max-sleep-ms]   (default 1000, as the tutorial)
 */
#include "tutorial.h"

int main(int argc, char **argv)
{
    static const char prog[] = "lock_async_starmap";
    pp_values *ids = NULL;
    pp_result *result = NULL;
    pp_lock *lock = NULL;
    pp_pool *pool = NULL;
    pp_status st;
    int rc = 0;

    st = pp_init(&argc, &argv); /* in a spawned worker this never returns */
    if (st != PP_OK)
        return tutorial_fail(prog, "pp_init", st);
    st = pp_lock_create(NULL, &lock);
    if (st == PP_OK) /* task i runs with (i, max_ms, lock); task -1 fails */
        st = pp_values_of(&ids, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, -1);
    if (st == PP_OK)
        st = pp_pool_create(&pool, NULL);
    if (st == PP_OK)
        st = pp_map_async(
            pool, tutorial_task, ids,
            &(pp_submit_options){PP_EXTRA_ARGS(argc > 1 ? atoll(argv[1]) : 1000, lock)}, &result);
    if (st == PP_OK)
        st = pp_result_wait(result, PP_INFINITE); /* as the tutorial: wait, no get() */
    if (st != PP_OK)
        rc = tutorial_fail(prog, "map_async", st);
    pp_result_release(result); /* the failed task was never looked at: reported */
    pp_pool_destroy(pool);
    pp_values_destroy(ids);
    pp_lock_destroy(lock);
    printf("All done.\n");
    return rc;
}
