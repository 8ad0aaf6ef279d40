/*
 * mgr_client_obj.c — OBJ requests of the client (mgr_client.h), the
 * handles of the hosted semaphore, condition, event and barrier
 * (manager_objects.h), and the handle helpers every kind uses (the value,
 * queue and dict are in mgr_client_data.c). Every handle starts with a
 * pp__mgr_ref.
 *
 * A blocking call is a loop of requests of at most one slice each
 * (mgr_proto.h): each round proves the server alive, so a dead server is
 * PP_ECONNLOST in bounded time. Waits that must stay registered in the
 * server between rounds (condition, barrier, event) carry the ticket the
 * server gave in its PP_ENOTREADY answer.
 */
#include <stdlib.h>
#include <string.h>

#include "procpool/manager_objects.h"
#include "platform.h"
#include "wire/buf.h"
#include "manager/mgr_client.h"
#include "manager/mgr_obj.h"
#include "manager/mgr_proto.h"

/* --------------------------------------------------------- requests */

pp_status pp__mgr_obj_call(const pp__mgr_ref *r, const pp__mgr_objreq *q, uint64_t *value,
                           pp__buf *data)
{
    pp_status st, answer = PP_OK;
    uint64_t v = 0;
    pp__buf b;

    if (q->keylen > PP__MGR_KEY_MAX || q->datalen > PP_MANAGER_ITEM_MAX)
        return PP_ETOOBIG;
    pp__buf_init(&b);
    st = pp__buf_reserve(&b, PP__MGR_OBJ_FIXED + q->keylen + q->datalen);
    if (st == PP_OK) {
        (void)pp__buf_put_u64(&b, r->id);
        (void)pp__buf_put_u8(&b, r->kind);
        (void)pp__buf_put_u8(&b, q->op);
        (void)pp__buf_put_u8(&b, q->flags);
        (void)pp__buf_put_u64(&b, q->ticket);
        (void)pp__buf_put_i64(&b, q->timeout_ms);
        (void)pp__buf_put_i64(&b, q->a);
        (void)pp__buf_put_i64(&b, q->b);
        (void)pp__buf_put_blob(&b, q->key, q->keylen);
        st = pp__buf_put_blob(&b, q->data, q->datalen);
    }
    if (st == PP_OK)
        st = pp__mgr_call(r->mgr, PP__MGR_OBJ, b.data, b.len, q->timeout_ms, &answer, &v, data);
    pp__buf_free(&b);
    if (value != NULL)
        *value = v;
    return st != PP_OK ? st : answer;
}

pp_status pp__mgr_obj_wait(const pp__mgr_ref *r, pp__mgr_objreq *q, int64_t timeout_ms,
                           int ticketed, uint64_t *value, pp__buf *data)
{
    int64_t deadline = timeout_ms == PP_INFINITE ? 0 : pp__plat_deadline_ms(timeout_ms);
    uint64_t v = 0;
    pp_status st;

    q->ticket = 0;
    for (;;) {
        int64_t left = timeout_ms == PP_INFINITE ? PP__MGR_SLICE_MS : deadline - pp__plat_now_ms();
        q->flags = 0;
        q->timeout_ms = left < 0 ? 0 : (left < PP__MGR_SLICE_MS ? left : PP__MGR_SLICE_MS);
        if (ticketed && left <= 0) {
            q->flags = PP__MGR_FLAG_GIVE_UP;
            q->timeout_ms = PP__MGR_SLICE_MS; /* a condition's re-acquire */
        }
        st = pp__mgr_obj_call(r, q, &v, data);
        if (st == PP_ENOTREADY && ticketed) {
            q->ticket = v;
            continue;
        }
        if (st == PP_ETIMEDOUT && !ticketed &&
            (timeout_ms == PP_INFINITE || deadline - pp__plat_now_ms() > 0))
            continue;
        if (value != NULL)
            *value = v;
        return st;
    }
}

