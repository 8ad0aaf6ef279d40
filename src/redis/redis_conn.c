/*
 * redis_conn.c — a hiredis connection with deadlines (redis/redis_conn.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "core/core.h"
#include "redis/redis_conn.h"

struct pp__redis_conn {
    redisContext *ctx;
    pp__plat_mtx *mu; /* one command at a time; ctx, broken */
    int broken;
    int64_t reply_ms;
    uint64_t pid; /* the process that opened it: the only one that may use it */
};

static struct timeval tv_of(int64_t ms)
{
    struct timeval tv;

    if (ms < 1)
        ms = 1;
    tv.tv_sec = (long)(ms / 1000);
    tv.tv_usec = (long)((ms % 1000) * 1000);
    return tv;
}

pp_status pp__redis_parse_address(const char *address, char host[PP__REDIS_HOST_MAX + 1], int *port)
{
    const char *h, *colon, *at, *slash;
    char *end;
    size_t n, k;
    long v;

    if (address == NULL)
        return PP_EINVAL;
    if (strncmp(address, "redis://", 8) == 0)
        h = address + 8;
    else if (strncmp(address, "tcp://", 6) == 0)
        h = address + 6;
    else
        return PP_EINVAL;
    /* Credentials come from the options or the environment, never from
     * the address: it travels in task arguments (a locator). */
    at = strchr(h, '@');
    slash = strchr(h, '/');
    if (at != NULL && (slash == NULL || at < slash))
        return PP_EINVAL;
    n = slash != NULL ? (size_t)(slash - h) : strlen(h);
    colon = NULL;
    for (k = 0; k < n; k++) {
        if (h[k] == ':')
            colon = h + k;
    }
    if (colon == NULL || colon == h || (size_t)(colon - h) > PP__REDIS_HOST_MAX)
        return PP_EINVAL;
    if (colon[1] < '0' || colon[1] > '9')
        return PP_EINVAL;
    v = strtol(colon + 1, &end, 10);
    /* "redis://host:port/db-or-pool-name": the path is the caller's. */
    if ((*end != '\0' && *end != '/') || v < 1 || v > 65535)
        return PP_EINVAL;
    memcpy(host, h, (size_t)(colon - h));
    host[colon - h] = '\0';
    *port = (int)v;
    return PP_OK;
}

/* A reply of any type, into r. */
static void decode(const redisReply *rep, pp__redis_reply *r)
{
    size_t i, n;

    memset(r, 0, sizeof *r);
    switch (rep->type) {
    case REDIS_REPLY_INTEGER:
        r->kind = PP__RR_INT;
        r->integer = (int64_t)rep->integer;
        return;
    case REDIS_REPLY_NIL:
        r->kind = PP__RR_NIL;
        return;
    case REDIS_REPLY_ARRAY:
        r->kind = PP__RR_ARRAY;
        n = rep->elements < 4 ? rep->elements : 4;
        for (i = 0; i < n; i++)
            r->ints[i] = rep->element[i]->type == REDIS_REPLY_INTEGER
                             ? (int64_t)rep->element[i]->integer
                             : 0;
        r->n = rep->elements;
        return;
    case REDIS_REPLY_STATUS:
        r->kind = PP__RR_STATUS;
        break;
    case REDIS_REPLY_ERROR:
        r->kind = PP__RR_ERROR;
        break;
    default:
        r->kind = PP__RR_STR;
        break;
    }
    if (rep->str != NULL) {
        n = rep->len < sizeof r->str - 1 ? rep->len : sizeof r->str - 1;
        memcpy(r->str, rep->str, n);
        r->str[n] = '\0';
    }
}

static pp_status run(pp__redis_conn *c, int64_t wait_ms, int argc, const char **argv,
                     const size_t *lens, pp__redis_reply *reply)
{
    redisReply *rep;
    pp_status st = PP_OK;
    int sigpipe;

    /* A fork child sharing its parent's socket would interleave commands
     * with the parent's: refused, never silently corrupted. */
    if (pp__plat_getpid() != c->pid)
        return PP_ESTATE;
    pp__plat_mtx_lock(c->mu);
    if (c->broken || c->ctx == NULL) {
        pp__plat_mtx_unlock(c->mu);
        return PP_ECONNLOST;
    }
    if (wait_ms > 0)
        (void)redisSetTimeout(c->ctx, tv_of(c->reply_ms + wait_ms));
    /* hiredis writes without MSG_NOSIGNAL: a server that reset the
     * connection must not kill the program with SIGPIPE. */
    sigpipe = pp__plat_sigpipe_suspend();
    rep = redisCommandArgv(c->ctx, argc, argv, lens);
    pp__plat_sigpipe_resume(sigpipe);
    if (rep == NULL) {
        /* I/O error, EOF or the reply deadline (the context is unusable
         * after a timeout: the reply may still arrive later). */
        c->broken = 1;
        st = PP_ECONNLOST;
    } else {
        decode(rep, reply);
        freeReplyObject(rep);
        if (wait_ms > 0)
            (void)redisSetTimeout(c->ctx, tv_of(c->reply_ms));
    }
    pp__plat_mtx_unlock(c->mu);
    return st;
}

