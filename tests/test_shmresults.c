/*
 * test_shmresults.c — results kept in shared memory: a map chunk of int
 * or double arguments that went through its worker's inbox (pool/wctl.h)
 * gets its results written over its arguments there, and when they are
 * all one int or double each its RESULT frame only says so (wire/msg.h).
 * Every result right however it is read; a worker that dies mid-chunk
 * loses only its unfinished items, the finished ones keep their values
 * (never a stale value of an earlier chunk in the same region); a chunk
 * whose results stop being one scalar each, and a chunk too small for the
 * inbox, still come back right.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "procpool/procpool.h"
#include "platform.h"
#include "pool/pool_internal.h"
#include "pp_test.h"

#define WAIT_MS (60000 * pp_test_timeout_mult())

/* Int arguments that are not a plain value (which gives 3x + 1). */
#define SR_DIE    (-1) /* the worker exits (code 3) */
#define SR_STR    (-2) /* returns the string "str" */
#define SR_FAIL   (-3) /* fails with code 7 */
#define SR_DOUBLE (-4) /* returns the double 0.5 */
#define SR_SLEEP  (-5) /* sleeps 30 s (a timed map times it out), then 3x + 1 */
#define SR_TWO    (-6) /* returns two ints */
#define SR_NONE   (-7) /* returns nothing */
#define SR_FAIL0  (-8) /* pp_task_fail(), then returns 0 */

static int64_t want_int(int64_t x)
{
    return 3 * x + 1;
}

static double want_double(double x)
{
    return x * 0.5 + 0.25;
}

/* (int x) -> 3x + 1, or what the SR_* values say; (double x) -> x * 0.5
 * + 0.25, or the worker exits (code 3) if x is -1. */
static int sr_task(pp_task *t)
{
    int64_t x = 0;
    double d = 0;

    if (pp_values_get_int(pp_task_args(t), 0, &x) == PP_OK) {
        switch (x) {
        case SR_DIE:
            fflush(stdout);
            _Exit(3); /* no atexit handlers (nor a leak check) in a dying worker */
        case SR_STR:
            return pp_values_add_str(pp_task_result(t), "str");
        case SR_FAIL:
            return pp_task_fail(t, 7, "item %llu fails", (unsigned long long)pp_task_index(t));
        case SR_DOUBLE:
            return pp_values_add_double(pp_task_result(t), 0.5);
        case SR_SLEEP:
            pp_test_sleep_ms(30000);
            return pp_values_add_int(pp_task_result(t), want_int(x));
        case SR_TWO:
            (void)pp_values_add_int(pp_task_result(t), 1);
            return pp_values_add_int(pp_task_result(t), 2);
        case SR_NONE:
            return 0;
        case SR_FAIL0:
            (void)pp_task_fail(t, 7, "item %llu fails", (unsigned long long)pp_task_index(t));
            return 0;
        default:
            return pp_values_add_int(pp_task_result(t), want_int(x));
        }
    }
    if (pp_values_get_double(pp_task_args(t), 0, &d) != PP_OK)
        return pp_task_fail(t, 2, "one int or double");
    if (d == -1.0) {
        fflush(stdout);
        _Exit(3);
    }
    return pp_values_add_double(pp_task_result(t), want_double(d));
}
PP_TASK_REGISTER(sr_task)

/* (int x) -> 3x + 1 after a little work (so that a kill from outside
 * lands in the middle of chunks). */
static volatile uint64_t g_spin;

static int sr_slow(pp_task *t)
{
    int64_t x = 0;
    int k;

    if (pp_values_get_int(pp_task_args(t), 0, &x) != PP_OK)
        return pp_task_fail(t, 2, "one int");
    for (k = 0; k < 3000; k++)
        g_spin += (uint64_t)k;
    return pp_values_add_int(pp_task_result(t), want_int(x));
}
PP_TASK_REGISTER(sr_slow)

/* (int x) -> x / 2 as a double: results of another type than the
 * arguments they are written over. */
static int sr_half(pp_task *t)
{
    int64_t x = 0;

    if (pp_values_get_int(pp_task_args(t), 0, &x) != PP_OK)
        return pp_task_fail(t, 2, "one int");
    return pp_values_add_double(pp_task_result(t), (double)x / 2);
}
PP_TASK_REGISTER(sr_half)

/* Chunks whose results were read in place so far (pool_internal.h). */
static uint64_t in_place(pp_pool *p)
{
    uint64_t n;

    pp__plat_mtx_lock(p->core->mu);
    n = p->n_in_place;
    pp__plat_mtx_unlock(p->core->mu);
    return n;
}

static pp_values *ints(int n, int64_t base, int64_t step)
{
    pp_values *v = NULL;
    int i;

    PP_ASSERT_STATUS_FATAL(pp_values_create(&v), PP_OK);
    for (i = 0; i < n; i++)
        PP_ASSERT_STATUS_FATAL(pp_values_add_int(v, base + step * i), PP_OK);
    return v;
}

static pp_values *doubles(int n, double base)
{
    pp_values *v = NULL;
    int i;

    PP_ASSERT_STATUS_FATAL(pp_values_create(&v), PP_OK);
    for (i = 0; i < n; i++)
        PP_ASSERT_STATUS_FATAL(pp_values_add_double(v, base + 1.25 * i), PP_OK);
    return v;
}

/* A map of sr_task over items (chunksize, 0: the default), waited for. */
static pp_result *map_wait(pp_pool *p, pp_task_fn fn, const pp_values *items, size_t chunksize)
{
    pp_submit_options o;
    pp_result *r = NULL;

    memset(&o, 0, sizeof o);
    o.chunksize = chunksize;
    PP_ASSERT_STATUS_FATAL(pp_map_async(p, fn, items, &o, &r), PP_OK);
    PP_ASSERT_STATUS(pp_result_wait(r, WAIT_MS), PP_OK);
    return r;
}

/*
 * Check a map of sr_task over int items (with SR_* among them, which
 * are checked too; SR_DIE: PP_EWORKERDIED): in bulk (pp_result_ints) and
 * every step-th item (and every odd one) with pp_result_item. Returns the
 * number of items that died.
 */
