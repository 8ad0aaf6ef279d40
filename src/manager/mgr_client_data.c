/*
 * mgr_client_data.c — the handles of the hosted value, queue and dict
 * (manager_objects.h): value tuples travel as their encoding
 * (values/tuple.h), checked before sending (no lock or shm item by name:
 * those are local to one machine; hosted locks and proxies travel as
 * their locators) and after receiving (pp__mgr_tuple_check()), so a reply
 * never attaches anything by name; a locator in it is resolved by the
 * getter as a task's argument would be.
 */
#include <stdlib.h>
#include <string.h>

#include "procpool/manager_objects.h"
#include "wire/buf.h"
#include "values/tuple.h"
#include "values/value_internal.h"
#include "manager/mgr_client.h"
#include "manager/mgr_obj.h"
#include "manager/mgr_proto.h"

/* The encoding of v (NULL: the empty tuple) into b, within the limits. */
static pp_status encode(const pp_values *v, pp__buf *b)
{
    size_t i, n = v != NULL ? pp_values_count(v) : 0;
    pp_status st;

    for (i = 0; i < n; i++) {
        pp_type t = pp_values_type(v, i);
        if ((t == PP_TYPE_LOCK || t == PP_TYPE_SHM || t == PP_TYPE_SYNC || t == PP_TYPE_PROXY) &&
            pp__values_item_locator(v, i) == NULL)
            return PP_ENOTSUP;
    }
    st = pp__values_encode(v, b);
    if (st == PP_OK && b->len > PP_MANAGER_ITEM_MAX)
        st = PP_ETOOBIG;
    return st;
}

/* A received encoding as a new tuple; PP_EPROTO if it is not one the
 * server may hold (the connection is as good as broken then). */
static pp_status decode(const pp__buf *b, pp_values **out)
{
    pp__rd r;

    if (pp__mgr_tuple_check(b->data, b->len) != PP_OK)
        return PP_EPROTO;
    pp__rd_init(&r, b->data, b->len);
    return pp__values_decode(&r, out, NULL, NULL, 0);
}

/* -------------------------------------------------------------- value */

struct pp_mvalue {
    pp__mgr_ref ref; /* first */
    pp_type type;
};

static uint64_t dbits(double d)
{
    uint64_t bits;

    memcpy(&bits, &d, sizeof bits);
    return bits;
}

static double dval(uint64_t bits)
{
    double d;

    memcpy(&d, &bits, sizeof d);
    return d;
}

static pp_status value_make(pp_manager *mgr, pp_type type, uint64_t bits, pp_mvalue **out)
{
    pp__mgr_ref *h = NULL;
    pp_status st = out == NULL ? PP_EINVAL
                               : pp__mgr_handle_create(mgr, PP__MK_VALUE, type, (int64_t)bits,
                                                       sizeof(pp_mvalue), &h);

    if (st == PP_OK) {
        *out = (pp_mvalue *)h;
        (*out)->type = type;
    }
    return st;
}

pp_status pp_mvalue_create_int(pp_manager *mgr, int64_t initial, pp_mvalue **out)
{
    return value_make(mgr, PP_TYPE_INT, (uint64_t)initial, out);
}

pp_status pp_mvalue_create_double(pp_manager *mgr, double initial, pp_mvalue **out)
{
    return value_make(mgr, PP_TYPE_DOUBLE, dbits(initial), out);
}

pp_status pp_mvalue_open(pp_manager *mgr, uint64_t id, pp_mvalue **out)
{
    pp__mgr_ref *h = NULL;
    uint64_t type = 0;
    pp_status st = out == NULL
                       ? PP_EINVAL
                       : pp__mgr_handle_open(mgr, PP__MK_VALUE, id, sizeof(pp_mvalue), &h, &type);

    if (st == PP_OK) {
        *out = (pp_mvalue *)h;
        (*out)->type = (pp_type)type;
    }
    return st;
}

uint64_t pp_mvalue_id(const pp_mvalue *v)
{
    return v != NULL ? v->ref.id : 0;
}

pp_type pp_mvalue_type(const pp_mvalue *v)
{
    return v != NULL ? v->type : PP_TYPE_NONE;
}

/* op on v as type (the server checks it is v's); bits in, bits out. */
static pp_status value_op(pp_mvalue *v, pp_type type, uint8_t op, uint64_t in, uint64_t *out)
{
    if (v == NULL)
        return PP_EINVAL;
    return pp__mgr_obj_simple(&v->ref, op, type, (int64_t)in, out);
}