pp_status pp__redis_conn_cmd(pp__redis_conn *c, int argc, const char **argv, const size_t *lens,
                             pp__redis_reply *reply)
{
    return run(c, 0, argc, argv, lens, reply);
}

pp_status pp__redis_conn_cmd_wait(pp__redis_conn *c, int64_t wait_ms, int argc, const char **argv,
                                  const size_t *lens, pp__redis_reply *reply)
{
    return run(c, wait_ms > 0 ? wait_ms : 1, argc, argv, lens, reply);
}

static pp_status auth(pp__redis_conn *c, const char *username, const char *password)
{
    const char *argv[3];
    size_t lens[3];
    pp__redis_reply r;
    int argc = 0;
    pp_status st;

    argv[argc] = "AUTH";
    lens[argc++] = 4;
    if (username != NULL) {
        argv[argc] = username;
        lens[argc++] = strlen(username);
    }
    argv[argc] = password;
    lens[argc++] = strlen(password);
    st = pp__redis_conn_cmd(c, argc, argv, lens, &r);
    if (st != PP_OK)
        return st;
    return r.kind == PP__RR_ERROR ? PP_EAUTH : PP_OK;
}

/* A server that wants a password answers PING with -NOAUTH. */
static pp_status ping(pp__redis_conn *c)
{
    const char *argv[1] = {"PING"};
    size_t lens[1] = {4};
    pp__redis_reply r;
    pp_status st = pp__redis_conn_cmd(c, 1, argv, lens, &r);

    if (st != PP_OK)
        return st;
    if (r.kind == PP__RR_ERROR)
        return strncmp(r.str, "NOAUTH", 6) == 0 ? PP_EAUTH : PP_EPROTO;
    return PP_OK;
}

pp_status pp__redis_conn_open(const char *address, const char *username, const char *password,
                              int64_t timeout_ms, int64_t reply_ms, pp__redis_conn **out)
{
    char host[PP__REDIS_HOST_MAX + 1];
    pp__redis_conn *c;
    int port = 0;
    pp_status st;

    *out = NULL;
    st = pp__redis_parse_address(address, host, &port);
    if (st != PP_OK)
        return st;
    c = calloc(1, sizeof *c);
    if (c == NULL)
        return PP_ENOMEM;
    c->reply_ms = reply_ms;
    c->pid = pp__plat_getpid();
    st = pp__plat_mtx_create(&c->mu);
    if (st != PP_OK) {
        free(c);
        return st;
    }
    /* Always with a timeout: a refused connect can hang without one on
     * some Windows versions. */
    c->ctx = redisConnectWithTimeout(host, port, tv_of(timeout_ms));
    if (c->ctx == NULL) {
        st = PP_ENOMEM;
    } else if (c->ctx->err != 0) {
        /* Rely on err, not errstr or errno (wine: "Unknown error"). */
        st = PP_ECONNLOST;
    } else if (redisSetTimeout(c->ctx, tv_of(reply_ms)) != REDIS_OK) {
        st = PP_ECONNLOST;
    } else if (password != NULL) {
        st = auth(c, username, password);
    } else {
        st = ping(c);
    }
    if (st != PP_OK) {
        pp__redis_conn_close(c);
        return st;
    }
    *out = c;
    return PP_OK;
}

int pp__redis_conn_broken(pp__redis_conn *c)
{
    int b;

    pp__plat_mtx_lock(c->mu);
    b = c->broken;
    pp__plat_mtx_unlock(c->mu);
    return b;
}

void pp__redis_conn_close(pp__redis_conn *c)
{
    if (c == NULL)
        return;
    if (c->ctx != NULL)
        redisFree(c->ctx);
    pp__plat_mtx_destroy(c->mu);
    free(c);
}
