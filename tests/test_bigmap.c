/*
 * test_bigmap.c — maps larger than one message: pp_starmap over an input
 * of any total size and pp_map_stream (items made on demand), chunks
 * split to fit a message, per-item limits, and a made item that fails.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "procpool/procpool.h"
#include "platform.h"
#include "core/mem.h"
#include "pp_test.h"

#define WAIT_MS (60000 * pp_test_timeout_mult())
#define MIB     ((size_t)1 << 20)

static uint64_t fnv(const unsigned char *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    size_t i;

    for (i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

/* (bytes[, int add]) -> fnv(bytes) + add */
static int bm_sum(pp_task *t)
{
    const void *p = NULL;
    size_t n = 0;
    int64_t add = 0;

    if (pp_values_get_bytes(pp_task_args(t), 0, &p, &n) != PP_OK)
        return pp_task_fail(t, 2, "bytes expected");
    if (pp_values_count(pp_task_args(t)) > 1 &&
        pp_values_get_int(pp_task_args(t), 1, &add) != PP_OK)
        return pp_task_fail(t, 3, "int expected");
    return pp_values_add_int(pp_task_result(t), (int64_t)(fnv(p, n) + (uint64_t)add));
}
PP_TASK_REGISTER(bm_sum)

/* bm_sum, but bytes starting with 0xEE end the worker (exit code 9) and
 * bytes starting with 0x55 take 300 ms first. */
static int bm_sum_or_die(pp_task *t)
{
    const unsigned char *p = NULL;
    const void *v = NULL;
    size_t n = 0;

    if (pp_values_get_bytes(pp_task_args(t), 0, &v, &n) != PP_OK || n == 0)
        return pp_task_fail(t, 2, "bytes expected");
    p = v;
    if (p[0] == 0xEE)
        pp__plat_exit(9);
    if (p[0] == 0x55)
        pp_sleep_ms(300);
    return pp_values_add_int(pp_task_result(t), (int64_t)fnv(p, n));
}
PP_TASK_REGISTER(bm_sum_or_die)

/* Item i's bytes: size bytes that differ between items. */
static void fill(unsigned char *buf, size_t size, size_t i)
{
    size_t k;

    for (k = 0; k < size; k++)
        buf[k] = (unsigned char)(i * 131 + k * 7 + (k >> 12));
}

/* 80 one-MiB byte items (80 MiB: more than one message) in one starmap,
 * with the automatic chunk size and with a chunk size whose chunks would
 * each be 100 MiB: both split to fit, every result is right. */
static void do_starmap_beyond_one_message(int method)
{
    const size_t n = 80, size = MIB;
    pp_values **argv = calloc(n, sizeof *argv);
    uint64_t *want = calloc(n, sizeof *want);
    unsigned char *buf = malloc(size);
    int64_t *out = calloc(n, sizeof *out);
    pp_pool *p = pp_test_pool_make(method, 2);
    pp_submit_options o;
    pp_result *r = NULL;
    size_t i, pass;

    CU_ASSERT_FATAL(argv != NULL && want != NULL && buf != NULL && out != NULL);
    for (i = 0; i < n; i++) {
        fill(buf, size, i);
        want[i] = fnv(buf, size);
        PP_ASSERT_STATUS_FATAL(pp_values_create(&argv[i]), PP_OK);
        PP_ASSERT_STATUS_FATAL(pp_values_add_bytes(argv[i], buf, size), PP_OK);
    }
    for (pass = 0; pass < 2; pass++) {
        memset(&o, 0, sizeof o);
        o.chunksize = pass == 0 ? 0 : 100;
        memset(out, 0, n * sizeof *out);
        PP_ASSERT_STATUS(pp_starmap(p, bm_sum, argv, n, &o, &r), PP_OK);
        PP_ASSERT_STATUS(pp_result_ints(r, WAIT_MS, 0, n, out, NULL), PP_OK);
        for (i = 0; i < n; i++)
            CU_ASSERT_EQUAL((uint64_t)out[i], want[i]);
        pp_result_release(r);
    }
    /* the async form too (it encodes everything before it returns) */
    PP_ASSERT_STATUS(pp_starmap_async(p, bm_sum, argv, n, NULL, &r), PP_OK);
    PP_ASSERT_STATUS(pp_result_ints(r, WAIT_MS, 0, n, out, NULL), PP_OK);
    for (i = 0; i < n; i++)
        CU_ASSERT_EQUAL((uint64_t)out[i], want[i]);
    pp_result_release(r);
    for (i = 0; i < n; i++)
        pp_values_destroy(argv[i]);
    pp_test_pool_finish(p);
    free(argv);
    free(want);
    free(buf);
    free(out);
}
PP_TEST_PER_METHOD(starmap_beyond_one_message)