static int check_ints(pp_result *r, const pp_values *items, int step, const char *what)
{
    size_t n = pp_values_count(items), i;
    int64_t *out = calloc(n, sizeof *out);
    pp_status *sts = calloc(n, sizeof *sts);
    const pp_values *v;
    const pp_error *e;
    int bad = 0, died = 0;

    CU_ASSERT_FATAL(out != NULL && sts != NULL);
    (void)pp_result_ints(r, WAIT_MS, 0, n, out, sts);
    for (i = 0; i < n && bad < 5; i++) {
        int64_t x = 0;
        pp_status want = PP_OK, st;
        (void)pp_values_get_int(items, i, &x);
        want = x == SR_DIE                     ? PP_EWORKERDIED
               : x == SR_FAIL || x == SR_FAIL0 ? PP_ETASK
               : x == SR_SLEEP                 ? PP_ETIMEDOUT
               : x == SR_STR || x == SR_DOUBLE ? PP_ETYPE
               : x == SR_TWO || x == SR_NONE   ? PP_ETYPE
                                               : PP_OK;
        if (sts[i] != want || (want == PP_OK && out[i] != want_int(x))) {
            bad++;
            PP_ASSERT_MSG(0, "%s: item %lu (arg %lld): %s, %lld", what, (unsigned long)i,
                          (long long)x, pp_err_name(sts[i]), (long long)out[i]);
        }
        if (x == SR_DIE)
            died++;
        if (x >= 0 && i % (size_t)step != 0)
            continue;
        v = NULL;
        e = NULL;
        st = pp_result_item(r, i, &v, &e);
        if (x == SR_DIE) {
            PP_ASSERT_MSG(st == PP_EWORKERDIED && e != NULL && e->code == 3, "%s: item %lu: %s",
                          what, (unsigned long)i, pp_err_name(st));
        } else if (x == SR_SLEEP) {
            PP_ASSERT_MSG(st == PP_ETIMEDOUT, "%s: item %lu: %s", what, (unsigned long)i,
                          pp_err_name(st));
        } else if (x == SR_TWO || x == SR_NONE) {
            PP_ASSERT_STATUS(st, PP_OK);
            CU_ASSERT_EQUAL(pp_values_count(v), x == SR_TWO ? 2u : 0u);
        } else if (x == SR_FAIL || x == SR_FAIL0) {
            PP_ASSERT_MSG(st == PP_ETASK && e != NULL && e->code == 7, "%s: item %lu: %s", what,
                          (unsigned long)i, pp_err_name(st));
        } else if (x == SR_STR) {
            const char *s = NULL;
            PP_ASSERT_STATUS(st, PP_OK);
            PP_ASSERT_STATUS(pp_values_get_str(v, 0, &s), PP_OK);
            CU_ASSERT(s != NULL && strcmp(s, "str") == 0);
        } else if (x == SR_DOUBLE) {
            double d = 0;
            PP_ASSERT_STATUS(st, PP_OK);
            PP_ASSERT_STATUS(pp_values_get_double(v, 0, &d), PP_OK);
            CU_ASSERT(d == 0.5);
        } else {
            int64_t got = -1;
            PP_ASSERT_STATUS(st, PP_OK);
            CU_ASSERT_EQUAL(pp_values_count(v), 1u);
            PP_ASSERT_STATUS(pp_values_get_int(v, 0, &got), PP_OK);
            PP_ASSERT_MSG(got == want_int(x), "%s: item %lu: %lld, want %lld", what,
                          (unsigned long)i, (long long)got, (long long)want_int(x));
        }
    }
    free(out);
    free(sts);
    return died;
}

/* The same for sr_task over double items (-1: PP_EWORKERDIED). */
static void check_doubles(pp_result *r, const pp_values *items, int step, const char *what)
{
    size_t n = pp_values_count(items), i;
    double *out = calloc(n, sizeof *out);
    pp_status *sts = calloc(n, sizeof *sts);
    const pp_values *v;
    const pp_error *e;
    int bad = 0;

    CU_ASSERT_FATAL(out != NULL && sts != NULL);
    (void)pp_result_doubles(r, WAIT_MS, 0, n, out, sts);
    for (i = 0; i < n && bad < 5; i++) {
        double x = 0, got = -1;
        pp_status st;
        (void)pp_values_get_double(items, i, &x);
        if (x == -1.0) {
            PP_ASSERT_MSG(sts[i] == PP_EWORKERDIED, "%s: item %lu: %s", what, (unsigned long)i,
                          pp_err_name(sts[i]));
            continue;
        }
        if (sts[i] != PP_OK || out[i] != want_double(x)) {
            bad++;
            PP_ASSERT_MSG(0, "%s: item %lu (arg %g): %s, %g", what, (unsigned long)i, x,
                          pp_err_name(sts[i]), out[i]);
        }
        if (i % (size_t)step != 0)
            continue;
        st = pp_result_item(r, i, &v, &e);
        PP_ASSERT_STATUS(st, PP_OK);
        if (st == PP_OK) {
            PP_ASSERT_STATUS(pp_values_get_double(v, 0, &got), PP_OK);
            CU_ASSERT(got == want_double(x));
        }
    }
    free(out);
    free(sts);
}

/* A map of sr_half over ints(n, base, step): every result right. */
static void check_halves(pp_result *r, int n, int64_t base, int64_t step)
{
    double *out = calloc((size_t)n, sizeof *out);
    int i, bad = 0;

    CU_ASSERT_FATAL(out != NULL);
    PP_ASSERT_STATUS(pp_result_doubles(r, WAIT_MS, 0, (size_t)n, out, NULL), PP_OK);
    for (i = 0; i < n && bad < 5; i++) {
        if (out[i] != (double)(base + step * i) / 2) {
            bad++;
            PP_ASSERT_MSG(0, "half: item %d: %g", i, out[i]);
        }
    }
    free(out);
}

/*
 * Int and double maps in chunks large enough for the inbox, three rounds
 * on one pool (the regions are used again), with chunks of a few sizes
 * (the default too), int arguments with double results, and an
 * imap_unordered: every result right, read in bulk and one by one, and
 * the results were read in place.
 */
static void do_maps_in_place(int m)
{
    static const size_t chunks[] = {1500, 2500, 0};
    const int n = 40000;
    pp_pool *p = pp_test_pool_make(m, 2);
    uint64_t before = in_place(p);
    unsigned char *seen = calloc((size_t)n, 1);
    pp_values *items;
    const pp_values *v;
    pp_result *r;
    pp_iter *it = NULL;
    pp_submit_options o;
    size_t c, idx;
    int round, got = 0;
    char what[64];

    CU_ASSERT_FATAL(seen != NULL);
    for (round = 0; round < 3; round++) {
        for (c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
            snprintf(what, sizeof what, "ints, round %d, chunksize %lu", round,
                     (unsigned long)chunks[c]);
            items = ints(n, 1000003 * round + 7 * (int64_t)c, 5);
            r = map_wait(p, sr_task, items, chunks[c]);
            check_ints(r, items, 97, what);
            pp_result_release(r);
            pp_values_destroy(items);

            snprintf(what, sizeof what, "doubles, round %d, chunksize %lu", round,
                     (unsigned long)chunks[c]);
            items = doubles(n, 1000.5 * round + (double)c);
            r = map_wait(p, sr_task, items, chunks[c]);
            check_doubles(r, items, 89, what);
            pp_result_release(r);
            pp_values_destroy(items);
        }
    }
    /* int arguments, double results */
    items = ints(n, -777, 3);
    r = map_wait(p, sr_half, items, 2500);
    check_halves(r, n, -777, 3);
    pp_result_release(r);
    pp_values_destroy(items);

    items = ints(n, 11, 3);
    memset(&o, 0, sizeof o);
    o.chunksize = 2000;
    PP_ASSERT_STATUS_FATAL(pp_imap_unordered(p, sr_task, items, &o, &it), PP_OK);
    for (;;) {
        pp_status st = pp_iter_next(it, WAIT_MS, &idx, &v, NULL);
        int64_t x = -1;
        if (st == PP_EOF)
            break;
        PP_ASSERT_STATUS(st, PP_OK);
        if (st != PP_OK || idx >= (size_t)n)
            break;
        CU_ASSERT_EQUAL(seen[idx], 0);
        seen[idx] = 1;
        got++;
        PP_ASSERT_STATUS(pp_values_get_int(v, 0, &x), PP_OK);
        CU_ASSERT_EQUAL(x, want_int(11 + 3 * (int64_t)idx));
    }
    CU_ASSERT_EQUAL(got, n);
    pp_iter_release(it);
    pp_values_destroy(items);
    PP_ASSERT_MSG(in_place(p) - before >= 3 * 3 * 2 * 16 + 16, "%llu chunks read in place",
                  (unsigned long long)(in_place(p) - before));
    free(seen);
    pp_test_pool_finish(p);
}

