/*
 * mgr_server.c — the manager server (PP__ROLE_MANAGER): a listener on
 * TCP loopback, one thread per connection, and the table of hosted
 * objects of every kind (mgr_obj.h; each kind's code in mgr_obj_*.c).
 *
 * Every hosted object lives in one table under one mutex; a waiter waits
 * on one condition variable that every change broadcasts (simple before
 * fast: the table is a list, searched by id). A connection owns what it
 * holds and what it created: when it ends, however it ends, each object
 * gives back what it held (a lock's next acquirer gets PP_EOWNERDEAD),
 * drops its waits, and the objects it created are destroyed.
 *
 * The process ends when its control channel ends (its parent closed it
 * or died); its threads are not joined then: pp__plat_exit ends them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_network_io.h>
#include <apr_pools.h>
#include <sodium.h>

#include "procpool/log.h"
#include "procpool/manager.h"
#include "platform.h"
#include "core/core.h"
#include "wire/buf.h"
#include "manager/manager.h"
#include "manager/mgr_obj.h"
#include "manager/mgr_proto.h"

#define MAX_CONNS    256
#define MAX_OBJECTS  65536 /* in the whole server */
#define MAX_PER_CONN 4096  /* created by one connection (PP_MANAGER_OBJECTS_MAX) */
#define ACCEPT_MS    1000  /* the acceptor reaps ended connections this often */
#define KEEP_BYTES   65536 /* buffer room a connection keeps between requests */

typedef struct pp__mgr_conn conn;

struct pp__mgr_conn {
    apr_pool_t *pool;
    apr_socket_t *sock;
    pp__plat_thread *thread;
    char peer[64];
    size_t nobjects; /* created and not destroyed */
    conn *next;      /* g.conns or g.done */
};

static struct {
    pp__plat_mtx *mu;  /* everything below */
    pp__plat_cond *cv; /* an object changed or was destroyed */
    pp__mobj *objs;
    size_t nobjs;
    uint64_t next_id;
    uint64_t next_ticket;
    conn *conns; /* running */
    conn *done;  /* ended, to be joined */
    size_t nconns;
    uint8_t key[PP_MANAGER_KEY_MAX];
    size_t keylen;
    uint64_t instance; /* random, for this process's life (mgr_proto.h) */
    apr_socket_t *listener;
} g;

/* ------------------------------------------------------------- objects */

const pp__mkind_ops *pp__mk_ops(uint8_t kind)
{
    static const pp__mkind_ops *const kinds[PP__MK_COUNT] = {
        NULL,          &pp__mk_lock,    &pp__mk_rlock, &pp__mk_sem,   &pp__mk_bsem, &pp__mk_cond,
        &pp__mk_event, &pp__mk_barrier, &pp__mk_value, &pp__mk_queue, &pp__mk_dict};

    return kind < PP__MK_COUNT ? kinds[kind] : NULL;
}

pp__mobj *pp__mgr_srv_find(uint64_t id)
{
    pp__mobj *o;

    for (o = g.objs; o != NULL; o = o->next) {
        if (o->id == id)
            return o;
    }
    return NULL;
}

void pp__mgr_srv_wait(int64_t deadline)
{
    int64_t left = deadline - pp__plat_now_ms();

    if (left > 0)
        (void)pp__plat_cond_wait(g.cv, g.mu, left);
}

void pp__mgr_srv_wake(void)
{
    pp__plat_cond_broadcast(g.cv);
}

int pp__mgr_srv_conn_gone(pp__mgr_conn *c)
{
    int eof = 0;

    /* A client waits for each reply before its next request: anything
     * to read now is its end. */
    return apr_socket_atreadeof(c->sock, &eof) != APR_SUCCESS || eof;
}

uint64_t pp__mgr_srv_ticket(void)
{
    return ++g.next_ticket;
}

int64_t pp__mgr_srv_deadline(const pp__mgr_req *rq)
{
    int64_t t = rq->timeout_ms;

    if (t < 0 || t > PP__MGR_SLICE_MS)
        t = PP__MGR_SLICE_MS;
    return pp__plat_now_ms() + t;
}

static pp_status op_create(pp__mctx *cx, uint8_t kind)
{
    const pp__mkind_ops *ops = pp__mk_ops(kind);
    pp__mobj *o;
    pp_status st;

    if (ops == NULL)
        return PP_EINVAL;
    if (g.nobjs >= MAX_OBJECTS || cx->conn->nobjects >= MAX_PER_CONN)
        return PP_ETOOBIG;
    o = calloc(1, sizeof *o);
    if (o == NULL)
        return PP_ENOMEM;
    o->kind = kind;
    o->creator = cx->conn;
    st = ops->create(o, cx);
    if (st != PP_OK) {
        free(o);
        return st;
    }
    o->id = ++g.next_id;
    o->next = g.objs;
    g.objs = o;
    g.nobjs++;
    cx->conn->nobjects++;
    cx->value = o->id;
    return PP_OK;
}

