/*
 * redis_conn.c — a hiredis connection with deadlines (redis/redis_conn.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "core/core.h"
#include "platform.h"
#include "redis/redis_conn.h"

struct pp__redis_conn {
    redisContext *ctx;
    pp__plat_mtx *mu; /* one command at a time; ctx, broken */
    int broken;
    int64_t reply_ms, connect_ms;
    uint64_t pid; /* the process that opened it: the only one that may use it */
    /* to dial again after a break */
    char host[PP__REDIS_HOST_MAX + 1];
    int port;
    char *username, *password; /* copies, wiped at close; NULL: none */
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

/* A reply of any type as a tree (val->kind, strings with their length and
 * a NUL after them). PP_ENOMEM leaves *out NULL. */
static pp_status to_tree(const redisReply *rep, pp__redis_val *v)
{
    size_t i;

    memset(v, 0, sizeof *v);
    switch (rep->type) {
    case REDIS_REPLY_INTEGER:
        v->kind = PP__RR_INT;
        v->integer = (int64_t)rep->integer;
        return PP_OK;
    case REDIS_REPLY_NIL:
        v->kind = PP__RR_NIL;
        return PP_OK;
    case REDIS_REPLY_ARRAY:
        v->kind = PP__RR_ARRAY;
        if (rep->elements == 0)
            return PP_OK;
        v->elem = calloc(rep->elements, sizeof *v->elem);
        if (v->elem == NULL)
            return PP_ENOMEM;
        v->n = rep->elements;
        for (i = 0; i < rep->elements; i++) {
            if (to_tree(rep->element[i], &v->elem[i]) != PP_OK)
                return PP_ENOMEM;
        }
        return PP_OK;
    case REDIS_REPLY_STATUS:
        v->kind = PP__RR_STATUS;
        break;
    case REDIS_REPLY_ERROR:
        v->kind = PP__RR_ERROR;
        break;
    default:
        v->kind = PP__RR_STR;
        break;
    }
    v->str = malloc(rep->len + 1);
    if (v->str == NULL)
        return PP_ENOMEM;
    if (rep->len > 0)
        memcpy(v->str, rep->str, rep->len);
    v->str[rep->len] = '\0';
    v->len = rep->len;
    return PP_OK;
}

static void val_clear(pp__redis_val *v)
{
    size_t i;

    for (i = 0; i < v->n; i++)
        val_clear(&v->elem[i]);
    free(v->elem);
    free(v->str);
}

void pp__redis_val_free(pp__redis_val *v)
{
    if (v == NULL)
        return;
    val_clear(v);
    free(v);
}

/* One command on a live context (mutex held). PP_ECONNLOST breaks it. The
 * reply goes to *reply, or as a tree to *tree if tree is not NULL. */
static pp_status command_locked(pp__redis_conn *c, int64_t wait_ms, int argc, const char **argv,
                                const size_t *lens, pp__redis_reply *reply, pp__redis_val **tree)
{
    pp_status st = PP_OK;
    redisReply *rep;
    int sigpipe;

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
        return PP_ECONNLOST;
    }
    if (tree != NULL) {
        *tree = calloc(1, sizeof **tree);
        st = *tree != NULL ? to_tree(rep, *tree) : PP_ENOMEM;
        if (st != PP_OK) {
            pp__redis_val_free(*tree);
            *tree = NULL;
        }
    } else {
        decode(rep, reply);
    }
    freeReplyObject(rep);
    if (wait_ms > 0)
        (void)redisSetTimeout(c->ctx, tv_of(c->reply_ms));
    return st;
}

/* Authenticate a fresh context (mutex held): AUTH with the credentials,
 * else PING (a server that wants a password answers -NOAUTH). */