/*
 * A map, then a second one over other values on the same pool (the same
 * inbox regions) in which workers die at items of chunks: the first of a
 * chunk, one in its middle, its last. Each of those items fails with
 * PP_EWORKERDIED; every other one is right: those the dead workers had
 * finished kept their values in place (not the first map's, nor the
 * arguments), the rest ran on the replacements.
 */
static void do_death_keeps_finished(int m)
{
    const int n = 20000, chunk = 2500;
    const int dies[] = {3 * 2500 + 1234, 5 * 2500, 7 * 2500 + 2499};
    pp_pool *p = pp_test_pool_make(m, 2);
    uint64_t before = in_place(p);
    pp_values *a, *b;
    pp_result *r;
    double x;
    size_t k;
    int i, round;

    for (round = 0; round < 2; round++) {
        a = ints(n, 5, 1);
        r = map_wait(p, sr_task, a, (size_t)chunk);
        check_ints(r, a, 101, "first map");
        pp_result_release(r);
        pp_values_destroy(a);

        PP_ASSERT_STATUS_FATAL(pp_values_create(&b), PP_OK);
        for (i = 0; i < n; i++) {
            int64_t v = 7000000 + 13 * (int64_t)i;
            for (k = 0; k < sizeof dies / sizeof dies[0]; k++)
                v = i == dies[k] ? SR_DIE : v;
            PP_ASSERT_STATUS_FATAL(pp_values_add_int(b, v), PP_OK);
        }
        r = map_wait(p, sr_task, b, (size_t)chunk);
        CU_ASSERT_EQUAL(check_ints(r, b, 53, "second map"), 3);
        pp_result_release(r);
        pp_values_destroy(b);
    }

    /* the same with doubles */
    a = doubles(n, 0.75);
    r = map_wait(p, sr_task, a, (size_t)chunk);
    check_doubles(r, a, 101, "first map (doubles)");
    pp_result_release(r);
    pp_values_destroy(a);
    PP_ASSERT_STATUS_FATAL(pp_values_create(&b), PP_OK);
    for (i = 0; i < n; i++) {
        x = 5000.5 + 3.0 * i;
        for (k = 0; k < sizeof dies / sizeof dies[0]; k++)
            x = i == dies[k] ? -1.0 : x;
        PP_ASSERT_STATUS_FATAL(pp_values_add_double(b, x), PP_OK);
    }
    r = map_wait(p, sr_task, b, (size_t)chunk);
    check_doubles(r, b, 53, "second map (doubles)");
    pp_result_release(r);
    pp_values_destroy(b);
    CU_ASSERT(in_place(p) > before);
    pp_test_pool_finish(p);
}

typedef struct killer {
    pp_pool *pool;
    pp_result *r;
    int kills;
} killer;

/* Kill busy workers of k->pool now and then (never a pid twice) until the
 * map is done or six are dead. */
static void kill_busy_workers(void *arg)
{
    killer *k = arg;
    int64_t killed[6];
    pp_worker_info info[4];
    size_t count = 0, i;
    int j, seen, turn = 0;

    while (k->kills < 6 && !pp_result_ready(k->r)) {
        pp_test_sleep_ms(15 + 11 * (turn++ % 5));
        if (pp_pool_workers(k->pool, info, 4, &count) != PP_OK)
            continue;
        for (i = 0; i < count && i < 4; i++) {
            if (info[i].state != PP_WORKER_BUSY || pp_result_ready(k->r))
                continue;
            for (seen = 0, j = 0; j < k->kills; j++)
                seen |= killed[j] == (int64_t)info[i].pid;
            if (seen)
                continue;
            killed[k->kills++] = (int64_t)info[i].pid;
            pp_test_kill_pid((int64_t)info[i].pid);
            break;
        }
    }
}

/*
 * Workers killed from another thread at random moments of a long map:
 * every item either fails with PP_EWORKERDIED or has its right value,
 * never a wrong or stale one; a map after it on the same pool is right.
 */
static void do_random_kills(int m)
{
    const int n = 60000;
    pp_pool *p = pp_test_pool_make(m, 2);
    pp_values *items = ints(n, 3, 2);
    int64_t *out = calloc((size_t)n, sizeof *out);
    pp_status *sts = calloc((size_t)n, sizeof *sts);
    pp_submit_options o;
    pp_test_thread *th;
    killer k;
    int i, bad = 0, ok = 0, died = 0;

    CU_ASSERT_FATAL(out != NULL && sts != NULL);
    /* the first map: the regions hold other values when the second runs */
    pp_result_release(map_wait(p, sr_slow, items, 2000));
    pp_values_destroy(items);
    items = ints(n, 500000, 7);
    memset(&o, 0, sizeof o);
    o.chunksize = 2000;
    memset(&k, 0, sizeof k);
    k.pool = p;
    PP_ASSERT_STATUS_FATAL(pp_map_async(p, sr_slow, items, &o, &k.r), PP_OK);
    th = pp_test_thread_start(kill_busy_workers, &k);
    PP_ASSERT_STATUS(pp_result_wait(k.r, WAIT_MS), PP_OK);
    pp_test_thread_join(th);
    (void)pp_result_ints(k.r, WAIT_MS, 0, (size_t)n, out, sts);
    for (i = 0; i < n && bad < 5; i++) {
        if (sts[i] == PP_EWORKERDIED) {
            died++;
        } else if (sts[i] == PP_OK && out[i] == want_int(500000 + 7 * (int64_t)i)) {
            ok++;
        } else {
            bad++;
            PP_ASSERT_MSG(0, "item %d: %s, %lld", i, pp_err_name(sts[i]), (long long)out[i]);
        }
    }
    CU_ASSERT(ok > 0);
    /* each kill fails at most the item that was running */
    PP_ASSERT_MSG(died <= k.kills, "%d items died, %d kills", died, k.kills);
    pp_result_release(k.r);
    pp_values_destroy(items);

    items = ints(n / 4, 9, 11);
    k.r = map_wait(p, sr_task, items, 2000);
    check_ints(k.r, items, 61, "after the kills");
    pp_result_release(k.r);
    pp_values_destroy(items);
    free(out);
    free(sts);
    pp_test_pool_finish(p);
}

