/*
 * test_redis.c — the Redis lock (redis.h) against a real redis-server
 * (pp_test_redis.h): the lock contract, owner death after the lease,
 * fencing order, a lost lease at release, an unreachable server.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_network_io.h>
#include <hiredis/hiredis.h>

#include "procpool/procpool.h"
#include "platform.h"
#include "pp_test.h"
#include "pp_test_redis.h"

#define LINE_MS (30000 * pp_test_timeout_mult())

static pp_redis *connect_to(const pp_test_redis *s, int64_t lease_ms)
{
    pp_redis_options o;
    pp_redis *r = NULL;

    memset(&o, 0, sizeof o);
    o.password = s->password;
    o.lease_ms = lease_ms;
    o.timeout_ms = 3000;
    PP_ASSERT_STATUS_FATAL(pp_redis_connect(s->url, &o, &r), PP_OK);
    return r;
}

static void t_contract(void)
{
    pp_test_redis s;
    pp_redis *a, *b;
    pp_lock *la = NULL, *lb = NULL, *again = NULL;
    char name[PP_NAME_MAX + 1];
    uint64_t t1, t2;

    pp_test_redis_start(&s);
    a = connect_to(&s, 0);
    b = connect_to(&s, 0);
    pp_test_unique_name(name, sizeof name);
    PP_ASSERT_STATUS(pp_redis_lock_open(b, name, &lb), PP_ENOENT);
    PP_ASSERT_STATUS_FATAL(pp_redis_lock_create(a, name, &la), PP_OK);
    PP_ASSERT_STATUS(pp_redis_lock_create(b, name, &again), PP_EEXIST);
    CU_ASSERT_PTR_NULL(again);
    PP_ASSERT_STATUS_FATAL(pp_redis_lock_open(b, name, &lb), PP_OK);
    CU_ASSERT_EQUAL(pp_lock_fencing_token(la), 0);
    PP_ASSERT_STATUS(pp_lock_release(la), PP_EPERM); /* not held */
    PP_ASSERT_STATUS(pp_lock_acquire(la, 1000), PP_OK);
    t1 = pp_lock_fencing_token(la);
    CU_ASSERT(t1 > 0);
    PP_ASSERT_STATUS(pp_lock_acquire(la, 0), PP_EDEADLK);
    PP_ASSERT_STATUS(pp_lock_try_acquire(la), PP_EDEADLK);
    PP_ASSERT_STATUS(pp_lock_try_acquire(lb), PP_EBUSY);
    PP_ASSERT_STATUS(pp_lock_release(lb), PP_EPERM); /* b does not hold it */
    PP_ASSERT_STATUS(pp_lock_release(la), PP_OK);
    PP_ASSERT_STATUS(pp_lock_release(la), PP_EPERM);
    PP_ASSERT_STATUS(pp_lock_try_acquire(lb), PP_OK);
    t2 = pp_lock_fencing_token(lb);
    CU_ASSERT(t2 > t1);
    PP_ASSERT_STATUS(pp_lock_release(lb), PP_OK);
    CU_ASSERT_PTR_NULL(pp_lock_name(la));
    {
        /* It cannot travel in task arguments yet: said, not a crash. */
        pp_values *v = NULL;
        PP_ASSERT_STATUS_FATAL(pp_values_create(&v), PP_OK);
        PP_ASSERT_STATUS(pp_values_add_lock(v, la), PP_ENOTSUP);
        CU_ASSERT_EQUAL(pp_values_count(v), 0);
        pp_values_destroy(v);
    }
    /* The creator's destroy removes the lock. */
    pp_lock_destroy(la);
    PP_ASSERT_STATUS(pp_lock_acquire(lb, 1000), PP_ENOENT);
    pp_lock_destroy(lb);
    PP_ASSERT_STATUS(pp_redis_lock_open(b, name, &lb), PP_ENOENT);
    pp_redis_destroy(a);
    pp_redis_destroy(b);
    pp_test_redis_stop(&s);
}

