/*
 * test_bigmap_edge.c — what outside callers do to pp_map_stream and
 * pp_map_array that the bigmap suite does not: callbacks that call back
 * into the pool, odd sizes and arguments, kills during a streaming map.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "procpool/procpool.h"
#include "platform.h"
#include "pool/wctl.h"
#include "pp_test.h"

#define WAIT_MS (60000 * pp_test_timeout_mult())

/* (int x) -> x + 1 */
static int be_inc(pp_task *t)
{
    int64_t x = 0;

    if (pp_values_get_int(pp_task_args(t), 0, &x) != PP_OK)
        return pp_task_fail(t, 2, "int expected");
    return pp_values_add_int(pp_task_result(t), x + 1);
}
PP_TASK_REGISTER(be_inc)

/* (bytes rec) -> the same bytes */
static int be_echo(pp_task *t)
{
    const void *p = NULL;
    size_t n = 0;

    if (pp_values_get_bytes(pp_task_args(t), 0, &p, &n) != PP_OK)
        return pp_task_fail(t, 2, "bytes expected");
    return pp_values_add_bytes(pp_task_result(t), p, n);
}
PP_TASK_REGISTER(be_echo)

/* (bytes) -> sum of its bytes; bytes starting with 0xEE end the worker */
static int be_sum_or_die(pp_task *t)
{
    const unsigned char *p;
    const void *v = NULL;
    size_t n = 0, k;
    int64_t sum = 0;

    if (pp_values_get_bytes(pp_task_args(t), 0, &v, &n) != PP_OK || n == 0)
        return pp_task_fail(t, 2, "bytes expected");
    p = v;
    if (p[0] == 0xEE)
        pp__plat_exit(9);
    for (k = 0; k < n; k++)
        sum += p[k];
    return pp_values_add_int(pp_task_result(t), sum);
}
PP_TASK_REGISTER(be_sum_or_die)

typedef struct reenter {
    pp_pool *pool;
    size_t at;          /* item whose making calls into the pool */
    pp_status join_st;  /* what pp_pool_join returned there */
    pp_status join2_st; /* ... with PP_INFINITE */
    int called;
} reenter;

static pp_status make_reenter(void *ud, size_t i, pp_values *args)
{
    reenter *r = ud;

    if (i == r->at) {
        r->called = 1;
        pp_pool_close(r->pool);
        /* this very call is still feeding the pool: joining here can never
         * end; it must say so instead of waiting */
        r->join_st = pp_pool_join(r->pool, 3000);
        if (r->join_st == PP_EDEADLK)
            r->join2_st = pp_pool_join(r->pool, PP_INFINITE);
        /* and a destroy from here must not free the pool under the call */
        pp_pool_destroy(r->pool);
    }
    return pp_values_add_int(args, (int64_t)i);
}

/* An item function that closes and joins (and destroys) the pool it is
 * feeding: the join gets PP_EDEADLK at once (it waited for the call that
 * runs it: PP_ETIMEDOUT, or a hang with PP_INFINITE), the destroy is
 * ignored, the map completes, and the pool can be joined afterwards. */
static void t_stream_item_joins_pool(void)
{
    const size_t n = 20000;
    pp_pool *p = pp_test_pool_make(PP_START_DEFAULT, 2);
    pp_submit_options o;
    pp_result *r = NULL;
    reenter re;
    int64_t *out = calloc(n, sizeof *out);
    size_t i;

    CU_ASSERT_FATAL(out != NULL);
    memset(&re, 0, sizeof re);
    re.pool = p;
    re.at = 9000; /* a later batch (not the first) */
    memset(&o, 0, sizeof o);
    o.chunksize = 1;
    PP_ASSERT_STATUS(pp_map_stream(p, be_inc, n, make_reenter, &re, &o, &r), PP_OK);
    CU_ASSERT(re.called);
    PP_ASSERT_STATUS(re.join_st, PP_EDEADLK);
    PP_ASSERT_STATUS(re.join2_st, PP_EDEADLK);
    PP_ASSERT_STATUS(pp_result_ints(r, WAIT_MS, 0, n, out, NULL), PP_OK);
    for (i = 0; i < n; i++)
        CU_ASSERT_EQUAL(out[i], (int64_t)i + 1);
    pp_result_release(r);
    PP_ASSERT_STATUS(pp_pool_join(p, WAIT_MS), PP_OK);
    pp_pool_destroy(p);
    free(out);
}