/*
 * Chunks in the inbox whose results stop being one int each midway: a
 * string, a double, a failure (in three chunks, one of them at a chunk's
 * first item), twice on one pool: every item right, its neighbours too.
 */
static void do_general_midway(int m)
{
    const int n = 20000, chunk = 2500;
    pp_pool *p = pp_test_pool_make(m, 2);
    pp_values *items;
    pp_result *r;
    int i, round;

    for (round = 0; round < 2; round++) {
        PP_ASSERT_STATUS_FATAL(pp_values_create(&items), PP_OK);
        for (i = 0; i < n; i++) {
            int64_t v = 40000 * (int64_t)round + 3 * (int64_t)i;
            if (i == 1 * chunk + 17)
                v = SR_STR;
            else if (i == 3 * chunk + 1000)
                v = SR_DOUBLE;
            else if (i == 5 * chunk + 2 || i == 6 * chunk)
                v = SR_FAIL;
            else if (i == 7 * chunk + chunk - 1)
                v = SR_STR; /* the last item of a chunk */
            PP_ASSERT_STATUS_FATAL(pp_values_add_int(items, v), PP_OK);
        }
        r = map_wait(p, sr_task, items, (size_t)chunk);
        CU_ASSERT_EQUAL(check_ints(r, items, 43, "mixed"), 0);
        pp_result_release(r);
        pp_values_destroy(items);
    }
    pp_test_pool_finish(p);
}

/*
 * Chunks too small for the inbox (under 8 KiB: through the channel, both
 * ways) are right, and none of them was read in place; the same items in
 * large chunks are.
 */
static void do_channel_path(int m)
{
    const int n = 20000;
    pp_pool *p = pp_test_pool_make(m, 2);
    pp_values *items = ints(n, 17, 9);
    pp_pool_stats before, after;
    uint64_t placed = in_place(p);
    pp_result *r;

    PP_ASSERT_STATUS(pp_pool_get_stats(p, &before), PP_OK);
    r = map_wait(p, sr_task, items, 500);
    check_ints(r, items, 37, "small chunks");
    pp_result_release(r);
    PP_ASSERT_STATUS(pp_pool_get_stats(p, &after), PP_OK);
    CU_ASSERT_EQUAL(after.inbox_chunks, before.inbox_chunks);
    CU_ASSERT_EQUAL(in_place(p), placed);
    /* the same items in large chunks do use it */
    r = map_wait(p, sr_task, items, 5000);
    check_ints(r, items, 37, "large chunks");
    pp_result_release(r);
    CU_ASSERT(in_place(p) > placed);
    pp_values_destroy(items);
    pp_test_pool_finish(p);
}

/*
 * The frame that says the results lie in place: a RESULT may carry
 * PP__FLAG_INBOX (with any other flag still refused), and the general
 * reader of RESULT payloads (also used for remote workers' results, which
 * have no inbox) refuses it.
 */
static void t_in_place_frame_checks(void)
{
    pp__frame_hdr h;
    struct pp_result job;
    pp__item items[3];
    uint8_t col[1 + 3 * 8];
    pp__chunk c;
    pp__buf b;
    size_t at = 0;
    uint8_t type = (uint8_t)PP_TYPE_INT;

    pp__buf_init(&b);
    PP_ASSERT_STATUS_FATAL(pp__frame_begin(&b, PP__MSG_RESULT, 3, 42, &at), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp__buf_put_u8(&b, type), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp__frame_end(&b, at), PP_OK);
    pp__frame_set_flags(&b, at, PP__FLAG_SCALARS | PP__FLAG_INBOX);
    PP_ASSERT_STATUS(pp__frame_parse_hdr(b.data, &h), PP_OK);
    CU_ASSERT_EQUAL(h.flags, PP__FLAG_SCALARS | PP__FLAG_INBOX);
    CU_ASSERT_EQUAL(h.count, 3);
    pp__frame_set_flags(&b, at, PP__FLAG_SCALARS | PP__FLAG_INBOX | PP__FLAG_TIMED);
    PP_ASSERT_STATUS(pp__frame_parse_hdr(b.data, &h), PP_EPROTO);

    /* a well-formed column of three ints, but flagged as in place */
    memset(col, 0, sizeof col);
    col[0] = type;
    memset(&job, 0, sizeof job);
    memset(items, 0, sizeof items);
    job.items = items;
    job.n = 3;
    memset(&c, 0, sizeof c);
    c.job = &job;
    c.id = 42;
    c.count = 3;
    h.length = sizeof col;
    h.flags = PP__FLAG_SCALARS | PP__FLAG_INBOX;
    PP_ASSERT_STATUS(pp__chunk_apply_result_locked(&c, &h, col), PP_EPROTO);
    CU_ASSERT_EQUAL(c.answered, 0);
    CU_ASSERT_EQUAL(job.done, 0);
    h.flags = PP__FLAG_SCALARS; /* the same without the flag is taken */
    PP_ASSERT_STATUS(pp__chunk_apply_result_locked(&c, &h, col), PP_OK);
    CU_ASSERT_EQUAL(c.answered, 3);
    pp__buf_free(&b);
}

/* A map of fn over items with chunksize and timeout_ms (0: none), waited for. */
static pp_result *map_wait_timed(pp_pool *p, pp_task_fn fn, const pp_values *items,
                                 size_t chunksize, int64_t timeout_ms)
{
    pp_submit_options o;
    pp_result *r = NULL;

    memset(&o, 0, sizeof o);
    o.chunksize = chunksize;
    o.timeout_ms = timeout_ms;
    PP_ASSERT_STATUS_FATAL(pp_map_async(p, fn, items, &o, &r), PP_OK);
    PP_ASSERT_STATUS(pp_result_wait(r, WAIT_MS), PP_OK);
    return r;
}

/* ints(n, base, step) with the given special values at the given places. */
static pp_values *ints_with(int n, int64_t base, int64_t step, const int *at, const int64_t *what,
                            size_t k)
{
    pp_values *v = NULL;
    size_t j;
    int i;

    PP_ASSERT_STATUS_FATAL(pp_values_create(&v), PP_OK);
    for (i = 0; i < n; i++) {
        int64_t x = base + step * i;
        for (j = 0; j < k; j++)
            x = i == at[j] ? what[j] : x;
        PP_ASSERT_STATUS_FATAL(pp_values_add_int(v, x), PP_OK);
    }
    return v;
}