/* What pp_map_stream's item function is given. */
typedef struct stream_src {
    size_t size;
    size_t fail_at;   /* item whose making fails (SIZE_MAX: none) */
    size_t toobig_at; /* item made too large for a message (SIZE_MAX: none) */
    size_t next;      /* the index expected next (called in order, once each) */
    int out_of_order;
    unsigned char *buf;
} stream_src;

static pp_status make_item(void *ud, size_t i, pp_values *args)
{
    stream_src *s = ud;
    pp_status st;

    if (i != s->next++ || pp_values_count(args) != 0)
        s->out_of_order = 1;
    if (i == s->fail_at)
        return PP_ESYS;
    if (i == s->toobig_at) {
        /* two values that together reach the tuple limit: the tuple can be
         * built, but with the frame's header it exceeds one message */
        size_t half = (PP_MESSAGE_MAX - 4 - 10) / 2;
        unsigned char *big = calloc(1, half);
        if (big == NULL)
            return PP_ENOMEM;
        st = pp_values_add_bytes(args, big, half);
        if (st == PP_OK)
            st = pp_values_add_bytes(args, big, half);
        free(big);
        return st;
    }
    fill(s->buf, s->size, i);
    return pp_values_add_bytes(args, s->buf, s->size);
}

static void progress_seen(size_t done, size_t total, void *ud)
{
    size_t *last = ud;

    CU_ASSERT(done <= total && done >= *last);
    *last = done;
}

/* 96 MiB made one MiB at a time, with an extra value for every item; the
 * item function is called in order, once per item, and progress runs. */
static void do_stream_map(int method)
{
    const size_t n = 96;
    stream_src s;
    pp_pool *p = pp_test_pool_make(method, 2);
    int64_t *out = calloc(n, sizeof *out);
    pp_submit_options o;
    pp_result *r = NULL;
    size_t i, last = 0;
    pp_values *extra = NULL;

    memset(&s, 0, sizeof s);
    s.size = MIB;
    s.fail_at = s.toobig_at = SIZE_MAX;
    s.buf = malloc(s.size);
    CU_ASSERT_FATAL(out != NULL && s.buf != NULL);
    PP_ASSERT_STATUS_FATAL(pp_values_create(&extra), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_values_add_int(extra, 5), PP_OK);
    memset(&o, 0, sizeof o);
    o.extra_args = extra;
    o.progress = progress_seen;
    o.progress_userdata = &last;
    PP_ASSERT_STATUS(pp_map_stream(p, bm_sum, n, make_item, &s, &o, &r), PP_OK);
    CU_ASSERT_EQUAL(s.next, n);
    CU_ASSERT_FALSE(s.out_of_order);
    CU_ASSERT_EQUAL(last, n);
    PP_ASSERT_STATUS(pp_result_ints(r, WAIT_MS, 0, n, out, NULL), PP_OK);
    for (i = 0; i < n; i++) {
        fill(s.buf, s.size, i);
        CU_ASSERT_EQUAL((uint64_t)out[i], fnv(s.buf, s.size) + 5);
    }
    pp_result_release(r);
    pp_values_destroy(extra);
    /* an empty stream: no call of the item function */
    s.next = 0;
    PP_ASSERT_STATUS(pp_map_stream(p, bm_sum, 0, make_item, &s, NULL, &r), PP_OK);
    CU_ASSERT_EQUAL(s.next, 0);
    CU_ASSERT_EQUAL(pp_result_count(r), 0);
    pp_result_release(r);
    pp_test_pool_finish(p);
    free(out);
    free(s.buf);
}
PP_TEST_PER_METHOD(stream_map)

