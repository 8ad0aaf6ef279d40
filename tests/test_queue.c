/*
 * test_queue.c — pp_queue (queue.h): semantics, bounds and timeouts in
 * one process; several producers and consumers across processes and
 * threads (every item counted and checksummed: none lost, none
 * duplicated, FIFO per producer); pool workers on every start method
 * using a queue and an array passed as task arguments; death cases
 * (SIGKILL / TerminateProcess at chosen points inside put and get); items
 * carrying a lock and a shm block.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "procpool/procpool.h"
#include "pp_test.h"
#include "values/queue_internal.h"
#include "values/queue_ring.h"

#define WAIT_MS  (60000 * pp_test_timeout_mult())
#define CHILD_MS (60000 * pp_test_timeout_mult())
#define LINE_MS  (30000 * pp_test_timeout_mult())

/* Bytes in the item of (producer, seq): producers from 100 make items
 * large enough to be decoded in place in the ring (queue.c). */
static size_t pad_len(int64_t producer, int64_t seq)
{
    return (size_t)((producer >= 100 ? 600 : 0) + seq % 61);
}

/* (producer, seq, pad_len() bytes 'x') */
static pp_values *item(int64_t producer, int64_t seq)
{
    char pad[700];
    pp_values *v = NULL;

    memset(pad, 'x', sizeof pad);
    if (pp_values_of(&v, producer, seq, pp_value_bytes(pad, pad_len(producer, seq))) != PP_OK)
        return NULL;
    return v;
}

/* Check an item made by item(); returns 1 and its fields if well formed. */
static int item_read(const pp_values *v, int64_t *producer, int64_t *seq)
{
    const void *p = NULL;
    size_t n = 0, i;

    if (pp_values_count(v) != 3 || pp_values_get_int(v, 0, producer) != PP_OK ||
        pp_values_get_int(v, 1, seq) != PP_OK || pp_values_get_bytes(v, 2, &p, &n) != PP_OK ||
        n != pad_len(*producer, *seq))
        return 0;
    for (i = 0; i < n; i++)
        if (((const char *)p)[i] != 'x')
            return 0;
    return 1;
}

static int64_t mix(int64_t producer, int64_t seq)
{
    return producer * 1000003 + seq * 7919 + 1;
}

static void put_item(pp_queue *q, int64_t producer, int64_t seq)
{
    pp_values *v = item(producer, seq);

    CU_ASSERT_FATAL(v != NULL);
    PP_ASSERT_STATUS(pp_queue_put(q, v, WAIT_MS), PP_OK);
    pp_values_destroy(v);
}

/* Get one item and check it is (producer, seq). */
static void expect_item(pp_queue *q, int64_t producer, int64_t seq)
{
    pp_values *v = NULL;
    int64_t p = -1, s = -1;

    PP_ASSERT_STATUS_FATAL(pp_queue_get(q, &v, WAIT_MS), PP_OK);
    PP_ASSERT_MSG(item_read(v, &p, &s) && p == producer && s == seq,
                  "got (%lld, %lld), expected (%lld, %lld)", (long long)p, (long long)s,
                  (long long)producer, (long long)seq);
    pp_values_destroy(v);
}

/* Get one item and check it is (x). */
static void expect_int(pp_queue *q, int64_t x)
{
    pp_values *v = NULL;
    int64_t got = -1;

    PP_ASSERT_STATUS_FATAL(pp_queue_get(q, &v, WAIT_MS), PP_OK);
    PP_ASSERT_STATUS(pp_values_get_int(v, 0, &got), PP_OK);
    CU_ASSERT_EQUAL(got, x);
    pp_values_destroy(v);
}

/* ----------------------------------------------------------- semantics */

static void t_semantics(void)
{
    pp_queue *q = NULL, *q2 = NULL;
    pp_values *v = NULL, *got = NULL;
    const char *s = NULL;
    double d = 0;
    size_t n = 99;
    int flag = -1, i;

    PP_ASSERT_STATUS_FATAL(pp_queue_create(NULL, 3, 0, &q), PP_OK);
    CU_ASSERT_EQUAL(pp_queue_maxsize(q), 3);
    CU_ASSERT_EQUAL(pp_queue_capacity(q), PP_QUEUE_DEFAULT_BYTES);
    PP_ASSERT_STATUS_FATAL(pp_queue_open(pp_queue_name(q), &q2), PP_OK);
    PP_ASSERT_STATUS(pp_queue_empty(q, &flag), PP_OK);
    CU_ASSERT_EQUAL(flag, 1);
    /* mixed items, one through each handle */
    PP_ASSERT_STATUS_FATAL(pp_values_of(&v, 1, 2.5, "three"), PP_OK);
    PP_ASSERT_STATUS(pp_queue_put(q, v, 0), PP_OK);
    PP_ASSERT_STATUS(pp_queue_put(q2, NULL, 0), PP_OK); /* an empty tuple */
    PP_ASSERT_STATUS(pp_queue_try_put(q, v), PP_OK);
    PP_ASSERT_STATUS(pp_queue_qsize(q2, &n), PP_OK);
    CU_ASSERT_EQUAL(n, 3);
    PP_ASSERT_STATUS(pp_queue_full(q, &flag), PP_OK);
    CU_ASSERT_EQUAL(flag, 1);
    PP_ASSERT_STATUS(pp_queue_try_put(q, v), PP_EBUSY);
    PP_ASSERT_STATUS(pp_queue_put(q, v, 0), PP_ETIMEDOUT);
    PP_ASSERT_STATUS(pp_queue_put(q, v, 30), PP_ETIMEDOUT);
    PP_ASSERT_STATUS_FATAL(pp_queue_get(q2, &got, 0), PP_OK);
    CU_ASSERT_EQUAL(pp_values_count(got), 3);
    PP_ASSERT_STATUS(pp_values_unpack(got, "lds", &(int64_t){0}, &d, &s), PP_OK);
    CU_ASSERT(d == 2.5 && s != NULL && strcmp(s, "three") == 0);
    pp_values_destroy(got);
    PP_ASSERT_STATUS_FATAL(pp_queue_try_get(q, &got), PP_OK);
    CU_ASSERT_EQUAL(pp_values_count(got), 0);
    pp_values_destroy(got);
    PP_ASSERT_STATUS_FATAL(pp_queue_get(q, &got, PP_INFINITE), PP_OK);
    CU_ASSERT_EQUAL(pp_values_count(got), 3);
    pp_values_destroy(got);
    got = (pp_values *)&flag; /* must be set to NULL */
    PP_ASSERT_STATUS(pp_queue_try_get(q, &got), PP_EBUSY);
    CU_ASSERT_PTR_NULL(got);
    PP_ASSERT_STATUS(pp_queue_get(q, &got, 0), PP_ETIMEDOUT);
    PP_ASSERT_STATUS(pp_queue_get(q2, &got, 30), PP_ETIMEDOUT);
    PP_ASSERT_STATUS(pp_queue_full(q, &flag), PP_OK);
    CU_ASSERT_EQUAL(flag, 0);
    /* FIFO over many laps of the ring */
    for (i = 0; i < 1000; i++) {
        put_item(q, 1, i);
        if (i % 3 == 2) {
            expect_item(q2, 1, i - 2);
            expect_item(q2, 1, i - 1);
            expect_item(q2, 1, i);
        }
    }
    expect_item(q, 1, 999);
    pp_values_destroy(v);
    pp_queue_destroy(q2);
    pp_queue_destroy(q);
}