/* Unlink o, free it; its waiters (woken) find it gone. */
static void destroy_obj(pp__mobj *o)
{
    pp__mobj **pp;

    for (pp = &g.objs; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == o) {
            *pp = o->next;
            g.nobjs--;
            o->creator->nobjects--;
            pp__mk_ops(o->kind)->destroy(o);
            free(o);
            pp__mgr_srv_wake();
            return;
        }
    }
}

static pp_status op_destroy(conn *c, uint64_t id)
{
    pp__mobj *o = pp__mgr_srv_find(id);

    if (o == NULL)
        return PP_ENOENT;
    if (o->creator != c)
        return PP_EPERM;
    destroy_obj(o);
    return PP_OK;
}

/* A connection ended: every object gives back what it held and drops its
 * waits; what it created is gone. */
static void drop_conn_objects(conn *c)
{
    pp__mobj *o, *next;

    for (o = g.objs; o != NULL; o = o->next)
        pp__mk_ops(o->kind)->conn_end(o, c);
    for (o = g.objs; o != NULL; o = next) {
        next = o->next;
        if (o->creator == c)
            destroy_obj(o);
    }
    pp__mgr_srv_wake();
}

/* ------------------------------------------------------------ requests */

static int is_lock(const pp__mobj *o)
{
    return o != NULL && (o->kind == PP__MK_LOCK || o->kind == PP__MK_RLOCK);
}

/* A lock request of the first protocol (ACQUIRE, TRY, RELEASE) as an op
 * of the lock kinds. */
static pp_status lock_request(pp__mctx *cx, pp__mgr_req *rq, uint8_t op, int64_t timeout)
{
    pp__mobj *o = pp__mgr_srv_find(rq->id);

    if (!is_lock(o))
        return PP_ENOENT;
    rq->op = op;
    rq->timeout_ms = timeout;
    return pp__mk_ops(o->kind)->op(o, cx);
}

static pp_status obj_request(pp__mctx *cx, const pp__mgr_req *rq)
{
    const pp__mkind_ops *ops;
    pp__mobj *o;

    if (rq->op == PP__MOP_CREATE)
        return op_create(cx, rq->kind);
    o = pp__mgr_srv_find(rq->id);
    if (o == NULL)
        return PP_ENOENT;
    if (o->kind != rq->kind)
        return PP_ETYPE;
    ops = pp__mk_ops(o->kind);
    if (rq->op == PP__MOP_OPEN)
        return ops->open != NULL ? ops->open(o, cx) : PP_OK;
    return ops->op(o, cx);
}

static pp_status dispatch(pp__mctx *cx, pp__mgr_req *rq)
{
    switch (rq->type) {
    case PP__MGR_CREATE_LOCK:
        return op_create(cx, PP__MK_LOCK);
    case PP__MGR_ACQUIRE:
        return lock_request(cx, rq, PP__MOP_ACQUIRE, rq->timeout_ms);
    case PP__MGR_TRY:
        return lock_request(cx, rq, PP__MOP_ACQUIRE, 0);
    case PP__MGR_RELEASE:
        return lock_request(cx, rq, PP__MOP_RELEASE, 0);
    case PP__MGR_DESTROY:
        return op_destroy(cx->conn, rq->id);
    case PP__MGR_OPEN: {
        pp__mobj *o = pp__mgr_srv_find(rq->id);
        return o != NULL && o->kind == PP__MK_LOCK ? PP_OK : PP_ENOENT;
    }
    case PP__MGR_OBJ:
        return obj_request(cx, rq);
    default:
        return PP_EPROTO;
    }
}

/* One request, its reply (reply: the connection's buffer). PP_EPROTO:
 * malformed (the connection ends). */
