/*
 * value_named.c — the items of a pp_values that name an object living
 * elsewhere: locks and shm blocks (a name and the object's identity, and a
 * borrowed handle), and objects hosted by a server — manager or Redis
 * locks, manager proxies — which travel as a locator (sync/remote.h). The
 * tuple never closes a handle; a worker's handles are process-lifetime
 * (values/tuple.c resolves them).
 */
#include <stdlib.h>
#include <string.h>

#include "procpool/array.h"
#include "procpool/queue.h"
#include "procpool/value.h"
#include "core/core.h"
#include "sync/array_internal.h"
#include "sync/remote.h"
#include "sync/sobj.h"
#include "sync/sync.h"
#include "values/queue_internal.h"
#include "values/tuple.h"
#include "values/value_internal.h"
#include "values/value_repr.h"

static pp_status add_named(pp_values *v, pp_type type, uint32_t kind, const char *name, uint64_t id,
                           void *h, pp_status resolve_st)
{
    value_item *it;
    size_t n, enc;
    pp_status st;

    /* A missing handle must come with the reason, or the getter could not
     * tell the caller why. */
    if (v == NULL || pp__name_check(name) != PP_OK || id == 0 ||
        (h == NULL) == (resolve_st == PP_OK))
        return PP_EINVAL;
    if (type == PP_TYPE_SYNC && (kind == 0 || kind > PP__SOBJ_KIND_MAX))
        return PP_EINVAL;
    n = strlen(name); /* checked: at most PP_NAME_MAX */
    enc = pp__tuple_item_size(type, n);
    st = pp__vi_slot_get(v, enc, &it);
    if (st != PP_OK)
        return st;
    it->u.k = malloc(sizeof *it->u.k);
    if (it->u.k == NULL)
        return PP_ENOMEM;
    memcpy(it->u.k->name, name, n + 1);
    it->u.k->r = NULL;
    it->u.k->kind = (uint8_t)kind;
    it->u.k->id = id;
    it->u.k->h = h;
    it->u.k->st = resolve_st;
    pp__vi_slot_commit(v, type, enc);
    return PP_OK;
}

pp_status pp__values_add_lock_named(pp_values *v, const char *name, uint64_t id, pp_lock *lock,
                                    pp_status resolve_st)
{
    return add_named(v, PP_TYPE_LOCK, 0, name, id, lock, resolve_st);
}

pp_status pp__values_add_shm_named(pp_values *v, const char *name, uint64_t id, pp_shm *shm,
                                   pp_status resolve_st)
{
    return add_named(v, PP_TYPE_SHM, 0, name, id, shm, resolve_st);
}

pp_status pp__values_add_sync_named(pp_values *v, uint32_t kind, const char *name, uint64_t id,
                                    void *h, pp_status resolve_st)
{
    return add_named(v, PP_TYPE_SYNC, kind, name, id, h, resolve_st);
}

pp_status pp__values_add_sync(pp_values *v, void *h)
{
    pp__sobj *o = h;

    if (v == NULL || o == NULL)
        return PP_EINVAL;
    return add_named(v, PP_TYPE_SYNC, pp__sobj_kind(o), pp__sobj_name(o), pp__sobj_id(o), o, PP_OK);
}

uint8_t pp__values_sync_kind(const pp_values *v, size_t i)
{
    if (pp_values_type(v, i) != PP_TYPE_SYNC)
        return 0;
    return v->items[i].u.k->kind;
}

/* Typed add/get of the local sync kinds: every public handle (pp_sem,
 * ...) is a pp__sobj (sync/sobj.h), first member at the same address. */
static pp_status add_sync_kind(pp_values *v, uint32_t kind, void *h)
{
    if (h != NULL && pp__sobj_kind(h) != kind)
        return PP_ETYPE;
    return pp__values_add_sync(v, h);
}

static pp_status get_sync(const pp_values *v, size_t i, uint32_t kind, void **out)
{
    const value_item *it;
    pp_status st;

    if (out == NULL)
        return PP_EINVAL;
    *out = NULL;
    st = pp__vi_item_get(v, i, PP_TYPE_SYNC, &it);
    if (st != PP_OK)
        return st;
    if (it->u.k->kind != kind)
        return PP_ETYPE;
    *out = it->u.k->h;
    return it->u.k->h ? PP_OK : it->u.k->st;
}