static pp_status value_cas(pp_mvalue *v, pp_type type, uint64_t expected, uint64_t desired,
                           int *swapped, uint64_t *old)
{
    uint8_t t = (uint8_t)type;
    pp__mgr_objreq q;
    pp_status st;

    if (v == NULL)
        return PP_EINVAL;
    memset(&q, 0, sizeof q);
    q.op = PP__MOP_CAS;
    q.a = (int64_t)expected;
    q.b = (int64_t)desired;
    q.key = &t;
    q.keylen = 1;
    st = pp__mgr_obj_call(&v->ref, &q, old, NULL);
    if (swapped != NULL && (st == PP_OK || st == PP_EBUSY))
        *swapped = st == PP_OK;
    return st == PP_EBUSY ? PP_OK : st;
}

pp_status pp_mvalue_get_int(pp_mvalue *v, int64_t *out)
{
    uint64_t bits = 0;
    pp_status st = out == NULL ? PP_EINVAL : value_op(v, PP_TYPE_INT, PP__MOP_GET, 0, &bits);

    if (st == PP_OK)
        *out = (int64_t)bits;
    return st;
}

pp_status pp_mvalue_set_int(pp_mvalue *v, int64_t x)
{
    return value_op(v, PP_TYPE_INT, PP__MOP_SET, (uint64_t)x, NULL);
}

pp_status pp_mvalue_add_int(pp_mvalue *v, int64_t delta, int64_t *now)
{
    uint64_t bits = 0;
    pp_status st = value_op(v, PP_TYPE_INT, PP__MOP_ADD, (uint64_t)delta, &bits);

    if (st == PP_OK && now != NULL)
        *now = (int64_t)bits;
    return st;
}

pp_status pp_mvalue_cas_int(pp_mvalue *v, int64_t expected, int64_t desired, int *swapped,
                            int64_t *old)
{
    uint64_t bits = 0;
    pp_status st = value_cas(v, PP_TYPE_INT, (uint64_t)expected, (uint64_t)desired, swapped, &bits);

    if (st == PP_OK && old != NULL)
        *old = (int64_t)bits;
    return st;
}

pp_status pp_mvalue_get_double(pp_mvalue *v, double *out)
{
    uint64_t bits = 0;
    pp_status st = out == NULL ? PP_EINVAL : value_op(v, PP_TYPE_DOUBLE, PP__MOP_GET, 0, &bits);

    if (st == PP_OK)
        *out = dval(bits);
    return st;
}

pp_status pp_mvalue_set_double(pp_mvalue *v, double x)
{
    return value_op(v, PP_TYPE_DOUBLE, PP__MOP_SET, dbits(x), NULL);
}

pp_status pp_mvalue_add_double(pp_mvalue *v, double delta, double *now)
{
    uint64_t bits = 0;
    pp_status st = value_op(v, PP_TYPE_DOUBLE, PP__MOP_ADD, dbits(delta), &bits);

    if (st == PP_OK && now != NULL)
        *now = dval(bits);
    return st;
}

pp_status pp_mvalue_cas_double(pp_mvalue *v, double expected, double desired, int *swapped,
                               double *old)
{
    uint64_t bits = 0;
    pp_status st = value_cas(v, PP_TYPE_DOUBLE, dbits(expected), dbits(desired), swapped, &bits);

    if (st == PP_OK && old != NULL)
        *old = dval(bits);
    return st;
}

void pp_mvalue_destroy(pp_mvalue *v)
{
    pp__mgr_handle_destroy(v);
}

/* -------------------------------------------------------------- queue */

struct pp_mqueue {
    pp__mgr_ref ref; /* first */
    size_t maxsize;
};

pp_status pp_mqueue_create(pp_manager *mgr, size_t maxsize, pp_mqueue **out)
{
    pp__mgr_ref *h = NULL;
    pp_status st;

    if (mgr == NULL || out == NULL || maxsize > INT32_MAX)
        return PP_EINVAL;
    st = pp__mgr_handle_create(mgr, PP__MK_QUEUE, (int64_t)maxsize, 0, sizeof(pp_mqueue), &h);
    if (st == PP_OK) {
        *out = (pp_mqueue *)h;
        (*out)->maxsize = maxsize;
    }
    return st;
}

pp_status pp_mqueue_open(pp_manager *mgr, uint64_t id, pp_mqueue **out)
{
    uint64_t maxsize = 0;
    pp__mgr_ref *h = NULL;
    pp_status st;

    if (mgr == NULL || out == NULL || id == 0)
        return PP_EINVAL;
    st = pp__mgr_handle_open(mgr, PP__MK_QUEUE, id, sizeof(pp_mqueue), &h, &maxsize);
    if (st == PP_OK) {
        *out = (pp_mqueue *)h;
        (*out)->maxsize = (size_t)maxsize;
    }
    return st;
}

uint64_t pp_mqueue_id(const pp_mqueue *q)
{
    return q != NULL ? q->ref.id : 0;
}

