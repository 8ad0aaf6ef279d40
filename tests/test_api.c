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

/* issue 10, item 3: pp_values_pack(&v, "l", i) with a plain int was
 * undefined behaviour. In C11 the macro passes each argument's type. */
static void t_pack_checks_types(void)
{
    pp_values *v = (pp_values *)&v;
    int i = 7;
    int64_t l = 7;
    double d = 0;
    const char *s = NULL;
    size_t n = 3;
    unsigned char raw[3] = {1, 2, 3};

    PP_ASSERT_STATUS(pp_values_pack(&v, "l", i), PP_ETYPE);
    CU_ASSERT_PTR_NULL(v);
    PP_ASSERT_STATUS(pp_values_pack(&v, "d", i), PP_ETYPE);
    PP_ASSERT_STATUS(pp_values_pack(&v, "i", l), PP_ETYPE);
    PP_ASSERT_STATUS(pp_values_pack(&v, "s", i), PP_ETYPE);
    PP_ASSERT_STATUS(pp_values_pack(&v, "b", raw, i), PP_ETYPE); /* length: size_t */
    PP_ASSERT_STATUS(pp_values_pack(&v, "ll", l), PP_EINVAL);    /* one missing */
    PP_ASSERT_STATUS(pp_values_pack(&v, "l", l, l), PP_EINVAL);  /* one too many */
    PP_ASSERT_STATUS(pp_values_pack(&v, "s", s), PP_EINVAL);     /* NULL string, as before */
    PP_ASSERT_STATUS(pp_values_pack(&v, ""), PP_OK);
    CU_ASSERT_EQUAL(pp_values_count(v), 0);
    pp_values_destroy(v);

    PP_ASSERT_STATUS_FATAL(pp_values_pack(&v, "ildsb", i, l, 0.5f, "x", raw, n), PP_OK);
    CU_ASSERT_EQUAL(pp_values_count(v), 5);
    /* unpack: an int * for 'l' would have been written 8 bytes */
    i = 42;
    PP_ASSERT_STATUS(pp_values_unpack(v, "il", &i, &i), PP_ETYPE);
    CU_ASSERT_EQUAL(i, 42);
    PP_ASSERT_STATUS(pp_values_unpack(v, "ild", &i, &l), PP_EINVAL);
    PP_ASSERT_STATUS(pp_values_unpack(v, "ild", &i, &l, &d), PP_OK);
    CU_ASSERT(i == 7 && l == 7 && d == 0.5);
    pp_values_destroy(v);
}

/* pp_values_of(): a tuple from typed values, checked by the compiler (a
 * struct or NULL does not compile: see tests/meson.build). */
static void t_values_of(void)
{
    static const unsigned char raw[2] = {9, 8};
    pp_values *v = (pp_values *)&v;
    unsigned long long big = (unsigned long long)INT64_MAX + 1;
    const char *s = NULL;
    const void *p = NULL;
    pp_lock *lock = NULL, *got = NULL;
    int64_t a = 0, b = 0, c = 0;
    double d = 0;
    size_t n = 0;
    char name[PP_NAME_MAX + 1];

    pp_test_unique_name(name, sizeof name);
    PP_ASSERT_STATUS_FATAL(pp_lock_create(name, &lock), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_values_of(&v, 1, (int64_t)-2, (size_t)3, 0.25, "str", lock,
                                        pp_value_bytes(raw, sizeof raw)),
                           PP_OK);
    CU_ASSERT_EQUAL(pp_values_count(v), 7);
    PP_ASSERT_STATUS(pp_values_unpack(v, "llldskb", &a, &b, &c, &d, &s, &got, &p, &n), PP_OK);
    CU_ASSERT(a == 1 && b == -2 && c == 3 && d == 0.25 && strcmp(s, "str") == 0);
    CU_ASSERT(got == lock && n == 2 && memcmp(p, raw, 2) == 0);
    pp_values_destroy(v);

    v = (pp_values *)&v;
    PP_ASSERT_STATUS(pp_values_of(&v, 1, big), PP_ERANGE);
    CU_ASSERT_PTR_NULL(v);
    PP_ASSERT_STATUS(pp_values_of(&v, s = NULL), PP_EINVAL);
    PP_ASSERT_STATUS(pp_values_from(&v, NULL, 0), PP_OK);
    CU_ASSERT_EQUAL(pp_values_count(v), 0);
    pp_values_destroy(v);
    PP_ASSERT_STATUS(pp_values_from(&v, NULL, 1), PP_EINVAL);
    PP_ASSERT_STATUS(pp_values_from(NULL, NULL, 0), PP_EINVAL);
    pp_lock_destroy(lock);
}