/* Large items over many laps of a small ring: those in one piece are
 * decoded in place, those that wrap around its end are copied out first;
 * both arrive whole and in order. */
static void t_large_items(void)
{
    pp_queue *q = NULL;
    int i, j;

    PP_ASSERT_STATUS_FATAL(pp_queue_create(NULL, 0, 8192, &q), PP_OK);
    for (i = 0; i < 400; i += 5) {
        for (j = 0; j < 5; j++)
            put_item(q, 100 + j % 2, i + j);
        for (j = 0; j < 5; j++)
            expect_item(q, 100 + j % 2, i + j);
    }
    pp_queue_destroy(q);
}

/* A queue that keeps emptying goes back to its ring's start (cache-warm
 * lines): items stay whole and in order across those rewinds and the
 * wraps between them, and its positions grow no faster than the bytes
 * put (they must never wrap around 2^64). */
static void t_rewind(void)
{
    enum { CAP = 65536 };
    pp_queue *q = NULL;
    const qstate *s;
    uint64_t bytes = 0, start;
    int64_t i, j;

    PP_ASSERT_STATUS_FATAL(pp_queue_create(NULL, 0, CAP, &q), PP_OK);
    s = pp__sobj_state((pp__sobj *)q);
    start = s->tail;
    for (i = 0; i < 3000; i++) {
        /* one to four items at a time, small and large */
        for (j = 0; j <= i % 4; j++) {
            pp_values *v = item(i % 3 == 0 ? 107 : 7, i * 4 + j);
            CU_ASSERT_FATAL(v != NULL);
            bytes += pp_queue_item_size(v);
            PP_ASSERT_STATUS(pp_queue_put(q, v, WAIT_MS), PP_OK);
            pp_values_destroy(v);
        }
        for (j = 0; j <= i % 4; j++)
            expect_item(q, i % 3 == 0 ? 107 : 7, i * 4 + j);
    }
    CU_ASSERT(bytes > 20 * (uint64_t)CAP); /* many laps */
    PP_ASSERT_MSG(s->tail - start <= bytes, "positions moved %llu for %llu bytes put",
                  (unsigned long long)(s->tail - start), (unsigned long long)bytes);
    CU_ASSERT(s->head == s->tail && s->rhead == s->tail && s->count == 0 && s->nres == 0);
    pp_queue_destroy(q);
}

static void t_unbounded_and_bytes(void)
{
    pp_queue *q = NULL;
    pp_values *v = NULL;
    char big[200];
    size_t n = 0, one;
    int flag = -1, i, fit;

    /* no count limit: only the ring's bytes bound it */
    PP_ASSERT_STATUS_FATAL(pp_queue_create(NULL, 0, 4096, &q), PP_OK);
    memset(big, 'b', sizeof big);
    PP_ASSERT_STATUS_FATAL(pp_values_of(&v, pp_value_bytes(big, sizeof big)), PP_OK);
    one = pp_queue_item_size(v);
    CU_ASSERT(one >= sizeof big + PP_QUEUE_ITEM_OVERHEAD && one % 8 == 0);
    fit = (int)(4096 / one);
    for (i = 0; i < fit; i++)
        PP_ASSERT_STATUS(pp_queue_try_put(q, v), PP_OK);
    PP_ASSERT_STATUS(pp_queue_try_put(q, v), PP_EBUSY);
    PP_ASSERT_STATUS(pp_queue_put(q, v, 20), PP_ETIMEDOUT);
    PP_ASSERT_STATUS(pp_queue_full(q, &flag), PP_OK);
    CU_ASSERT_EQUAL(flag, 0); /* never "full" without maxsize */
    PP_ASSERT_STATUS(pp_queue_qsize(q, &n), PP_OK);
    CU_ASSERT_EQUAL(n, (size_t)fit);
    pp_values_destroy(v);
    /* small items still fit in the leftover bytes */
    v = NULL;
    PP_ASSERT_STATUS_FATAL(pp_values_of(&v, 1), PP_OK);
    if (4096 - (size_t)fit * one >= pp_queue_item_size(v))
        PP_ASSERT_STATUS(pp_queue_try_put(q, v), PP_OK);
    pp_values_destroy(v);
    pp_queue_destroy(q);
}