static pp_status serve_one(conn *c, const pp__mgr_frame *f, pp__buf *reply)
{
    uint8_t head[12] = {0};
    pp__mgr_req rq;
    pp__mctx cx;
    pp_status st;

    if (pp__mgr_parse_request(f, &rq) != PP_OK)
        return PP_EPROTO;
    pp__buf_reset(reply);
    if (pp__buf_put(reply, head, sizeof head) != PP_OK)
        return PP_ENOMEM;
    cx.conn = c;
    cx.rq = &rq;
    cx.value = 0;
    cx.data = reply;
    pp__plat_mtx_lock(g.mu);
    st = dispatch(&cx, &rq);
    pp__plat_mtx_unlock(g.mu);
    if (st == PP_EPROTO || st == PP_ECONNLOST) /* malformed; the peer is gone */
        return st;
    if (st != PP_OK && st != PP_EOWNERDEAD)
        reply->len = sizeof head;           /* data only with a success */
    if (reply->len > PP__MGR_PAYLOAD_MAX) { /* a kind's bug: say it, never send it */
        reply->len = sizeof head;
        st = PP_ETOOBIG;
    }
    pp__st_le32(reply->data, (uint32_t)(int32_t)st);
    pp__st_le64(reply->data + 4, cx.value);
    return pp__mgr_send(c->sock, PP__MGR_REPLY, reply->data, reply->len);
}

static void conn_thread(void *arg)
{
    conn *c = arg;
    pp__mgr_frame f;
    pp__buf reply;
    pp_status st;

    pp__mgr_frame_init(&f);
    pp__buf_init(&reply);
    st = pp__mgr_handshake_server(c->sock, g.key, g.keylen, g.instance);
    if (st != PP_OK) {
        pp__log(PP_LOG_WARN, "manager: connection from %s rejected: %s (%s)", c->peer,
                pp_err_name(st), st == PP_EAUTH ? "wrong key" : pp_strerror(st));
    } else {
        pp__log(PP_LOG_INFO, "manager: client %s authenticated", c->peer);
        while ((st = pp__mgr_recv(c->sock, PP_INFINITE, &f)) == PP_OK &&
               (st = serve_one(c, &f, &reply)) == PP_OK) {
            if (f.heap_cap > KEEP_BYTES) /* a large item passed: do not keep its room */
                pp__mgr_frame_free(&f);
            if (reply.cap > KEEP_BYTES)
                pp__buf_free(&reply);
        }
        if (st == PP_EPROTO)
            pp__log(PP_LOG_WARN, "manager: malformed request from %s: connection closed", c->peer);
    }
    pp__mgr_frame_free(&f);
    pp__buf_free(&reply);
    apr_socket_close(c->sock);
    pp__plat_mtx_lock(g.mu);
    drop_conn_objects(c);
    {
        conn **pp;
        for (pp = &g.conns; *pp != NULL; pp = &(*pp)->next) {
            if (*pp == c) {
                *pp = c->next;
                break;
            }
        }
    }
    g.nconns--;
    c->next = g.done;
    g.done = c;
    pp__plat_mtx_unlock(g.mu);
}

/* Join and free the connections that ended. */
static void reap_done(void)
{
    conn *c;

    for (;;) {
        pp__plat_mtx_lock(g.mu);
        c = g.done;
        if (c != NULL)
            g.done = c->next;
        pp__plat_mtx_unlock(g.mu);
        if (c == NULL)
            return;
        pp__plat_thread_join(c->thread);
        apr_pool_destroy(c->pool);
        free(c);
    }
}

static void refuse(apr_pool_t *pool, apr_socket_t *sock, conn *c, const char *why)
{
    pp__log(PP_LOG_WARN, "manager: connection from %s refused: %s", c != NULL ? c->peer : "?", why);
    apr_socket_close(sock);
    apr_pool_destroy(pool);
    free(c);
}

static void start_conn(apr_pool_t *pool, apr_socket_t *sock)
{
    conn *c = calloc(1, sizeof *c);
    apr_sockaddr_t *sa = NULL;
    const char *why = NULL;
    char *ip = NULL;

    if (c == NULL) {
        refuse(pool, sock, NULL, "out of memory");
        return;
    }
    c->pool = pool;
    c->sock = sock;
    if (apr_socket_addr_get(&sa, APR_REMOTE, sock) == APR_SUCCESS &&
        apr_sockaddr_ip_get(&ip, sa) == APR_SUCCESS)
        snprintf(c->peer, sizeof c->peer, "%s:%u", ip, (unsigned)sa->port);
    (void)apr_socket_opt_set(sock, APR_TCP_NODELAY, 1);
    pp__plat_mtx_lock(g.mu);
    if (g.nconns >= MAX_CONNS) {
        why = "too many connections";
    } else {
        /* Linked before the thread starts: it unlinks itself at its end. */
        c->next = g.conns;
        g.conns = c;
        g.nconns++;
        if (pp__plat_thread_create(&c->thread, conn_thread, c) != PP_OK) {
            g.conns = c->next;
            g.nconns--;
            why = "no thread for it";
        }
    }
    pp__plat_mtx_unlock(g.mu);
    if (why != NULL)
        refuse(pool, sock, c, why);
}