static void t_timeout_and_wakeup(void)
{
    pp_test_redis s;
    pp_redis *a, *b;
    pp_lock *la = NULL, *lb = NULL;
    char name[PP_NAME_MAX + 1];
    int64_t t0;

    pp_test_redis_start(&s);
    a = connect_to(&s, 0);
    b = connect_to(&s, 0);
    pp_test_unique_name(name, sizeof name);
    PP_ASSERT_STATUS_FATAL(pp_redis_lock_create(a, name, &la), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_redis_lock_open(b, name, &lb), PP_OK);
    PP_ASSERT_STATUS(pp_lock_acquire(la, 0), PP_OK);
    t0 = pp_test_now_ms();
    PP_ASSERT_STATUS(pp_lock_acquire(lb, 300), PP_ETIMEDOUT);
    CU_ASSERT(pp_test_now_ms() - t0 >= 300 - pp_test_clock_slack_ms());
    PP_ASSERT_STATUS(pp_lock_release(la), PP_OK);
    PP_ASSERT_STATUS(pp_lock_acquire(lb, 5000), PP_OK); /* not owner-dead: released cleanly */
    PP_ASSERT_STATUS(pp_lock_release(lb), PP_OK);
    pp_lock_destroy(lb);
    pp_lock_destroy(la);
    pp_redis_destroy(a);
    pp_redis_destroy(b);
    pp_test_redis_stop(&s);
}

/* Two handles (two connections) in threads increment a counter under the
 * lock: no increment is lost; every token is larger than the last. */
typedef struct racer {
    const pp_test_redis *s;
    const char *name;
    volatile int64_t *counter;
    volatile uint64_t *last_token;
    int errors;
} racer;

#define ROUNDS 300

static void race(void *arg)
{
    racer *rc = arg;
    pp_redis *r = connect_to(rc->s, 0);
    pp_lock *l = NULL;
    int i;

    if (pp_redis_lock_open(r, rc->name, &l) != PP_OK) {
        rc->errors++;
        pp_redis_destroy(r);
        return;
    }
    for (i = 0; i < ROUNDS; i++) {
        uint64_t t;
        if (pp_lock_acquire(l, 30000) != PP_OK) {
            rc->errors++;
            continue;
        }
        t = pp_lock_fencing_token(l);
        if (t <= *rc->last_token)
            rc->errors++;
        *rc->last_token = t;
        pp_test_racy_increment(rc->counter, i);
        if (pp_lock_release(l) != PP_OK)
            rc->errors++;
    }
    pp_lock_destroy(l);
    pp_redis_destroy(r);
}

static void t_exclusion(void)
{
    pp_test_redis s;
    pp_redis *c;
    pp_lock *l = NULL;
    char name[PP_NAME_MAX + 1];
    volatile int64_t counter = 0;
    volatile uint64_t last = 0;
    racer a, b;
    pp_test_thread *ta, *tb;

    pp_test_redis_start(&s);
    c = connect_to(&s, 0);
    pp_test_unique_name(name, sizeof name);
    PP_ASSERT_STATUS_FATAL(pp_redis_lock_create(c, name, &l), PP_OK);
    memset(&a, 0, sizeof a);
    a.s = &s;
    a.name = name;
    a.counter = &counter;
    a.last_token = &last;
    b = a;
    ta = pp_test_thread_start(race, &a);
    tb = pp_test_thread_start(race, &b);
    pp_test_thread_join(ta);
    pp_test_thread_join(tb);
    CU_ASSERT_EQUAL(a.errors + b.errors, 0);
    CU_ASSERT_EQUAL(counter, 2 * ROUNDS);
    pp_lock_destroy(l);
    pp_redis_destroy(c);
    pp_test_redis_stop(&s);
}

/* "redis-hold URL PASSWORD NAME LEASE_MS": acquire, print "HELD token",
 * then wait on stdin (the test kills us: we never release). */