typedef struct rss_probe {
    int64_t at0, at10;
} rss_probe;

static pp_status make_small(void *ud, size_t i, pp_values *args)
{
    rss_probe *r = ud;

    if (i == 0)
        r->at0 = (int64_t)pp__plat_self_rss();
    if (i == 10)
        r->at10 = (int64_t)pp__plat_self_rss();
    return pp_values_add_int(args, (int64_t)i);
}

/* A stream of small items with an explicit chunk size: each chunk was
 * given a whole message's worth of populated memory (64 MiB) before its
 * first item, so 10 items of 8 bytes grew the parent by 640 MiB and took
 * about 15 ms each. Now the parent's resident memory grows by far less
 * than one such block. */
static void t_stream_small_chunks_memory(void)
{
    const size_t n = 12;
    pp_pool *p = pp_test_pool_make(PP_START_DEFAULT, 2);
    pp_submit_options o;
    pp_result *r = NULL;
    rss_probe probe = {0, 0};
    int64_t out[12];
    size_t i;

    memset(&o, 0, sizeof o);
    o.chunksize = 1;
    PP_ASSERT_STATUS(pp_map_stream(p, be_inc, n, make_small, &probe, &o, &r), PP_OK);
    PP_ASSERT_STATUS(pp_result_ints(r, WAIT_MS, 0, n, out, NULL), PP_OK);
    for (i = 0; i < n; i++)
        CU_ASSERT_EQUAL(out[i], (int64_t)i + 1);
    pp_result_release(r);
    if (probe.at0 > 0 && probe.at10 > 0) { /* where the platform can tell */
        printf("rss growth over 10 items: %lld KiB\n", (long long)(probe.at10 - probe.at0) / 1024);
        CU_ASSERT(probe.at10 - probe.at0 < 32 * 1024 * 1024);
    }
    PP_ASSERT_STATUS(pp_pool_close(p), PP_OK);
    PP_ASSERT_STATUS(pp_pool_join(p, WAIT_MS), PP_OK);
    pp_pool_destroy(p);
}

typedef struct storm {
    size_t size, every;
    pp_pool *pool;
    size_t terminate_at, close_at;
    unsigned char *buf;
} storm;

static int storm_dies(const storm *s, size_t i)
{
    return s->every != 0 && i % s->every == 3;
}

static int64_t storm_sum(size_t size, size_t i)
{
    return (int64_t)size * (int64_t)(i % 200);
}

static pp_status make_storm(void *ud, size_t i, pp_values *args)
{
    storm *s = ud;

    if (i == s->terminate_at)
        pp_pool_terminate(s->pool);
    if (s->close_at != 0 && i == s->close_at)
        (void)pp_pool_close(s->pool);
    memset(s->buf, (int)(i % 200), s->size);
    if (storm_dies(s, i))
        s->buf[0] = 0xEE;
    return pp_values_add_bytes(args, s->buf, s->size);
}

/* A streaming map of inbox-sized items (16 KiB) whose workers die again
 * and again (every 10th item ends its worker), in chunks of 1 and 3, on
 * every start method: every other item is right, the dying ones are
 * PP_EWORKERDIED. */