static void t_bad_input(void)
{
    pp_queue *q = NULL, *q2 = NULL;
    pp_values *v = NULL, *got = NULL;
    pp_lock *lock = NULL;
    char name[PP_NAME_MAX + 1];
    static char huge[8192];
    size_t n;
    int flag;

    PP_ASSERT_STATUS(pp_queue_create(NULL, 0, 0, NULL), PP_EINVAL);
    PP_ASSERT_STATUS(pp_queue_create("bad/name", 0, 0, &q), PP_EINVAL);
    CU_ASSERT_PTR_NULL(q);
    PP_ASSERT_STATUS(pp_queue_create("", 0, 0, &q), PP_EINVAL);
    PP_ASSERT_STATUS(pp_queue_create(NULL, 0, PP_QUEUE_MIN_BYTES - 1, &q), PP_EINVAL);
    PP_ASSERT_STATUS(pp_queue_create(NULL, 0, PP_QUEUE_MAX_BYTES + 1, &q), PP_EINVAL);
    PP_ASSERT_STATUS(pp_queue_create(NULL, PP_QUEUE_MAX_ITEMS + 1, 0, &q), PP_EINVAL);
    pp_test_unique_name(name, sizeof name);
    PP_ASSERT_STATUS(pp_queue_open(name, &q), PP_ENOENT);
    PP_ASSERT_STATUS(pp_queue_open(NULL, &q), PP_EINVAL);
    PP_ASSERT_STATUS(pp_queue_open(name, NULL), PP_EINVAL);
    /* a lock's name is not a queue */
    PP_ASSERT_STATUS_FATAL(pp_lock_create(name, &lock), PP_OK);
    PP_ASSERT_STATUS(pp_queue_open(name, &q), PP_EINVAL);
    PP_ASSERT_STATUS(pp_queue_create(name, 0, 0, &q), PP_EEXIST);
    pp_lock_destroy(lock);
    /* an array's name is another sync kind */
    {
        pp_array *a = NULL;
        PP_ASSERT_STATUS_FATAL(pp_array_create(name, PP_ARRAY_INT64, 1, &a), PP_OK);
        PP_ASSERT_STATUS(pp_queue_open(name, &q), PP_ETYPE);
        pp_array_destroy(a);
    }
    /* capacity rounded up to 8 */
    PP_ASSERT_STATUS_FATAL(pp_queue_create(name, 0, 65, &q), PP_OK);
    CU_ASSERT_EQUAL(pp_queue_capacity(q), 72);
    /* an item larger than the ring: at once, not waited for */
    PP_ASSERT_STATUS_FATAL(pp_values_of(&v, pp_value_bytes(huge, 70)), PP_OK);
    PP_ASSERT_STATUS(pp_queue_put(q, v, PP_INFINITE), PP_ETOOBIG);
    PP_ASSERT_STATUS(pp_queue_try_put(q, v), PP_ETOOBIG);
    pp_values_destroy(v);
    v = NULL;
    PP_ASSERT_STATUS(pp_queue_put(NULL, v, 0), PP_EINVAL);
    PP_ASSERT_STATUS(pp_queue_put(q, v, -2), PP_EINVAL);
    PP_ASSERT_STATUS(pp_queue_get(q, NULL, 0), PP_EINVAL);
    PP_ASSERT_STATUS(pp_queue_get(NULL, &got, 0), PP_EINVAL);
    PP_ASSERT_STATUS(pp_queue_get(q, &got, -5), PP_EINVAL);
    PP_ASSERT_STATUS(pp_queue_qsize(NULL, &n), PP_EINVAL);
    PP_ASSERT_STATUS(pp_queue_qsize(q, NULL), PP_EINVAL);
    PP_ASSERT_STATUS(pp_queue_empty(q, NULL), PP_EINVAL);
    PP_ASSERT_STATUS(pp_queue_full(NULL, &flag), PP_EINVAL);
    CU_ASSERT_PTR_NULL(pp_queue_name(NULL));
    CU_ASSERT_EQUAL(pp_queue_capacity(NULL), 0);
    pp_queue_destroy(NULL);
    /* the creator's destroy removes the name; an opened handle goes on */
    PP_ASSERT_STATUS_FATAL(pp_queue_open(name, &q2), PP_OK);
    pp_queue_destroy(q);
    PP_ASSERT_STATUS(pp_queue_open(name, &q), PP_ENOENT);
    PP_ASSERT_STATUS(pp_queue_put(q2, NULL, 0), PP_OK);
    PP_ASSERT_STATUS(pp_queue_get(q2, &got, 0), PP_OK);
    pp_values_destroy(got);
    pp_queue_destroy(q2);
}

/* ------------------------------------------------------------ threads */

enum { T_ITEMS = 3000 };

typedef struct tworker {
    pp_queue *q;
    int id;
    int64_t count, sum, bad;
} tworker;

static void t_producer(void *arg)
{
    tworker *w = arg;
    int64_t i;

    for (i = 0; i < T_ITEMS; i++) {
        pp_values *v = item(w->id, i);
        if (v == NULL || pp_queue_put(w->q, v, WAIT_MS) != PP_OK)
            w->bad++;
        pp_values_destroy(v);
    }
}

/* Take items until a (-1) sentinel; per producer, seq must grow. */
static void consume(pp_queue *q, int64_t *count, int64_t *sum, int64_t *bad)
{
    int64_t last[16], p = 0, s = 0;
    int i;

    for (i = 0; i < 16; i++)
        last[i] = -1;
    for (;;) {
        pp_values *v = NULL;
        if (pp_queue_get(q, &v, WAIT_MS) != PP_OK) {
            (*bad)++;
            return;
        }
        if (pp_values_count(v) == 1) {
            pp_values_destroy(v);
            return;
        }
        if (!item_read(v, &p, &s) || p < 0 || p >= 16 || s <= last[p])
            (*bad)++;
        else
            last[p] = s;
        (*count)++;
        *sum += mix(p, s);
        pp_values_destroy(v);
    }
}

static void t_consumer(void *arg)
{
    tworker *w = arg;

    consume(w->q, &w->count, &w->sum, &w->bad);
}

static void put_sentinels(pp_queue *q, int n)
{
    pp_values *stop = NULL;
    int i;

    PP_ASSERT_STATUS_FATAL(pp_values_of(&stop, -1), PP_OK);
    for (i = 0; i < n; i++)
        PP_ASSERT_STATUS(pp_queue_put(q, stop, WAIT_MS), PP_OK);
    pp_values_destroy(stop);
}

static int64_t expected_sum(int producers, int64_t items)
{
    int64_t sum = 0, i;
    int p;

    for (p = 0; p < producers; p++)
        for (i = 0; i < items; i++)
            sum += mix(p, i);
    return sum;
}

static void t_threads(void)
{
    enum { P = 3, C = 2 };
    tworker w[P + C];
    pp_test_thread *t[P + C];
    pp_queue *q = NULL;
    int64_t count = 0, sum = 0, bad = 0;
    int i;

    PP_ASSERT_STATUS_FATAL(pp_queue_create(NULL, 16, 2048, &q), PP_OK);
    memset(w, 0, sizeof w);
    for (i = 0; i < P + C; i++) {
        w[i].q = q;
        w[i].id = i;
        t[i] = pp_test_thread_start(i < P ? t_producer : t_consumer, &w[i]);
    }
    for (i = 0; i < P; i++)
        pp_test_thread_join(t[i]);
    put_sentinels(q, C);
    for (i = P; i < P + C; i++)
        pp_test_thread_join(t[i]);
    for (i = 0; i < P + C; i++) {
        count += w[i].count;
        sum += w[i].sum;
        bad += w[i].bad;
    }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(count, (int64_t)P * T_ITEMS);
    CU_ASSERT_EQUAL(sum, expected_sum(P, T_ITEMS));
    pp_queue_destroy(q);
}

