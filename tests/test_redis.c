/*
 * test_redis.c — the Redis lock (redis.h) against a real redis-server
 * (pp_test_redis.h): the lock contract, owner death after the lease,
 * fencing order, a lost lease at release, an unreachable server.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_atomic.h>
#include <apr_env.h>
#include <apr_file_info.h>
#include <apr_file_io.h>
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

/* The server restarted (killed, started again at the same address): the
 * call that met the break fails with PP_ECONNLOST, the next ones work on a
 * new connection — a worker's handle, kept for its life, is not useless
 * for good. A hold lost with the old server is PP_EPERM at release. */
static void t_server_restarted(void)
{
    pp_test_redis s;
    pp_redis *r;
    pp_lock *l = NULL;
    char name[PP_NAME_MAX + 1];
    pp_status st;

    pp_test_redis_start(&s);
    CU_ASSERT_FATAL(s.own);
    r = connect_to(&s, 0);
    pp_test_unique_name(name, sizeof name);
    PP_ASSERT_STATUS_FATAL(pp_redis_lock_create(r, name, &l), PP_OK);
    PP_ASSERT_STATUS(pp_lock_acquire(l, 1000), PP_OK);
    pp_test_redis_kill(&s);
    CU_ASSERT_FATAL(pp_test_redis_restart(&s));
    /* the old hold is gone with the old server's memory */
    st = pp_lock_release(l);
    CU_ASSERT(st == PP_ECONNLOST || st == PP_EPERM);
    /* the lock's keys are gone too: it does not exist in the new server */
    st = pp_lock_acquire(l, 1000);
    if (st == PP_ECONNLOST)
        st = pp_lock_acquire(l, 1000); /* the call that met the break */
    PP_ASSERT_STATUS(st, PP_ENOENT);
    pp_lock_destroy(l);
    /* the handle works again: a new lock on the new server */
    PP_ASSERT_STATUS_FATAL(pp_redis_lock_create(r, name, &l), PP_OK);
    PP_ASSERT_STATUS(pp_lock_acquire(l, 1000), PP_OK);
    PP_ASSERT_STATUS(pp_lock_release(l), PP_OK);
    pp_lock_destroy(l);
    pp_redis_destroy(r);
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
    /* credentials never in the address: it travels in task arguments */
    PP_ASSERT_STATUS(pp_redis_connect("redis://user:secret@host:6379", &o, &r), PP_EINVAL);
    PP_ASSERT_STATUS(pp_redis_connect("redis://host:6379/pool", &o, &r), PP_ECONNLOST);
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

/* One handle shared by threads: ownership is per thread (lock.h). */
typedef struct th_arg {
    pp_lock *l;
    pp_status try_st, rel_st, acq_st, rel2_st;
} th_arg;

static void other_thread(void *arg)
{
    th_arg *a = arg;

    a->try_st = pp_lock_try_acquire(a->l); /* the main thread holds it */
    a->rel_st = pp_lock_release(a->l);     /* not ours to release */
    a->acq_st = pp_lock_acquire(a->l, 10000);
    a->rel2_st = pp_lock_release(a->l);
}

static void t_threads_share_handle(void)
{
    pp_test_redis s;
    pp_redis *r;
    pp_lock *l = NULL;
    char name[PP_NAME_MAX + 1];
    pp_test_thread *t;
    th_arg a;

    pp_test_redis_start(&s);
    r = connect_to(&s, 0);
    pp_test_unique_name(name, sizeof name);
    PP_ASSERT_STATUS_FATAL(pp_redis_lock_create(r, name, &l), PP_OK);
    PP_ASSERT_STATUS(pp_lock_acquire(l, 1000), PP_OK);
    memset(&a, 0, sizeof a);
    a.l = l;
    t = pp_test_thread_start(other_thread, &a);
    pp_test_sleep_ms(300); /* the other thread waits in its acquire */
    PP_ASSERT_STATUS(pp_lock_acquire(l, 0), PP_EDEADLK);
    PP_ASSERT_STATUS(pp_lock_release(l), PP_OK);
    pp_test_thread_join(t);
    PP_ASSERT_STATUS(a.try_st, PP_EBUSY);
    PP_ASSERT_STATUS(a.rel_st, PP_EPERM);
    PP_ASSERT_STATUS(a.acq_st, PP_OK);
    PP_ASSERT_STATUS(a.rel2_st, PP_OK);
    PP_ASSERT_STATUS(pp_lock_release(l), PP_EPERM); /* released by the other thread */
    pp_lock_destroy(l);
    pp_redis_destroy(r);
    pp_test_redis_stop(&s);
}

/* More holds than one renewal batch on one handle: every lease is
 * renewed (another handle still finds each lock busy after several
 * leases). */
static void t_many_holds_renewed(void)
{
    enum { N = 70 };
    pp_test_redis s;
    pp_redis *a, *b;
    pp_lock *la[N], *lb = NULL;
    char name[N][PP_NAME_MAX + 1];
    int i, busy = 0;

    pp_test_redis_start(&s);
    a = connect_to(&s, 300);
    b = connect_to(&s, 0);
    for (i = 0; i < N; i++) {
        pp_test_unique_name(name[i], sizeof name[i]);
        PP_ASSERT_STATUS_FATAL(pp_redis_lock_create(a, name[i], &la[i]), PP_OK);
        PP_ASSERT_STATUS_FATAL(pp_lock_acquire(la[i], 1000), PP_OK);
    }
    pp_test_sleep_ms(1000); /* > 3 leases */
    for (i = 0; i < N; i++) {
        PP_ASSERT_STATUS_FATAL(pp_redis_lock_open(b, name[i], &lb), PP_OK);
        busy += pp_lock_try_acquire(lb) == PP_EBUSY;
        pp_lock_destroy(lb);
    }
    CU_ASSERT_EQUAL(busy, N);
    for (i = 0; i < N; i++) {
        PP_ASSERT_STATUS(pp_lock_release(la[i]), PP_OK);
        pp_lock_destroy(la[i]);
    }
    pp_redis_destroy(a);
    pp_redis_destroy(b);
    pp_test_redis_stop(&s);
}

/* ------------------------------------------- Redis locks in pool tasks */

#define NTASKS 8

typedef struct area {
    volatile apr_uint32_t inside, overlaps, done;
    volatile uint64_t last_token;
    volatile apr_uint32_t token_errors;
    volatile int64_t holder_pid;
} area;

/* (lock, shm): acquire, note overlap and token order, release. */
static int rt_task(pp_task *t)
{
    pp_lock *lock = NULL;
    pp_shm *shm = NULL;
    area *a;
    uint64_t token;
    pp_status st = pp_values_unpack(pp_task_args(t), "km", &lock, &shm);

    if (st != PP_OK)
        return pp_task_fail(t, st, "expects (lock, shm): %s", pp_err_name(st));
    a = pp_shm_ptr(shm);
    st = pp_lock_acquire(lock, 30000);
    if (st != PP_OK && st != PP_EOWNERDEAD)
        return pp_task_fail(t, st, "acquire: %s", pp_err_name(st));
    if (apr_atomic_inc32(&a->inside) != 0)
        apr_atomic_inc32(&a->overlaps);
    token = pp_lock_fencing_token(lock);
    if (token <= a->last_token)
        apr_atomic_inc32(&a->token_errors);
    a->last_token = token;
    pp__plat_sleep_ms(5);
    apr_atomic_dec32(&a->inside);
    apr_atomic_inc32(&a->done);
    st = pp_lock_release(lock);
    if (st != PP_OK)
        return pp_task_fail(t, st, "release: %s", pp_err_name(st));
    return pp_values_add_int(pp_task_result(t), (int64_t)token);
}
PP_TASK_REGISTER(rt_task)

/* (lock, shm): acquire, note our pid, wait to be killed. */
static int rt_hold(pp_task *t)
{
    pp_lock *lock = NULL;
    pp_shm *shm = NULL;
    area *a;
    pp_status st = pp_values_unpack(pp_task_args(t), "km", &lock, &shm);

    if (st != PP_OK)
        return pp_task_fail(t, st, "expects (lock, shm)");
    a = pp_shm_ptr(shm);
    st = pp_lock_acquire(lock, 30000);
    if (st != PP_OK && st != PP_EOWNERDEAD)
        return pp_task_fail(t, st, "acquire: %s", pp_err_name(st));
    a->last_token = pp_lock_fencing_token(lock);
    a->holder_pid = (int64_t)pp__plat_getpid();
    for (;;)
        pp__plat_sleep_ms(100);
}
PP_TASK_REGISTER(rt_hold)

/* The workers find the server's credentials in their environment, which
 * they inherit from the program (never in task arguments). */
static void export_password(const pp_test_redis *s)
{
    CU_ASSERT_FATAL(apr_env_set("PROCPOOL_REDIS_PASSWORD", s->password, pp_test_pool()) ==
                    APR_SUCCESS);
}

static void do_pool_tasks(int method)
{
    pp_test_redis s;
    pp_redis *r;
    pp_lock *l = NULL;
    pp_shm *shm = NULL;
    pp_pool *p = NULL;
    pp_pool_options o;
    pp_values *items[NTASKS];
    pp_result *res = NULL;
    char name[PP_NAME_MAX + 1];
    area *a;
    int i;

    pp_test_redis_start(&s);
    export_password(&s);
    r = connect_to(&s, 0);
    pp_test_unique_name(name, sizeof name);
    PP_ASSERT_STATUS_FATAL(pp_redis_lock_create(r, name, &l), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_shm_create(NULL, sizeof(area), &shm), PP_OK);
    a = pp_shm_ptr(shm);
    memset((void *)a, 0, sizeof *a);
    memset(&o, 0, sizeof o);
    o.processes = 3;
    o.start_method = (pp_start_method)method;
    PP_ASSERT_STATUS_FATAL(pp_pool_create(&p, &o), PP_OK);
    for (i = 0; i < NTASKS; i++) {
        items[i] = NULL;
        PP_ASSERT_STATUS_FATAL(pp_values_pack(&items[i], "km", l, shm), PP_OK);
    }
    PP_ASSERT_STATUS_FATAL(pp_starmap_async(p, rt_task, items, NTASKS, NULL, &res), PP_OK);
    PP_ASSERT_STATUS(pp_result_wait(res, 60000 * pp_test_timeout_mult()), PP_OK);
    PP_ASSERT_STATUS(pp_result_successful(res), PP_OK);
    CU_ASSERT_EQUAL(a->done, NTASKS);
    CU_ASSERT_EQUAL(a->overlaps, 0);
    CU_ASSERT_EQUAL(a->token_errors, 0);
    /* The parent still takes it after the workers: a larger token. */
    PP_ASSERT_STATUS(pp_lock_acquire(l, 5000), PP_OK);
    CU_ASSERT(pp_lock_fencing_token(l) > a->last_token);
    PP_ASSERT_STATUS(pp_lock_release(l), PP_OK);
    pp_result_release(res);
    for (i = 0; i < NTASKS; i++)
        pp_values_destroy(items[i]);
    PP_ASSERT_STATUS(pp_pool_close(p), PP_OK);
    PP_ASSERT_STATUS(pp_pool_join(p, 60000), PP_OK);
    pp_pool_destroy(p);
    pp_shm_destroy(shm);
    pp_lock_destroy(l);
    pp_redis_destroy(r);
    pp_test_redis_stop(&s);
}

PP_TEST_PER_METHOD(pool_tasks)

/* A worker SIGKILLed while holding a Redis lock it got as an argument:
 * its lease (the default 10 s) runs out and the parent's acquire gets
 * PP_EOWNERDEAD with a larger token. */
static void t_worker_holder_killed(void)
{
    pp_test_redis s;
    pp_redis *r;
    pp_lock *l = NULL;
    pp_shm *shm = NULL;
    pp_pool *p = NULL;
    pp_pool_options o;
    pp_values *args = NULL;
    pp_result *res = NULL;
    char name[PP_NAME_MAX + 1];
    area *a;
    int i;

    pp_test_redis_start(&s);
    export_password(&s);
    r = connect_to(&s, 0);
    pp_test_unique_name(name, sizeof name);
    PP_ASSERT_STATUS_FATAL(pp_redis_lock_create(r, name, &l), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_shm_create(NULL, sizeof(area), &shm), PP_OK);
    a = pp_shm_ptr(shm);
    memset((void *)a, 0, sizeof *a);
    memset(&o, 0, sizeof o);
    o.processes = 1;
    PP_ASSERT_STATUS_FATAL(pp_pool_create(&p, &o), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_values_pack(&args, "km", l, shm), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_apply_async(p, rt_hold, args, NULL, &res), PP_OK);
    for (i = 0; i < 3000 && a->holder_pid == 0; i++)
        pp_test_sleep_ms(10);
    CU_ASSERT_FATAL(a->holder_pid != 0);
    PP_ASSERT_STATUS(pp_lock_try_acquire(l), PP_EBUSY);
    pp_test_kill_pid(a->holder_pid);
    PP_ASSERT_STATUS(pp_result_get(res, 60000, NULL), PP_EWORKERDIED);
    PP_ASSERT_STATUS(pp_lock_acquire(l, 30000), PP_EOWNERDEAD);
    CU_ASSERT(pp_lock_fencing_token(l) > a->last_token);
    PP_ASSERT_STATUS(pp_lock_release(l), PP_OK);
    pp_result_release(res);
    pp_values_destroy(args);
    pp_pool_destroy(p);
    pp_shm_destroy(shm);
    pp_lock_destroy(l);
    pp_redis_destroy(r);
    pp_test_redis_stop(&s);
}

/* The worker's credentials are wrong: the item fails with PP_EAUTH and a
 * message that names the lock and says why; nothing hangs. */
static void t_worker_without_credentials(void)
{
    pp_test_redis s;
    pp_redis *r;
    pp_lock *l = NULL;
    pp_shm *shm = NULL;
    pp_pool *p = NULL;
    pp_pool_options o;
    pp_values *args = NULL;
    pp_error err;
    char name[PP_NAME_MAX + 1];

    pp_test_redis_start(&s);
    if (s.password[0] == '\0')
        return; /* an external server without a password: nothing to refuse */
    CU_ASSERT_FATAL(apr_env_set("PROCPOOL_REDIS_PASSWORD", "wrong", pp_test_pool()) == APR_SUCCESS);
    r = connect_to(&s, 0);
    pp_test_unique_name(name, sizeof name);
    PP_ASSERT_STATUS_FATAL(pp_redis_lock_create(r, name, &l), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_shm_create(NULL, sizeof(area), &shm), PP_OK);
    memset(&o, 0, sizeof o);
    o.processes = 1;
    PP_ASSERT_STATUS_FATAL(pp_pool_create(&p, &o), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_values_pack(&args, "km", l, shm), PP_OK);
    memset(&err, 0, sizeof err);
    PP_ASSERT_STATUS(pp_apply(p, rt_task, args, NULL, &err), PP_EAUTH);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, name));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "PROCPOOL_REDIS_PASSWORD"));
    pp_values_destroy(args);
    PP_ASSERT_STATUS(pp_pool_close(p), PP_OK);
    PP_ASSERT_STATUS(pp_pool_join(p, 60000), PP_OK);
    pp_pool_destroy(p);
    pp_shm_destroy(shm);
    pp_lock_destroy(l);
    pp_redis_destroy(r);
    pp_test_redis_stop(&s);
}