static void do_stream_kill_storm(int method)
{
    const size_t n = 300;
    pp_pool *p = pp_test_pool_make(method, 2);
    pp_status *status = calloc(n, sizeof *status);
    int64_t *out = calloc(n, sizeof *out);
    pp_submit_options o;
    pp_result *r = NULL;
    size_t i, bad = 0;
    storm s;
    int pass;

    CU_ASSERT_FATAL(status != NULL && out != NULL);
    for (pass = 0; pass < 2; pass++) {
        memset(&s, 0, sizeof s);
        s.size = 16 * 1024;
        s.every = 10;
        s.terminate_at = SIZE_MAX;
        s.buf = malloc(s.size);
        CU_ASSERT_FATAL(s.buf != NULL);
        memset(&o, 0, sizeof o);
        o.chunksize = pass == 0 ? 1 : 3;
        PP_ASSERT_STATUS(pp_map_stream(p, be_sum_or_die, n, make_storm, &s, &o, &r),
                         PP_EWORKERDIED);
        pp_result_ints(r, WAIT_MS, 0, n, out, status);
        for (i = 0; i < n; i++) {
            if (storm_dies(&s, i) ? status[i] != PP_EWORKERDIED
                                  : status[i] != PP_OK || out[i] != storm_sum(s.size, i))
                bad++;
        }
        CU_ASSERT_EQUAL(bad, 0);
        pp_result_release(r);
        free(s.buf);
    }
    PP_ASSERT_STATUS(pp_pool_close(p), PP_OK);
    PP_ASSERT_STATUS(pp_pool_join(p, WAIT_MS), PP_OK);
    pp_pool_destroy(p);
    free(status);
    free(out);
}
PP_TEST_PER_METHOD(stream_kill_storm)

/* The pool terminated by the item function in the middle of a streaming
 * map of inbox-sized items: the call returns (no hang), the items from
 * there on fail with PP_ETERMINATED, the earlier ones are each OK or
 * PP_ETERMINATED, and the pool joins. */
static void stream_terminated_at(size_t at)
{
    const size_t n = 4000;
    pp_pool *p = pp_test_pool_make(PP_START_DEFAULT, 2);
    pp_status *status = calloc(n, sizeof *status);
    int64_t *out = calloc(n, sizeof *out);
    pp_submit_options o;
    pp_result *r = NULL;
    size_t i, bad = 0;
    pp_status st;
    storm s;

    CU_ASSERT_FATAL(status != NULL && out != NULL);
    memset(&s, 0, sizeof s);
    s.size = 16 * 1024;
    s.pool = p;
    s.terminate_at = at;
    s.buf = malloc(s.size);
    CU_ASSERT_FATAL(s.buf != NULL);
    memset(&o, 0, sizeof o);
    o.chunksize = 1;
    st = pp_map_stream(p, be_sum_or_die, n, make_storm, &s, &o, &r);
    PP_ASSERT_STATUS(st, PP_ETERMINATED);
    CU_ASSERT_FATAL(r != NULL);
    pp_result_ints(r, WAIT_MS, 0, n, out, status);
    for (i = 0; i < n; i++) {
        if (i >= at ? status[i] != PP_ETERMINATED
                    : status[i] != PP_ETERMINATED &&
                          (status[i] != PP_OK || out[i] != storm_sum(s.size, i)))
            bad++;
    }
    CU_ASSERT_EQUAL(bad, 0);
    pp_result_release(r);
    PP_ASSERT_STATUS(pp_pool_join(p, WAIT_MS), PP_OK);
    pp_pool_destroy(p);
    free(s.buf);
    free(status);
    free(out);
}

static void t_stream_terminated_midway(void)
{
    stream_terminated_at(3000);
}

/* The same while the first batch is still being made (nothing has been
 * handed to the pool yet): the call still returns PP_ETERMINATED with a
 * result whose items say so, not PP_ECLOSED without one. */
static void t_stream_terminated_in_first_batch(void)
{
    stream_terminated_at(5);
}

/* Counts the items made after the one that terminated the pool. */
typedef struct stopper {
    pp_pool *pool;
    size_t terminate_at, made_after;
} stopper;