static pp_value_arg sync_arg(void *h)
{
    pp_value_arg a;

    memset(&a, 0, sizeof a);
    a.type = PP_TYPE_SYNC;
    a.u.y = h;
    return a;
}

pp_status pp_values_add_sem(pp_values *v, pp_sem *s)
{
    return add_sync_kind(v, PP__SOBJ_SEM, s);
}

pp_status pp_values_get_sem(const pp_values *v, size_t i, pp_sem **out)
{
    void *h = NULL;
    pp_status st;

    if (out == NULL)
        return PP_EINVAL;
    st = get_sync(v, i, PP__SOBJ_SEM, &h);
    *out = h;
    return st;
}

pp_value_arg pp_value_sem(pp_sem *s)
{
    return sync_arg(s);
}

pp_status pp_values_add_event(pp_values *v, pp_event *x)
{
    return add_sync_kind(v, PP__SOBJ_EVENT, x);
}

pp_status pp_values_get_event(const pp_values *v, size_t i, pp_event **out)
{
    void *h = NULL;
    pp_status st;

    if (out == NULL)
        return PP_EINVAL;
    st = get_sync(v, i, PP__SOBJ_EVENT, &h);
    *out = h;
    return st;
}

pp_value_arg pp_value_event(pp_event *x)
{
    return sync_arg(x);
}

pp_status pp_values_add_barrier(pp_values *v, pp_barrier *x)
{
    return add_sync_kind(v, PP__SOBJ_BARRIER, x);
}

pp_status pp_values_get_barrier(const pp_values *v, size_t i, pp_barrier **out)
{
    void *h = NULL;
    pp_status st;

    if (out == NULL)
        return PP_EINVAL;
    st = get_sync(v, i, PP__SOBJ_BARRIER, &h);
    *out = h;
    return st;
}

pp_value_arg pp_value_barrier(pp_barrier *x)
{
    return sync_arg(x);
}

pp_status pp_values_add_cond(pp_values *v, pp_cond *x)
{
    return add_sync_kind(v, PP__SOBJ_COND, x);
}

pp_status pp_values_get_cond(const pp_values *v, size_t i, pp_cond **out)
{
    void *h = NULL;
    pp_status st;

    if (out == NULL)
        return PP_EINVAL;
    st = get_sync(v, i, PP__SOBJ_COND, &h);
    *out = h;
    return st;
}

pp_value_arg pp_value_cond(pp_cond *x)
{
    return sync_arg(x);
}

/* Local queues and arrays (queue.h, array.h): the same, with a check of
 * the kind's own header (a resolved handle came by name from elsewhere). */
pp_status pp_values_add_queue(pp_values *v, pp_queue *q)
{
    return add_sync_kind(v, PP__SOBJ_QUEUE, q);
}

pp_status pp_values_get_queue(const pp_values *v, size_t i, pp_queue **out)
{
    void *h = NULL;
    pp_status st;

    if (out == NULL)
        return PP_EINVAL;
    st = get_sync(v, i, PP__SOBJ_QUEUE, &h);
    if (st == PP_OK && pp__queue_check(h) != PP_OK)
        st = PP_EINVAL;
    *out = st == PP_OK ? h : NULL;
    return st;
}

pp_value_arg pp_value_queue(struct pp_queue *q)
{
    return sync_arg(q);
}

pp_status pp_values_add_array(pp_values *v, pp_array *a)
{
    return add_sync_kind(v, PP__SOBJ_ARRAY, a);
}

pp_status pp_values_get_array(const pp_values *v, size_t i, pp_array **out)
{
    void *h = NULL;
    pp_status st;

    if (out == NULL)
        return PP_EINVAL;
    st = get_sync(v, i, PP__SOBJ_ARRAY, &h);
    if (st == PP_OK && pp__array_check(h) != PP_OK)
        st = PP_EINVAL;
    *out = st == PP_OK ? h : NULL;
    return st;
}

pp_value_arg pp_value_array(struct pp_array *a)
{
    return sync_arg(a);
}