static int h_hold(int argc, char **argv)
{
    pp_redis_options o;
    pp_redis *r = NULL;
    pp_lock *l = NULL;
    char line[64];
    pp_status st;

    if (argc != 5)
        return PP_TEST_EXIT_USAGE;
    memset(&o, 0, sizeof o);
    o.password = argv[2];
    o.lease_ms = atoi(argv[4]);
    st = pp_redis_connect(argv[1], &o, &r);
    if (st == PP_OK)
        st = pp_redis_lock_open(r, argv[3], &l);
    if (st == PP_OK)
        st = pp_lock_acquire(l, 10000);
    if (st != PP_OK) {
        printf("ERR %s\n", pp_err_name(st));
        fflush(stdout);
        return pp_test_exit_from_status(st);
    }
    printf("HELD %llu\n", (unsigned long long)pp_lock_fencing_token(l));
    fflush(stdout);
    while (fgets(line, sizeof line, stdin) != NULL)
        ;
    return 0;
}

/* A holder SIGKILLed: its lease runs out, and the next acquirer gets
 * PP_EOWNERDEAD and a larger token; the one after that a plain PP_OK. */
static void t_holder_killed(void)
{
    pp_test_redis s;
    pp_redis *r;
    pp_lock *l = NULL;
    char name[PP_NAME_MAX + 1], line[64];
    const char *args[5];
    pp_test_child *c;
    unsigned long long held = 0;
    int64_t t0;

    pp_test_redis_start(&s);
    r = connect_to(&s, 0);
    pp_test_unique_name(name, sizeof name);
    PP_ASSERT_STATUS_FATAL(pp_redis_lock_create(r, name, &l), PP_OK);
    args[0] = s.url;
    args[1] = s.password;
    args[2] = name;
    args[3] = "400";
    args[4] = NULL;
    c = pp_test_spawn("redis-hold", args);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_FATAL(pp_test_child_read_line(c, line, sizeof line, LINE_MS));
    CU_ASSERT_FATAL(sscanf(line, "HELD %llu", &held) == 1);
    PP_ASSERT_STATUS(pp_lock_try_acquire(l), PP_EBUSY); /* alive and renewing */
    pp_test_sleep_ms(700);                              /* longer than its lease */
    PP_ASSERT_STATUS(pp_lock_try_acquire(l), PP_EBUSY); /* renewed, not expired */
    pp_test_child_kill(c);
    pp_test_child_free(c);
    t0 = pp_test_now_ms();
    PP_ASSERT_STATUS(pp_lock_acquire(l, LINE_MS), PP_EOWNERDEAD);
    CU_ASSERT(pp_test_now_ms() - t0 < 10000); /* the lease, not forever */
    CU_ASSERT(pp_lock_fencing_token(l) > held);
    PP_ASSERT_STATUS(pp_lock_release(l), PP_OK);
    PP_ASSERT_STATUS(pp_lock_acquire(l, 1000), PP_OK);
    PP_ASSERT_STATUS(pp_lock_release(l), PP_OK);
    pp_lock_destroy(l);
    pp_redis_destroy(r);
    pp_test_redis_stop(&s);
}

/* A holder whose lease is gone (a pause, simulated by deleting its owner
 * key) learns it at release: PP_EPERM; meanwhile another acquired it with
 * PP_EOWNERDEAD. */
