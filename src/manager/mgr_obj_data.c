/*
 * mgr_obj_data.c — the hosted data of the manager server: the shared
 * value (an int64 or a double), the queue and the dict of value tuples
 * (mgr_obj.h says the ops).
 *
 * Tuples are kept as their encoding (values/tuple.h), checked on the way
 * in (pp__mgr_tuple_check(): well formed, no lock or shm item) and never
 * decoded here. Limits (manager_objects.h): an item's size, a queue's and
 * a dict's bytes, a dict's keys; and all queues and dicts of the server
 * together hold at most SERVER_BYTES_MAX, so no client can make the
 * server grow without bound.
 */
#include <stdlib.h>
#include <string.h>

#include "procpool/manager_objects.h"
#include "platform.h"
#include "wire/buf.h"
#include "manager/mgr_obj.h"

#define SERVER_BYTES_MAX ((size_t)256 << 20)

static size_t g_bytes; /* of every queue and dict; under the server's mutex */

static pp_status bytes_take(size_t n)
{
    if (n > SERVER_BYTES_MAX - g_bytes)
        return PP_ETOOBIG;
    g_bytes += n;
    return PP_OK;
}

static void state_free(pp__mobj *o)
{
    free(o->state);
}

static void no_conn_end(pp__mobj *o, pp__mgr_conn *c)
{
    (void)o;
    (void)c;
}

/* -------------------------------------------------------------- value */

typedef struct value_state {
    int64_t type; /* PP_TYPE_INT or PP_TYPE_DOUBLE */
    uint64_t bits;
} value_state;

static pp_status value_create(pp__mobj *o, pp__mctx *cx)
{
    value_state *v;

    if (cx->rq->a != PP_TYPE_INT && cx->rq->a != PP_TYPE_DOUBLE)
        return PP_EINVAL;
    v = calloc(1, sizeof *v);
    if (v == NULL)
        return PP_ENOMEM;
    v->type = cx->rq->a;
    v->bits = (uint64_t)cx->rq->b;
    o->state = v;
    return PP_OK;
}

static pp_status value_open(pp__mobj *o, pp__mctx *cx)
{
    cx->value = (uint64_t)((value_state *)o->state)->type;
    return PP_OK;
}

static double as_double(uint64_t bits)
{
    double d;

    memcpy(&d, &bits, sizeof d);
    return d;
}

static uint64_t double_bits(double d)
{
    uint64_t bits;

    memcpy(&bits, &d, sizeof bits);
    return bits;
}

static pp_status add_int(int64_t x, int64_t delta, int64_t *sum)
{
    if ((delta > 0 && x > INT64_MAX - delta) || (delta < 0 && x < INT64_MIN - delta))
        return PP_ERANGE;
    *sum = x + delta;
    return PP_OK;
}

/* The request's a says the type the caller expects (b, expected: bits). */
static pp_status value_op(pp__mobj *o, pp__mctx *cx)
{
    value_state *v = o->state;
    const pp__mgr_req *rq = cx->rq;
    int64_t sum;

    if (rq->a != v->type && rq->op != PP__MOP_CAS)
        return PP_ETYPE;
    switch (rq->op) {
    case PP__MOP_GET:
        cx->value = v->bits;
        return PP_OK;
    case PP__MOP_SET:
        v->bits = (uint64_t)rq->b;
        return PP_OK;
    case PP__MOP_ADD:
        if (v->type == PP_TYPE_DOUBLE) {
            v->bits = double_bits(as_double(v->bits) + as_double((uint64_t)rq->b));
        } else {
            if (add_int((int64_t)v->bits, rq->b, &sum) != PP_OK)
                return PP_ERANGE;
            v->bits = (uint64_t)sum;
        }
        cx->value = v->bits;
        return PP_OK;
    case PP__MOP_CAS: /* the type travels in key's first byte: a, b are bits */
        if (rq->keylen != 1 || rq->key[0] != (uint8_t)v->type)
            return PP_ETYPE;
        cx->value = v->bits;
        if (v->bits != (uint64_t)rq->a)
            return PP_EBUSY;
        v->bits = (uint64_t)rq->b;
        return PP_OK;
    default:
        return PP_EINVAL;
    }
}

const pp__mkind_ops pp__mk_value = {value_create, value_op, value_open, no_conn_end, state_free};

/* -------------------------------------------------------------- queue */

typedef struct qitem {
    struct qitem *next;
    size_t len;
    uint8_t *data; /* right after the item, in the same allocation */
} qitem;

typedef struct queue_state {
    size_t maxsize; /* 0: none */
    size_t n, bytes;
    qitem *head, *tail;
} queue_state;

static pp_status queue_create(pp__mobj *o, pp__mctx *cx)
{
    queue_state *q;

    if (cx->rq->a < 0 || cx->rq->a > INT32_MAX)
        return PP_EINVAL;
    q = calloc(1, sizeof *q);
    if (q == NULL)
        return PP_ENOMEM;
    q->maxsize = (size_t)cx->rq->a;
    o->state = q;
    return PP_OK;
}

