/*
 * pp_test_redis.c — the tests' Redis server (see pp_test_redis.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_network_io.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>

#include "procpool/procpool.h"
#include "platform.h"
#include "pp_test.h"
#include "pp_test_redis.h"

/* A port nobody listens on now (bound and closed: a small race with other
 * programs, acceptable for tests). */
static int free_port(void)
{
    apr_sockaddr_t *sa = NULL;
    apr_socket_t *s = NULL;
    int port = 0;

    if (apr_sockaddr_info_get(&sa, "127.0.0.1", APR_INET, 0, 0, pp_test_pool()) != APR_SUCCESS ||
        apr_socket_create(&s, APR_INET, SOCK_STREAM, APR_PROTO_TCP, pp_test_pool()) != APR_SUCCESS)
        return 0;
    if (apr_socket_bind(s, sa) == APR_SUCCESS &&
        apr_socket_addr_get(&sa, APR_LOCAL, s) == APR_SUCCESS)
        port = sa->port;
    apr_socket_close(s);
    return port;
}

/* Wait until it answers PING (with the password): 1, or 0 after ~10 s. */
static int answers(const pp_test_redis *r)
{
    pp_redis_options o;
    int i;

    memset(&o, 0, sizeof o);
    o.password = r->password;
    o.timeout_ms = 500;
    for (i = 0; i < 100; i++) {
        pp_redis *c = NULL;
        if (pp_redis_connect(r->url, &o, &c) == PP_OK) {
            pp_redis_destroy(c);
            return 1;
        }
        pp_test_sleep_ms(100);
    }
    return 0;
}

/* Start redis-server on r->port with r->password: 1, or 0 (test failed). */
static int spawn(pp_test_redis *r)
{
    const char *args[3] = {"redis-server", "-", NULL};
    apr_procattr_t *attr = NULL;
    apr_proc_t *proc;
    char conf[512];
    apr_size_t n;

    proc = apr_pcalloc(pp_test_pool(), sizeof *proc);
    PP_ASSERT_MSG_FATAL(apr_procattr_create(&attr, pp_test_pool()) == APR_SUCCESS &&
                            apr_procattr_io_set(attr, APR_FULL_BLOCK, APR_NO_PIPE, APR_NO_PIPE) ==
                                APR_SUCCESS &&
                            apr_procattr_cmdtype_set(attr, APR_PROGRAM_PATH) == APR_SUCCESS,
                        "procattr");
    PP_ASSERT_MSG_FATAL(apr_proc_create(proc, "redis-server", args, NULL, attr, pp_test_pool()) ==
                            APR_SUCCESS,
                        "cannot start redis-server (install it: apt-get install redis-server), "
                        "or set PP_TEST_REDIS_URL");
    r->own = 1;
    r->proc = proc;
    snprintf(conf, sizeof conf,
             "port %d\nbind 127.0.0.1\nrequirepass %s\nsave \"\"\nappendonly no\n"
             "daemonize no\nlogfile /dev/null\nloglevel warning\ndatabases 1\n",
             r->port, r->password);
    n = strlen(conf);
    (void)apr_file_write_full(proc->in, conf, n, NULL);
    apr_file_close(proc->in);
    if (!answers(r)) {
        pp_test_redis_stop(r);
        PP_ASSERT_MSG_FATAL(0, "redis-server on port %d did not answer", r->port);
    }
    return 1;
}

int pp_test_redis_start(pp_test_redis *r)
{
    const char *url = getenv("PP_TEST_REDIS_URL");
    unsigned char rnd[16];
    int i;

    memset(r, 0, sizeof *r);
    if (url != NULL && url[0] != '\0') {
        const char *pw = getenv("PP_TEST_REDIS_PASSWORD");
        snprintf(r->url, sizeof r->url, "%s", url);
        snprintf(r->password, sizeof r->password, "%s", pw != NULL ? pw : "");
        PP_ASSERT_MSG_FATAL(answers(r),
                            "the Redis server at %s (PP_TEST_REDIS_URL) does not answer", url);
        return 1;
    }
    r->port = free_port();
    PP_ASSERT_MSG_FATAL(r->port > 0, "no free port for redis-server");
    PP_ASSERT_STATUS_FATAL(pp__plat_random(rnd, sizeof rnd), PP_OK);
    for (i = 0; i < 16; i++)
        snprintf(r->password + 2 * i, 3, "%02x", rnd[i]);
    snprintf(r->url, sizeof r->url, "redis://127.0.0.1:%d", r->port);
    return spawn(r);
}

int pp_test_redis_restart(pp_test_redis *r)
{
    PP_ASSERT_MSG_FATAL(r->own && r->proc == NULL, "restart: not an own, killed server");
    return spawn(r);
}

void pp_test_redis_kill(pp_test_redis *r)
{
    apr_proc_t *proc = r->proc;
    apr_exit_why_e why;
    int code;

    if (!r->own || proc == NULL)
        return;
    (void)apr_proc_kill(proc, 9);
    (void)apr_proc_wait(proc, &code, &why, APR_WAIT);
    r->proc = NULL;
}

void pp_test_redis_stop(pp_test_redis *r)
{
    pp_test_redis_kill(r);
    r->own = 0;
}
