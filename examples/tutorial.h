/*
 * tutorial.h — the task of the tutorial "share a lock with pool workers",
 * used by the lock_* examples: draw a random value in [0, 1), take the
 * lock, sleep value * max_ms milliseconds, print
 * "Task <id> completed with <value>", release.
 *
 * Arguments: (int64 id, int64 max_ms[, lock]): a map over the ids, with
 * (max_ms, lock) given once as every task's extra arguments. The lock may
 * also come from a global set by the caller (tutorial_lock): the task then
 * uses that one.
 * A negative id fails the task, to show where a failure ends up.
 * With PP_EXAMPLE_TRACE=1 in the environment each line also gets the
 * [enter exit] times of its critical section in nanoseconds of the
 * monotonic clock (clock.h: the same for every process), which the
 * examples' test uses to check that no two overlapped.
 */
#ifndef PROCPOOL_EXAMPLES_TUTORIAL_H
#define PROCPOOL_EXAMPLES_TUTORIAL_H

#include <stdio.h>
#include <stdlib.h>

#include "procpool/procpool.h"

/* Set by a program that shares its lock as a global instead of passing it
 * (inherited under fork, or set by a pool initializer). */
static pp_lock *tutorial_lock;

static int tutorial_task(pp_task *t)
{
    const pp_values *args = pp_task_args(t);
    pp_lock *lock = tutorial_lock;
    int64_t enter, leave;
    int64_t id, max_ms;
    double value;
    pp_status st;

    st = pp_values_unpack(args, "ll", &id, &max_ms);
    if (st == PP_OK && pp_values_type(args, 2) == PP_TYPE_LOCK)
        st = pp_values_get_lock(args, 2, &lock);
    if (st != PP_OK)
        return pp_task_fail(t, st, "task expects (id, max_ms[, lock]): %s", pp_strerror(st));
    if (id < 0)
        return pp_task_fail(t, 22, "identifier %lld is invalid", (long long)id);
    if (lock == NULL)
        return pp_task_fail(t, PP_EINVAL, "no lock: none passed and none inherited");
    value = (double)rand() / ((double)RAND_MAX + 1.0); /* workers are seeded apart (task.h) */
    st = pp_lock_acquire(lock, PP_INFINITE);
    if (st != PP_OK && st != PP_EOWNERDEAD)
        return pp_task_fail(t, st, "acquire: %s", pp_strerror(st));
    enter = pp_monotonic_ns();
    pp_sleep_ms((int64_t)(value * (double)max_ms)); /* time.sleep(value) */
    leave = pp_monotonic_ns();
    printf("Task %lld completed with %f", (long long)id, value);
    if (getenv("PP_EXAMPLE_TRACE"))
        printf(" [%lld %lld]", (long long)enter, (long long)leave);
    printf("\n");
    fflush(stdout);
    pp_lock_release(lock);
    return 0;
}
PP_TASK_REGISTER(tutorial_task)

static int tutorial_fail(const char *prog, const char *what, pp_status st)
{
    fprintf(stderr, "%s: %s: %s (%s)\n", prog, what, pp_err_name(st), pp_strerror(st));
    return 1;
}

#endif /* PROCPOOL_EXAMPLES_TUTORIAL_H */