/* ---------------------------------------------------------- processes */

static pp_queue *helper_open(const char *helper, const char *name)
{
    pp_queue *q = NULL;
    pp_status st = pp_queue_open(name, &q);

    if (st != PP_OK) {
        fprintf(stderr, "%s: pp_queue_open(%s): %s\n", helper, name, pp_err_name(st));
        exit(PP_TEST_EXIT_SETUP);
    }
    return q;
}

/* queue-produce NAME ID N: put N items of producer ID. */
static int h_produce(int argc, char **argv)
{
    pp_queue *q;
    int64_t id, n, i;
    pp_status st = PP_OK;

    if (argc != 4)
        return PP_TEST_EXIT_USAGE;
    q = helper_open(argv[0], argv[1]);
    id = atoll(argv[2]);
    n = atoll(argv[3]);
    for (i = 0; i < n && st == PP_OK; i++) {
        pp_values *v = item(id, i);
        st = v ? pp_queue_put(q, v, 60000) : PP_ENOMEM;
        pp_values_destroy(v);
    }
    pp_queue_destroy(q);
    return pp_test_exit_from_status(st);
}

/* queue-consume NAME: take items until a sentinel; print "count sum bad". */
static int h_consume(int argc, char **argv)
{
    char line[96];
    pp_queue *q;
    int64_t count = 0, sum = 0, bad = 0;

    if (argc != 2)
        return PP_TEST_EXIT_USAGE;
    q = helper_open(argv[0], argv[1]);
    consume(q, &count, &sum, &bad);
    snprintf(line, sizeof line, "%lld %lld %lld", (long long)count, (long long)sum, (long long)bad);
    pp_test_say(line);
    pp_queue_destroy(q);
    return 0;
}

static void t_processes(void)
{
    enum { P = 3, C = 2, N = 2000 };
    pp_test_child *prod[P], *cons[C];
    pp_queue *q = NULL;
    char ids[P][8], ns[16], line[128];
    int64_t count = 0, sum = 0, bad = 0;
    int i;

    PP_ASSERT_STATUS_FATAL(pp_queue_create(NULL, 64, 8192, &q), PP_OK);
    snprintf(ns, sizeof ns, "%d", N);
    for (i = 0; i < C; i++) {
        const char *args[] = {pp_queue_name(q), NULL};
        cons[i] = pp_test_spawn("queue-consume", args);
        CU_ASSERT_FATAL(cons[i] != NULL);
    }
    for (i = 0; i < P; i++) {
        const char *args[] = {pp_queue_name(q), ids[i], ns, NULL};
        snprintf(ids[i], sizeof ids[i], "%d", i);
        prod[i] = pp_test_spawn("queue-produce", args);
        CU_ASSERT_FATAL(prod[i] != NULL);
    }
    /* the parent produces and consumes too */
    for (i = 0; i < 200; i++)
        put_item(q, P, i);
    for (i = 0; i < P; i++) {
        PP_ASSERT_STATUS(pp_test_status_from_exit(pp_test_child_exit_code(prod[i], CHILD_MS)),
                         PP_OK);
        pp_test_child_free(prod[i]);
    }
    put_sentinels(q, C);
    for (i = 0; i < C; i++) {
        long long c = 0, s = 0, b = 0;
        CU_ASSERT_FATAL(pp_test_child_read_line(cons[i], line, sizeof line, LINE_MS));
        CU_ASSERT_FATAL(sscanf(line, "%lld %lld %lld", &c, &s, &b) == 3);
        count += c;
        sum += s;
        bad += b;
        CU_ASSERT_EQUAL(pp_test_child_exit_code(cons[i], CHILD_MS), 0);
        pp_test_child_free(cons[i]);
    }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(count, (int64_t)P * N + 200);
    CU_ASSERT_EQUAL(sum, expected_sum(P, N) + expected_sum(P + 1, 200) - expected_sum(P, 200));
    PP_ASSERT_STATUS(pp_queue_qsize(q, &(size_t){0}), PP_OK);
    pp_queue_destroy(q);
}

/* --------------------------------------------------------- death cases */

static int g_stop_at;

/* The hook of a victim: at its point, say so and wait to be killed. */
static void stop_here(int point)
{
    if (point != g_stop_at)
        return;
    pp_test_say("at");
    for (;;)
        pp_test_sleep_ms(1000);
}

/* queue-die-put NAME POINT [PRODUCER]: put (P, 0), (P, 1), then stop
 * inside the put of (P, 2) at POINT; P is 7 unless given. */
static int h_die_put(int argc, char **argv)
{
    pp_queue *q;
    pp_values *v;
    int64_t producer = 7;
    int i;

    if (argc != 3 && argc != 4)
        return PP_TEST_EXIT_USAGE;
    q = helper_open(argv[0], argv[1]);
    if (argc == 4)
        producer = atoll(argv[3]);
    for (i = 0; i < 3; i++) {
        if (i == 2) {
            g_stop_at = atoi(argv[2]);
            pp__queue_test_hook = stop_here;
        }
        v = item(producer, i);
        if (v == NULL || pp_queue_put(q, v, 10000) != PP_OK)
            return PP_TEST_EXIT_SETUP;
        pp_values_destroy(v);
    }
    pp_test_say("not stopped");
    return 1;
}

/* queue-die-get NAME POINT: stop inside a get at POINT. */
static int h_die_get(int argc, char **argv)
{
    pp_queue *q;
    pp_values *v = NULL;

    if (argc != 3)
        return PP_TEST_EXIT_USAGE;
    q = helper_open(argv[0], argv[1]);
    g_stop_at = atoi(argv[2]);
    pp__queue_test_hook = stop_here;
    if (pp_queue_get(q, &v, 10000) != PP_OK)
        return PP_TEST_EXIT_SETUP;
    pp_test_say("not stopped");
    return 1;
}

/* Run a victim helper up to point (extra: one more argument, or NULL)
 * and return it stopped there. */
static pp_test_child *stop_at(const char *helper, pp_queue *q, int point, const char *extra)
{
    char p[8], line[64];
    const char *args[] = {pp_queue_name(q), p, extra, NULL};
    pp_test_child *c;

    snprintf(p, sizeof p, "%d", point);
    c = pp_test_spawn(helper, args);
    CU_ASSERT_FATAL(c != NULL);
    CU_ASSERT(pp_test_child_read_line(c, line, sizeof line, LINE_MS) && strcmp(line, "at") == 0);
    return c;
}