/*
 * Results that stop being one int each in every way a task can end them
 * (two values, none, pp_task_fail() then 0), at a chunk's first, second,
 * middle and last item, and a worker that dies at the item right after
 * such a change: every item right, on a pool whose workers are replaced
 * after every chunk (maxtasksperchild 1: a new control block each time).
 */
static void do_recycled_endings(int m)
{
    const int n = 16 * 2500, chunk = 2500;
    const int at[] = {0,
                      1 * chunk + 1,
                      2 * chunk + 1250,
                      3 * chunk + chunk - 1,
                      4 * chunk,
                      4 * chunk + 1,
                      6 * chunk + 7,
                      6 * chunk + 8,
                      9 * chunk + chunk - 2,
                      9 * chunk + chunk - 1,
                      11 * chunk + 3,
                      12 * chunk};
    const int64_t what[] = {SR_TWO,  SR_NONE, SR_FAIL0, SR_TWO, SR_FAIL0,  SR_DIE,
                            SR_NONE, SR_DIE,  SR_STR,   SR_DIE, SR_DOUBLE, SR_FAIL0};
    pp_pool_options po;
    pp_pool *p = NULL;
    pp_values *items;
    pp_result *r;
    int round;

    memset(&po, 0, sizeof po);
    po.processes = 2;
    po.start_method = (pp_start_method)m;
    po.maxtasksperchild = 1;
    PP_ASSERT_STATUS_FATAL(pp_pool_create(&p, &po), PP_OK);
    for (round = 0; round < 2; round++) {
        items = ints(n, 100 * round, 3);
        r = map_wait(p, sr_task, items, (size_t)chunk);
        check_ints(r, items, 71, "recycled, plain");
        pp_result_release(r);
        pp_values_destroy(items);
        items = ints_with(n, 50000 + 100 * round, 7, at, what, sizeof at / sizeof at[0]);
        r = map_wait(p, sr_task, items, (size_t)chunk);
        CU_ASSERT_EQUAL(check_ints(r, items, 29, "recycled, endings"), 3);
        pp_result_release(r);
        pp_values_destroy(items);
    }
    pp_test_pool_finish(p);
}

/*
 * The largest chunk (PP_MAX_CHUNKSIZE items, in the inbox) with deaths at
 * its last item and at the next chunk's first, and a chunk that turns
 * general at its last item; then chunks of one item: every item right.
 */
static void do_largest_chunks(int m)
{
    const int c = PP_MAX_CHUNKSIZE, n = 3 * PP_MAX_CHUNKSIZE + 5;
    const int at[] = {c - 1, c, 2 * c + c - 1, 3 * c + 2};
    const int64_t what[] = {SR_DIE, SR_DIE, SR_STR, SR_DIE};
    pp_pool *p = pp_test_pool_make(m, 2);
    uint64_t before = in_place(p);
    pp_values *items;
    pp_result *r;

    items = ints(n, 1, 1);
    r = map_wait(p, sr_task, items, (size_t)c);
    check_ints(r, items, 997, "largest chunks, plain");
    pp_result_release(r);
    pp_values_destroy(items);
    CU_ASSERT(in_place(p) > before);
    items = ints_with(n, 9, 2, at, what, sizeof at / sizeof at[0]);
    r = map_wait(p, sr_task, items, (size_t)c);
    CU_ASSERT_EQUAL(check_ints(r, items, 991, "largest chunks, deaths"), 3);
    pp_result_release(r);
    pp_values_destroy(items);
    items = ints(3000, 5, 3);
    r = map_wait(p, sr_task, items, 1);
    check_ints(r, items, 7, "chunks of one");
    pp_result_release(r);
    pp_values_destroy(items);
    pp_test_pool_finish(p);
}

/*
 * A timed map (timeout_ms) of int chunks in the inbox whose item at a
 * chunk's middle and another at a chunk's last runs past its timeout:
 * those two fail with PP_ETIMEDOUT, every other item is right, also in an
 * untimed map right after on the same pool.
 */
static void do_timed_in_place(int m)
{
    const int n = 8 * 2500, chunk = 2500;
    const int at[] = {2 * chunk + 1000, 5 * chunk + chunk - 1, 6 * chunk + 3};
    const int64_t what[] = {SR_SLEEP, SR_SLEEP, SR_STR};
    pp_pool *p = pp_test_pool_make(m, 2);
    pp_values *items;
    pp_result *r;

    items = ints_with(n, 11, 5, at, what, sizeof at / sizeof at[0]);
    r = map_wait_timed(p, sr_task, items, (size_t)chunk, 1500);
    CU_ASSERT_EQUAL(check_ints(r, items, 31, "timed"), 0);
    pp_result_release(r);
    pp_values_destroy(items);
    items = ints(n, 77, 3);
    r = map_wait(p, sr_task, items, (size_t)chunk);
    check_ints(r, items, 31, "after the timed map");
    pp_result_release(r);
    pp_values_destroy(items);
    pp_test_pool_finish(p);
}

typedef struct mapper {
    pp_pool *pool;
    int seed;
    int bad;  /* wrong or missing results seen */
    int maps; /* maps done */
} mapper;

/* Maps of ints and of doubles (and ints to halves) on one pool, counting
 * wrong results (CUnit asserts stay on the main thread). */
static void run_mapper(void *arg)
{
    mapper *mp = arg;
    const int n = 30000;
    int64_t *io = calloc((size_t)n, sizeof *io);
    double *dout = calloc((size_t)n, sizeof *dout);
    pp_submit_options o;
    pp_values *items;
    pp_result *r;
    int k, i;

    if (io == NULL || dout == NULL) {
        mp->bad++;
        free(io);
        free(dout);
        return;
    }
    for (k = 0; k < 4; k++) {
        int64_t base = 1000000 * mp->seed + 1000 * k;
        memset(&o, 0, sizeof o);
        o.chunksize = (size_t)(1200 + 700 * k + 100 * mp->seed);
        items = NULL;
        if (pp_values_create(&items) != PP_OK) {
            mp->bad++;
            break;
        }
        for (i = 0; i < n; i++) {
            if (k % 2 == 0)
                (void)pp_values_add_int(items, base + i);
            else
                (void)pp_values_add_double(items, (double)(base + i) + 0.5);
        }
        r = NULL;
        if (pp_map_async(mp->pool,
                         k == 3   ? sr_task
                         : k == 2 ? sr_half
                                  : sr_task,
                         items, &o, &r) != PP_OK ||
            pp_result_wait(r, WAIT_MS) != PP_OK) {
            mp->bad++;
        } else if (k == 0) {
            if (pp_result_ints(r, WAIT_MS, 0, (size_t)n, io, NULL) != PP_OK)
                mp->bad++;
            for (i = 0; i < n; i++)
                mp->bad += io[i] != want_int(base + i);
        } else {
            if (pp_result_doubles(r, WAIT_MS, 0, (size_t)n, dout, NULL) != PP_OK)
                mp->bad++;
            for (i = 0; i < n; i++)
                mp->bad += dout[i] != (k == 2 ? (double)(base + i) / 2
                                              : want_double((double)(base + i) + 0.5));
        }
        mp->maps++;
        pp_result_release(r);
        pp_values_destroy(items);
    }
    free(io);
    free(dout);
}