/* The item function fails at item 7 of 12: items 0..6 ran, 7..11 fail
 * with its status, the call returns it with index 7; an item made too
 * large fails the same way with PP_ETOOBIG; the pool is unharmed. */
static void t_stream_item_failures(void)
{
    const size_t n = 12;
    stream_src s;
    pp_pool *p = pp_test_pool_make(PP_START_DEFAULT, 2);
    pp_status status[12];
    int64_t out[12];
    pp_submit_options o;
    pp_result *r = NULL;
    size_t i, index = 0;
    pp_error e;
    int pass;

    for (pass = 0; pass < 2; pass++) {
        memset(&s, 0, sizeof s);
        s.size = 1000;
        s.buf = malloc(s.size);
        CU_ASSERT_FATAL(s.buf != NULL);
        s.fail_at = pass == 0 ? 7 : SIZE_MAX;
        s.toobig_at = pass == 1 ? 7 : SIZE_MAX;
        memset(&o, 0, sizeof o);
        o.chunksize = 2;
        o.error = &e;
        o.error_index = &index;
        PP_ASSERT_STATUS(pp_map_stream(p, bm_sum, n, make_item, &s, &o, &r),
                         pass == 0 ? PP_ESYS : PP_ETOOBIG);
        CU_ASSERT_EQUAL(index, 7);
        CU_ASSERT_EQUAL(e.status, pass == 0 ? PP_ESYS : PP_ETOOBIG);
        CU_ASSERT_PTR_NOT_NULL(strstr(e.message, "item 7"));
        CU_ASSERT_EQUAL(s.next, 8); /* nothing made after the failure */
        CU_ASSERT_FALSE(s.out_of_order);
        pp_result_ints(r, WAIT_MS, 0, n, out, status);
        for (i = 0; i < n; i++) {
            if (i < 7) {
                fill(s.buf, s.size, i);
                CU_ASSERT_EQUAL(status[i], PP_OK);
                CU_ASSERT_EQUAL((uint64_t)out[i], fnv(s.buf, s.size));
            } else {
                CU_ASSERT_EQUAL(status[i], pass == 0 ? PP_ESYS : PP_ETOOBIG);
            }
        }
        pp_result_release(r);
        free(s.buf);
    }
    /* bad arguments */
    r = (pp_result *)&s;
    PP_ASSERT_STATUS(pp_map_stream(p, bm_sum, 3, NULL, NULL, NULL, &r), PP_EINVAL);
    CU_ASSERT_PTR_NULL(r);
    PP_ASSERT_STATUS(pp_map_stream(p, bm_sum, 3, make_item, &s, NULL, NULL), PP_EINVAL);
    PP_ASSERT_STATUS(pp_map_stream(NULL, bm_sum, 3, make_item, &s, NULL, &r), PP_EINVAL);
    PP_ASSERT_STATUS(pp_map_stream(p, bm_sum, SIZE_MAX, make_item, &s, NULL, &r), PP_ETOOBIG);
    pp_test_pool_finish(p);
}

/* An item of a starmap too large for one message is refused by the call
 * before anything runs, also when it is the last of many; the extra
 * values count. */