/* Run a victim helper up to point and kill it there. */
static void kill_at(const char *helper, pp_queue *q, int point, const char *extra)
{
    pp_test_child *c = stop_at(helper, q, point, extra);

    pp_test_child_kill(c);
    pp_test_child_free(c);
}

/* After the victim: the queue holds exactly (producer, 0..n-1), then
 * works. */
static void expect_left(pp_queue *q, int64_t producer, int n)
{
    pp_values *v = NULL;
    int64_t t0 = pp_test_now_ms();
    size_t size = 99;
    int i;

    PP_ASSERT_STATUS(pp_queue_qsize(q, &size), PP_OK);
    for (i = 0; i < n; i++)
        expect_item(q, producer, i);
    PP_ASSERT_STATUS(pp_queue_try_get(q, &v), PP_EBUSY);
    for (i = 0; i < 100; i++) { /* items of up to 96 bytes: many laps of the ring */
        put_item(q, 8, i);
        expect_item(q, 8, i);
    }
    /* the dead holder of the state mutex did not make anyone wait long */
    CU_ASSERT(pp_test_now_ms() - t0 < 10000 * pp_test_timeout_mult());
    /* the snapshot was taken before the repair: a put that died after
     * publishing counts; one that died before it does not */
    CU_ASSERT_EQUAL(size, (size_t)n);
    for (i = 0; i < 100; i++) { /* large items too, a few at a time */
        put_item(q, 108, i);
        if (i % 3 == 2) {
            expect_item(q, 108, i - 2);
            expect_item(q, 108, i - 1);
            expect_item(q, 108, i);
        }
    }
    expect_item(q, 108, 99);
}

/* Small items (7) are copied in under the state mutex; large ones (107)
 * are reserved, copied without it, then committed. */
static void producer_killed(int point, int left, int64_t producer)
{
    pp_queue *q = NULL;
    char id[16];

    snprintf(id, sizeof id, "%lld", (long long)producer);
    PP_ASSERT_STATUS_FATAL(pp_queue_create(NULL, 0, 4096, &q), PP_OK);
    kill_at("queue-die-put", q, point, id);
    expect_left(q, producer, left);
    pp_queue_destroy(q);
}

/* Killed holding the state mutex, nothing written yet. */
static void t_producer_killed_locked(void)
{
    producer_killed(PP__QUEUE_HOOK_PUT_LOCKED, 2, 7);
}

static void t_producer_killed_locked_large(void)
{
    producer_killed(PP__QUEUE_HOOK_PUT_LOCKED, 2, 107);
}

/* Killed with the item's data copied but not published: no item (a
 * large one's reserved room is freed by the first put it holds up). */
static void t_producer_killed_copied(void)
{
    producer_killed(PP__QUEUE_HOOK_PUT_COPIED, 2, 7);
}

static void t_producer_killed_copied_large(void)
{
    producer_killed(PP__QUEUE_HOOK_PUT_COPIED, 2, 107);
}

/* Killed after publishing, still holding the mutex: the item is there. */
static void t_producer_killed_published(void)
{
    producer_killed(PP__QUEUE_HOOK_PUT_PUBLISHED, 3, 7);
}

static void t_producer_killed_published_large(void)
{
    producer_killed(PP__QUEUE_HOOK_PUT_PUBLISHED, 3, 107);
}

/* A live producer stopped in the middle of a large put (its room
 * reserved, the item not yet committed) holds up no other item: the
 * consumer gets what was put after it; its own item arrives once it
 * goes on (here: never, it is killed: then nothing of it). */
static void t_reserved_does_not_block(void)
{
    pp_queue *q = NULL;
    pp_values *v = NULL;
    pp_test_child *c;
    int i;

    PP_ASSERT_STATUS_FATAL(pp_queue_create(NULL, 0, 8192, &q), PP_OK);
    c = stop_at("queue-die-put", q, PP__QUEUE_HOOK_PUT_COPIED, "107");
    put_item(q, 8, 0);
    put_item(q, 108, 1);
    expect_item(q, 107, 0);
    expect_item(q, 107, 1);
    expect_item(q, 8, 0);
    expect_item(q, 108, 1);
    PP_ASSERT_STATUS(pp_queue_get(q, &v, 100), PP_ETIMEDOUT);
    for (i = 0; i < 5; i++) { /* less than a lap: the reserved room stays */
        put_item(q, 108, i);
        expect_item(q, 108, i);
    }
    pp_test_child_kill(c);
    pp_test_child_free(c);
    for (i = 0; i < 40; i++) { /* laps of the ring: its room is freed now */
        put_item(q, 108, i);
        expect_item(q, 108, i);
    }
    pp_queue_destroy(q);
}

static void consumer_killed(int point, int first_left, int64_t producer)
{
    pp_queue *q = NULL;
    int i;

    PP_ASSERT_STATUS_FATAL(pp_queue_create(NULL, 0, 4096, &q), PP_OK);
    put_item(q, producer, 0);
    put_item(q, producer, 1);
    put_item(q, producer, 2);
    kill_at("queue-die-get", q, point, NULL);
    for (i = first_left; i < 3; i++)
        expect_item(q, producer, i);
    for (i = 0; i < 100; i++) { /* many laps of the ring */
        put_item(q, 8, i);
        expect_item(q, 8, i);
    }
    pp_queue_destroy(q);
}

/* Killed holding the mutex before the item left: nothing lost. */
static void t_consumer_killed_locked(void)
{
    consumer_killed(PP__QUEUE_HOOK_GET_LOCKED, 0, 7);
}

/* The same with items decoded in place in the ring. */
static void t_consumer_killed_locked_large(void)
{
    consumer_killed(PP__QUEUE_HOOK_GET_LOCKED, 0, 107);
}

/* Killed after taking the item, before decoding it: that item only. */
static void t_consumer_killed_taken(void)
{
    consumer_killed(PP__QUEUE_HOOK_GET_TAKEN, 1, 7);
}

static void t_consumer_killed_taken_large(void)
{
    consumer_killed(PP__QUEUE_HOOK_GET_TAKEN, 1, 107);
}

/* queue-produce-loop NAME ID: put (ID, 0), (ID, 1), ... until killed. */
static int h_produce_loop(int argc, char **argv)
{
    pp_queue *q;
    int64_t id, i;
    pp_status st;

    if (argc != 3)
        return PP_TEST_EXIT_USAGE;
    q = helper_open(argv[0], argv[1]);
    id = atoll(argv[2]);
    for (i = 0;; i++) {
        pp_values *v = item(id, i);
        do
            st = v ? pp_queue_put(q, v, 1000) : PP_ENOMEM;
        while (st == PP_ETIMEDOUT);
        pp_values_destroy(v);
        if (st != PP_OK)
            return pp_test_exit_from_status(st);
    }
}

