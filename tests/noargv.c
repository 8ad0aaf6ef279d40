/*
 * noargv.c — a program that calls pp_init(NULL, NULL): it cannot re-run
 * itself, so a spawn or forkserver pool is refused with PP_ENOTINIT (as
 * pool.h documents: initialised without what spawning needs), while a fork
 * pool (POSIX) works. Prints "N passed, N failed" like the suites.
 */
#include <stdio.h>

#include "procpool/procpool.h"

static int sq(pp_task *t)
{
    int64_t x = 0;

    if (pp_values_unpack(pp_task_args(t), "l", &x) != PP_OK)
        return pp_task_fail(t, 2, "one integer");
    return pp_values_add_int(pp_task_result(t), x * x);
}
PP_TASK_REGISTER(sq)

static int passed, failed;

static void expect(int ok, const char *what, pp_status st)
{
    if (ok) {
        passed++;
        return;
    }
    failed++;
    printf("FAIL noargv/%s: %s\n", what, pp_err_name(st));
}

static void try_method(pp_start_method m, const char *what)
{
    pp_pool_options o = {0};
    pp_pool *p = NULL;
    pp_status st;

    o.processes = 1;
    o.start_method = m;
    st = pp_pool_create(&p, &o);
    expect(st == PP_ENOTINIT && p == NULL, what, st);
}

#ifndef _WIN32
/* A fork pool needs no arguments: it works. */
static void fork_pool_works(void)
{
    pp_pool_options o = {0};
    pp_values *a = NULL, *r = NULL;
    pp_pool *p = NULL;
    int64_t x = 0;
    pp_status st;

    o.processes = 1;
    o.start_method = PP_START_FORK;
    st = pp_pool_create(&p, &o);
    expect(st == PP_OK, "fork_pool", st);
    if (st != PP_OK)
        return;
    pp_values_pack(&a, "l", (int64_t)7);
    st = pp_apply(p, sq, a, &r, NULL);
    expect(st == PP_OK && pp_values_get_int(r, 0, &x) == PP_OK && x == 49, "fork_apply", st);
    pp_values_destroy(r);
    pp_values_destroy(a);
    pp_pool_destroy(p);
}
#endif

int main(void)
{
    pp_status st;

    st = pp_init(NULL, NULL);
    expect(st == PP_OK, "init", st);
    try_method(PP_START_SPAWN, "spawn_refused");
#ifndef _WIN32
    try_method(PP_START_FORKSERVER, "forkserver_refused");
    fork_pool_works();
#endif
    pp_shutdown();
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