static void t_item_limits(void)
{
    pp_pool *p = pp_test_pool_make(PP_START_DEFAULT, 1);
    const size_t n = 9000, half = (PP_MESSAGE_MAX - 4 - 10) / 2;
    const pp_values **argv = calloc(n, sizeof *argv);
    unsigned char *blob = calloc(1, half);
    pp_values *small = NULL, *large = NULL, *extra = NULL;
    pp_submit_options o;
    pp_result *r = NULL;
    size_t i;

    CU_ASSERT_FATAL(argv != NULL && blob != NULL);
    PP_ASSERT_STATUS_FATAL(pp_values_create(&small), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_values_add_bytes(small, blob, 10), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_values_create(&large), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_values_add_bytes(large, blob, half), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_values_add_bytes(large, blob, half), PP_OK);
    for (i = 0; i < n; i++)
        argv[i] = i + 1 == n ? large : small;
    PP_ASSERT_STATUS(pp_starmap(p, bm_sum, argv, n, NULL, &r), PP_ETOOBIG);
    CU_ASSERT_PTR_NULL(r);
    PP_ASSERT_STATUS(pp_starmap_async(p, bm_sum, argv, n, NULL, &r), PP_ETOOBIG);
    CU_ASSERT_PTR_NULL(r);
    /* 30 MiB items are fine alone; with 40 MiB of extra values they are not */
    pp_values_destroy(large);
    PP_ASSERT_STATUS_FATAL(pp_values_create(&large), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_values_add_bytes(large, blob, 30 * MIB), PP_OK);
    argv[0] = large;
    argv[1] = large;
    PP_ASSERT_STATUS(pp_starmap(p, bm_sum, argv, 2, NULL, &r), PP_OK);
    pp_result_release(r);
    PP_ASSERT_STATUS_FATAL(pp_values_create(&extra), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_values_add_bytes(extra, blob, 20 * MIB), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_values_add_bytes(extra, blob, 20 * MIB), PP_OK);
    memset(&o, 0, sizeof o);
    o.extra_args = extra;
    PP_ASSERT_STATUS(pp_starmap(p, bm_sum, argv, 2, &o, &r), PP_ETOOBIG);
    CU_ASSERT_PTR_NULL(r);
    /* the pool is unharmed: nothing of the refused calls ran */
    argv[0] = small;
    PP_ASSERT_STATUS(pp_starmap(p, bm_sum, argv, 1, NULL, &r), PP_OK);
    pp_result_release(r);
    pp_values_destroy(small);
    pp_values_destroy(large);
    pp_values_destroy(extra);
    pp_test_pool_finish(p);
    free(argv);
    free(blob);
}

static uint64_t inbox_chunks(pp_pool *p)
{
    pp_pool_stats s;

    PP_ASSERT_STATUS(pp_pool_get_stats(p, &s), PP_OK);
    return s.inbox_chunks;
}

/* pp_map_array's records */
typedef struct rec_in {
    int32_t a, b;
    double x;
} rec_in;

typedef struct rec_out {
    double y;
    int64_t s;
} rec_out;

/* rec_in -> rec_out {x * 2, a + b}; a == -1 ends the worker, a == -2
 * fails, a == -3 returns a result of the wrong size. */
static int rec_task(pp_task *t)
{
    const void *p = NULL;
    size_t n = 0;
    rec_in in;
    rec_out out;

    if (pp_values_get_bytes(pp_task_args(t), 0, &p, &n) != PP_OK || n != sizeof in)
        return pp_task_fail(t, 2, "a rec_in expected");
    memcpy(&in, p, sizeof in);
    if (in.a == -1)
        pp__plat_exit(9);
    if (in.a == -2)
        return pp_task_fail(t, 7, "record refused");
    memset(&out, 0, sizeof out);
    out.y = in.x * 2;
    out.s = (int64_t)in.a + in.b;
    return pp_values_add_bytes(pp_task_result(t), &out, in.a == -3 ? 3 : sizeof out);
}
PP_TASK_REGISTER(rec_task)

/* rec_in -> x * 3 as one double */
static int rec_triple(pp_task *t)
{
    const void *p = NULL;
    size_t n = 0;
    rec_in in;

    if (pp_values_get_bytes(pp_task_args(t), 0, &p, &n) != PP_OK || n != sizeof in)
        return pp_task_fail(t, 2, "a rec_in expected");
    memcpy(&in, p, sizeof in);
    return pp_values_add_double(pp_task_result(t), in.x * 3);
}
PP_TASK_REGISTER(rec_triple)

static rec_in *records(size_t n)
{
    rec_in *in = calloc(n, sizeof *in);
    size_t i;

    CU_ASSERT_FATAL(in != NULL);
    for (i = 0; i < n; i++) {
        in[i].a = (int32_t)i;
        in[i].b = (int32_t)(3 * i + 1);
        in[i].x = (double)i + 0.25;
    }
    return in;
}

/* 200,000 records of 16 bytes through a struct result and a double
 * result, every output right; an empty array. */