static pp_status make_then_terminate(void *ud, size_t i, pp_values *args)
{
    stopper *s = ud;

    if (i > s->terminate_at)
        s->made_after++;
    if (i == s->terminate_at)
        PP_ASSERT_STATUS(pp_pool_terminate(s->pool), PP_OK);
    return pp_values_add_int(args, (int64_t)i);
}

/* Once the pool is terminated, pp_map_stream calls the item function no
 * more: a batch holds up to 8192 small items, and making the rest of it
 * (an item function that reads a file, say) kept pp_map_stream, and a
 * pp_pool_destroy / pp_pool_join waiting for it, busy for as long as
 * those items took. */
static void t_stream_stops_making_items_once_terminated(void)
{
    const size_t n = 20000;
    pp_pool *p = pp_test_pool_make(PP_START_DEFAULT, 2);
    pp_submit_options o;
    pp_status *status = calloc(n, sizeof *status);
    int64_t *out = calloc(n, sizeof *out);
    pp_result *r = NULL;
    stopper s;
    size_t i, bad = 0;

    CU_ASSERT_FATAL(status != NULL && out != NULL);
    memset(&s, 0, sizeof s);
    s.pool = p;
    s.terminate_at = 10;
    memset(&o, 0, sizeof o);
    o.chunksize = 1;
    PP_ASSERT_STATUS(pp_map_stream(p, be_inc, n, make_then_terminate, &s, &o, &r), PP_ETERMINATED);
    CU_ASSERT_EQUAL(s.made_after, 0);
    CU_ASSERT_FATAL(r != NULL);
    pp_result_ints(r, WAIT_MS, 0, n, out, status);
    for (i = s.terminate_at + 1; i < n; i++)
        bad += status[i] != PP_ETERMINATED;
    CU_ASSERT_EQUAL(bad, 0);
    pp_result_release(r);
    PP_ASSERT_STATUS(pp_pool_join(p, WAIT_MS), PP_OK);
    pp_pool_destroy(p);
    free(status);
    free(out);
}

/* A close (not a terminate) while the first batch is being made: the
 * call was made while the pool was open, so it runs to the end like one
 * closed during a later batch (it used to fail with PP_ECLOSED and no
 * result). */
static void t_stream_closed_in_first_batch(void)
{
    const size_t n = 400;
    pp_pool *p = pp_test_pool_make(PP_START_DEFAULT, 2);
    pp_status *status = calloc(n, sizeof *status);
    int64_t *out = calloc(n, sizeof *out);
    pp_result *r = NULL;
    size_t i, bad = 0;
    storm s;

    CU_ASSERT_FATAL(status != NULL && out != NULL);
    memset(&s, 0, sizeof s);
    s.size = 64;
    s.pool = p;
    s.terminate_at = SIZE_MAX;
    s.close_at = 3;
    s.buf = malloc(s.size);
    CU_ASSERT_FATAL(s.buf != NULL);
    PP_ASSERT_STATUS(pp_map_stream(p, be_sum_or_die, n, make_storm, &s, NULL, &r), PP_OK);
    CU_ASSERT_FATAL(r != NULL);
    PP_ASSERT_STATUS(pp_result_ints(r, WAIT_MS, 0, n, out, status), PP_OK);
    for (i = 0; i < n; i++)
        bad += status[i] != PP_OK || out[i] != storm_sum(s.size, i);
    CU_ASSERT_EQUAL(bad, 0);
    pp_result_release(r);
    /* closed: new calls are refused, before any item is made */
    s.close_at = 0;
    PP_ASSERT_STATUS(pp_map_stream(p, be_sum_or_die, n, make_storm, &s, NULL, &r), PP_ECLOSED);
    CU_ASSERT_PTR_NULL(r);
    PP_ASSERT_STATUS(pp_pool_join(p, WAIT_MS), PP_OK);
    pp_pool_destroy(p);
    free(s.buf);
    free(status);
    free(out);
}

typedef struct failing {
    size_t at;
    pp_status st;
    size_t calls;
} failing;