static void t_lease_lost(void)
{
    pp_test_redis s;
    pp_redis *a, *b;
    pp_lock *la = NULL, *lb = NULL;
    char name[PP_NAME_MAX + 1], key[PP_NAME_MAX + 32], host[64];
    redisContext *raw;
    redisReply *rep;
    int port = 0;

    pp_test_redis_start(&s);
    a = connect_to(&s, 0);
    b = connect_to(&s, 0);
    pp_test_unique_name(name, sizeof name);
    PP_ASSERT_STATUS_FATAL(pp_redis_lock_create(a, name, &la), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_redis_lock_open(b, name, &lb), PP_OK);
    PP_ASSERT_STATUS(pp_lock_acquire(la, 0), PP_OK);
    CU_ASSERT_FATAL(sscanf(s.url, "redis://%63[^:]:%d", host, &port) == 2);
    raw = redisConnect(host, port);
    CU_ASSERT_FATAL(raw != NULL && raw->err == 0);
    rep = redisCommand(raw, "AUTH %s", s.password);
    freeReplyObject(rep);
    snprintf(key, sizeof key, "pp:lock:%s:owner", name);
    rep = redisCommand(raw, "DEL %s", key);
    CU_ASSERT(rep != NULL && rep->type == REDIS_REPLY_INTEGER && rep->integer == 1);
    freeReplyObject(rep);
    redisFree(raw);
    PP_ASSERT_STATUS(pp_lock_acquire(lb, 5000), PP_EOWNERDEAD);
    PP_ASSERT_STATUS(pp_lock_release(la), PP_EPERM);
    PP_ASSERT_STATUS(pp_lock_release(lb), PP_OK);
    pp_lock_destroy(lb);
    pp_lock_destroy(la);
    pp_redis_destroy(a);
    pp_redis_destroy(b);
    pp_test_redis_stop(&s);
}

/* The server killed while a client waits in acquire: PP_ECONNLOST within
 * the reply deadline, no hang; the handle stays broken. */
static pp_lock *g_waiter_lock;
static pp_status g_waiter_status;

static void wait_forever(void *arg)
{
    (void)arg;
    g_waiter_status = pp_lock_acquire(g_waiter_lock, PP_INFINITE);
}

static void t_server_killed_while_waiting(void)
{
    pp_test_redis s;
    pp_redis *a, *b;
    pp_lock *la = NULL;
    char name[PP_NAME_MAX + 1];
    pp_test_thread *t;
    int64_t t0;

    pp_test_redis_start(&s);
    CU_ASSERT_FATAL(s.own);
    a = connect_to(&s, 0);
    b = connect_to(&s, 0);
    pp_test_unique_name(name, sizeof name);
    PP_ASSERT_STATUS_FATAL(pp_redis_lock_create(a, name, &la), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_redis_lock_open(b, name, &g_waiter_lock), PP_OK);
    PP_ASSERT_STATUS(pp_lock_acquire(la, 0), PP_OK);
    g_waiter_status = PP_OK;
    t = pp_test_thread_start(wait_forever, NULL);
    pp_test_sleep_ms(300);
    t0 = pp_test_now_ms();
    pp_test_redis_kill(&s);
    pp_test_thread_join(t);
    PP_ASSERT_STATUS(g_waiter_status, PP_ECONNLOST);
    CU_ASSERT(pp_test_now_ms() - t0 < 15000);
    PP_ASSERT_STATUS(pp_lock_release(la), PP_ECONNLOST);
    PP_ASSERT_STATUS(pp_lock_try_acquire(g_waiter_lock), PP_ECONNLOST);
    pp_lock_destroy(g_waiter_lock);
    pp_lock_destroy(la);
    pp_redis_destroy(a);
    pp_redis_destroy(b);
    pp_test_redis_stop(&s);
}

/* A server that accepts and never answers: connect fails within its
 * timeout with PP_ECONNLOST. */
static void t_silent_server(void)
{
    apr_sockaddr_t *sa = NULL;
    apr_socket_t *ls = NULL;
    pp_redis_options o;
    pp_redis *r = NULL;
    char url[64];
    int64_t t0;

    CU_ASSERT_FATAL(apr_sockaddr_info_get(&sa, "127.0.0.1", APR_INET, 0, 0, pp_test_pool()) ==
                    APR_SUCCESS);
    CU_ASSERT_FATAL(apr_socket_create(&ls, APR_INET, SOCK_STREAM, APR_PROTO_TCP, pp_test_pool()) ==
                    APR_SUCCESS);
    CU_ASSERT_FATAL(apr_socket_bind(ls, sa) == APR_SUCCESS);
    CU_ASSERT_FATAL(apr_socket_listen(ls, 8) == APR_SUCCESS);
    CU_ASSERT_FATAL(apr_socket_addr_get(&sa, APR_LOCAL, ls) == APR_SUCCESS);
    snprintf(url, sizeof url, "redis://127.0.0.1:%d", (int)sa->port);
    memset(&o, 0, sizeof o);
    o.timeout_ms = 500;
    o.password = "x";
    t0 = pp_test_now_ms();
    PP_ASSERT_STATUS(pp_redis_connect(url, &o, &r), PP_ECONNLOST);
    CU_ASSERT_PTR_NULL(r);
    CU_ASSERT(pp_test_now_ms() - t0 < 5000);
    apr_socket_close(ls);
    /* Nobody listens there now. */
    PP_ASSERT_STATUS(pp_redis_connect(url, &o, &r), PP_ECONNLOST);
}