static void do_array_map(int method)
{
    const size_t n = 200000;
    rec_in *in = records(n);
    rec_out *out = calloc(n, sizeof *out);
    double *d = calloc(n, sizeof *d);
    pp_status *status = calloc(n, sizeof *status);
    pp_pool *p = pp_test_pool_make(method, 2);
    size_t i, bad = 0;

    CU_ASSERT_FATAL(out != NULL && d != NULL && status != NULL);
    PP_ASSERT_STATUS(pp_map_array(p, rec_task, in, sizeof *in, n, out, sizeof *out, status, NULL),
                     PP_OK);
    for (i = 0; i < n; i++) {
        if (status[i] != PP_OK || out[i].y != in[i].x * 2 || out[i].s != (int64_t)in[i].a + in[i].b)
            bad++;
    }
    CU_ASSERT_EQUAL(bad, 0);
    PP_ASSERT_STATUS(pp_map_array(p, rec_triple, in, sizeof *in, n, d, sizeof *d, NULL, NULL),
                     PP_OK);
    for (i = 0, bad = 0; i < n; i++)
        bad += d[i] != in[i].x * 3;
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT(inbox_chunks(p) > 0);
    PP_ASSERT_STATUS(pp_map_array(p, rec_task, NULL, sizeof *in, 0, NULL, sizeof *out, NULL, NULL),
                     PP_OK);
    pp_test_pool_finish(p);
    free(in);
    free(out);
    free(d);
    free(status);
}
PP_TEST_PER_METHOD(array_map)

/* Per record failures: the record whose worker dies fails with
 * PP_EWORKERDIED, a failing task's with its status, a result of the wrong
 * size with PP_ETYPE — each with zeros in its output — and every other
 * record is valid; the call returns the first failure, with its detail
 * and index. Bad arguments are refused. */
static void t_array_map_failures(void)
{
    const size_t n = 5000;
    rec_in *in = records(n);
    rec_out *out = calloc(n, sizeof *out);
    pp_status *status = calloc(n, sizeof *status);
    pp_pool *p = pp_test_pool_make(PP_START_DEFAULT, 2);
    pp_submit_options o;
    size_t i, index = 0, bad = 0;
    pp_error e;

    CU_ASSERT_FATAL(out != NULL && status != NULL);
    in[1000].a = -3;
    in[2500].a = -2;
    in[4321].a = -1;
    memset(&o, 0, sizeof o);
    o.error = &e;
    o.error_index = &index;
    PP_ASSERT_STATUS(pp_map_array(p, rec_task, in, sizeof *in, n, out, sizeof *out, status, &o),
                     PP_ETYPE);
    CU_ASSERT_EQUAL(index, 1000);
    CU_ASSERT_EQUAL(e.status, PP_ETYPE);
    for (i = 0; i < n; i++) {
        pp_status want = i == 1000   ? PP_ETYPE
                         : i == 2500 ? PP_ETASK
                         : i == 4321 ? PP_EWORKERDIED
                                     : PP_OK;
        if (status[i] != want)
            bad++;
        else if (want == PP_OK &&
                 (out[i].y != in[i].x * 2 || out[i].s != (int64_t)in[i].a + in[i].b))
            bad++;
        else if (want != PP_OK && (out[i].y != 0 || out[i].s != 0))
            bad++;
    }
    CU_ASSERT_EQUAL(bad, 0);
    /* the first failure a task reported keeps its detail */
    in[1000].a = 1000;
    PP_ASSERT_STATUS(pp_map_array(p, rec_task, in, sizeof *in, n, out, sizeof *out, NULL, &o),
                     PP_ETASK);
    CU_ASSERT_EQUAL(index, 2500);
    CU_ASSERT_EQUAL(e.code, 7);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.message, "record refused"));
    /* records larger than a chunk's usual size (5 MiB each: one per chunk,
     * through the inbox) and larger than the inbox (9 MiB: the channel) */
    {
        const size_t sizes[2] = {5 * MIB, 9 * MIB};
        unsigned char *big = malloc(3 * 9 * MIB);
        uint64_t sums[3];
        int k;
        CU_ASSERT_FATAL(big != NULL);
        for (k = 0; k < 2; k++) {
            size_t rs = sizes[k], r;
            for (r = 0; r < 3; r++) {
                fill(big + r * rs, rs, r + 10 * (size_t)k);
            }
            memset(sums, 0, sizeof sums);
            PP_ASSERT_STATUS(pp_map_array(p, bm_sum, big, rs, 3, sums, 8, status, NULL), PP_OK);
            for (r = 0; r < 3; r++) {
                CU_ASSERT_EQUAL(status[r], PP_OK);
                CU_ASSERT_EQUAL(sums[r], fnv(big + r * rs, rs));
            }
        }
        free(big);
    }
    /* bad arguments */
    PP_ASSERT_STATUS(pp_map_array(p, rec_task, NULL, sizeof *in, 1, out, sizeof *out, NULL, NULL),
                     PP_EINVAL);
    PP_ASSERT_STATUS(pp_map_array(p, rec_task, in, sizeof *in, 1, NULL, sizeof *out, NULL, NULL),
                     PP_EINVAL);
    PP_ASSERT_STATUS(pp_map_array(p, rec_task, in, 0, 1, out, sizeof *out, NULL, NULL), PP_EINVAL);
    PP_ASSERT_STATUS(pp_map_array(p, rec_task, in, sizeof *in, 1, out, 0, NULL, NULL), PP_EINVAL);
    PP_ASSERT_STATUS(
        pp_map_array(p, rec_task, in, sizeof *in, SIZE_MAX / 8, out, sizeof *out, NULL, NULL),
        PP_EINVAL);
    PP_ASSERT_STATUS(pp_map_array(NULL, rec_task, in, sizeof *in, 1, out, sizeof *out, NULL, NULL),
                     PP_EINVAL);
    pp_test_pool_finish(p);
    free(in);
    free(out);
    free(status);
}