/* Three threads mapping on one pool at once (their chunks interleave in
 * each worker's inbox): every result right. */
static void do_concurrent_maps(int m)
{
    pp_pool *p = pp_test_pool_make(m, 2);
    mapper mp[3];
    pp_test_thread *th[3];
    int i;

    memset(mp, 0, sizeof mp);
    for (i = 0; i < 3; i++) {
        mp[i].pool = p;
        mp[i].seed = i + 1;
        th[i] = pp_test_thread_start(run_mapper, &mp[i]);
    }
    for (i = 0; i < 3; i++) {
        pp_test_thread_join(th[i]);
        PP_ASSERT_MSG(mp[i].bad == 0 && mp[i].maps == 4, "thread %d: %d wrong, %d maps", i,
                      mp[i].bad, mp[i].maps);
    }
    pp_test_pool_finish(p);
}

/*
 * pp_result_cancel() while in-place chunks run (and are sent ahead), then
 * pp_pool_terminate() in the middle of another map: both return, finished
 * items are right, the rest canceled / terminated; a map between them on
 * the same pool is right.
 */
static void do_cancel_in_place(int m)
{
    const int n = 200000;
    pp_pool *p = pp_test_pool_make(m, 2);
    pp_values *items = ints(n, 3, 1);
    int64_t *out = calloc((size_t)n, sizeof *out);
    pp_status *sts = calloc((size_t)n, sizeof *sts);
    pp_submit_options o;
    pp_result *r = NULL;
    int i, bad = 0, ok = 0, round;

    CU_ASSERT_FATAL(out != NULL && sts != NULL);
    for (round = 0; round < 2; round++) {
        memset(&o, 0, sizeof o);
        o.chunksize = 2000;
        PP_ASSERT_STATUS_FATAL(pp_map_async(p, sr_slow, items, &o, &r), PP_OK);
        pp_test_sleep_ms(30 + 40 * round);
        if (round == 0) {
            PP_ASSERT_STATUS(pp_result_cancel(r), PP_OK);
        } else {
            PP_ASSERT_STATUS(pp_pool_terminate(p), PP_OK);
        }
        PP_ASSERT_STATUS(pp_result_wait(r, WAIT_MS), PP_OK);
        (void)pp_result_ints(r, WAIT_MS, 0, (size_t)n, out, sts);
        for (i = 0, ok = 0; i < n && bad < 5; i++) {
            if (sts[i] == PP_OK && out[i] == want_int(3 + i)) {
                ok++;
            } else if (sts[i] != (round == 0 ? PP_ECANCELED : PP_ETERMINATED)) {
                bad++;
                PP_ASSERT_MSG(0, "round %d item %d: %s, %lld", round, i, pp_err_name(sts[i]),
                              (long long)out[i]);
            }
        }
        CU_ASSERT(ok < n);
        pp_result_release(r);
        if (round == 0) {
            pp_values *b = ints(20000, 123, 7);
            pp_result *r2 = map_wait(p, sr_task, b, 2500);
            check_ints(r2, b, 41, "after the cancel");
            pp_result_release(r2);
            pp_values_destroy(b);
        }
    }
    PP_ASSERT_STATUS(pp_pool_join(p, WAIT_MS), PP_OK);
    pp_pool_destroy(p);
    pp_values_destroy(items);
    free(out);
    free(sts);
}

/* imap (in order) over doubles and starmap over ints, in inbox chunks. */
static void do_imap_starmap(int m)
{
    const int n = 20000;
    pp_pool *p = pp_test_pool_make(m, 2);
    pp_values *items = doubles(n, 3.5), **argv = calloc((size_t)n, sizeof *argv);
    pp_submit_options o;
    const pp_values *v;
    pp_iter *it = NULL;
    pp_result *r = NULL;
    size_t idx, want = 0;
    int i;

    CU_ASSERT_FATAL(argv != NULL);
    memset(&o, 0, sizeof o);
    o.chunksize = 2500;
    PP_ASSERT_STATUS_FATAL(pp_imap(p, sr_task, items, &o, &it), PP_OK);
    for (;;) {
        double x = -1;
        pp_status st = pp_iter_next(it, WAIT_MS, &idx, &v, NULL);
        if (st == PP_EOF)
            break;
        PP_ASSERT_STATUS(st, PP_OK);
        if (st != PP_OK || idx != want)
            break;
        PP_ASSERT_STATUS(pp_values_get_double(v, 0, &x), PP_OK);
        CU_ASSERT(x == want_double(3.5 + 1.25 * (double)idx));
        want++;
    }
    CU_ASSERT_EQUAL(want, (size_t)n);
    pp_iter_release(it);
    for (i = 0; i < n; i++) {
        PP_ASSERT_STATUS_FATAL(pp_values_create(&argv[i]), PP_OK);
        PP_ASSERT_STATUS_FATAL(pp_values_add_int(argv[i], 40 + 3 * (int64_t)i), PP_OK);
    }
    PP_ASSERT_STATUS_FATAL(
        pp_starmap_async(p, sr_task, (const pp_values *const *)argv, (size_t)n, &o, &r), PP_OK);
    PP_ASSERT_STATUS(pp_result_wait(r, WAIT_MS), PP_OK);
    {
        pp_values *flat = ints(n, 40, 3);
        check_ints(r, flat, 43, "starmap");
        pp_values_destroy(flat);
    }
    pp_result_release(r);
    for (i = 0; i < n; i++)
        pp_values_destroy(argv[i]);
    free(argv);
    pp_values_destroy(items);
    pp_test_pool_finish(p);
}

/*
 * A worker killed inside pp__wctl_item_done_column() (pool/wctl.h),
 * after its store of col_items and before the one of done: the values
 * of the items finished before keep them. The parent took the block for
 * a nonsense one then (more column values than kept items) and failed
 * every finished item of the chunk with PP_EWORKERDIED ("the task
 * finished, but its result was lost"), not just the running one: the
 * fast loop spends much of a short task's time in those stores, so a
 * kill from outside met it now and then (random_kills under ASan).
 */