/* A fork worker that uses the parent's Redis lock handle (inherited, not
 * passed): PP_ESTATE, never commands interleaved on the parent's socket. */
static pp_lock *g_inherited;

static int rt_inherited(pp_task *t)
{
    return pp_values_add_int(pp_task_result(t), pp_lock_try_acquire(g_inherited));
}
PP_TASK_REGISTER(rt_inherited)

static void t_inherited_handle_refused(void)
{
    pp_test_redis s;
    pp_redis *r;
    pp_pool *p = NULL;
    pp_pool_options o;
    pp_values *args = NULL, *res = NULL;
    char name[PP_NAME_MAX + 1];
    int64_t got = 0;

    pp_test_redis_start(&s);
    r = connect_to(&s, 0);
    pp_test_unique_name(name, sizeof name);
    PP_ASSERT_STATUS_FATAL(pp_redis_lock_create(r, name, &g_inherited), PP_OK);
    memset(&o, 0, sizeof o);
    o.processes = 1;
    o.start_method = PP_START_FORK;
    PP_ASSERT_STATUS_FATAL(pp_pool_create(&p, &o), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_values_create(&args), PP_OK);
    PP_ASSERT_STATUS(pp_apply(p, rt_inherited, args, &res, NULL), PP_OK);
    PP_ASSERT_STATUS(pp_values_get_int(res, 0, &got), PP_OK);
    PP_ASSERT_STATUS((pp_status)got, PP_ESTATE);
    /* The parent's handle still works. */
    PP_ASSERT_STATUS(pp_lock_acquire(g_inherited, 1000), PP_OK);
    PP_ASSERT_STATUS(pp_lock_release(g_inherited), PP_OK);
    pp_values_destroy(res);
    pp_values_destroy(args);
    PP_ASSERT_STATUS(pp_pool_close(p), PP_OK);
    PP_ASSERT_STATUS(pp_pool_join(p, 60000), PP_OK);
    pp_pool_destroy(p);
    pp_lock_destroy(g_inherited);
    pp_redis_destroy(r);
    pp_test_redis_stop(&s);
}

