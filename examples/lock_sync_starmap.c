/*
 * lock_sync_starmap — the tutorial's lock example with the synchronous
 * starmap: it returns when every task has finished. The task is in
 * tutorial.h; an eleventh task fails on purpose.
 *
 * How procpool differs from Python: Python's starmap raises the first
 * task's exception in the caller and the other results are lost with it.
 * Here pp_starmap returns the first failure's status once all tasks are
 * done, and every item's own outcome stays readable in the result.
 *
 * usage: lock_sync_starmap [max-sleep-ms]   (default 1000)
 */
#include "tutorial.h"

int main(int argc, char **argv)
{
    static const char prog[] = "lock_sync_starmap";
    pp_values *ids = NULL;
    pp_result *result = NULL;
    pp_lock *lock = NULL;
    pp_pool *pool = NULL;
    size_t failed = 0;
    pp_error err;
    pp_status st;

    st = pp_init(&argc, &argv);
    if (st != PP_OK)
        return tutorial_fail(prog, "pp_init", st);
    st = pp_lock_create(NULL, &lock);
    if (st == PP_OK) /* task i runs with (i, max_ms, lock); task -1 fails */
        st = pp_values_of(&ids, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, -1);
    if (st == PP_OK)
        st = pp_pool_create(&pool, NULL);
    if (st != PP_OK)
        return tutorial_fail(prog, "setup", st);
    st = pp_map(pool, tutorial_task, ids,
                &(pp_submit_options){PP_EXTRA_ARGS(argc > 1 ? atoll(argv[1]) : 1000, lock),
                                     .error = &err, .error_index = &failed},
                &result);
    printf("starmap returned %s\n", pp_err_name(st));
    if (st != PP_OK) /* every item's own outcome: pp_result_item(result, i, ...) */
        printf("Task %lu failed: %s, code %d: %s\n", (unsigned long)failed, pp_err_name(err.status),
               err.code, err.message);
    pp_result_release(result);
    pp_pool_close(pool);
    pp_pool_join(pool, PP_INFINITE);
    pp_pool_destroy(pool);
    pp_values_destroy(ids);
    pp_lock_destroy(lock);
    printf("All done.\n");
    return st == PP_ETASK ? 0 : 1; /* exactly the planted failure */
}