/* n byte items of size bytes (item i filled as fill(), first byte set
 * from marks: i -> byte, 0 = none) as one tuple per item. */
static pp_values **byte_items(size_t n, size_t size, const unsigned char *marks, uint64_t *want)
{
    pp_values **argv = calloc(n, sizeof *argv);
    unsigned char *buf = malloc(size);
    size_t i;

    CU_ASSERT_FATAL(argv != NULL && buf != NULL);
    for (i = 0; i < n; i++) {
        fill(buf, size, i);
        if (buf[0] == 0xEE || buf[0] == 0x55)
            buf[0] = 0;
        if (marks != NULL && marks[i])
            buf[0] = marks[i];
        want[i] = fnv(buf, size);
        PP_ASSERT_STATUS_FATAL(pp_values_create(&argv[i]), PP_OK);
        PP_ASSERT_STATUS_FATAL(pp_values_add_bytes(argv[i], buf, size), PP_OK);
    }
    free(buf);
    return argv;
}

static void free_items(pp_values **argv, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        pp_values_destroy(argv[i]);
    free(argv);
}

/* Chunks whose arguments go through the worker's inbox (shared memory):
 * a worker that dies in the middle of one fails only the item it ran —
 * the items it finished keep their results, the ones it had not started
 * run elsewhere (their region is never read as anything else) — and the
 * replacement worker gets a fresh inbox. */
static void do_inbox_worker_dies(int method)
{
    const size_t n = 64, size = 16 * 1024;
    unsigned char marks[64] = {0};
    uint64_t want[64];
    pp_status status[64];
    int64_t out[64];
    pp_values **argv;
    pp_pool *p = pp_test_pool_make(method, 2);
    pp_submit_options o;
    pp_result *r = NULL;
    size_t i;

    marks[37] = 0xEE;
    argv = byte_items(n, size, marks, want);
    memset(&o, 0, sizeof o);
    o.chunksize = 16; /* 256 KiB chunks: through the inbox */
    PP_ASSERT_STATUS(pp_starmap(p, bm_sum_or_die, argv, n, &o, &r), PP_EWORKERDIED);
    pp_result_ints(r, WAIT_MS, 0, n, out, status);
    for (i = 0; i < n; i++) {
        if (i == 37) {
            CU_ASSERT_EQUAL(status[i], PP_EWORKERDIED);
        } else {
            CU_ASSERT_EQUAL(status[i], PP_OK);
            CU_ASSERT_EQUAL((uint64_t)out[i], want[i]);
        }
    }
    pp_result_release(r);
    CU_ASSERT(inbox_chunks(p) >= 4);
    /* the replacement (and the other worker) go on through their inboxes */
    marks[37] = 0;
    free_items(argv, n);
    argv = byte_items(n, size, NULL, want);
    PP_ASSERT_STATUS(pp_starmap(p, bm_sum_or_die, argv, n, &o, &r), PP_OK);
    PP_ASSERT_STATUS(pp_result_ints(r, WAIT_MS, 0, n, out, NULL), PP_OK);
    for (i = 0; i < n; i++)
        CU_ASSERT_EQUAL((uint64_t)out[i], want[i]);
    pp_result_release(r);
    free_items(argv, n);
    pp_test_pool_finish(p);
}
PP_TEST_PER_METHOD(inbox_worker_dies)

