/*
 * test_api.c — what the public headers promise a new user, checked the
 * way a user would meet it (issue 10): the command line a spawned
 * worker's code sees before pp_init(); ...
 */
#include <stdio.h>
#include <string.h>

#include "pp_test.h"
#include "procpool/procpool.h"

#define WAIT_MS (60000 * pp_test_timeout_mult())

/* The worker's command line as its main() saw it before pp_init(): argc,
 * then every argument as a string. */
static int api_cmdline(pp_task *t)
{
    const pp_test_cmdline *c = pp_test_get_cmdline();
    pp_values *r = pp_task_result(t);
    pp_status st = pp_values_add_int(r, c->raw_argc);
    int i;

    for (i = 0; st == PP_OK && c->raw_argv != NULL && i < c->raw_argc; i++)
        st = pp_values_add_str(r, c->raw_argv[i] != NULL ? c->raw_argv[i] : "");
    return st == PP_OK ? 0 : pp_task_fail(t, st, "api_cmdline: %s", pp_err_name(st));
}
PP_TASK_REGISTER(api_cmdline)

/* init.h: in a spawned worker, code before pp_init() sees procpool's
 * marker as argv[1], then the parent's arguments; pp_init() removes it.
 * (Hiding it before pp_init() is not possible: the OS hands main() the
 * command line, and the marker must be somewhere the new process finds
 * without the environment.) */
static void t_spawned_cmdline(void)
{
    const pp_test_cmdline *me = pp_test_get_cmdline();
    pp_values *res = NULL;
    pp_pool_options o;
    pp_pool *p = NULL;
    const char *arg;
    int64_t wargc = 0;
    pp_error err;
    int i;

    memset(&o, 0, sizeof o);
    o.processes = 1;
    o.start_method = PP_START_SPAWN;
    PP_ASSERT_STATUS_FATAL(pp_pool_create(&p, &o), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_apply(p, api_cmdline, NULL, &res, &err), PP_OK);
    PP_ASSERT_STATUS(pp_values_get_int(res, 0, &wargc), PP_OK);
    /* the parent's main() saw no marker, and pp_init() left argv alone */
    CU_ASSERT_EQUAL(me->argc, me->raw_argc);
    CU_ASSERT(me->raw_argc < 2 || strncmp(me->raw_argv[1], "--pp-role=", 10) != 0);
    PP_ASSERT_MSG(wargc == me->argc + 1, "worker argc %lld before pp_init, parent %d",
                  (long long)wargc, me->argc);
    PP_ASSERT_STATUS_FATAL(pp_values_get_str(res, 2, &arg), PP_OK);
    PP_ASSERT_MSG(strncmp(arg, "--pp-role=", 10) == 0, "worker argv[1]: %s", arg);
    for (i = 1; i < me->argc && i + 2 <= wargc; i++) {
        PP_ASSERT_STATUS(pp_values_get_str(res, (size_t)i + 2, &arg), PP_OK);
        PP_ASSERT_MSG(strcmp(arg, me->argv[i]) == 0, "worker argv[%d] %s, parent argv[%d] %s",
                      i + 1, arg, i, me->argv[i]);
    }
    pp_values_destroy(res);
    PP_ASSERT_STATUS(pp_pool_close(p), PP_OK);
    PP_ASSERT_STATUS(pp_pool_join(p, WAIT_MS), PP_OK);
    pp_pool_destroy(p);
}

/* One test per line. */
/* clang-format off */
static const pp_test_case cases[] = {
    PP_TEST(t_spawned_cmdline),
    PP_TEST_END,
};
/* clang-format on */

PP_TEST_SUITE(api)
{
    pp_test_add_suite("api", cases);
}