/* args (x): fails with code 22 when x is 2 or 5, else returns x. */
static int api_fail_some(pp_task *t)
{
    int64_t x = 0;
    pp_status st = pp_values_unpack(pp_task_args(t), "l", &x);

    if (st != PP_OK)
        return pp_task_fail(t, st, "api_fail_some: %s", pp_err_name(st));
    if (x == 2 || x == 5)
        return pp_task_fail(t, 22, "item %lld refused", (long long)x);
    return pp_values_add_int(pp_task_result(t), x) == PP_OK ? 0 : -1;
}
PP_TASK_REGISTER(api_fail_some)

/* issue 10, item 4: map and starmap give the first failure's detail and
 * index through the options, as pp_apply() does through its out-parameter. */
static void t_map_error_detail(void)
{
    pp_values *items = NULL, *argv[6] = {NULL};
    pp_submit_options so;
    pp_result *r = NULL;
    pp_pool *p = NULL;
    size_t index = 99;
    pp_error err;
    int64_t i;

    PP_ASSERT_STATUS_FATAL(pp_pool_create(&p, NULL), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_values_of(&items, 0, 1, 2, 3, 4, 5), PP_OK);
    memset(&so, 0, sizeof so);
    memset(&err, 0, sizeof err);
    so.error = &err;
    so.error_index = &index;
    so.chunksize = 2;
    PP_ASSERT_STATUS(pp_map(p, api_fail_some, items, &so, &r), PP_ETASK);
    PP_ASSERT_STATUS(err.status, PP_ETASK);
    CU_ASSERT_EQUAL(err.code, 22);
    CU_ASSERT_STRING_EQUAL(err.message, "item 2 refused");
    CU_ASSERT_EQUAL(index, 2);
    pp_result_release(r);

    for (i = 0; i < 6; i++)
        PP_ASSERT_STATUS_FATAL(pp_values_of(&argv[i], 5 - i), PP_OK);
    index = 99;
    memset(&err, 0, sizeof err);
    PP_ASSERT_STATUS(pp_starmap(p, api_fail_some, argv, 6, &so, &r), PP_ETASK);
    CU_ASSERT(err.code == 22 && index == 0); /* 5 is the first item */
    pp_result_release(r);

    /* success: untouched */
    index = 99;
    err.code = 1234;
    PP_ASSERT_STATUS(pp_starmap(p, api_fail_some, argv + 4, 2, &so, &r), PP_OK); /* 1, 0 */
    CU_ASSERT(err.code == 1234 && index == 99);
    pp_result_release(r);

    /* the async forms return before anything failed: refused */
    PP_ASSERT_STATUS(pp_map_async(p, api_fail_some, items, &so, &r), PP_EINVAL);
    CU_ASSERT_PTR_NULL(r);
    PP_ASSERT_STATUS(pp_apply_async(p, api_fail_some, items, &so, &r), PP_EINVAL);

    /* the call's own failure */
    PP_ASSERT_STATUS(pp_pool_close(p), PP_OK);
    PP_ASSERT_STATUS(pp_map(p, api_fail_some, items, &so, &r), PP_ECLOSED);
    PP_ASSERT_STATUS(err.status, PP_ECLOSED);
    CU_ASSERT(err.code == 0 && err.message[0] != '\0');
    CU_ASSERT_EQUAL(index, SIZE_MAX);
    pp_result_release(r);

    PP_ASSERT_STATUS(pp_pool_join(p, WAIT_MS), PP_OK);
    pp_pool_destroy(p);
    pp_values_destroy(items);
    for (i = 0; i < 6; i++)
        pp_values_destroy(argv[i]);
}

/* Every sync map form fills opts->error (index SIZE_MAX) for its own bad
 * arguments too, not only for a failed item or a closed pool: a caller
 * that reads only the options gets the reason either way. */