/* A chunk larger than the inbox goes through the channel; chunks that
 * fit go through the inbox, also when it is full (they wait for room:
 * one worker, ten 3 MiB chunks, an inbox of 8 MiB). */
static void t_inbox_full_and_fallback(void)
{
    const size_t n = 30, size = MIB;
    uint64_t want[30];
    int64_t out[30];
    pp_values **argv = byte_items(n, size, NULL, want);
    pp_pool *p = pp_test_pool_make(PP_START_DEFAULT, 1);
    pp_submit_options o;
    pp_result *r = NULL;
    uint64_t before;
    size_t i;

    memset(&o, 0, sizeof o);
    o.chunksize = 12; /* 12 MiB: larger than the inbox */
    before = inbox_chunks(p);
    PP_ASSERT_STATUS(pp_starmap(p, bm_sum, argv, 24, &o, &r), PP_OK);
    PP_ASSERT_STATUS(pp_result_ints(r, WAIT_MS, 0, 24, out, NULL), PP_OK);
    for (i = 0; i < 24; i++)
        CU_ASSERT_EQUAL((uint64_t)out[i], want[i]);
    pp_result_release(r);
    CU_ASSERT_EQUAL(inbox_chunks(p), before);
    o.chunksize = 3; /* 3 MiB: two fit the inbox at a time */
    PP_ASSERT_STATUS(pp_starmap(p, bm_sum, argv, n, &o, &r), PP_OK);
    PP_ASSERT_STATUS(pp_result_ints(r, WAIT_MS, 0, n, out, NULL), PP_OK);
    for (i = 0; i < n; i++)
        CU_ASSERT_EQUAL((uint64_t)out[i], want[i]);
    pp_result_release(r);
    CU_ASSERT_EQUAL(inbox_chunks(p), before + 10);
    free_items(argv, n);
    pp_test_pool_finish(p);
}

/* Chunks sent ahead through a busy worker's inbox are taken back for an
 * idle worker (their regions are freed and reused) while the first item
 * takes 300 ms: every result is right. */
static void t_inbox_take_back(void)
{
    const size_t n = 40, size = 16 * 1024;
    unsigned char marks[40] = {0};
    uint64_t want[40];
    int64_t out[40];
    pp_values **argv;
    pp_pool *p = pp_test_pool_make(PP_START_DEFAULT, 2);
    pp_submit_options o;
    pp_result *r = NULL;
    size_t i, round;

    marks[0] = 0x55;
    marks[21] = 0x55;
    argv = byte_items(n, size, marks, want);
    memset(&o, 0, sizeof o);
    o.chunksize = 1;
    for (round = 0; round < 3; round++) {
        PP_ASSERT_STATUS(pp_starmap(p, bm_sum_or_die, argv, n, &o, &r), PP_OK);
        PP_ASSERT_STATUS(pp_result_ints(r, WAIT_MS, 0, n, out, NULL), PP_OK);
        for (i = 0; i < n; i++)
            CU_ASSERT_EQUAL((uint64_t)out[i], want[i]);
        pp_result_release(r);
    }
    CU_ASSERT(inbox_chunks(p) >= n);
    free_items(argv, n);
    pp_test_pool_finish(p);
}

/* One test per line. */
/* (int x) -> x + 1 */
static int bm_plus1(pp_task *t)
{
    int64_t x = 0;

    if (pp_values_get_int(pp_task_args(t), 0, &x) != PP_OK)
        return pp_task_fail(t, 2, "one int");
    return pp_values_add_int(pp_task_result(t), x + 1);
}
PP_TASK_REGISTER(bm_plus1)