static void t_kept_through_a_death_in_done_column(void)
{
    uint64_t *mem = calloc(1, PP__WCTL_SIZE);
    pp__wctl *c = (pp__wctl *)mem;
    pp__wctl_cursor k;
    pp__wctl_progress pr;
    volatile uint64_t *col;
    unsigned i;

    CU_ASSERT_FATAL(mem != NULL);
    pp__wctl_init(c);
    memset(&k, 0, sizeof k);
    CU_ASSERT_EQUAL(pp__wctl_claim(c, &k, 1), 1);
    col = pp__wctl_keep_column_at(c, pp__wctl_column(c));
    for (i = 0; i < 3; i++) {
        pp__wctl_item_start(c, &k, i);
        col[i] = 100 + i;
        pp__wctl_item_done_column(c, &k, i, (unsigned)PP_TYPE_INT);
    }
    pp__wctl_item_start(c, &k, 3);
    col[3] = 103;
    /* item 3's pp__wctl_item_done_column() up to (not including) the
     * store of done: the worker dies there */
    c->col_type = (uint32_t)PP_TYPE_INT;
    c->col_items = 4;
    pp__wctl_read(c, &pr);
    CU_ASSERT_EQUAL(pr.started, 1);
    CU_ASSERT_EQUAL(pr.done, 3);
    CU_ASSERT(pr.running);
    CU_ASSERT_EQUAL(pr.kept, 3);
    CU_ASSERT_EQUAL(pr.col_items, 3); /* item 3 is the running one */
    CU_ASSERT_EQUAL(pr.col_type, (unsigned)PP_TYPE_INT);
    free(mem);
}

/* What sr_mix does for argument x: 0-7 a way to end a column answer, 8+
 * (most items) 3x + 1. Rare enough that runs of int results are long,
 * common enough that every chunk has several. */
static int mix_kind(int64_t x)
{
    return (int)(((uint64_t)x * 2654435761u) >> 7) % 97;
}

/* (int x) -> by mix_kind(x): a string, a double, a failure, two ints,
 * nothing, pp_task_fail() then 0, a returned library status (-5,
 * with a value added: the item fails with that status), a returned 1; else 3x + 1. (double x) -> x
 * * 2 as an int if x's integer part is a multiple of 5, else x * 0.5 + 0.25. */
static int sr_mix(pp_task *t)
{
    int64_t x = 0;
    double d = 0;

    if (pp_values_get_double(pp_task_args(t), 0, &d) == PP_OK) {
        if ((int64_t)d % 5 == 0)
            return pp_values_add_int(pp_task_result(t), (int64_t)(d * 2));
        return pp_values_add_double(pp_task_result(t), want_double(d));
    }
    if (pp_values_get_int(pp_task_args(t), 0, &x) != PP_OK)
        return pp_task_fail(t, 2, "one int or double");
    switch (mix_kind(x)) {
    case 0:
        return pp_values_add_str(pp_task_result(t), "str");
    case 1:
        return pp_values_add_double(pp_task_result(t), 0.5);
    case 2:
        return pp_task_fail(t, 7, "fails");
    case 3:
        (void)pp_values_add_int(pp_task_result(t), 1);
        return pp_values_add_int(pp_task_result(t), 2);
    case 4:
        return 0;
    case 5:
        (void)pp_task_fail(t, 7, "fails");
        return 0;
    case 6:
        (void)pp_values_add_int(pp_task_result(t), want_int(x));
        return -5;
    case 7:
        return 1; /* a bare number */
    default:
        return pp_values_add_int(pp_task_result(t), want_int(x));
    }
}
PP_TASK_REGISTER(sr_mix)

/* Item i of a map of sr_mix over int x: right? (1 yes) */
static int mix_item_right(pp_result *r, size_t i, int64_t x)
{
    const pp_values *v = NULL;
    const pp_error *e = NULL;
    pp_status st = pp_result_item(r, i, &v, &e);
    const char *s = NULL;
    int64_t a = 0, b = 0;
    double d = 0;

    switch (mix_kind(x)) {
    case 0:
        return st == PP_OK && pp_values_count(v) == 1 && pp_values_get_str(v, 0, &s) == PP_OK &&
               strcmp(s, "str") == 0;
    case 1:
        return st == PP_OK && pp_values_count(v) == 1 && pp_values_get_double(v, 0, &d) == PP_OK &&
               d == 0.5;
    case 2:
    case 5:
        return st == PP_ETASK && e != NULL && e->code == 7;
    case 3:
        return st == PP_OK && pp_values_count(v) == 2 && pp_values_get_int(v, 0, &a) == PP_OK &&
               pp_values_get_int(v, 1, &b) == PP_OK && a == 1 && b == 2;
    case 4:
        return st == PP_OK && pp_values_count(v) == 0;
    case 6:
        return st == (pp_status)-5 && e != NULL && e->code == -5; /* that status */
    case 7:
        return st == PP_ETASK && e != NULL && e->code == 1;
    default:
        return st == PP_OK && pp_values_count(v) == 1 && pp_values_get_int(v, 0, &a) == PP_OK &&
               a == want_int(x);
    }
}

/*
 * Results that leave the column form at random places of inbox chunks
 * (every way a task can: sr_mix), in int and double maps with a few chunk
 * sizes, three rounds on one pool: every item right, read one by one and
 * (the int ones) in bulk.
 */
static void do_mixed_endings(int m)
{
    static const size_t chunks[] = {1100, 2500, 6000};
    const int n = 30000;
    pp_pool *p = pp_test_pool_make(m, 2);
    int64_t *out = calloc((size_t)n, sizeof *out);
    pp_status *sts = calloc((size_t)n, sizeof *sts);
    double *dout = calloc((size_t)n, sizeof *dout);
    pp_values *items;
    pp_result *r;
    size_t c;
    int round, i, bad;

    CU_ASSERT_FATAL(out != NULL && sts != NULL && dout != NULL);
    for (round = 0; round < 3; round++) {
        for (c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
            int64_t base = 100003 * round + 31 * (int64_t)c;
            items = ints(n, base, 1);
            r = map_wait(p, sr_mix, items, chunks[c]);
            (void)pp_result_ints(r, WAIT_MS, 0, (size_t)n, out, sts);
            for (i = 0, bad = 0; i < n && bad < 5; i++) {
                int k = mix_kind(base + i);
                int ok = mix_item_right(r, (size_t)i, base + i);
                if (k >= 8)
                    ok = ok && sts[i] == PP_OK && out[i] == want_int(base + i);
                if (!ok) {
                    bad++;
                    PP_ASSERT_MSG(0, "round %d chunk %lu item %d (kind %d): %s %lld", round,
                                  (unsigned long)chunks[c], i, k, pp_err_name(sts[i]),
                                  (long long)out[i]);
                }
            }
            pp_result_release(r);
            pp_values_destroy(items);

            items = doubles(n, 0.5 + round);
            r = map_wait(p, sr_mix, items, chunks[c]);
            for (i = 0, bad = 0; i < n && bad < 5; i++) {
                double x = 0.5 + round + 1.25 * i, got = -1;
                int64_t gi = -1;
                const pp_values *v = NULL;
                pp_status st = pp_result_item(r, (size_t)i, &v, NULL);
                int ok = st == PP_OK && pp_values_count(v) == 1;
                if (ok && (int64_t)x % 5 == 0)
                    ok = pp_values_get_int(v, 0, &gi) == PP_OK && gi == (int64_t)(x * 2);
                else if (ok)
                    ok = pp_values_get_double(v, 0, &got) == PP_OK && got == want_double(x);
                if (!ok) {
                    bad++;
                    PP_ASSERT_MSG(0, "doubles round %d chunk %lu item %d: %s", round,
                                  (unsigned long)chunks[c], i, pp_err_name(st));
                }
            }
            pp_result_release(r);
            pp_values_destroy(items);
        }
    }
    free(out);
    free(sts);
    free(dout);
    pp_test_pool_finish(p);
}