/* Set (value) or remove (NULL) a variable for this process, which reads
 * its credentials with getenv(): on Windows also the C runtime's copy,
 * which SetEnvironmentVariable (APR) leaves alone. */
static void put_env(const char *name, const char *value)
{
    if (value != NULL) {
        CU_ASSERT_FATAL(apr_env_set(name, value, pp_test_pool()) == APR_SUCCESS);
    } else {
        (void)apr_env_delete(name, pp_test_pool());
    }
#ifdef _WIN32
    CU_ASSERT_FATAL(_putenv_s(name, value != NULL ? value : "") == 0);
#endif
}

/* Write a password file (its first line, then a second one that is not
 * part of it) with the given permissions; its path into path. */
static void write_password_file(const char *password, apr_fileperms_t perms, char *path, size_t cap)
{
    const char *dir = NULL;
    apr_file_t *f = NULL;
    char text[256];
    apr_size_t n;

    CU_ASSERT_FATAL(apr_temp_dir_get(&dir, pp_test_pool()) == APR_SUCCESS);
    snprintf(path, cap, "%s/pp-redis-pw-%lu", dir, (unsigned long)pp__plat_getpid());
    (void)apr_file_remove(path, pp_test_pool());
    CU_ASSERT_FATAL(apr_file_open(&f, path, APR_FOPEN_WRITE | APR_FOPEN_CREATE | APR_FOPEN_EXCL,
                                  APR_FPROT_UREAD | APR_FPROT_UWRITE,
                                  pp_test_pool()) == APR_SUCCESS);
    snprintf(text, sizeof text, "%s\nnot the password\n", password);
    n = strlen(text);
    CU_ASSERT_FATAL(apr_file_write(f, text, &n) == APR_SUCCESS);
    CU_ASSERT_FATAL(apr_file_close(f) == APR_SUCCESS);
    if (perms != (APR_FPROT_UREAD | APR_FPROT_UWRITE))
        CU_ASSERT_FATAL(apr_file_perms_set(path, perms) == APR_SUCCESS);
}