static pp_status queue_open(pp__mobj *o, pp__mctx *cx)
{
    cx->value = (uint64_t)((queue_state *)o->state)->maxsize;
    return PP_OK;
}

static pp_status queue_put(pp__mobj *o, pp__mctx *cx)
{
    int64_t deadline = pp__mgr_srv_deadline(cx->rq);
    const pp__mgr_req *rq = cx->rq;
    uint64_t id = o->id;
    queue_state *q = o->state;
    qitem *it;
    pp_status st = pp__mgr_tuple_check(rq->data, rq->datalen);

    if (st != PP_OK)
        return st; /* PP_ENOTSUP; PP_EPROTO: malformed, the connection ends */
    while (q->maxsize != 0 && q->n >= q->maxsize) {
        if (pp__plat_now_ms() >= deadline)
            return PP_ETIMEDOUT;
        pp__mgr_srv_wait(deadline);
        o = pp__mgr_srv_find(id);
        if (o == NULL || o->kind != PP__MK_QUEUE)
            return PP_ENOENT;
        q = o->state;
    }
    if (rq->datalen > PP_MANAGER_QUEUE_BYTES_MAX - q->bytes || bytes_take(rq->datalen) != PP_OK)
        return PP_ETOOBIG;
    it = malloc(sizeof *it + rq->datalen);
    if (it == NULL) {
        g_bytes -= rq->datalen;
        return PP_ENOMEM;
    }
    it->next = NULL;
    it->len = rq->datalen;
    it->data = (uint8_t *)(it + 1);
    memcpy(it->data, rq->data, rq->datalen);
    if (q->tail != NULL)
        q->tail->next = it;
    else
        q->head = it;
    q->tail = it;
    q->n++;
    q->bytes += it->len;
    pp__mgr_srv_wake();
    return PP_OK;
}

static pp_status queue_take(pp__mobj *o, pp__mctx *cx)
{
    int64_t deadline = pp__mgr_srv_deadline(cx->rq);
    uint64_t id = o->id;
    queue_state *q = o->state;
    qitem *it;

    while (q->n == 0) {
        if (pp__plat_now_ms() >= deadline)
            return PP_ETIMEDOUT;
        pp__mgr_srv_wait(deadline);
        o = pp__mgr_srv_find(id);
        if (o == NULL || o->kind != PP__MK_QUEUE)
            return PP_ENOENT;
        q = o->state;
    }
    it = q->head;
    if (pp__buf_put(cx->data, it->data, it->len) != PP_OK)
        return PP_ENOMEM; /* the item stays */
    q->head = it->next;
    if (q->head == NULL)
        q->tail = NULL;
    q->n--;
    q->bytes -= it->len;
    g_bytes -= it->len;
    free(it);
    pp__mgr_srv_wake();
    return PP_OK;
}

static pp_status queue_op(pp__mobj *o, pp__mctx *cx)
{
    switch (cx->rq->op) {
    case PP__MOP_PUT:
        return queue_put(o, cx);
    case PP__MOP_TAKE:
        return queue_take(o, cx);
    case PP__MOP_LEN:
        cx->value = (uint64_t)((queue_state *)o->state)->n;
        return PP_OK;
    default:
        return PP_EINVAL;
    }
}

static void queue_destroy(pp__mobj *o)
{
    queue_state *q = o->state;

    while (q->head != NULL) {
        qitem *it = q->head;
        q->head = it->next;
        g_bytes -= it->len;
        free(it);
    }
    free(q);
}

const pp__mkind_ops pp__mk_queue = {queue_create, queue_op, queue_open, no_conn_end, queue_destroy};

/* --------------------------------------------------------------- dict */

typedef struct dentry {
    char *key; /* NUL-terminated copy */
    uint8_t *data;
    size_t len;
} dentry;

typedef struct dict_state {
    dentry *e;
    size_t n, cap, bytes;
} dict_state;

/* One int64 as a one-item tuple: u32 1, u8 INT, i64. */
#define ONE_INT_LEN 13u

static pp_status dict_create(pp__mobj *o, pp__mctx *cx)
{
    (void)cx;
    o->state = calloc(1, sizeof(dict_state));
    return o->state != NULL ? PP_OK : PP_ENOMEM;
}

/* 1..PP_MANAGER_DICT_KEY_MAX bytes, no NUL (length bounded by the parser). */
static pp_status key_check(const pp__mgr_req *rq)
{
    return rq->keylen > 0 && memchr(rq->key, '\0', rq->keylen) == NULL ? PP_OK : PP_EINVAL;
}

static dentry *dfind(dict_state *d, const pp__mgr_req *rq)
{
    size_t i;

    for (i = 0; i < d->n; i++) {
        if (strlen(d->e[i].key) == rq->keylen && memcmp(d->e[i].key, rq->key, rq->keylen) == 0)
            return &d->e[i];
    }
    return NULL;
}