pp_status pp_mqueue_put(pp_mqueue *q, const pp_values *v, int64_t timeout_ms)
{
    pp__mgr_objreq rq;
    pp__buf b;
    pp_status st;

    if (q == NULL || (timeout_ms < 0 && timeout_ms != PP_INFINITE))
        return PP_EINVAL;
    pp__buf_init(&b);
    st = encode(v, &b);
    if (st == PP_OK) {
        memset(&rq, 0, sizeof rq);
        rq.op = PP__MOP_PUT;
        rq.data = b.data;
        rq.datalen = b.len;
        st = pp__mgr_obj_wait(&q->ref, &rq, timeout_ms, 0, NULL, NULL);
    }
    pp__buf_free(&b);
    return st;
}

pp_status pp_mqueue_try_put(pp_mqueue *q, const pp_values *v)
{
    pp_status st = pp_mqueue_put(q, v, 0);

    return st == PP_ETIMEDOUT ? PP_EBUSY : st;
}

pp_status pp_mqueue_get(pp_mqueue *q, pp_values **out, int64_t timeout_ms)
{
    pp__mgr_objreq rq;
    pp__buf b;
    pp_status st;

    if (q == NULL || out == NULL || (timeout_ms < 0 && timeout_ms != PP_INFINITE))
        return PP_EINVAL;
    pp__buf_init(&b);
    memset(&rq, 0, sizeof rq);
    rq.op = PP__MOP_TAKE;
    st = pp__mgr_obj_wait(&q->ref, &rq, timeout_ms, 0, NULL, &b);
    if (st == PP_OK)
        st = decode(&b, out);
    pp__buf_free(&b);
    return st;
}

pp_status pp_mqueue_try_get(pp_mqueue *q, pp_values **out)
{
    pp_status st = pp_mqueue_get(q, out, 0);

    return st == PP_ETIMEDOUT ? PP_EBUSY : st;
}

pp_status pp_mqueue_qsize(pp_mqueue *q, size_t *n)
{
    pp__mgr_objreq rq;
    uint64_t v = 0;
    pp_status st;

    if (q == NULL || n == NULL)
        return PP_EINVAL;
    memset(&rq, 0, sizeof rq);
    rq.op = PP__MOP_LEN;
    st = pp__mgr_obj_call(&q->ref, &rq, &v, NULL);
    if (st == PP_OK)
        *n = (size_t)v;
    return st;
}

pp_status pp_mqueue_empty(pp_mqueue *q, int *flag)
{
    size_t n = 0;
    pp_status st = flag == NULL ? PP_EINVAL : pp_mqueue_qsize(q, &n);

    if (st == PP_OK)
        *flag = n == 0;
    return st;
}

pp_status pp_mqueue_full(pp_mqueue *q, int *flag)
{
    size_t n = 0;
    pp_status st = flag == NULL ? PP_EINVAL : pp_mqueue_qsize(q, &n);

    if (st == PP_OK)
        *flag = q->maxsize != 0 && n >= q->maxsize;
    return st;
}

void pp_mqueue_destroy(pp_mqueue *q)
{
    pp__mgr_handle_destroy(q);
}

/* --------------------------------------------------------------- dict */

struct pp_mdict {
    pp__mgr_ref ref; /* first */
};

pp_status pp_mdict_create(pp_manager *mgr, pp_mdict **out)
{
    pp__mgr_ref *h = NULL;
    pp_status st;

    if (mgr == NULL || out == NULL)
        return PP_EINVAL;
    st = pp__mgr_handle_create(mgr, PP__MK_DICT, 0, 0, sizeof(pp_mdict), &h);
    if (st == PP_OK)
        *out = (pp_mdict *)h;
    return st;
}

pp_status pp_mdict_open(pp_manager *mgr, uint64_t id, pp_mdict **out)
{
    pp__mgr_ref *h = NULL;
    pp_status st;

    if (mgr == NULL || out == NULL || id == 0)
        return PP_EINVAL;
    st = pp__mgr_handle_open(mgr, PP__MK_DICT, id, sizeof(pp_mdict), &h, NULL);
    if (st == PP_OK)
        *out = (pp_mdict *)h;
    return st;
}

uint64_t pp_mdict_id(const pp_mdict *d)
{
    return d != NULL ? d->ref.id : 0;
}

/* One request on d[key]: the request q with the key set. */
static pp_status keyed(pp_mdict *d, const char *key, pp__mgr_objreq *q, uint64_t *value,
                       pp__buf *data)
{
    size_t n;

    if (d == NULL || key == NULL)
        return PP_EINVAL;
    n = strlen(key);
    if (n == 0 || n > PP_MANAGER_DICT_KEY_MAX)
        return PP_EINVAL;
    q->key = key;
    q->keylen = n;
    return pp__mgr_obj_call(&d->ref, q, value, data);
}

