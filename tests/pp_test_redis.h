/*
 * pp_test_redis.h — a Redis server for the tests.
 *
 * PP_TEST_REDIS_URL set (and PP_TEST_REDIS_PASSWORD): that server (.ci/run
 * starts one for the Windows leg, whose test binary runs under wine and
 * cannot start the Linux redis-server). Otherwise the test starts a
 * private redis-server of its own: loopback, a free port, a random
 * password, no persistence, its configuration on stdin (never argv); it
 * is killed and reaped when the test ends. No server and no
 * redis-server program: the test fails, loudly (never skipped).
 */
#ifndef PP_TEST_REDIS_H
#define PP_TEST_REDIS_H

#include <stdint.h>

typedef struct pp_test_redis {
    char url[64];
    char password[40];
    int own;    /* we started it (it can be killed) */
    int port;   /* an own server's */
    void *proc; /* apr_proc_t * when own */
} pp_test_redis;

/* Returns 1 with *r ready, or 0 after failing the test (fatally). */
int pp_test_redis_start(pp_test_redis *r);
/* Kill an own server now (SIGKILL) and reap it; a no-op for an external one. */
void pp_test_redis_kill(pp_test_redis *r);
/* Start an own server that pp_test_redis_kill() killed again, on the same
 * port with the same password (a server restart). 1, or 0 (test failed). */
int pp_test_redis_restart(pp_test_redis *r);
/* Stop (kill) an own server and forget it. */
void pp_test_redis_stop(pp_test_redis *r);

#endif /* PP_TEST_REDIS_H */