/* Every byte of p[n] is zero (a word per 64 bytes: every page is seen). */
static int all_zero(const unsigned char *p, size_t n)
{
    size_t i;

    for (i = 0; i < n; i += 64) {
        if (p[i] != 0 || p[n - 1 - i] != 0)
            return 0;
    }
    return 1;
}

/*
 * A map's item array comes zeroed when first touched (lazy), or zeroed
 * from the cache of freed blocks: big and small blocks are zero, also
 * one freed dirty and taken again. A map whose item array is a reused
 * one never shows the earlier map's results: each item is not ready or
 * its own result.
 */
static void t_item_array_reuse(void)
{
    static const size_t sizes[] = {100, 300 * 1024, 3 * MIB};
    const int n = 200000;
    pp_pool *p = pp_test_pool_make(PP_START_DEFAULT, 2);
    pp_values *a = NULL, *b = NULL;
    const pp_values *v;
    unsigned char *m;
    pp_result *r;
    size_t k;
    int64_t x;
    int i, round, bad = 0;

    for (k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        for (round = 0; round < 2; round++) {
            m = pp__mem_zalloc(sizes[k]);
            CU_ASSERT_FATAL(m != NULL);
            PP_ASSERT_MSG(all_zero(m, sizes[k]), "%lu bytes, round %d: not zeroed",
                          (unsigned long)sizes[k], round);
            memset(m, 0xab, sizes[k]); /* dirty, then back to the cache */
            pp__mem_free(m, sizes[k]);
        }
    }
    m = pp__plat_big_alloc_lazy(4 * MIB);
    CU_ASSERT_FATAL(m != NULL);
    CU_ASSERT(all_zero(m, 4 * MIB));
    memset(m, 1, 4 * MIB);
    pp__plat_big_free(m, 4 * MIB);

    PP_ASSERT_STATUS_FATAL(pp_values_create(&a), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_values_create(&b), PP_OK);
    for (i = 0; i < n; i++) {
        PP_ASSERT_STATUS_FATAL(pp_values_add_int(a, i), PP_OK);
        PP_ASSERT_STATUS_FATAL(pp_values_add_int(b, 1000000000 + (int64_t)i), PP_OK);
    }
    PP_ASSERT_STATUS_FATAL(pp_map(p, bm_plus1, a, NULL, &r), PP_OK);
    pp_result_release(r); /* its item array goes to the cache */
    PP_ASSERT_STATUS_FATAL(pp_map_async(p, bm_plus1, b, NULL, &r), PP_OK);
    for (round = 0; round < 3; round++) { /* while it runs, and when done */
        if (round == 2)
            PP_ASSERT_STATUS(pp_result_wait(r, WAIT_MS), PP_OK);
        for (i = round; i < n && bad < 5; i += round == 2 ? 1 : 997) {
            pp_status st = pp_result_item(r, (size_t)i, &v, NULL);
            x = -1;
            if (st == PP_ENOTREADY && round < 2)
                continue;
            if (st != PP_OK || pp_values_get_int(v, 0, &x) != PP_OK ||
                x != 1000000001 + (int64_t)i) {
                bad++;
                PP_ASSERT_MSG(0, "item %d: %s, %lld", i, pp_err_name(st), (long long)x);
            }
        }
    }
    pp_result_release(r);
    pp_values_destroy(a);
    pp_values_destroy(b);
    pp_test_pool_finish(p);
}

/* clang-format off */
static const pp_test_case cases[] = {
    PP_TEST_METHODS(starmap_beyond_one_message, 300),
    PP_TEST_METHODS(stream_map, 300),
    PP_TEST_TIMEOUT(t_stream_item_failures, 300),
    PP_TEST_TIMEOUT(t_item_limits, 300),
    PP_TEST_METHODS(inbox_worker_dies, 300),
    PP_TEST_TIMEOUT(t_inbox_full_and_fallback, 300),
    PP_TEST_TIMEOUT(t_inbox_take_back, 300),
    PP_TEST_METHODS(array_map, 300),
    PP_TEST_TIMEOUT(t_array_map_failures, 300),
    PP_TEST_TIMEOUT(t_item_array_reuse, 300),
    PP_TEST_END,
};
/* clang-format on */

PP_TEST_SUITE(bigmap)
{
    pp_test_add_suite("bigmap", cases);
}