/* queue-consume-loop NAME: get and check items until killed; exit 1 at
 * the first malformed one. */
static int h_consume_loop(int argc, char **argv)
{
    pp_queue *q;
    int64_t p, s;
    pp_status st;

    if (argc != 2)
        return PP_TEST_EXIT_USAGE;
    q = helper_open(argv[0], argv[1]);
    for (;;) {
        pp_values *v = NULL;
        st = pp_queue_get(q, &v, 1000);
        if (st == PP_ETIMEDOUT)
            continue;
        if (st != PP_OK || !item_read(v, &p, &s))
            return 1;
        pp_values_destroy(v);
    }
}

/* Producers and consumers killed at random moments, round after round:
 * no consumer ever sees a malformed item, what is left is well formed
 * and in order per producer, and the queue goes on working. */
static void t_kill_storm(void)
{
    enum { ROUNDS = 8, P = 2, C = 2 };
    pp_test_child *c[P + C];
    pp_queue *q = NULL;
    char ids[P][16];
    int64_t last[ROUNDS * P], p, s;
    int r, i, code;

    PP_ASSERT_STATUS_FATAL(pp_queue_create(NULL, 0, 2048, &q), PP_OK);
    for (i = 0; i < ROUNDS * P; i++)
        last[i] = -1;
    for (r = 0; r < ROUNDS; r++) {
        for (i = 0; i < P + C; i++) {
            const char *args[] = {pp_queue_name(q), i < P ? ids[i] : NULL, NULL};
            if (i < P)
                snprintf(ids[i], sizeof ids[i], "%d", (i % 2 ? 100 : 0) + r * P + i);
            c[i] = pp_test_spawn(i < P ? "queue-produce-loop" : "queue-consume-loop", args);
            CU_ASSERT_FATAL(c[i] != NULL);
        }
        pp_test_sleep_ms(50 + 20 * r);
        for (i = 0; i < P + C; i++) {
            /* still running (killed now) is the expected outcome */
            PP_ASSERT_MSG(pp_test_child_wait(c[i], 0, &code) == PP_TEST_CHILD_TIMEOUT,
                          "round %d: helper %d ended by itself (code %d)", r, i, code);
            pp_test_child_free(c[i]);
        }
    }
    for (;;) {
        pp_values *v = NULL;
        pp_status st = pp_queue_get(q, &v, 300);
        if (st == PP_ETIMEDOUT)
            break;
        PP_ASSERT_STATUS_FATAL(st, PP_OK);
        CU_ASSERT_FATAL(item_read(v, &p, &s) && p % 100 < ROUNDS * P);
        CU_ASSERT(s > last[p % 100]); /* odd helpers make large items: ids from 100 */
        last[p % 100] = s;
        pp_values_destroy(v);
    }
    for (i = 0; i < 200; i++) {
        put_item(q, 99, i);
        expect_item(q, 99, i);
    }
    pp_queue_destroy(q);
}

/* A producer blocked on a full queue while a consumer dies holding the
 * mutex still gets its item in. */
static void t_blocked_put_survives_death(void)
{
    pp_queue *q = NULL;
    char p[8], line[64];
    pp_test_child *c;
    const char *args[3];

    PP_ASSERT_STATUS_FATAL(pp_queue_create(NULL, 1, 0, &q), PP_OK);
    put_item(q, 7, 0);
    snprintf(p, sizeof p, "%d", PP__QUEUE_HOOK_GET_LOCKED);
    args[0] = pp_queue_name(q);
    args[1] = p;
    args[2] = NULL;
    c = pp_test_spawn("queue-die-get", args);
    CU_ASSERT_FATAL(c != NULL);
    CU_ASSERT(pp_test_child_read_line(c, line, sizeof line, LINE_MS) && strcmp(line, "at") == 0);
    PP_ASSERT_STATUS(pp_queue_put(q, NULL, 50), PP_ETIMEDOUT); /* full, mutex held */
    pp_test_child_kill(c);
    pp_test_child_free(c);
    expect_item(q, 7, 0);
    PP_ASSERT_STATUS(pp_queue_put(q, NULL, WAIT_MS), PP_OK);
    pp_queue_destroy(q);
}

/* ------------------------------------------------- items with objects */

/* queue-use-objs NAME: get (lock, shm, n, array, queue); take the lock,
 * write n into the block's first 8 bytes, release; add n to array[0]; put
 * (n) into the queue that came in the item; exit with the first failure. */
static int h_use_objs(int argc, char **argv)
{
    pp_queue *q;
    pp_values *v = NULL;
    pp_lock *lock = NULL;
    pp_shm *shm = NULL;
    pp_array *arr = NULL;
    pp_queue *reply = NULL;
    pp_values *r = NULL;
    int64_t n = 0;
    pp_status st;

    if (argc != 2)
        return PP_TEST_EXIT_USAGE;
    q = helper_open(argv[0], argv[1]);
    st = pp_queue_get(q, &v, 30000);
    if (st == PP_OK)
        st = pp_values_unpack(v, "kml", &lock, &shm, &n);
    if (st == PP_OK)
        st = pp_values_get_array(v, 3, &arr);
    if (st == PP_OK)
        st = pp_values_get_queue(v, 4, &reply);
    if (st == PP_OK)
        st = pp_array_add_int64(arr, 0, n, NULL);
    if (st == PP_OK)
        st = pp_values_of(&r, n);
    if (st == PP_OK)
        st = pp_queue_put(reply, r, 30000);
    pp_values_destroy(r);
    if (st == PP_OK)
        st = pp_lock_acquire(lock, 10000);
    if (st == PP_OK) {
        pp_shm_store_int64(shm, 0, n);
        st = pp_lock_release(lock);
    }
    pp_values_destroy(v);
    pp_queue_destroy(q);
    return pp_test_exit_from_status(st);
}