/*
 * Maps of millions of int items (item arrays above the largest cached
 * size class, then ones that are cached and reused), twice each, on one
 * pool: every result right, read in bulk (no stale value of the earlier
 * map in a reused array).
 */
static void t_millions(void)
{
    static const int sizes[] = {5000000, 5000000, 3000000, 3000000};
    pp_pool *p = pp_test_pool_make(PP_START_DEFAULT, 2);
    int64_t *out = calloc(5000000, sizeof *out);
    size_t k;
    int i, bad;

    CU_ASSERT_FATAL(out != NULL);
    for (k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        int64_t base = 1000 * (int64_t)k;
        pp_values *items = ints(sizes[k], base, 1);
        pp_result *r = map_wait(p, sr_task, items, 0);
        memset(out, 0, (size_t)sizes[k] * sizeof *out);
        PP_ASSERT_STATUS(pp_result_ints(r, WAIT_MS, 0, (size_t)sizes[k], out, NULL), PP_OK);
        for (i = 0, bad = 0; i < sizes[k] && bad < 5; i++) {
            if (out[i] != want_int(base + i)) {
                bad++;
                PP_ASSERT_MSG(0, "map %lu item %d: %lld", (unsigned long)k, i, (long long)out[i]);
            }
        }
        pp_result_release(r);
        pp_values_destroy(items);
    }
    free(out);
    pp_test_pool_finish(p);
}

/* sr_mix after a little work (so that kills land inside chunks). */
static int sr_mix_slow(pp_task *t)
{
    int k;

    for (k = 0; k < 3000; k++)
        g_spin += (uint64_t)k;
    return sr_mix(t);
}
PP_TASK_REGISTER(sr_mix_slow)

/*
 * Workers killed from another thread at random moments of a map of
 * doubles whose results are doubles, and ints for every fifth item (so
 * chunks leave the column form midway and keep their outcomes partly as
 * column values, partly in the area): every item is right or failed with
 * PP_EWORKERDIED, at most one per kill.
 */
static void do_random_kills_mixed(int m)
{
    const int n = 60000;
    pp_pool *p = pp_test_pool_make(m, 2);
    pp_values *items = doubles(n, 2.5);
    pp_submit_options o;
    pp_test_thread *th;
    killer k;
    int i, bad = 0, ok = 0, died = 0;

    memset(&o, 0, sizeof o);
    o.chunksize = 2000;
    memset(&k, 0, sizeof k);
    k.pool = p;
    PP_ASSERT_STATUS_FATAL(pp_map_async(p, sr_mix_slow, items, &o, &k.r), PP_OK);
    th = pp_test_thread_start(kill_busy_workers, &k);
    PP_ASSERT_STATUS(pp_result_wait(k.r, WAIT_MS), PP_OK);
    pp_test_thread_join(th);
    for (i = 0; i < n && bad < 5; i++) {
        double x = 2.5 + 1.25 * i, got = -1;
        int64_t gi = -1;
        const pp_values *v = NULL;
        pp_status st = pp_result_item(k.r, (size_t)i, &v, NULL);
        int right = st == PP_OK && pp_values_count(v) == 1;
        if (right && (int64_t)x % 5 == 0)
            right = pp_values_get_int(v, 0, &gi) == PP_OK && gi == (int64_t)(x * 2);
        else if (right)
            right = pp_values_get_double(v, 0, &got) == PP_OK && got == want_double(x);
        if (st == PP_EWORKERDIED) {
            died++;
        } else if (right) {
            ok++;
        } else {
            bad++;
            PP_ASSERT_MSG(0, "item %d: %s", i, pp_err_name(st));
        }
    }
    CU_ASSERT(ok > 0);
    PP_ASSERT_MSG(died <= k.kills, "%d items died, %d kills", died, k.kills);
    pp_result_release(k.r);
    pp_values_destroy(items);
    pp_test_pool_finish(p);
}

PP_TEST_PER_METHOD(maps_in_place)
PP_TEST_PER_METHOD(random_kills_mixed)
PP_TEST_PER_METHOD(mixed_endings)
PP_TEST_PER_METHOD(recycled_endings)
PP_TEST_PER_METHOD(largest_chunks)
PP_TEST_PER_METHOD(timed_in_place)
PP_TEST_PER_METHOD(concurrent_maps)
PP_TEST_PER_METHOD(cancel_in_place)
PP_TEST_PER_METHOD(imap_starmap)
PP_TEST_PER_METHOD(death_keeps_finished)
PP_TEST_PER_METHOD(random_kills)
PP_TEST_PER_METHOD(general_midway)
PP_TEST_PER_METHOD(channel_path)

/* One test per line. */
/* clang-format off */
static const pp_test_case cases[] = {
    PP_TEST(t_in_place_frame_checks),
    PP_TEST(t_kept_through_a_death_in_done_column),
    PP_TEST_TIMEOUT(t_millions, 600),
    PP_TEST_METHODS(maps_in_place, 300),
    PP_TEST_METHODS(death_keeps_finished, 300),
    PP_TEST_METHODS(random_kills, 300),
    PP_TEST_METHODS(general_midway, 120),
    PP_TEST_METHODS(channel_path, 120),
    PP_TEST_METHODS(recycled_endings, 300),
    PP_TEST_METHODS(largest_chunks, 300),
    PP_TEST_METHODS(timed_in_place, 300),
    PP_TEST_METHODS(concurrent_maps, 300),
    PP_TEST_METHODS(cancel_in_place, 300),
    PP_TEST_METHODS(imap_starmap, 300),
    PP_TEST_METHODS(mixed_endings, 300),
    PP_TEST_METHODS(random_kills_mixed, 300),
    PP_TEST_END,
};
/* clang-format on */

PP_TEST_SUITE(shmresults)
{
    pp_test_add_suite("shmresults", cases);
}