pp_status pp__mgr_obj_create(pp_manager *mgr, uint8_t kind, int64_t a, int64_t b, pp__mgr_ref *r)
{
    pp__mgr_objreq q;
    pp_status st;

    memset(&q, 0, sizeof q);
    memset(r, 0, sizeof *r);
    r->kind = kind;
    r->mgr = mgr;
    q.op = PP__MOP_CREATE;
    q.a = a;
    q.b = b;
    st = pp__mgr_obj_call(r, &q, &r->id, NULL);
    r->creator = st == PP_OK;
    return st;
}

pp_status pp__mgr_obj_open(pp_manager *mgr, uint8_t kind, uint64_t id, int64_t a, pp__mgr_ref *r,
                           uint64_t *value)
{
    pp__mgr_objreq q;

    memset(&q, 0, sizeof q);
    r->kind = kind;
    r->mgr = mgr;
    r->id = id;
    r->creator = 0;
    q.op = PP__MOP_OPEN;
    q.a = a;
    return pp__mgr_obj_call(r, &q, value, NULL);
}

void pp__mgr_obj_drop(const pp__mgr_ref *r)
{
    pp_status answer;
    uint64_t value;
    uint8_t p[8];

    if (!r->creator)
        return;
    pp__st_le64(p, r->id);
    (void)pp__mgr_call(r->mgr, PP__MGR_DESTROY, p, sizeof p, 0, &answer, &value, NULL);
}

pp_status pp__mgr_obj_simple(const pp__mgr_ref *r, uint8_t op, int64_t a, int64_t b,
                             uint64_t *value)
{
    pp__mgr_objreq q;

    memset(&q, 0, sizeof q);
    q.op = op;
    q.a = a;
    q.b = b;
    return pp__mgr_obj_call(r, &q, value, NULL);
}

static int bad_timeout(int64_t t)
{
    return t < 0 && t != PP_INFINITE;
}

/* A handle of sz bytes starting with a pp__mgr_ref, made by create or
 * open; on a failure to allocate, the created object goes again. Every
 * handle struct starts with its pp__mgr_ref, so a pointer to one is a
 * pointer to the other (converted, as C allows). */
static pp_status handle_new(size_t sz, const pp__mgr_ref *r, pp__mgr_ref **out)
{
    pp__mgr_ref *h = calloc(1, sz);

    if (h == NULL) {
        pp__mgr_obj_drop(r);
        return PP_ENOMEM;
    }
    *h = *r;
    *out = h;
    return PP_OK;
}

pp_status pp__mgr_handle_create(pp_manager *mgr, uint8_t kind, int64_t a, int64_t b, size_t sz,
                                pp__mgr_ref **out)
{
    pp__mgr_ref r;
    pp_status st;

    if (mgr == NULL)
        return PP_EINVAL;
    st = pp__mgr_obj_create(mgr, kind, a, b, &r);
    return st != PP_OK ? st : handle_new(sz, &r, out);
}

pp_status pp__mgr_handle_open(pp_manager *mgr, uint8_t kind, uint64_t id, size_t sz,
                              pp__mgr_ref **out, uint64_t *value)
{
    pp__mgr_ref r;
    pp_status st;

    if (mgr == NULL || id == 0)
        return PP_EINVAL;
    st = pp__mgr_obj_open(mgr, kind, id, 0, &r, value);
    return st != PP_OK ? st : handle_new(sz, &r, out);
}

void pp__mgr_handle_destroy(void *h)
{
    if (h != NULL) {
        pp__mgr_obj_drop(h);
        free(h);
    }
}

/* ---------------------------------------------------------- semaphore */

struct pp_msem {
    pp__mgr_ref ref; /* first */
};

pp_status pp_msem_create(pp_manager *mgr, int64_t value, int bounded, pp_msem **out)
{
    pp__mgr_ref *h = NULL;
    pp_status st;

    if (out == NULL || value < 0 || value > PP_MANAGER_SEM_MAX)
        return PP_EINVAL;
    st = pp__mgr_handle_create(mgr, bounded ? PP__MK_BSEM : PP__MK_SEM, value, 0, sizeof(pp_msem),
                               &h);
    if (st == PP_OK)
        *out = (pp_msem *)h;
    return st;
}