/* PROCPOOL_REDIS_PASSWORD_FILE: the password from a private file's first
 * line, for the Redis lock's handle and for a distributed pool; a file
 * others may read, a missing one, or both variables set are refused with
 * their own status before anything is sent. */
static void t_password_file(void)
{
    pp_test_redis s;
    pp_redis *r = NULL;
    pp_pool *p = NULL;
    pp_pool_options o;
    char path[512], url[200], name[PP_NAME_MAX + 1];

    pp_test_redis_start(&s);
    if (s.password[0] == '\0') {
        pp_test_redis_stop(&s);
        return; /* an external server without a password: nothing to read */
    }
    put_env("PROCPOOL_REDIS_PASSWORD", NULL);
    write_password_file(s.password, APR_FPROT_UREAD | APR_FPROT_UWRITE, path, sizeof path);
    put_env("PROCPOOL_REDIS_PASSWORD_FILE", path);
    PP_ASSERT_STATUS(pp_redis_connect(s.url, NULL, &r), PP_OK);
    pp_redis_destroy(r);
    r = NULL;

    /* a distributed pool reads it the same way */
    pp_test_unique_name(name, sizeof name);
    snprintf(url, sizeof url, "%s/%s", s.url, name);
    memset(&o, 0, sizeof o);
    o.processes = 1;
    o.broker = url;
    PP_ASSERT_STATUS(pp_pool_create(&p, &o), PP_OK);
    pp_pool_destroy(p);

    /* both set */
    put_env("PROCPOOL_REDIS_PASSWORD", s.password);
    PP_ASSERT_STATUS(pp_redis_connect(s.url, NULL, &r), PP_EINVAL);
    CU_ASSERT_PTR_NULL(r);
    put_env("PROCPOOL_REDIS_PASSWORD", NULL);
#ifndef _WIN32
    /* readable by others (Windows: the file's ACL decides, not checked) */
    CU_ASSERT_FATAL(apr_file_perms_set(path, APR_FPROT_UREAD | APR_FPROT_UWRITE | APR_FPROT_GREAD |
                                                 APR_FPROT_WREAD) == APR_SUCCESS);
    PP_ASSERT_STATUS(pp_redis_connect(s.url, NULL, &r), PP_EACCES);
    CU_ASSERT_PTR_NULL(r);
#endif
    CU_ASSERT_FATAL(apr_file_remove(path, pp_test_pool()) == APR_SUCCESS);
    PP_ASSERT_STATUS(pp_redis_connect(s.url, NULL, &r), PP_ENOENT);
    CU_ASSERT_PTR_NULL(r);
    put_env("PROCPOOL_REDIS_PASSWORD_FILE", NULL);
    pp_test_redis_stop(&s);
}