pp_status pp_mdict_set(pp_mdict *d, const char *key, const pp_values *v)
{
    pp__mgr_objreq q;
    pp__buf b;
    pp_status st;

    if (d == NULL)
        return PP_EINVAL;
    pp__buf_init(&b);
    st = encode(v, &b);
    if (st == PP_OK) {
        memset(&q, 0, sizeof q);
        q.op = PP__MOP_SET;
        q.data = b.data;
        q.datalen = b.len;
        st = keyed(d, key, &q, NULL, NULL);
    }
    pp__buf_free(&b);
    return st;
}

pp_status pp_mdict_get(pp_mdict *d, const char *key, pp_values **out)
{
    pp__mgr_objreq q;
    pp__buf b;
    pp_status st;

    if (out == NULL)
        return PP_EINVAL;
    pp__buf_init(&b);
    memset(&q, 0, sizeof q);
    q.op = PP__MOP_GET;
    st = keyed(d, key, &q, NULL, &b);
    if (st == PP_OK)
        st = decode(&b, out);
    pp__buf_free(&b);
    return st;
}

pp_status pp_mdict_delete(pp_mdict *d, const char *key)
{
    pp__mgr_objreq q;

    memset(&q, 0, sizeof q);
    q.op = PP__MOP_DELETE;
    return keyed(d, key, &q, NULL, NULL);
}

pp_status pp_mdict_contains(pp_mdict *d, const char *key, int *found)
{
    pp__mgr_objreq q;
    uint64_t v = 0;
    pp_status st;

    if (found == NULL)
        return PP_EINVAL;
    memset(&q, 0, sizeof q);
    q.op = PP__MOP_CONTAINS;
    st = keyed(d, key, &q, &v, NULL);
    if (st == PP_OK)
        *found = v != 0;
    return st;
}

pp_status pp_mdict_len(pp_mdict *d, size_t *n)
{
    pp__mgr_objreq q;
    uint64_t v = 0;
    pp_status st;

    if (d == NULL || n == NULL)
        return PP_EINVAL;
    memset(&q, 0, sizeof q);
    q.op = PP__MOP_LEN;
    st = pp__mgr_obj_call(&d->ref, &q, &v, NULL);
    if (st == PP_OK)
        *n = (size_t)v;
    return st;
}

/* u32 count, per key u32 n + bytes -> a tuple of strings. */
static pp_status keys_decode(const pp__buf *b, pp_values **out)
{
    pp_values *v = NULL;
    uint32_t count = 0, i;
    pp_status st;
    pp__rd r;

    pp__rd_init(&r, b->data, b->len);
    if (pp__rd_u32(&r, &count) != PP_OK || count > PP_MANAGER_DICT_KEYS_MAX)
        return PP_EPROTO;
    st = pp_values_create(&v);
    for (i = 0; i < count && st == PP_OK; i++) {
        char key[PP_MANAGER_DICT_KEY_MAX + 1];
        const uint8_t *p;
        size_t n;
        st = pp__rd_blob(&r, PP_MANAGER_DICT_KEY_MAX, &p, &n);
        if (st == PP_OK && (n == 0 || memchr(p, '\0', n) != NULL))
            st = PP_EPROTO;
        if (st == PP_OK) {
            memcpy(key, p, n);
            key[n] = '\0';
            st = pp_values_add_str(v, key);
        }
    }
    if (st == PP_OK)
        st = pp__rd_end(&r);
    if (st != PP_OK) {
        pp_values_destroy(v);
        return st == PP_ENOMEM ? st : PP_EPROTO;
    }
    *out = v;
    return PP_OK;
}

pp_status pp_mdict_keys(pp_mdict *d, pp_values **out)
{
    pp__mgr_objreq q;
    pp__buf b;
    pp_status st;

    if (d == NULL || out == NULL)
        return PP_EINVAL;
    pp__buf_init(&b);
    memset(&q, 0, sizeof q);
    q.op = PP__MOP_KEYS;
    st = pp__mgr_obj_call(&d->ref, &q, NULL, &b);
    if (st == PP_OK)
        st = keys_decode(&b, out);
    pp__buf_free(&b);
    return st;
}

pp_status pp_mdict_add_int(pp_mdict *d, const char *key, int64_t delta, int64_t *now)
{
    pp__mgr_objreq q;
    uint64_t v = 0;
    pp_status st;

    memset(&q, 0, sizeof q);
    q.op = PP__MOP_ADD;
    q.b = delta;
    st = keyed(d, key, &q, &v, NULL);
    if (st == PP_OK && now != NULL)
        *now = (int64_t)v;
    return st;
}

void pp_mdict_destroy(pp_mdict *d)
{
    pp__mgr_handle_destroy(d);
}