static pp_status hello_locked(pp__redis_conn *c)
{
    const char *argv[3];
    size_t lens[3];
    pp__redis_reply r;
    int argc = 0;
    pp_status st;

    if (c->password != NULL) {
        argv[argc] = "AUTH";
        lens[argc++] = 4;
        if (c->username != NULL) {
            argv[argc] = c->username;
            lens[argc++] = strlen(c->username);
        }
        argv[argc] = c->password;
        lens[argc++] = strlen(c->password);
    } else {
        argv[argc] = "PING";
        lens[argc++] = 4;
    }
    st = command_locked(c, 0, argc, argv, lens, &r, NULL);
    if (st != PP_OK)
        return st;
    if (r.kind == PP__RR_ERROR)
        return c->password != NULL || strncmp(r.str, "NOAUTH", 6) == 0 ? PP_EAUTH : PP_EPROTO;
    return PP_OK;
}

/* (Re)connect and authenticate (mutex held). On failure the connection
 * stays broken. */
static pp_status dial_locked(pp__redis_conn *c)
{
    pp_status st;

    if (c->ctx != NULL)
        redisFree(c->ctx);
    c->broken = 1;
    /* Always with a timeout: a refused connect can hang without one on
     * some Windows versions. */
    c->ctx = redisConnectWithTimeout(c->host, c->port, tv_of(c->connect_ms));
    if (c->ctx == NULL)
        return PP_ENOMEM;
    if (c->ctx->err != 0)
        return PP_ECONNLOST; /* rely on err, not errstr or errno (wine: "Unknown error") */
    if (redisSetTimeout(c->ctx, tv_of(c->reply_ms)) != REDIS_OK)
        return PP_ECONNLOST;
    c->broken = 0;
    st = hello_locked(c);
    if (st != PP_OK)
        c->broken = 1;
    return st;
}

/* A broken connection dials again first (once per call, bounded by the
 * connect deadline): a server that was restarted or a network blip does
 * not leave the handle useless for good. The call that met the break
 * still failed (PP_ECONNLOST: whether it took effect is unknown). */
static pp_status run(pp__redis_conn *c, int64_t wait_ms, int argc, const char **argv,
                     const size_t *lens, pp__redis_reply *reply, pp__redis_val **tree)
{
    pp_status st = PP_OK;

    /* A fork child sharing its parent's socket would interleave commands
     * with the parent's: refused, never silently corrupted. */
    if (pp__plat_getpid() != c->pid)
        return PP_ESTATE;
    pp__plat_mtx_lock(c->mu);
    if (c->broken || c->ctx == NULL)
        st = dial_locked(c) == PP_OK ? PP_OK : PP_ECONNLOST;
    if (st == PP_OK)
        st = command_locked(c, wait_ms, argc, argv, lens, reply, tree);
    pp__plat_mtx_unlock(c->mu);
    return st;
}

pp_status pp__redis_conn_cmd(pp__redis_conn *c, int argc, const char **argv, const size_t *lens,
                             pp__redis_reply *reply)
{
    return run(c, 0, argc, argv, lens, reply, NULL);
}

pp_status pp__redis_conn_cmd_wait(pp__redis_conn *c, int64_t wait_ms, int argc, const char **argv,
                                  const size_t *lens, pp__redis_reply *reply)
{
    return run(c, wait_ms > 0 ? wait_ms : 1, argc, argv, lens, reply, NULL);
}

pp_status pp__redis_conn_cmd_val(pp__redis_conn *c, int64_t wait_ms, int argc, const char **argv,
                                 const size_t *lens, pp__redis_val **out)
{
    *out = NULL;
    return run(c, wait_ms, argc, argv, lens, NULL, out);
}

static char *dup_str(const char *s)
{
    size_t n;
    char *d;

    if (s == NULL)
        return NULL;
    n = strlen(s) + 1;
    d = malloc(n);
    if (d != NULL)
        memcpy(d, s, n);
    return d;
}

static void wipe_free(char *s)
{
    volatile char *p = s;

    if (s == NULL)
        return;
    while (*p != '\0')
        *p++ = '\0';
    free(s);
}