/* Store a copy of (p, len) as d[key] (new or replaced), within limits. */
static pp_status dstore(dict_state *d, const pp__mgr_req *rq, const uint8_t *p, size_t len)
{
    dentry *e = dfind(d, rq);
    size_t old = e != NULL ? e->len : 0;
    uint8_t *copy;

    if (e == NULL && d->n >= PP_MANAGER_DICT_KEYS_MAX)
        return PP_ETOOBIG;
    if (len > old &&
        (len - old > PP_MANAGER_DICT_BYTES_MAX - d->bytes || bytes_take(len - old) != PP_OK))
        return PP_ETOOBIG;
    copy = malloc(len > 0 ? len : 1);
    if (copy == NULL)
        goto nomem;
    if (e == NULL && d->n == d->cap) {
        size_t cap = d->cap != 0 ? 2 * d->cap : 8;
        dentry *grown = realloc(d->e, cap * sizeof *grown);
        if (grown == NULL)
            goto nomem;
        d->e = grown;
        d->cap = cap;
    }
    if (e == NULL) {
        e = &d->e[d->n];
        e->key = malloc(rq->keylen + 1);
        if (e->key == NULL)
            goto nomem;
        memcpy(e->key, rq->key, rq->keylen);
        e->key[rq->keylen] = '\0';
        e->data = NULL;
        e->len = 0;
        d->n++;
    }
    if (len < old)
        g_bytes -= old - len;
    d->bytes = d->bytes - old + len;
    memcpy(copy, p, len);
    free(e->data);
    e->data = copy;
    e->len = len;
    return PP_OK;
nomem:
    free(copy);
    if (len > old)
        g_bytes -= len - old;
    return PP_ENOMEM;
}

static void dremove(dict_state *d, dentry *e)
{
    d->bytes -= e->len;
    g_bytes -= e->len;
    free(e->key);
    free(e->data);
    *e = d->e[--d->n];
}

static pp_status dict_add(dict_state *d, pp__mctx *cx)
{
    uint8_t enc[ONE_INT_LEN];
    dentry *e = dfind(d, cx->rq);
    int64_t x = 0, sum;

    if (e != NULL) {
        if (e->len != ONE_INT_LEN || pp__ld_le32(e->data) != 1 || e->data[4] != PP_TYPE_INT)
            return PP_ETYPE;
        x = (int64_t)pp__ld_le64(e->data + 5);
    }
    if (add_int(x, cx->rq->b, &sum) != PP_OK)
        return PP_ERANGE;
    pp__st_le32(enc, 1);
    enc[4] = PP_TYPE_INT;
    pp__st_le64(enc + 5, (uint64_t)sum);
    cx->value = (uint64_t)sum;
    return dstore(d, cx->rq, enc, sizeof enc);
}

static pp_status dict_keys(dict_state *d, pp__buf *out)
{
    pp_status st = pp__buf_put_u32(out, (uint32_t)d->n);
    size_t i;

    for (i = 0; i < d->n && st == PP_OK; i++)
        st = pp__buf_put_blob(out, d->e[i].key, strlen(d->e[i].key));
    return st;
}

static pp_status dict_op(pp__mobj *o, pp__mctx *cx)
{
    dict_state *d = o->state;
    const pp__mgr_req *rq = cx->rq;
    dentry *e;
    pp_status st;

    if (rq->op == PP__MOP_LEN) {
        cx->value = (uint64_t)d->n;
        return PP_OK;
    }
    if (rq->op == PP__MOP_KEYS)
        return dict_keys(d, cx->data);
    if (key_check(rq) != PP_OK)
        return PP_EINVAL;
    switch (rq->op) {
    case PP__MOP_SET:
        st = pp__mgr_tuple_check(rq->data, rq->datalen);
        return st != PP_OK ? st : dstore(d, rq, rq->data, rq->datalen);
    case PP__MOP_GET:
        e = dfind(d, rq);
        return e == NULL ? PP_ENOENT : pp__buf_put(cx->data, e->data, e->len);
    case PP__MOP_DELETE:
        e = dfind(d, rq);
        if (e == NULL)
            return PP_ENOENT;
        dremove(d, e);
        return PP_OK;
    case PP__MOP_CONTAINS:
        cx->value = dfind(d, rq) != NULL;
        return PP_OK;
    case PP__MOP_ADD:
        return dict_add(d, cx);
    default:
        return PP_EINVAL;
    }
}

static void dict_destroy(pp__mobj *o)
{
    dict_state *d = o->state;

    while (d->n > 0)
        dremove(d, &d->e[d->n - 1]);
    free(d->e);
    free(d);
}

const pp__mkind_ops pp__mk_dict = {dict_create, dict_op, NULL, no_conn_end, dict_destroy};