static void t_items_carry_objects(void)
{
    pp_queue *q = NULL;
    pp_lock *lock = NULL;
    pp_shm *shm = NULL;
    pp_array *arr = NULL;
    pp_queue *reply = NULL;
    pp_values *v = NULL;
    int64_t x = 0;
    const char *args[2];

    PP_ASSERT_STATUS_FATAL(pp_queue_create(NULL, 0, 0, &q), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_queue_create(NULL, 0, 0, &reply), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_array_create(NULL, PP_ARRAY_INT64, 1, &arr), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_lock_create(NULL, &lock), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_shm_create(NULL, 64, &shm), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_values_of(&v, lock, shm, 4242, arr, reply), PP_OK);
    PP_ASSERT_STATUS(pp_queue_put(q, v, 0), PP_OK);
    pp_values_destroy(v);
    args[0] = pp_queue_name(q);
    args[1] = NULL;
    PP_ASSERT_STATUS(pp_test_status_from_exit(pp_test_run_helper("queue-use-objs", args, CHILD_MS)),
                     PP_OK);
    PP_ASSERT_STATUS(pp_shm_load_int64(shm, 0, &x), PP_OK);
    CU_ASSERT_EQUAL(x, 4242);
    PP_ASSERT_STATUS(pp_array_load_int64(arr, 0, &x), PP_OK);
    CU_ASSERT_EQUAL(x, 4242);
    expect_int(reply, 4242);
    PP_ASSERT_STATUS(pp_lock_try_acquire(lock), PP_OK); /* released by the helper */
    PP_ASSERT_STATUS(pp_lock_release(lock), PP_OK);
    /* in this process the item's handles are this process's own */
    v = NULL;
    PP_ASSERT_STATUS_FATAL(pp_values_pack(&v, "km", lock, shm), PP_OK);
    PP_ASSERT_STATUS(pp_queue_put(q, v, 0), PP_OK);
    pp_values_destroy(v);
    v = NULL;
    PP_ASSERT_STATUS_FATAL(pp_queue_get(q, &v, 0), PP_OK);
    {
        pp_shm *s2 = NULL;
        PP_ASSERT_STATUS(pp_values_get_shm(v, 1, &s2), PP_OK);
        CU_ASSERT_PTR_EQUAL(pp_shm_ptr(s2), pp_shm_ptr(shm));
    }
    pp_values_destroy(v);
    pp_shm_destroy(shm);
    pp_lock_destroy(lock);
    pp_array_destroy(arr);
    pp_queue_destroy(reply);
    pp_queue_destroy(q);
}

/* --------------------------------------------------------- pool workers */

/* (queue, array, producer, n): put n items, count them in array[0]
 * (atomic) and set array[1 + producer] = n under the lock. */
static int qw_task(pp_task *t)
{
    const pp_values *a = pp_task_args(t);
    pp_queue *q = NULL;
    pp_array *arr = NULL;
    int64_t id = 0, n = 0, i;
    pp_status st = pp_values_get_queue(a, 0, &q);

    if (st == PP_OK)
        st = pp_values_get_array(a, 1, &arr);
    if (st == PP_OK)
        st = pp_values_get_int(a, 2, &id);
    if (st == PP_OK)
        st = pp_values_get_int(a, 3, &n);
    if (st != PP_OK)
        return pp_task_fail(t, st, "expects (queue, array, id, n): %s", pp_err_name(st));
    for (i = 0; i < n && st == PP_OK; i++) {
        pp_values *v = item(id, i);
        st = v ? pp_queue_put(q, v, 60000) : PP_ENOMEM;
        pp_values_destroy(v);
        if (st == PP_OK)
            st = pp_array_add_int64(arr, 0, 1, NULL);
    }
    if (st == PP_OK)
        st = pp_array_set_int64(arr, (size_t)(1 + id), n, 60000);
    return st == PP_OK ? 0 : pp_task_fail(t, st, "put: %s", pp_err_name(st));
}
PP_TASK_REGISTER(qw_task)

static void do_workers(int method)
{
    enum { TASKS = 6, N = 500 };
    pp_pool_options o;
    pp_pool *p = NULL;
    pp_values *items[TASKS];
    pp_result *r = NULL;
    pp_queue *q = NULL;
    pp_array *arr = NULL;
    int64_t last[TASKS], count = 0, sum = 0, x = 0;
    int i, bad = 0;

    PP_ASSERT_STATUS_FATAL(pp_queue_create(NULL, 32, 0, &q), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_array_create(NULL, PP_ARRAY_INT64, 1 + TASKS, &arr), PP_OK);
    memset(&o, 0, sizeof o);
    o.processes = 3;
    o.start_method = (pp_start_method)method;
    PP_ASSERT_STATUS_FATAL(pp_pool_create(&p, &o), PP_OK);
    for (i = 0; i < TASKS; i++) {
        items[i] = NULL;
        last[i] = -1;
        PP_ASSERT_STATUS_FATAL(pp_values_create(&items[i]), PP_OK);
        PP_ASSERT_STATUS_FATAL(pp_values_add_queue(items[i], q), PP_OK);
        PP_ASSERT_STATUS_FATAL(pp_values_add_array(items[i], arr), PP_OK);
        PP_ASSERT_STATUS_FATAL(pp_values_add_int(items[i], i), PP_OK);
        PP_ASSERT_STATUS_FATAL(pp_values_add_int(items[i], N), PP_OK);
    }
    PP_ASSERT_STATUS_FATAL(pp_starmap_async(p, qw_task, items, TASKS, NULL, &r), PP_OK);
    /* the queue is bounded (32): the workers wait for the parent */
    for (i = 0; i < TASKS * N; i++) {
        pp_values *v = NULL;
        int64_t pr = -1, s = -1;
        PP_ASSERT_STATUS_FATAL(pp_queue_get(q, &v, WAIT_MS), PP_OK);
        if (!item_read(v, &pr, &s) || pr < 0 || pr >= TASKS || s <= last[pr])
            bad++;
        else
            last[pr] = s;
        count++;
        sum += mix(pr, s);
        pp_values_destroy(v);
    }
    PP_ASSERT_STATUS(pp_result_get(r, WAIT_MS, NULL), PP_OK);
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(count, (int64_t)TASKS * N);
    CU_ASSERT_EQUAL(sum, expected_sum(TASKS, N));
    PP_ASSERT_STATUS(pp_array_load_int64(arr, 0, &x), PP_OK);
    CU_ASSERT_EQUAL(x, (int64_t)TASKS * N);
    for (i = 0; i < TASKS; i++) {
        PP_ASSERT_STATUS(pp_array_get_int64(arr, (size_t)(1 + i), &x, WAIT_MS), PP_OK);
        CU_ASSERT_EQUAL(x, N);
    }
    pp_result_release(r);
    for (i = 0; i < TASKS; i++)
        pp_values_destroy(items[i]);
    PP_ASSERT_STATUS(pp_pool_close(p), PP_OK);
    PP_ASSERT_STATUS(pp_pool_join(p, WAIT_MS), PP_OK);
    pp_pool_destroy(p);
    pp_array_destroy(arr);
    pp_queue_destroy(q);
}