pp_status pp_msem_open(pp_manager *mgr, uint64_t id, pp_msem **out)
{
    pp__mgr_ref *h = NULL;
    pp_status st;

    if (out == NULL)
        return PP_EINVAL;
    st = pp__mgr_handle_open(mgr, PP__MK_SEM, id, sizeof(pp_msem), &h, NULL);
    if (st == PP_ETYPE) /* either kind of semaphore */
        st = pp__mgr_handle_open(mgr, PP__MK_BSEM, id, sizeof(pp_msem), &h, NULL);
    if (st == PP_OK)
        *out = (pp_msem *)h;
    return st;
}

uint64_t pp_msem_id(const pp_msem *s)
{
    return s != NULL ? s->ref.id : 0;
}

pp_status pp_msem_acquire(pp_msem *s, int64_t timeout_ms)
{
    pp__mgr_objreq q;

    if (s == NULL || bad_timeout(timeout_ms))
        return PP_EINVAL;
    memset(&q, 0, sizeof q);
    q.op = PP__MOP_ACQUIRE;
    return pp__mgr_obj_wait(&s->ref, &q, timeout_ms, 0, NULL, NULL);
}

pp_status pp_msem_try_acquire(pp_msem *s)
{
    pp_status st;

    if (s == NULL)
        return PP_EINVAL;
    st = pp__mgr_obj_simple(&s->ref, PP__MOP_ACQUIRE, 0, 0, NULL);
    return st == PP_ETIMEDOUT ? PP_EBUSY : st;
}

pp_status pp_msem_release(pp_msem *s)
{
    return s == NULL ? PP_EINVAL : pp__mgr_obj_simple(&s->ref, PP__MOP_RELEASE, 0, 0, NULL);
}

pp_status pp_msem_value(pp_msem *s, int64_t *value)
{
    uint64_t v = 0;
    pp_status st;

    if (s == NULL || value == NULL)
        return PP_EINVAL;
    st = pp__mgr_obj_simple(&s->ref, PP__MOP_GET, 0, 0, &v);
    if (st == PP_OK)
        *value = (int64_t)v;
    return st;
}

void pp_msem_destroy(pp_msem *s)
{
    pp__mgr_handle_destroy(s);
}

/* ---------------------------------------------------------- condition */

struct pp_mcond {
    pp__mgr_ref ref; /* first */
    uint64_t lock_id;
    uint8_t lock_kind; /* PP__MK_LOCK or PP__MK_RLOCK: what its locator says */
};

/* The lock's id if it is a manager lock of mgr, else 0. */
static uint64_t lock_of(pp_manager *mgr, const pp_lock *lock)
{
    const pp__mgr_ref *lr = pp__mgr_lock_ref(lock);

    return lr != NULL && lr->mgr == mgr ? lr->id : 0;
}

void pp__mcond_lock(const pp_mcond *c, uint8_t *kind, uint64_t *id)
{
    *kind = c->lock_kind;
    *id = c->lock_id;
}

pp_status pp_mcond_create(pp_manager *mgr, pp_lock *lock, pp_mcond **out)
{
    uint64_t lid = lock_of(mgr, lock);
    pp_status st;

    pp__mgr_ref *h = NULL;

    if (lid == 0 || out == NULL)
        return PP_EINVAL;
    st = pp__mgr_handle_create(mgr, PP__MK_COND, (int64_t)lid, 0, sizeof(pp_mcond), &h);
    if (st == PP_OK) {
        *out = (pp_mcond *)h;
        (*out)->lock_id = lid;
        (*out)->lock_kind = pp__mgr_lock_ref(lock)->kind;
    }
    return st;
}

