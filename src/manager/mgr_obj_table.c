/*
 * mgr_obj_table.c — the manager server's table of hosted objects of
 * every kind (mgr_obj.h; each kind's code in mgr_obj_*.c) and the
 * requests that act on it (mgr_server.h: pp__mgr_table_*).
 *
 * Every hosted object lives in one table under one mutex (simple before
 * fast: the table is a list, searched by id). A waiter of most kinds
 * waits on one condition variable that every change broadcasts; a lock
 * waiter waits in its lock's FIFO on its connection's own condition
 * variable and is handed the lock directly (mgr_obj_lock.c). A
 * connection owns what it holds and what it created: when it ends,
 * however it ends, each object gives back what it held (a lock's next
 * acquirer gets PP_EOWNERDEAD), drops its waits, and the objects it
 * created are destroyed.
 */
#include <stdlib.h>

#include "procpool/manager.h"
#include "platform.h"
#include "manager/mgr_obj.h"
#include "manager/mgr_proto.h"
#include "manager/mgr_server.h"

#define MAX_OBJECTS  65536 /* in the whole server */
#define MAX_PER_CONN 4096  /* created by one connection (PP_MANAGER_OBJECTS_MAX) */

typedef struct pp__mgr_conn conn;

static struct {
    pp__plat_mtx *mu;  /* everything below */
    pp__plat_cond *cv; /* an object changed or was destroyed */
    pp__mobj *objs;
    size_t nobjs;
    uint64_t next_id;
    uint64_t next_ticket;
} g;

pp_status pp__mgr_table_init(void)
{
    pp_status st = pp__plat_mtx_create(&g.mu);

    if (st == PP_OK && (st = pp__plat_cond_create(&g.cv)) != PP_OK) {
        pp__plat_mtx_destroy(g.mu);
        g.mu = NULL;
    }
    return st;
}

pp__plat_mtx *pp__mgr_table_mutex(void)
{
    return g.mu;
}

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

void pp__mgr_srv_conn_wait(pp__mgr_conn *c, int64_t deadline)
{
    int64_t left = deadline - pp__plat_now_ms();

    if (left > 0)
        (void)pp__plat_cond_wait(c->cv, g.mu, left);
}

void pp__mgr_srv_conn_signal(pp__mgr_conn *c)
{
    pp__plat_cond_signal(c->cv);
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
    return pp__plat_deadline_ms(t);
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
void pp__mgr_table_conn_end(conn *c)
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

pp_status pp__mgr_table_request(pp__mctx *cx, pp__mgr_req *rq)
{
    switch (rq->type) {
    case PP__MGR_CREATE_LOCK:
        return op_create(cx, PP__MK_LOCK);
    case PP__MGR_ACQUIRE:
        return lock_request(cx, rq, PP__MOP_ACQUIRE, rq->timeout_ms);
    case PP__MGR_TRY:
        return lock_request(cx, rq, PP__MOP_ACQUIRE, 0);
    case PP__MGR_RELEASE:
    case PP__MGR_RELEASE_NR: /* no reply: mgr_server.c */
        return lock_request(cx, rq, PP__MOP_RELEASE, 0);
    case PP__MGR_CONFIRM_NR: { /* no reply: mgr_server.c */
        pp__mobj *o = pp__mgr_srv_find(rq->id);
        if (o != NULL && o->kind == PP__MK_COND)
            pp__mcond_confirm(o, cx->conn);
        return PP_OK;
    }
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