static pp_status make_failing(void *ud, size_t i, pp_values *args)
{
    failing *f = ud;

    f->calls++;
    if (i == f->at)
        return f->st;
    return pp_values_add_int(args, (int64_t)i);
}

/* An item function that fails at item 0 or at the last item, with
 * PP_ENOMEM or another status: the call returns that status with a result
 * (pp_map_stream's out is "set even when items failed"), the earlier items
 * are right, the failed one and those after it carry the status, and the
 * error detail names the item. PP_ENOMEM at item 0 used to fail the whole
 * call with no result at all (as if the pool could not encode anything),
 * unlike every other status. */
static void t_stream_item_fails_first_or_last(void)
{
    const size_t n = 50;
    const pp_status sts[2] = {PP_ENOMEM, PP_ESYS};
    pp_pool *p = pp_test_pool_make(PP_START_DEFAULT, 2);
    pp_status status[50];
    int64_t out[50];
    pp_submit_options o;
    pp_result *r = NULL;
    size_t i, index, bad;
    pp_error e;
    failing f;
    int k, w;

    for (k = 0; k < 2; k++) {
        for (w = 0; w < 2; w++) {
            f.at = w == 0 ? 0 : n - 1;
            f.st = sts[k];
            f.calls = 0;
            memset(&o, 0, sizeof o);
            o.error = &e;
            o.error_index = &index;
            index = 12345;
            r = NULL;
            PP_ASSERT_STATUS(pp_map_stream(p, be_inc, n, make_failing, &f, &o, &r), sts[k]);
            CU_ASSERT_FATAL(r != NULL);
            CU_ASSERT_EQUAL(index, f.at);
            CU_ASSERT_EQUAL(e.status, sts[k]);
            CU_ASSERT_EQUAL(f.calls, f.at + 1);
            pp_result_ints(r, WAIT_MS, 0, n, out, status);
            for (i = 0, bad = 0; i < n; i++) {
                if (i < f.at ? status[i] != PP_OK || out[i] != (int64_t)i + 1 : status[i] != sts[k])
                    bad++;
            }
            CU_ASSERT_EQUAL(bad, 0);
            pp_result_release(r);
        }
    }
    /* n = 0: nothing is made, an empty result */
    f.at = SIZE_MAX;
    f.calls = 0;
    PP_ASSERT_STATUS(pp_map_stream(p, be_inc, 0, make_failing, &f, NULL, &r), PP_OK);
    CU_ASSERT_FATAL(r != NULL);
    CU_ASSERT_EQUAL(f.calls, 0);
    pp_result_release(r);
    PP_ASSERT_STATUS(pp_pool_close(p), PP_OK);
    PP_ASSERT_STATUS(pp_pool_join(p, WAIT_MS), PP_OK);
    pp_pool_destroy(p);
}

typedef struct mapper {
    pp_pool *pool;
    storm s;
    pp_status st;
    pp_result *r;
    volatile int started;
} mapper;

static pp_status make_slow(void *ud, size_t i, pp_values *args)
{
    mapper *m = ud;

    m->started = 1;
    if (i % 64 == 0)
        pp_sleep_ms(1);
    return make_storm(&m->s, i, args);
}

static void run_stream(void *arg)
{
    mapper *m = arg;
    pp_submit_options o;

    memset(&o, 0, sizeof o);
    o.chunksize = 1;
    m->st = pp_map_stream(m->pool, be_sum_or_die, 200000, make_slow, m, &o, &m->r);
}

/* pp_pool_destroy (and, in the second pass, pp_pool_terminate) from
 * another thread while a streaming map of inbox-sized items is feeding the
 * pool: the map returns PP_ETERMINATED with a result, nothing hangs or
 * touches freed memory (ASan), nothing is left behind (leak check). */
