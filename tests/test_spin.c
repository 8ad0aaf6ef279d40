/*
 * test_spin.c — a worker's wait for a sync caller's next apply: the spin
 * it adapts (wire/frame.h, pp__reader_spin_next), the TASK flag that asks
 * for it (PP__FLAG_WAITED), and a worker that is idle, killed, closed or
 * orphaned after a sync apply, while it may be spinning, behaves as at
 * any other time: an idle one stops using the CPU, a killed one fails
 * nothing and is replaced, a closed or orphaned one exits.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef _WIN32
#include <windows.h>
#endif

#include "pp_test.h"
#include "platform.h"
#include "procpool/procpool.h"
#include "wire/frame.h"

#define WAIT_MS (60000 * pp_test_timeout_mult())

/* ------------------------------------------------------------ the rule */

static void t_spin_next_rule(void)
{
    const int64_t max = 50000;
    int64_t s = max;
    int i;

    /* a wait within max: twice it, at least max/8, at most max */
    CU_ASSERT_EQUAL(pp__reader_spin_next(max, max, 10000), 20000);
    CU_ASSERT_EQUAL(pp__reader_spin_next(0, max, 20000), 40000);
    CU_ASSERT_EQUAL(pp__reader_spin_next(max, max, 30000), max);
    CU_ASSERT_EQUAL(pp__reader_spin_next(max, max, max), max);
    CU_ASSERT_EQUAL(pp__reader_spin_next(max, max, 100), max / 8);
    CU_ASSERT_EQUAL(pp__reader_spin_next(0, max, 0), max / 8);
    CU_ASSERT_EQUAL(pp__reader_spin_next(max, max, -5), max / 8); /* a clock step back */
    /* longer waits halve it, down to no spin at all */
    for (i = 0; i < 64; i++)
        s = pp__reader_spin_next(s, max, max + 1);
    CU_ASSERT_EQUAL(s, 0);
    CU_ASSERT_EQUAL(pp__reader_spin_next(40000, max, 10 * max), 20000);
    /* one short wait brings it back */
    CU_ASSERT_EQUAL(pp__reader_spin_next(s, max, 8000), 16000);
}

/* PP__FLAG_WAITED: on TASK frames, with any other TASK flag; nowhere else. */
static void t_waited_flag_frames(void)
{
    uint8_t raw[PP__FRAME_HDR];
    pp__frame_hdr h;
    pp__buf b;
    size_t at;

    pp__buf_init(&b);
    PP_ASSERT_STATUS_FATAL(pp__frame_begin(&b, PP__MSG_TASK, 1, 7, &at), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp__frame_end(&b, at), PP_OK);
    pp__frame_set_flags(&b, at, PP__FLAG_WAITED);
    memcpy(raw, b.data, sizeof raw);
    PP_ASSERT_STATUS(pp__frame_parse_hdr(raw, &h), PP_OK);
    CU_ASSERT_EQUAL(h.flags, PP__FLAG_WAITED);
    raw[9] = PP__FLAG_WAITED | PP__FLAG_SCALARS | PP__FLAG_TIMED | PP__FLAG_INBOX;
    PP_ASSERT_STATUS(pp__frame_parse_hdr(raw, &h), PP_OK);
    raw[9] = PP__FLAG_WAITED;
    raw[8] = PP__MSG_RESULT;
    PP_ASSERT_STATUS(pp__frame_parse_hdr(raw, &h), PP_EPROTO);
    raw[8] = PP__MSG_QUIT;
    PP_ASSERT_STATUS(pp__frame_parse_hdr(raw, &h), PP_EPROTO);
    pp__buf_free(&b);
}

/* ------------------------------------------------------ the worker side */

/* The worker's pid and the CPU time its process has used so far (ns). */
static int sp_cpu(pp_task *t)
{
    int64_t ns = 0;
#ifdef _WIN32
    FILETIME c, e, k, u;
    if (GetProcessTimes(GetCurrentProcess(), &c, &e, &k, &u)) {
        ULARGE_INTEGER kk, uu;
        kk.LowPart = k.dwLowDateTime;
        kk.HighPart = k.dwHighDateTime;
        uu.LowPart = u.dwLowDateTime;
        uu.HighPart = u.dwHighDateTime;
        ns = (int64_t)(kk.QuadPart + uu.QuadPart) * 100;
    }
#else
    struct timespec ts;
    if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) == 0)
        ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
#endif
    if (pp_values_add_int(pp_task_result(t), (int64_t)pp__plat_getpid()) != PP_OK)
        return 1;
    return pp_values_add_int(pp_task_result(t), ns);
}
PP_TASK_REGISTER(sp_cpu)

/* One sync apply of sp_cpu: the worker's pid and CPU time. */
static void cpu_of(pp_pool *p, int64_t *pid, int64_t *ns)
{
    pp_values *r = NULL;

    PP_ASSERT_STATUS_FATAL(pp_apply(p, sp_cpu, NULL, &r, NULL), PP_OK);
    PP_ASSERT_STATUS(pp_values_unpack(r, "ll", pid, ns), PP_OK);
    pp_values_destroy(r);
}

/* After a run of sync applies (the spin at its longest), an idle worker
 * sleeps: over 400 ms without work it uses a few ms of CPU at most, where
 * a spin that did not end would use all 400. */