pp_status pp_mcond_open(pp_manager *mgr, uint64_t id, pp_lock *lock, pp_mcond **out)
{
    uint64_t lid = lock_of(mgr, lock);
    pp__mgr_ref r, *h = NULL;
    pp_status st;

    if (mgr == NULL || out == NULL || id == 0 || lid == 0)
        return PP_EINVAL;
    st = pp__mgr_obj_open(mgr, PP__MK_COND, id, (int64_t)lid, &r, NULL);
    if (st == PP_OK)
        st = handle_new(sizeof(pp_mcond), &r, &h);
    if (st == PP_OK) {
        *out = (pp_mcond *)h;
        (*out)->lock_id = lid;
        (*out)->lock_kind = pp__mgr_lock_ref(lock)->kind;
    }
    return st;
}

uint64_t pp_mcond_id(const pp_mcond *c)
{
    return c != NULL ? c->ref.id : 0;
}

pp_status pp_mcond_wait(pp_mcond *c, int64_t timeout_ms)
{
    pp__mgr_objreq q;
    pp_status st, cst;

    if (c == NULL || bad_timeout(timeout_ms))
        return PP_EINVAL;
    memset(&q, 0, sizeof q);
    q.op = PP__MOP_WAIT;
    st = pp__mgr_obj_wait(&c->ref, &q, timeout_ms, 1, NULL, NULL);
    if (st != PP_OK && st != PP_EOWNERDEAD && st != PP_ETIMEDOUT)
        return st;
    /* The lock is ours again: say so before the caller runs under it
     * (mgr_proto.h, CONFIRM_NR). If that cannot be sent, the connection
     * is broken and the server gives the lock and the notify on. */
    cst = pp__mgr_post(c->ref.mgr, PP__MGR_CONFIRM_NR, c->ref.id);
    return cst == PP_OK ? st : cst;
}

pp_status pp_mcond_notify(pp_mcond *c, int64_t n)
{
    if (c == NULL || n < 1)
        return PP_EINVAL;
    return pp__mgr_obj_simple(&c->ref, PP__MOP_NOTIFY, n, 0, NULL);
}

pp_status pp_mcond_notify_all(pp_mcond *c)
{
    return c == NULL ? PP_EINVAL : pp__mgr_obj_simple(&c->ref, PP__MOP_NOTIFY, -1, 0, NULL);
}

void pp_mcond_destroy(pp_mcond *c)
{
    pp__mgr_handle_destroy(c);
}

/* -------------------------------------------------------------- event */

struct pp_mevent {
    pp__mgr_ref ref; /* first */
};

pp_status pp_mevent_create(pp_manager *mgr, pp_mevent **out)
{
    pp__mgr_ref *h = NULL;
    pp_status st = out == NULL
                       ? PP_EINVAL
                       : pp__mgr_handle_create(mgr, PP__MK_EVENT, 0, 0, sizeof(pp_mevent), &h);

    if (st == PP_OK)
        *out = (pp_mevent *)h;
    return st;
}

pp_status pp_mevent_open(pp_manager *mgr, uint64_t id, pp_mevent **out)
{
    pp__mgr_ref *h = NULL;
    pp_status st = out == NULL
                       ? PP_EINVAL
                       : pp__mgr_handle_open(mgr, PP__MK_EVENT, id, sizeof(pp_mevent), &h, NULL);

    if (st == PP_OK)
        *out = (pp_mevent *)h;
    return st;
}

uint64_t pp_mevent_id(const pp_mevent *e)
{
    return e != NULL ? e->ref.id : 0;
}

pp_status pp_mevent_set(pp_mevent *e)
{
    return e == NULL ? PP_EINVAL : pp__mgr_obj_simple(&e->ref, PP__MOP_SET, 0, 0, NULL);
}

pp_status pp_mevent_clear(pp_mevent *e)
{
    return e == NULL ? PP_EINVAL : pp__mgr_obj_simple(&e->ref, PP__MOP_CLEAR, 0, 0, NULL);
}