static void t_stream_destroyed_from_other_thread(void)
{
    pp__plat_thread *t = NULL;
    int pass;

    for (pass = 0; pass < 2; pass++) {
        mapper m;
        memset(&m, 0, sizeof m);
        m.pool = pp_test_pool_make(PP_START_DEFAULT, 2);
        m.s.size = 16 * 1024;
        m.s.terminate_at = SIZE_MAX;
        m.s.buf = malloc(m.s.size);
        CU_ASSERT_FATAL(m.s.buf != NULL);
        PP_ASSERT_STATUS_FATAL(pp__plat_thread_create(&t, run_stream, &m), PP_OK);
        while (!m.started)
            pp_sleep_ms(1);
        pp_sleep_ms(100);
        if (pass == 1)
            PP_ASSERT_STATUS(pp_pool_terminate(m.pool), PP_OK);
        else
            pp_pool_destroy(m.pool);
        pp__plat_thread_join(t);
        PP_ASSERT_STATUS(m.st, PP_ETERMINATED);
        CU_ASSERT_PTR_NOT_NULL(m.r);
        pp_result_release(m.r);
        if (pass == 1) {
            PP_ASSERT_STATUS(pp_pool_join(m.pool, WAIT_MS), PP_OK);
            pp_pool_destroy(m.pool);
        }
        free(m.s.buf);
    }
}

/* A worker's control block is shared memory the worker (the user's task
 * code, with a wild pointer say) can write anything into: what the parent
 * reads of a dead worker must stay inside the block whatever its header
 * says. A scribbled area_size (0) made the check of the kept bytes wrap
 * around, so 1 GiB of "kept outcomes" past the block's end was trusted. */
static void t_wctl_read_distrusts_header(void)
{
    uint64_t *mem = calloc(1, PP__WCTL_SIZE);
    pp__wctl *c = (pp__wctl *)mem;
    pp__wctl_progress pr;

    CU_ASSERT_FATAL(mem != NULL);
    pp__wctl_init(c);
    c->area_size = 0; /* scribbled */
    c->done = PP__WCTL_DONE(5, 3, (uint64_t)1 << 30);
    pp__wctl_read(c, &pr);
    CU_ASSERT_EQUAL(pr.done, 5);
    CU_ASSERT_EQUAL(pr.kept, 0);
    CU_ASSERT_EQUAL(pr.bytes, 0);
    /* a sane header, kept bytes past the area: not trusted either */
    pp__wctl_init(c);
    c->done = PP__WCTL_DONE(5, 3, PP__WCTL_AREA);
    pp__wctl_read(c, &pr);
    CU_ASSERT_EQUAL(pr.kept, 0);
    CU_ASSERT_EQUAL(pr.bytes, 0);
    /* and what fits is believed */
    c->done = PP__WCTL_DONE(5, 3, 100);
    pp__wctl_read(c, &pr);
    CU_ASSERT_EQUAL(pr.kept, 3);
    CU_ASSERT_EQUAL(pr.bytes, 100);
    free(mem);
}

/* One test per line. */
/* clang-format off */
static const pp_test_case cases[] = {
    PP_TEST_TIMEOUT(t_stream_item_joins_pool, 120),
    PP_TEST_TIMEOUT(t_stream_small_chunks_memory, 120),
    PP_TEST_METHODS(stream_kill_storm, 300),
    PP_TEST_TIMEOUT(t_stream_terminated_midway, 120),
    PP_TEST_TIMEOUT(t_stream_terminated_in_first_batch, 120),
    PP_TEST_TIMEOUT(t_stream_stops_making_items_once_terminated, 120),
    PP_TEST_TIMEOUT(t_stream_closed_in_first_batch, 120),
    PP_TEST_TIMEOUT(t_stream_item_fails_first_or_last, 120),
    PP_TEST_TIMEOUT(t_stream_destroyed_from_other_thread, 120),
    PP_TEST(t_wctl_read_distrusts_header),
    PP_TEST_END,
};
/* clang-format on */

PP_TEST_SUITE(bigmap_edge)
{
    pp_test_add_suite("bigmap_edge", cases);
}