/* PROCPOOL_REDIS_PASSWORD_FILE naming a FIFO nobody writes to: refused
 * as not a regular file, at once (the open used to block until a writer
 * came: pp_redis_connect and pp_pool_create with a broker hung). Needs no
 * server: credentials are read before anything is sent. */
static void t_password_file_fifo(void)
{
#ifndef _WIN32
    const char *dir = NULL;
    pp_redis *r = NULL;
    char path[512];

    CU_ASSERT_FATAL(apr_temp_dir_get(&dir, pp_test_pool()) == APR_SUCCESS);
    snprintf(path, sizeof path, "%s/pp-redis-fifo-%lu", dir, (unsigned long)pp__plat_getpid());
    (void)apr_file_remove(path, pp_test_pool());
    CU_ASSERT_FATAL(apr_file_namedpipe_create(path, APR_FPROT_UREAD | APR_FPROT_UWRITE,
                                              pp_test_pool()) == APR_SUCCESS);
    put_env("PROCPOOL_REDIS_PASSWORD", NULL);
    put_env("PROCPOOL_REDIS_PASSWORD_FILE", path);
    PP_ASSERT_STATUS(pp_redis_connect("redis://127.0.0.1:1", NULL, &r), PP_EINVAL);
    CU_ASSERT_PTR_NULL(r);
    put_env("PROCPOOL_REDIS_PASSWORD_FILE", NULL);
    CU_ASSERT(apr_file_remove(path, pp_test_pool()) == APR_SUCCESS);
#endif
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
    PP_TEST(t_server_restarted),
    PP_TEST(t_silent_server),
    PP_TEST(t_bad_input),
    PP_TEST_METHODS(pool_tasks, 120),
    PP_TEST_TIMEOUT(t_worker_holder_killed, 120),
    PP_TEST(t_worker_without_credentials),
    PP_TEST(t_inherited_handle_refused),
    PP_TEST(t_threads_share_handle),
    PP_TEST(t_many_holds_renewed),
    PP_TEST(t_password_file),
    PP_TEST_TIMEOUT(t_password_file_fifo, 30),
    PP_TEST_END,
};
/* clang-format on */

static const pp_test_helper helpers[] = {{"redis-hold", h_hold}, {NULL, NULL}};

PP_TEST_SUITE(redis)
{
    pp_test_add_suite("redis", cases);
    pp_test_add_helpers(helpers);
}