PP_TEST_PER_METHOD(workers)

/* A queue and an array a worker stored from its initializer's arguments
 * (initializer path), or inherited in globals under fork (no argument). */
static pp_queue *g_q;
static pp_array *g_arr;

static int qinit_task(pp_task *t)
{
    pp_status st = pp_values_get_queue(pp_task_args(t), 0, &g_q);

    if (st == PP_OK)
        st = pp_values_get_array(pp_task_args(t), 1, &g_arr);
    return st == PP_OK ? 0 : pp_task_fail(t, st, "initializer: %s", pp_err_name(st));
}
PP_TASK_REGISTER(qinit_task)

/* (x): put (x) into g_q and add x to g_arr[0]. */
static int qglobal_task(pp_task *t)
{
    pp_values *v = NULL;
    int64_t x = 0;
    pp_status st = pp_values_get_int(pp_task_args(t), 0, &x);

    if (g_q == NULL || g_arr == NULL)
        return pp_task_fail(t, PP_EINVAL, "no queue or array in this worker");
    if (st == PP_OK)
        st = pp_values_of(&v, x);
    if (st == PP_OK)
        st = pp_queue_put(g_q, v, 60000);
    pp_values_destroy(v);
    if (st == PP_OK)
        st = pp_array_add_int64(g_arr, 0, x, NULL);
    return st == PP_OK ? 0 : pp_task_fail(t, st, "%s", pp_err_name(st));
}
PP_TASK_REGISTER(qglobal_task)

/* Ten tasks through globals; the parent gets 1..10 in some order. */
static void globals_round(int method, const pp_values *initargs)
{
    enum { TASKS = 10 };
    pp_pool_options o;
    pp_pool *p = NULL;
    pp_values *items = NULL;
    pp_result *r = NULL;
    int64_t x = 0, sum = 0;
    int i;

    memset(&o, 0, sizeof o);
    o.processes = 2;
    o.start_method = (pp_start_method)method;
    if (initargs != NULL) {
        o.initializer = qinit_task;
        o.initargs = initargs;
    }
    PP_ASSERT_STATUS_FATAL(pp_pool_create(&p, &o), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_values_create(&items), PP_OK);
    for (i = 1; i <= TASKS; i++)
        PP_ASSERT_STATUS_FATAL(pp_values_add_int(items, i), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_map_async(p, qglobal_task, items, NULL, &r), PP_OK);
    for (i = 0; i < TASKS; i++) {
        pp_values *v = NULL;
        PP_ASSERT_STATUS_FATAL(pp_queue_get(g_q, &v, WAIT_MS), PP_OK);
        PP_ASSERT_STATUS(pp_values_get_int(v, 0, &x), PP_OK);
        sum += x;
        pp_values_destroy(v);
    }
    PP_ASSERT_STATUS(pp_result_get(r, WAIT_MS, NULL), PP_OK);
    CU_ASSERT_EQUAL(sum, TASKS * (TASKS + 1) / 2);
    PP_ASSERT_STATUS(pp_array_load_int64(g_arr, 0, &x), PP_OK);
    CU_ASSERT_EQUAL(x, TASKS * (TASKS + 1) / 2);
    pp_result_release(r);
    pp_values_destroy(items);
    PP_ASSERT_STATUS(pp_pool_close(p), PP_OK);
    PP_ASSERT_STATUS(pp_pool_join(p, WAIT_MS), PP_OK);
    pp_pool_destroy(p);
}

static void do_initializer(int method)
{
    pp_values *initargs = NULL;

    PP_ASSERT_STATUS_FATAL(pp_queue_create(NULL, 4, 0, &g_q), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_array_create(NULL, PP_ARRAY_INT64, 1, &g_arr), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_values_of(&initargs, g_q, g_arr), PP_OK);
    globals_round(method, initargs);
    pp_values_destroy(initargs);
    pp_array_destroy(g_arr);
    pp_queue_destroy(g_q);
}

PP_TEST_PER_METHOD(initializer)

/* Under fork the workers inherit the globals' handles: no argument. */
static void t_inherited_fork(void)
{
    PP_ASSERT_STATUS_FATAL(pp_queue_create(NULL, 4, 0, &g_q), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_array_create(NULL, PP_ARRAY_INT64, 1, &g_arr), PP_OK);
    globals_round(PP_START_FORK, NULL);
    pp_array_destroy(g_arr);
    pp_queue_destroy(g_q);
}

/* One test per line. */
/* clang-format off */
static const pp_test_case cases[] = {
    PP_TEST(t_semantics),
    PP_TEST(t_unbounded_and_bytes),
    PP_TEST(t_large_items),
    PP_TEST(t_rewind),
    PP_TEST(t_bad_input),
    PP_TEST_TIMEOUT(t_threads, 120),
    PP_TEST_TIMEOUT(t_processes, 120),
    PP_TEST(t_producer_killed_locked),
    PP_TEST(t_producer_killed_copied),
    PP_TEST(t_producer_killed_published),
    PP_TEST(t_producer_killed_locked_large),
    PP_TEST(t_producer_killed_copied_large),
    PP_TEST(t_producer_killed_published_large),
    PP_TEST(t_reserved_does_not_block),
    PP_TEST(t_consumer_killed_locked),
    PP_TEST(t_consumer_killed_locked_large),
    PP_TEST(t_consumer_killed_taken),
    PP_TEST(t_consumer_killed_taken_large),
    PP_TEST(t_blocked_put_survives_death),
    PP_TEST_TIMEOUT(t_kill_storm, 120),
    PP_TEST(t_items_carry_objects),
    PP_TEST_METHODS(workers, 120),
    PP_TEST_METHODS(initializer, 120),
    PP_TEST_TIMEOUT(t_inherited_fork, 120),
    PP_TEST_END,
};
/* clang-format on */

static const pp_test_helper helpers[] = {
    {"queue-produce", h_produce},           {"queue-consume", h_consume},
    {"queue-die-put", h_die_put},           {"queue-die-get", h_die_get},
    {"queue-use-objs", h_use_objs},         {"queue-produce-loop", h_produce_loop},
    {"queue-consume-loop", h_consume_loop}, {NULL, NULL},
};

PP_TEST_SUITE(queue)
{
    pp_test_add_suite("queue", cases);
    pp_test_add_helpers(helpers);
}