static void accept_thread(void *arg)
{
    (void)arg;
    for (;;) {
        apr_pool_t *pool = NULL;
        apr_socket_t *sock = NULL;
        apr_status_t rv;

        reap_done();
        if (apr_pool_create(&pool, NULL) != APR_SUCCESS)
            return;
        rv = apr_socket_accept(&sock, g.listener, pool);
        if (rv != APR_SUCCESS) {
            apr_pool_destroy(pool);
            if (!APR_STATUS_IS_TIMEUP(rv) && !APR_STATUS_IS_EAGAIN(rv) &&
                !APR_STATUS_IS_EINTR(rv) && !APR_STATUS_IS_ECONNABORTED(rv))
                pp__plat_sleep_ms(10); /* out of fds: do not spin */
            continue;
        }
        start_conn(pool, sock);
    }
}

/* ------------------------------------------------------------- startup */

/* No SO_REUSEADDR: on Windows it would let another process bind the same
 * port and steal connections. (A fixed port may then be refused for a
 * while after a restart on POSIX: TIME_WAIT of closed connections.) */
static pp_status listen_on(apr_pool_t *pool, uint16_t port, uint16_t *bound)
{
    apr_sockaddr_t *sa = NULL;
    apr_status_t rv;

    rv = apr_sockaddr_info_get(&sa, "127.0.0.1", APR_INET, port, 0, pool);
    if (rv == APR_SUCCESS)
        rv = apr_socket_create(&g.listener, APR_INET, SOCK_STREAM, APR_PROTO_TCP, pool);
    if (rv == APR_SUCCESS)
        rv = apr_socket_bind(g.listener, sa);
    if (rv == APR_SUCCESS)
        rv = apr_socket_listen(g.listener, 64);
    if (rv == APR_SUCCESS)
        rv = apr_socket_addr_get(&sa, APR_LOCAL, g.listener);
    if (rv != APR_SUCCESS)
        return pp__from_apr(rv);
    *bound = (uint16_t)sa->port;
    return apr_socket_timeout_set(g.listener, (apr_interval_time_t)ACCEPT_MS * 1000) == APR_SUCCESS
               ? PP_OK
               : PP_ESYS;
}

/* The start message, then the listener. */
static pp_status setup(pp__plat_chan *chan, apr_pool_t *pool, uint16_t *bound)
{
    uint8_t hdr[PP__MGR_START_HDR];
    pp_status st;

    st = pp__mgr_chan_read_exact(chan, hdr, sizeof hdr);
    if (st != PP_OK)
        return st;
    g.keylen = pp__ld_le16(hdr + 2);
    if (g.keylen == 0 || g.keylen > sizeof g.key)
        return PP_EPROTO;
    st = pp__mgr_chan_read_exact(chan, g.key, g.keylen);
    if (st == PP_OK)
        st = pp__mgr_crypto_init();
    if (st == PP_OK) {
        do
            randombytes_buf(&g.instance, sizeof g.instance);
        while (g.instance == 0);
    }
    if (st == PP_OK)
        st = pp__plat_mtx_create(&g.mu);
    if (st == PP_OK)
        st = pp__plat_cond_create(&g.cv);
    if (st == PP_OK)
        st = listen_on(pool, pp__ld_le16(hdr), bound);
    return st;
}

int pp__manager_main(pp__plat_chan *chan)
{
    uint8_t ready[PP__MGR_READY_LEN], sink[64];
    pp__plat_thread *acceptor = NULL;
    apr_pool_t *pool = NULL;
    uint16_t port = 0;
    size_t got;
    pp_status st;

    st = apr_pool_create(&pool, NULL) == APR_SUCCESS ? PP_OK : PP_ENOMEM;
    if (st == PP_OK)
        st = setup(chan, pool, &port);
    if (st == PP_OK)
        st = pp__plat_thread_create(&acceptor, accept_thread, NULL);
    pp__st_le32(ready, (uint32_t)(int32_t)st);
    pp__st_le16(ready + 4, port);
    if (pp__plat_chan_write(chan, ready, sizeof ready) != PP_OK || st != PP_OK)
        return 1;
    /* Serve until the parent closes the channel or dies. */
    while (pp__plat_chan_read(chan, sink, sizeof sink, &got) == PP_OK)
        ;
    sodium_memzero(g.key, sizeof g.key);
    return 0;
}