pp_status pp__redis_conn_open(const char *address, const char *username, const char *password,
                              int64_t timeout_ms, int64_t reply_ms, pp__redis_conn **out)
{
    pp__redis_conn *c;
    pp_status st;

    *out = NULL;
    c = calloc(1, sizeof *c);
    if (c == NULL)
        return PP_ENOMEM;
    st = pp__redis_parse_address(address, c->host, &c->port);
    if (st != PP_OK) {
        free(c);
        return st;
    }
    c->reply_ms = reply_ms;
    c->connect_ms = timeout_ms;
    c->pid = pp__plat_getpid();
    c->username = dup_str(username);
    c->password = dup_str(password);
    if ((username != NULL && c->username == NULL) || (password != NULL && c->password == NULL)) {
        pp__redis_conn_close(c);
        return PP_ENOMEM;
    }
    st = pp__plat_mtx_create(&c->mu);
    if (st != PP_OK) {
        c->mu = NULL;
        pp__redis_conn_close(c);
        return st;
    }
    pp__plat_mtx_lock(c->mu);
    st = dial_locked(c);
    pp__plat_mtx_unlock(c->mu);
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
    wipe_free(c->username);
    wipe_free(c->password);
    free(c);
}

/* ------------------------------------------------------------ credentials */

#define PASSWORD_FILE_MAX 512

void pp__redis_wipe_free(char *s)
{
    volatile char *p = s;

    if (s == NULL)
        return;
    while (*p != '\0')
        *p++ = '\0';
    free(s);
}

pp_status pp__redis_secret_dup(const char *s, char **out)
{
    size_t n;

    *out = NULL;
    if (s == NULL || s[0] == '\0')
        return PP_OK;
    n = strlen(s) + 1;
    *out = malloc(n);
    if (*out == NULL)
        return PP_ENOMEM;
    memcpy(*out, s, n);
    return PP_OK;
}

/* The first line of a private file (no line end), as a string. */
static pp_status password_file(const char *path, char **out)
{
    char buf[PASSWORD_FILE_MAX + 1];
    size_t len = 0, n;
    pp_status st = pp__plat_read_private_file(path, buf, PASSWORD_FILE_MAX, &len);

    *out = NULL;
    if (st != PP_OK) {
        pp__log(PP_LOG_ERROR, "PROCPOOL_REDIS_PASSWORD_FILE '%s': %s%s", path, pp_strerror(st),
                st == PP_EACCES ? " (it must be private to its owner: chmod 600)" : "");
        return st;
    }
    buf[len] = '\0';
    n = strcspn(buf, "\r\n");
    buf[n] = '\0';
    if (n == 0) {
        pp__log(PP_LOG_ERROR, "PROCPOOL_REDIS_PASSWORD_FILE '%s': its first line is empty", path);
        st = PP_EINVAL;
    } else {
        st = pp__redis_secret_dup(buf, out);
    }
    memset(buf, 0, sizeof buf);
    return st;
}

pp_status pp__redis_env_credentials(char **user, char **pass)
{
    const char *file = getenv("PROCPOOL_REDIS_PASSWORD_FILE");
    pp_status st;

    *user = NULL;
    *pass = NULL;
    st = pp__redis_secret_dup(getenv("PROCPOOL_REDIS_USERNAME"), user);
    if (st == PP_OK)
        st = pp__redis_secret_dup(getenv("PROCPOOL_REDIS_PASSWORD"), pass);
    if (st == PP_OK && file != NULL && file[0] != '\0') {
        if (*pass != NULL) {
            pp__log(PP_LOG_ERROR, "PROCPOOL_REDIS_PASSWORD and PROCPOOL_REDIS_PASSWORD_FILE are "
                                  "both set: set one");
            st = PP_EINVAL;
        } else {
            st = password_file(file, pass);
        }
    }
    if (st != PP_OK) {
        pp__redis_wipe_free(*user);
        pp__redis_wipe_free(*pass);
        *user = *pass = NULL;
    }
    return st;
}