static void t_bad_input(void)
{
    pp_test_redis s;
    pp_redis_options o;
    pp_redis *r = NULL;
    pp_lock *l = NULL;

    pp_test_redis_start(&s);
    memset(&o, 0, sizeof o);
    PP_ASSERT_STATUS(pp_redis_connect(NULL, &o, &r), PP_EINVAL);
    PP_ASSERT_STATUS(pp_redis_connect(s.url, &o, NULL), PP_EINVAL);
    PP_ASSERT_STATUS(pp_redis_connect("http://x:1", &o, &r), PP_EINVAL);
    PP_ASSERT_STATUS(pp_redis_connect("redis://host", &o, &r), PP_EINVAL);
    PP_ASSERT_STATUS(pp_redis_connect("redis://host:0", &o, &r), PP_EINVAL);
    PP_ASSERT_STATUS(pp_redis_connect("redis://host:70000", &o, &r), PP_EINVAL);
    o.lease_ms = 5;
    PP_ASSERT_STATUS(pp_redis_connect(s.url, &o, &r), PP_EINVAL);
    o.lease_ms = 0;
    o.timeout_ms = -1;
    PP_ASSERT_STATUS(pp_redis_connect(s.url, &o, &r), PP_EINVAL);
    o.timeout_ms = 0;
    if (s.password[0] != '\0') {
        o.password = "wrong";
        PP_ASSERT_STATUS(pp_redis_connect(s.url, &o, &r), PP_EAUTH);
        o.password = NULL;
        PP_ASSERT_STATUS(pp_redis_connect(s.url, &o, &r), PP_EAUTH); /* it wants one */
    }
    CU_ASSERT_PTR_NULL(r);
    r = connect_to(&s, 0);
    PP_ASSERT_STATUS(pp_redis_lock_create(r, "", &l), PP_EINVAL);
    PP_ASSERT_STATUS(pp_redis_lock_create(r, "a b", &l), PP_EINVAL);
    PP_ASSERT_STATUS(pp_redis_lock_create(r, "x", NULL), PP_EINVAL);
    PP_ASSERT_STATUS(pp_redis_lock_create(NULL, "x", &l), PP_EINVAL);
    PP_ASSERT_STATUS(pp_redis_lock_open(r, NULL, &l), PP_EINVAL);
    CU_ASSERT_PTR_NULL(l);
    pp_redis_destroy(r);
    pp_redis_destroy(NULL);
    pp_test_redis_stop(&s);
}

/* One test per line. */
/* clang-format off */
static const pp_test_case cases[] = {
    PP_TEST(t_contract),
    PP_TEST(t_timeout_and_wakeup),
    PP_TEST_TIMEOUT(t_exclusion, 120),
    PP_TEST(t_holder_killed),
    PP_TEST(t_lease_lost),
    PP_TEST(t_server_killed_while_waiting),
    PP_TEST(t_silent_server),
    PP_TEST(t_bad_input),
    PP_TEST_END,
};
/* clang-format on */

static const pp_test_helper helpers[] = {{"redis-hold", h_hold}, {NULL, NULL}};

PP_TEST_SUITE(redis)
{
    pp_test_add_suite("redis", cases);
    pp_test_add_helpers(helpers);
}