pp_status pp_mevent_is_set(pp_mevent *e, int *set)
{
    uint64_t v = 0;
    pp_status st;

    if (e == NULL || set == NULL)
        return PP_EINVAL;
    st = pp__mgr_obj_simple(&e->ref, PP__MOP_GET, 0, 0, &v);
    if (st == PP_OK)
        *set = v != 0;
    return st;
}

pp_status pp_mevent_wait(pp_mevent *e, int64_t timeout_ms)
{
    pp__mgr_objreq q;

    if (e == NULL || bad_timeout(timeout_ms))
        return PP_EINVAL;
    memset(&q, 0, sizeof q);
    q.op = PP__MOP_WAIT;
    return pp__mgr_obj_wait(&e->ref, &q, timeout_ms, 1, NULL, NULL);
}

void pp_mevent_destroy(pp_mevent *e)
{
    pp__mgr_handle_destroy(e);
}

/* ------------------------------------------------------------ barrier */

struct pp_mbarrier {
    pp__mgr_ref ref; /* first */
};

pp_status pp_mbarrier_create(pp_manager *mgr, int64_t parties, pp_mbarrier **out)
{
    pp__mgr_ref *h = NULL;
    pp_status st;

    if (out == NULL || parties < 1 || parties > PP_MANAGER_BARRIER_MAX)
        return PP_EINVAL;
    st = pp__mgr_handle_create(mgr, PP__MK_BARRIER, parties, 0, sizeof(pp_mbarrier), &h);
    if (st == PP_OK)
        *out = (pp_mbarrier *)h;
    return st;
}

pp_status pp_mbarrier_open(pp_manager *mgr, uint64_t id, pp_mbarrier **out)
{
    pp__mgr_ref *h = NULL;
    pp_status st =
        out == NULL ? PP_EINVAL
                    : pp__mgr_handle_open(mgr, PP__MK_BARRIER, id, sizeof(pp_mbarrier), &h, NULL);

    if (st == PP_OK)
        *out = (pp_mbarrier *)h;
    return st;
}

uint64_t pp_mbarrier_id(const pp_mbarrier *b)
{
    return b != NULL ? b->ref.id : 0;
}

pp_status pp_mbarrier_wait(pp_mbarrier *b, int64_t timeout_ms, int64_t *index)
{
    pp__mgr_objreq q;
    uint64_t v = 0;
    pp_status st;

    if (b == NULL || bad_timeout(timeout_ms))
        return PP_EINVAL;
    memset(&q, 0, sizeof q);
    q.op = PP__MOP_WAIT;
    st = pp__mgr_obj_wait(&b->ref, &q, timeout_ms, 1, &v, NULL);
    if (st == PP_OK && index != NULL)
        *index = (int64_t)v;
    return st;
}

pp_status pp_mbarrier_abort(pp_mbarrier *b)
{
    return b == NULL ? PP_EINVAL : pp__mgr_obj_simple(&b->ref, PP__MOP_ABORT, 0, 0, NULL);
}

pp_status pp_mbarrier_reset(pp_mbarrier *b)
{
    return b == NULL ? PP_EINVAL : pp__mgr_obj_simple(&b->ref, PP__MOP_RESET, 0, 0, NULL);
}

pp_status pp_mbarrier_state(pp_mbarrier *b, int64_t *waiting, int *broken)
{
    uint64_t v = 0;
    pp_status st;

    if (b == NULL)
        return PP_EINVAL;
    st = pp__mgr_obj_simple(&b->ref, PP__MOP_GET, 0, 0, &v);
    if (st == PP_OK && waiting != NULL)
        *waiting = (int64_t)(v & 0xffffffffu);
    if (st == PP_OK && broken != NULL)
        *broken = (int)(v >> 32) & 1;
    return st;
}

void pp_mbarrier_destroy(pp_mbarrier *b)
{
    pp__mgr_handle_destroy(b);
}
