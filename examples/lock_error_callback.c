/*
 * lock_error_callback — the tutorial's lock example with callbacks: ten
 * tasks share a lock passed as a task argument; starmap_async (here a map
 * over the ids with the shared (max_ms, lock) as extra arguments, see
 * lock_async_starmap) with a callback and an error callback; an eleventh
 * task fails on purpose.
 * The task itself is in tutorial.h.
 *
 * How procpool differs from Python: in Python the lock argument itself is
 * the error (RuntimeError, delivered only to the error callback, and no
 * task runs). Here the ten tasks run, serialized under the lock, and only
 * the task that really fails reaches the error callback, with its code and
 * message. As in Python, the callbacks run on the pool's result thread and
 * the result is ready only after they have run.
 *
 * usage: lock_error_callback [max-sleep-ms]   (default 1000)
 */
#include "tutorial.h"

static void on_success(pp_result *result, void *userdata)
{
    (void)userdata;
    printf("Callback: all %lu tasks succeeded\n", (unsigned long)pp_result_count(result));
}

static void on_error(pp_result *result, const pp_error *error, void *userdata)
{
    (void)result;
    (void)userdata;
    printf("Error callback: %s, code %d: %s\n", pp_err_name(error->status), error->code,
           error->message);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    static const char prog[] = "lock_error_callback";
    pp_values *ids = NULL;
    pp_result *result = NULL;
    pp_lock *lock = NULL;
    pp_pool *pool = NULL;
    pp_status st;
    int rc = 0;

    st = pp_init(&argc, &argv);
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
            &(pp_submit_options){.callback = on_success,
                                 .error_callback = on_error,
                                 PP_EXTRA_ARGS(argc > 1 ? atoll(argv[1]) : 1000, lock)},
            &result);
    if (st == PP_OK)
        st = pp_result_wait(result, PP_INFINITE);
    if (st != PP_OK)
        rc = tutorial_fail(prog, "map_async", st);
    pp_result_release(result);
    pp_pool_destroy(pool);
    pp_values_destroy(ids);
    pp_lock_destroy(lock);
    printf("All done.\n");
    return rc;
}