static void do_idle_sleeps(int m)
{
    pp_pool *p = pp_test_pool_make(m, 1);
    int64_t pid0 = 0, pid1 = 0, c0 = 0, c1 = 0;
    int i;

    for (i = 0; i < 200; i++)
        cpu_of(p, &pid0, &c0);
    pp_test_sleep_ms(400);
    cpu_of(p, &pid1, &c1);
    CU_ASSERT_EQUAL(pid0, pid1);
    PP_ASSERT_MSG(c1 - c0 < 100 * 1000000, "an idle worker used %.1f ms of CPU in 400 ms",
                  (double)(c1 - c0) / 1e6);
    pp_test_pool_finish(p);
}
PP_TEST_PER_METHOD(idle_sleeps)

/* A worker killed right after a sync apply's result, while it may spin
 * for the next one: the next applies get their results from its
 * replacement (five deaths counted, no apply failed). */
static void do_killed_after_apply(int m)
{
    pp_pool *p = pp_test_pool_make(m, 1);
    int64_t pid = 0, pid2 = 0, ns = 0;
    pp_pool_stats st;
    int i;

    for (i = 0; i < 5; i++) {
        int64_t before = pid;
        cpu_of(p, &pid, &ns); /* the apply that arms the spin */
        if (i > 0)
            PP_ASSERT_MSG(pid != before, "apply %d ran in the killed worker %lld", i,
                          (long long)before);
        pp_test_kill_pid(pid);
    }
    cpu_of(p, &pid2, &ns);
    CU_ASSERT(pid2 != pid);
    PP_ASSERT_STATUS(pp_pool_get_stats(p, &st), PP_OK);
    CU_ASSERT_EQUAL(st.worker_deaths, 5);
    pp_test_pool_finish(p);
}
PP_TEST_PER_METHOD(killed_after_apply)

/* close + join right after sync applies: the workers read QUIT in their
 * spin and exit (join returns), their processes are gone. */
static void do_close_after_apply(int m)
{
    pp_pool *p = pp_test_pool_make(m, 2);
    int64_t pids[2] = {0, 0}, ns = 0;
    int i;

    for (i = 0; i < 50; i++)
        cpu_of(p, &pids[i % 2], &ns);
    PP_ASSERT_STATUS(pp_pool_close(p), PP_OK);
    PP_ASSERT_STATUS(pp_pool_join(p, WAIT_MS), PP_OK);
    for (i = 0; i < 2; i++) {
        if (pids[i] > 0)
            PP_ASSERT_MSG(!pp_test_pid_alive(pids[i]), "worker %lld outlived join",
                          (long long)pids[i]);
    }
    pp_pool_destroy(p);
}
PP_TEST_PER_METHOD(close_after_apply)

/* Helper: sync applies in a loop, forever, after saying its worker's pid. */
static int h_spin_parent(int argc, char **argv)
{
    pp_pool_options o;
    pp_pool *p = NULL;
    char line[64];
    int64_t pid = 0, ns = 0;
    pp_values *r = NULL;

    if (argc < 2)
        return PP_TEST_EXIT_USAGE;
    memset(&o, 0, sizeof o);
    o.processes = 1;
    o.start_method = (pp_start_method)atoi(argv[1]);
    if (pp_pool_create(&p, &o) != PP_OK || pp_apply(p, sp_cpu, NULL, &r, NULL) != PP_OK ||
        pp_values_unpack(r, "ll", &pid, &ns) != PP_OK)
        return PP_TEST_EXIT_SETUP;
    pp_values_destroy(r);
    snprintf(line, sizeof line, "%lld", (long long)pid);
    pp_test_say(line);
    for (;;) {
        if (pp_apply(p, sp_cpu, NULL, &r, NULL) != PP_OK)
            return PP_TEST_EXIT_SETUP;
        pp_values_destroy(r);
    }
}

/* The parent killed in the middle of its sync applies (its worker
 * running one or spinning for the next): the worker ends too. */
static void do_parent_killed_applying(int m)
{
    char line[64];
    pp_test_child *c;
    int64_t pid, deadline;

    c = pp_test_spawn_method("spin-parent", m);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_FATAL(pp_test_child_read_line(c, line, sizeof line, WAIT_MS));
    pid = atoll(line);
    CU_ASSERT_FATAL(pid > 0);
    pp_test_sleep_ms(100); /* a few thousand applies */
    pp_test_child_kill(c);
    deadline = pp_test_now_ms() + WAIT_MS;
    while (pp_test_pid_alive(pid) && pp_test_now_ms() < deadline)
        pp_test_sleep_ms(20);
    PP_ASSERT_MSG(!pp_test_pid_alive(pid), "worker %lld outlived its parent", (long long)pid);
    pp_test_child_free(c);
}
PP_TEST_PER_METHOD(parent_killed_applying)

/* One test per line. */
/* clang-format off */
static const pp_test_case cases[] = {
    PP_TEST(t_spin_next_rule),
    PP_TEST(t_waited_flag_frames),
    PP_TEST_METHODS(idle_sleeps, 60),
    PP_TEST_METHODS(killed_after_apply, 60),
    PP_TEST_METHODS(close_after_apply, 60),
    PP_TEST_METHODS(parent_killed_applying, 90),
    PP_TEST_END,
};
/* clang-format on */

static const pp_test_helper helpers[] = {{"spin-parent", h_spin_parent}, {NULL, NULL}};

PP_TEST_SUITE(spin)
{
    pp_test_add_suite("spin", cases);
    pp_test_add_helpers(helpers);
}