static void t_sync_forms_report_bad_arguments(void)
{
    pp_values *items = NULL, *argv[2] = {NULL, NULL};
    unsigned char in[8] = {0}, out[8];
    pp_submit_options so;
    pp_result *r = NULL;
    pp_pool *p = NULL;
    size_t index;
    pp_error err;
    int form;

    PP_ASSERT_STATUS_FATAL(pp_pool_create(&p, NULL), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_values_of(&items, 0, 1), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_values_of(&argv[0], 1), PP_OK);
    memset(&so, 0, sizeof so);
    so.error = &err;
    so.error_index = &index;
    for (form = 0; form < 6; form++) {
        pp_status st = PP_OK;

        memset(&err, 0, sizeof err);
        err.code = 1234;
        index = 7;
        switch (form) {
        case 0: /* no result out-parameter */
            st = pp_map(p, api_fail_some, items, &so, NULL);
            break;
        case 1: /* a NULL tuple among the argument tuples */
            st = pp_starmap(p, api_fail_some, argv, 2, &so, &r);
            break;
        case 2: /* no item function */
            st = pp_map_stream(p, api_fail_some, 2, NULL, NULL, &so, &r);
            break;
        case 3: /* in NULL with records */
            st = pp_map_array(p, api_fail_some, NULL, sizeof in, 1, out, sizeof out, NULL, &so);
            break;
        case 4: /* output records larger than any result can be */
            st = pp_map_array(p, api_fail_some, in, sizeof in, 0, out,
                              (size_t)PP_VALUE_MAX_BYTES + 1, NULL, &so);
            break;
        default: /* extra values with records */
            so.extra_args = items;
            st = pp_map_array(p, api_fail_some, in, sizeof in, 1, out, sizeof out, NULL, &so);
            so.extra_args = NULL;
            break;
        }
        PP_ASSERT_MSG(st == PP_EINVAL, "form %d: %s", form, pp_err_name(st));
        PP_ASSERT_MSG(err.status == PP_EINVAL && err.code == 0 && err.message[0] != '\0',
                      "form %d: error %s code %d '%s'", form, pp_err_name(err.status), err.code,
                      err.message);
        PP_ASSERT_MSG(index == SIZE_MAX, "form %d: index %lu", form, (unsigned long)index);
    }
    PP_ASSERT_STATUS(pp_pool_close(p), PP_OK);
    PP_ASSERT_STATUS(pp_pool_join(p, WAIT_MS), PP_OK);
    pp_pool_destroy(p);
    pp_values_destroy(items);
    pp_values_destroy(argv[0]);
}

/* The arguments as one number: count * 1000 + the sum of the ints. */
static int api_shape(pp_task *t)
{
    const pp_values *a = pp_task_args(t);
    int64_t sum = 0, x;
    size_t i;

    for (i = 0; i < pp_values_count(a); i++) {
        if (pp_values_get_int(a, i, &x) == PP_OK)
            sum += x;
    }
    return pp_values_add_int(pp_task_result(t), (int64_t)pp_values_count(a) * 1000 + sum) == PP_OK
               ? 0
               : -1;
}
PP_TASK_REGISTER(api_shape)

/* issue 10, item 8: what every item shares is given once
 * (pp_submit_options.extra_args), not packed into every tuple by hand. */
static void t_extra_args(void)
{
    pp_values *items = NULL, *extra = NULL, *res = NULL, *argv[2] = {NULL};
    const pp_values *got;
    pp_submit_options so;
    pp_result *r = NULL;
    pp_pool *p = NULL;
    int64_t x = 0;
    size_t i;

    PP_ASSERT_STATUS_FATAL(pp_pool_create(&p, NULL), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_values_of(&items, 1, 2, 3), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_values_of(&extra, 10, "shared"), PP_OK);
    memset(&so, 0, sizeof so);
    so.extra_args = extra;
    PP_ASSERT_STATUS(pp_map(p, api_shape, items, &so, &r), PP_OK); /* (x, 10, "shared") */
    for (i = 0; i < 3; i++) {
        PP_ASSERT_STATUS(pp_result_item(r, i, &got, NULL), PP_OK);
        PP_ASSERT_STATUS(pp_values_get_int(got, 0, &x), PP_OK);
        CU_ASSERT_EQUAL(x, 3000 + 10 + (int64_t)i + 1);
    }
    pp_result_release(r);

    PP_ASSERT_STATUS_FATAL(pp_values_of(&argv[0], 1, 2), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_values_create(&argv[1]), PP_OK); /* () */
    PP_ASSERT_STATUS(pp_starmap(p, api_shape, argv, 2, &so, &r), PP_OK);
    PP_ASSERT_STATUS(pp_result_item(r, 0, &got, NULL), PP_OK);
    PP_ASSERT_STATUS(pp_values_get_int(got, 0, &x), PP_OK);
    CU_ASSERT_EQUAL(x, 4000 + 13);
    PP_ASSERT_STATUS(pp_result_item(r, 1, &got, NULL), PP_OK);
    PP_ASSERT_STATUS(pp_values_get_int(got, 0, &x), PP_OK);
    CU_ASSERT_EQUAL(x, 2000 + 10);
    pp_result_release(r);

    PP_ASSERT_STATUS(pp_apply_async(p, api_shape, NULL, &so, &r), PP_OK);
    PP_ASSERT_STATUS(pp_result_get(r, WAIT_MS, &got), PP_OK);
    PP_ASSERT_STATUS(pp_values_get_int(got, 0, &x), PP_OK);
    CU_ASSERT_EQUAL(x, 2000 + 10);
    pp_result_release(r);

    /* the same given in place, no tuple to build and free */
    PP_ASSERT_STATUS(
        pp_map(p, api_shape, items, &(pp_submit_options){PP_EXTRA_ARGS(20, 0.5, "s")}, &r), PP_OK);
    PP_ASSERT_STATUS(pp_result_item(r, 2, &got, NULL), PP_OK);
    PP_ASSERT_STATUS(pp_values_get_int(got, 0, &x), PP_OK);
    CU_ASSERT_EQUAL(x, 4000 + 20 + 3);
    pp_result_release(r);
    PP_ASSERT_STATUS(pp_map(p, api_shape, items,
                            &(pp_submit_options){.extra_args = extra, PP_EXTRA_ARGS(1)}, &r),
                     PP_EINVAL);
    CU_ASSERT_PTR_NULL(r);
    PP_ASSERT_STATUS(pp_map(p, api_shape, items,
                            &(pp_submit_options){PP_EXTRA_ARGS((unsigned long long)-1)}, &r),
                     PP_ERANGE);
    /* the caller's tuples are untouched */
    CU_ASSERT(pp_values_count(items) == 3 && pp_values_count(argv[0]) == 2);

    PP_ASSERT_STATUS(pp_pool_close(p), PP_OK);
    PP_ASSERT_STATUS(pp_pool_join(p, WAIT_MS), PP_OK);
    pp_pool_destroy(p);
    pp_values_destroy(res);
    pp_values_destroy(items);
    pp_values_destroy(extra);
    pp_values_destroy(argv[0]);
    pp_values_destroy(argv[1]);
}