pp_status pp__values_add_remote(pp_values *v, const pp__locator *loc, void *h, pp_status resolve_st)
{
    value_item *it;
    named_ref *k;
    size_t enc;
    pp_status st;
    pp_type type;

    if (v == NULL || pp__locator_check(loc) != PP_OK || (h == NULL) == (resolve_st == PP_OK))
        return PP_EINVAL;
    type =
        loc->object == PP__OBJ_LOCK || loc->object == PP__OBJ_RLOCK ? PP_TYPE_LOCK : PP_TYPE_PROXY;
    enc = pp__tuple_remote_size(loc);
    st = pp__vi_slot_get(v, enc, &it);
    if (st != PP_OK)
        return st;
    k = calloc(1, sizeof *k);
    if (k == NULL)
        return PP_ENOMEM;
    k->r = malloc(sizeof *k->r);
    if (k->r == NULL) {
        free(k);
        return PP_ENOMEM;
    }
    k->r->loc = *loc;
    pp__locator_describe(loc, k->r->desc, sizeof k->r->desc);
    k->h = h;
    k->st = resolve_st;
    it->u.k = k;
    pp__vi_slot_commit(v, type, enc);
    return PP_OK;
}

pp_status pp_values_add_lock(pp_values *v, pp_lock *lock)
{
    pp__locator loc;

    if (v == NULL || lock == NULL)
        return PP_EINVAL;
    if (pp__lock_locator(lock, &loc))
        return pp__values_add_remote(v, &loc, lock, PP_OK);
    if (pp_lock_name(lock) == NULL)
        return PP_ENOTSUP; /* neither a name nor a locator: cannot travel */
    return pp__values_add_lock_named(v, pp_lock_name(lock), pp__lock_id(lock), lock, PP_OK);
}

pp_status pp_values_add_shm(pp_values *v, pp_shm *shm)
{
    if (v == NULL || shm == NULL)
        return PP_EINVAL;
    return pp__values_add_shm_named(v, pp_shm_name(shm), pp__shm_id(shm), shm, PP_OK);
}

/* A named item's handle is there, or it says why a worker has none:
 * never a NULL handle with PP_OK. */
static pp_status named_status(const value_item *it)
{
    return it->u.k->h ? PP_OK : it->u.k->st;
}

pp_status pp_values_get_lock(const pp_values *v, size_t i, pp_lock **out)
{
    const value_item *it;
    pp_status st;

    if (out == NULL)
        return PP_EINVAL;
    st = pp__vi_item_get(v, i, PP_TYPE_LOCK, &it);
    if (st != PP_OK)
        return st;
    *out = it->u.k->h;
    return named_status(it);
}

pp_status pp_values_get_shm(const pp_values *v, size_t i, pp_shm **out)
{
    const value_item *it;
    pp_status st;

    if (out == NULL)
        return PP_EINVAL;
    st = pp__vi_item_get(v, i, PP_TYPE_SHM, &it);
    if (st != PP_OK)
        return st;
    *out = it->u.k->h;
    return named_status(it);
}

pp_status pp__values_get_proxy(const pp_values *v, size_t i, const pp__locator **loc, void **h,
                               pp_status *why)
{
    const value_item *it;
    pp_status st = pp__vi_item_get(v, i, PP_TYPE_PROXY, &it);

    if (st == PP_OK) {
        *loc = &it->u.k->r->loc;
        *h = it->u.k->h;
        *why = named_status(it);
    }
    return st;
}

const char *pp__values_lock_name(const pp_values *v, size_t i)
{
    if (pp_values_type(v, i) != PP_TYPE_LOCK)
        return NULL;
    return pp__values_named_name(v, i);
}

const char *pp__values_named_name(const pp_values *v, size_t i)
{
    if (!pp__vi_is_named(pp_values_type(v, i)))
        return NULL;
    if (v->items[i].u.k->r != NULL)
        return v->items[i].u.k->r->desc;
    return v->items[i].u.k->name;
}

const pp__locator *pp__values_item_locator(const pp_values *v, size_t i)
{
    if (!pp__vi_is_named(pp_values_type(v, i)) || v->items[i].u.k->r == NULL)
        return NULL;
    return &v->items[i].u.k->r->loc;
}

uint64_t pp__values_named_id(const pp_values *v, size_t i)
{
    if (!pp__vi_is_named(pp_values_type(v, i)))
        return 0;
    return v->items[i].u.k->id;
}

pp_status pp__values_attach_error(const pp_values *v, size_t *index)
{
    size_t i;

    for (i = 0; i < pp_values_count(v); i++) {
        if (pp__vi_is_named(v->items[i].type) && named_status(&v->items[i]) != PP_OK) {
            if (index != NULL)
                *index = i;
            return named_status(&v->items[i]);
        }
    }
    return PP_OK;
}