/* What pp_pool_create() refuses, it says why in the log (one ERROR per
 * call naming the option), and options that only mean something with a
 * broker are refused without one instead of being ignored. */
typedef struct opt_log {
    int errors;
    char last[256];
} opt_log;

static void opt_log_hook(pp_log_level level, const char *msg, void *ud)
{
    opt_log *l = ud;

    if (level == PP_LOG_ERROR) {
        l->errors++;
        snprintf(l->last, sizeof l->last, "%s", msg);
    }
}

static void t_pool_options_refused_say_why(void)
{
    static const struct {
        const char *word; /* the log message names it */
        int what;
    } bad[] = {{"processes", 0},        {"processes", 1},        {"maxtasksperchild", 2},
               {"chunksize", 3},        {"start_timeout_ms", 4}, {"idle_timeout_ms", 5},
               {"broker_lease_ms", 6},  {"broker_expire_ms", 7}, {"broker_lease_ms", 8},
               {"broker_expire_ms", 9}, {"start_method", 10}};
    pp_pool_options o;
    pp_pool *p;
    opt_log log;
    size_t k;

    for (k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        memset(&o, 0, sizeof o);
        memset(&log, 0, sizeof log);
        switch (bad[k].what) {
        case 0:
            o.processes = -1;
            break;
        case 1:
            o.processes = PP_POOL_MAX_PROCESSES + 1;
            break;
        case 2:
            o.maxtasksperchild = -1;
            break;
        case 3:
            o.chunksize = (size_t)PP_MAX_CHUNKSIZE + 1;
            break;
        case 4:
            o.start_timeout_ms = PP_INFINITE - 1;
            break;
        case 5:
            o.idle_timeout_ms = -1;
            break;
        case 6:
            o.broker_lease_ms = -1;
            break;
        case 7:
            o.broker_expire_ms = -1;
            break;
        case 8:
            o.broker_lease_ms = 5000;
            break; /* valid, but no broker */
        case 9:
            o.broker_expire_ms = 5000;
            break; /* valid, but no broker */
        default:
            o.start_method = (pp_start_method)99;
            break;
        }
        p = (pp_pool *)&log; /* set to NULL on failure */
        pp_set_log_hook(opt_log_hook, &log, PP_LOG_WARN);
        PP_ASSERT_MSG(pp_pool_create(&p, &o) == PP_EINVAL, "case %lu (%s) not refused",
                      (unsigned long)k, bad[k].word);
        pp_set_log_hook(NULL, NULL, PP_LOG_WARN);
        CU_ASSERT_PTR_NULL(p);
        if (p != NULL && p != (pp_pool *)&log)
            pp_pool_destroy(p); /* accepted: not to leak its workers */
        PP_ASSERT_MSG(log.errors == 1 && strstr(log.last, bad[k].word) != NULL,
                      "case %lu: %d errors logged, last '%s' (wanted one naming %s)",
                      (unsigned long)k, log.errors, log.last, bad[k].word);
    }
}

/* One test per line. */
/* clang-format off */
static const pp_test_case cases[] = {
    PP_TEST(t_spawned_cmdline),
    PP_TEST(t_pack_checks_types),
    PP_TEST(t_values_of),
    PP_TEST(t_map_error_detail),
    PP_TEST(t_sync_forms_report_bad_arguments),
    PP_TEST(t_extra_args),
    PP_TEST(t_pool_options_refused_say_why),
    PP_TEST_END,
};
/* clang-format on */

PP_TEST_SUITE(api)
{
    pp_test_add_suite("api", cases);
}
