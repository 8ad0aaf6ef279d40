/*
 * value.c — pp_values, the typed tuple that carries task arguments and
 * results.
 *
 * Items live in one growable array; strings and byte buffers are copied
 * into their own allocation with a NUL after the last byte (so a string
 * can be handed out as-is, and an empty buffer still has a valid pointer).
 * A lock or shm item (a "named" item) keeps the name, which is what
 * travels, and a borrowed handle: the caller's own handle in the parent, a
 * process-lifetime cached handle in a worker. The tuple never closes one.
 * A lock hosted elsewhere (a manager's) travels as a locator instead of a
 * name (sync/remote.h); the item keeps it beside the handle. So does a
 * proxy (PP_TYPE_PROXY: a manager's queue, dict, ... handle), which is a
 * named item that only ever has a locator.
 *
 * Every add checks the limits of the wire format (item count, value size,
 * total encoded size) so a tuple that exists can always be encoded, and an
 * oversized value fails where the user added it, not later in a worker.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "procpool/value.h"
#include "core/core.h"
#include "sync/remote.h"
#include "sync/sync.h"
#include "values/value_internal.h"

/* Encoded size of an int or a double item (values/tuple.h). */
#define ENC_SCALAR pp__tuple_item_size(PP_TYPE_INT, 0)

/* What travels for a hosted lock, and how messages name it. */
typedef struct remote_ref {
    pp__locator loc;
    char desc[PP__LOC_DESC_MAX];
} remote_ref;

/* A lock or shm item: its own allocation, so that the common items stay
 * small (below). */
typedef struct named_ref {
    char name[PP__NAME_BUF]; /* "" for a remote item */
    remote_ref *r;           /* a hosted lock: its locator; else NULL */
    void *h;                 /* pp_lock * / pp_shm *, borrowed; NULL if resolution failed */
    pp_status st;            /* why h is NULL */
} named_ref;

/* 16 bytes on 64-bit targets: a million-int tuple is 16 MB, not 56 MB —
 * memory that map's arguments and results are built in and read from.
 * n is the length of a string or byte buffer (at most PP_VALUE_MAX_BYTES,
 * which fits in 32 bits). */
typedef struct value_item {
    pp_type type;
    uint32_t n;
    union {
        int64_t i;
        uint64_t d;   /* IEEE-754 bits, never loaded into an FP register */
        uint8_t *p;   /* PP_TYPE_STR, PP_TYPE_BYTES: n bytes + NUL */
        named_ref *k; /* PP_TYPE_LOCK, PP_TYPE_SHM, PP_TYPE_PROXY */
    } u;
} value_item;

/* 24 bytes: counts fit 32 bits (PP_VALUES_MAX_ITEMS, PP_MESSAGE_MAX). */
struct pp_values {
    value_item *items;
    uint32_t count;
    uint32_t cap;
    uint32_t enc_size; /* bytes pp__values_encode() will append */
    uint32_t fixed;    /* read-only, in storage the tuple does not own */
};

/* A read-only one-scalar tuple in someone else's storage (result slabs). */
typedef struct scalar_tuple {
    pp_values v;
    value_item item;
} scalar_tuple;

/* ------------------------------------------------------------ lifecycle */

pp_status pp_values_create(pp_values **out)
{
    pp_values *v;

    if (out == NULL)
        return PP_EINVAL;
    v = calloc(1, sizeof *v);
    *out = v;
    if (v == NULL)
        return PP_ENOMEM;
    v->enc_size = PP__VALUES_HDR;
    return PP_OK;
}

static int is_named(pp_type type)
{
    return type == PP_TYPE_LOCK || type == PP_TYPE_SHM || type == PP_TYPE_PROXY;
}

/* Does the item own an allocation (u.p or u.k)? */
static int has_heap(const value_item *it)
{
    return it->type == PP_TYPE_STR || it->type == PP_TYPE_BYTES || is_named(it->type);
}

static void item_free(value_item *it)
{
    if (!has_heap(it))
        return;
    if (is_named(it->type)) {
        free(it->u.k->r);
        free(it->u.k);
    } else
        free(it->u.p);
}

void pp_values_destroy(pp_values *v)
{
    size_t i;

    if (v == NULL || v->fixed)
        return; /* a fixed tuple's storage belongs to its owner */
    for (i = 0; i < v->count; i++)
        item_free(&v->items[i]);
    free(v->items);
    free(v);
}

void pp__values_clear(pp_values *v)
{
    size_t i;

    if (v->fixed)
        return;
    for (i = 0; i < v->count; i++)
        item_free(&v->items[i]);
    v->count = 0;
    v->enc_size = PP__VALUES_HDR;
}

/* ------------------------------------------------------------- growing */

static pp_status grow_to(pp_values *v, size_t need)
{
    value_item *items;
    size_t cap;

    if (need <= v->cap)
        return PP_OK;
    if (v->fixed)
        return PP_EINVAL; /* read-only (a result's tuple) */
    /* need <= PP_VALUES_MAX_ITEMS, so neither doubling nor the byte size
     * can overflow. */
    cap = v->cap ? v->cap : 4;
    while (cap < need)
        cap *= 2;
    if (cap > PP_VALUES_MAX_ITEMS)
        cap = PP_VALUES_MAX_ITEMS;
    items = realloc(v->items, cap * sizeof *items);
    if (items == NULL)
        return PP_ENOMEM;
    v->items = items;
    v->cap = (uint32_t)cap;
    return PP_OK;
}

pp_status pp__values_reserve(pp_values *v, size_t n)
{
    if (v == NULL)
        return PP_EINVAL;
    if (n > PP_VALUES_MAX_ITEMS - v->count)
        return PP_ETOOBIG;
    return grow_to(v, v->count + n);
}

/*
 * Check the limits for one more item of encoded size enc and make room for
 * it. The slot is only counted by slot_commit(), so a failure after this
 * (allocating a copy) leaves the tuple unchanged.
 */
static pp_status slot_get(pp_values *v, size_t enc, value_item **slot)
{
    pp_status st;

    if (v->count >= PP_VALUES_MAX_ITEMS)
        return PP_ETOOBIG;
    if (enc > PP_MESSAGE_MAX - v->enc_size)
        return PP_ETOOBIG;
    st = grow_to(v, v->count + 1);
    if (st != PP_OK)
        return st;
    *slot = &v->items[v->count];
    return PP_OK;
}

static void slot_commit(pp_values *v, pp_type type, size_t enc)
{
    v->items[v->count].type = type;
    v->count++;
    v->enc_size += (uint32_t)enc; /* total <= PP_MESSAGE_MAX: checked */
}

/* n <= PP_VALUE_MAX_BYTES: no overflow, and n fits the item's u32. */
static pp_status blob_dup(const void *p, size_t n, value_item *it)
{
    uint8_t *c = malloc(n + 1);

    if (c == NULL)
        return PP_ENOMEM;
    if (n > 0)
        memcpy(c, p, n);
    c[n] = 0;
    it->u.p = c;
    it->n = (uint32_t)n;
    return PP_OK;
}

/* ------------------------------------------------------------ appending */

pp_status pp_values_add_int(pp_values *v, int64_t x)
{
    value_item *it;
    pp_status st;

    if (v == NULL)
        return PP_EINVAL;
    st = slot_get(v, ENC_SCALAR, &it);
    if (st != PP_OK)
        return st;
    it->u.i = x;
    slot_commit(v, PP_TYPE_INT, ENC_SCALAR);
    return PP_OK;
}

pp_status pp__values_add_double_bits(pp_values *v, uint64_t bits)
{
    value_item *it;
    pp_status st;

    if (v == NULL)
        return PP_EINVAL;
    st = slot_get(v, ENC_SCALAR, &it);
    if (st != PP_OK)
        return st;
    it->u.d = bits;
    slot_commit(v, PP_TYPE_DOUBLE, ENC_SCALAR);
    return PP_OK;
}

pp_status pp_values_add_double(pp_values *v, double x)
{
    uint64_t bits;

    memcpy(&bits, &x, sizeof bits);
    return pp__values_add_double_bits(v, bits);
}

static pp_status add_blob(pp_values *v, pp_type type, const void *p, size_t n)
{
    size_t enc = pp__tuple_item_size(type, n);
    value_item *it;
    pp_status st;

    if (n > PP_VALUE_MAX_BYTES)
        return PP_ETOOBIG;
    st = slot_get(v, enc, &it);
    if (st != PP_OK)
        return st;
    st = blob_dup(p, n, it);
    if (st != PP_OK)
        return st;
    slot_commit(v, type, enc);
    return PP_OK;
}

pp_status pp_values_add_str(pp_values *v, const char *s)
{
    if (v == NULL || s == NULL)
        return PP_EINVAL;
    return add_blob(v, PP_TYPE_STR, s, strlen(s));
}

pp_status pp__values_add_str_n(pp_values *v, const char *s, size_t n)
{
    if (v == NULL || (s == NULL && n > 0))
        return PP_EINVAL;
    /* Limit first: memchr over a huge buffer only to reject it is waste. */
    if (n > PP_VALUE_MAX_BYTES)
        return PP_ETOOBIG;
    if (n > 0 && memchr(s, '\0', n) != NULL)
        return PP_EINVAL;
    return add_blob(v, PP_TYPE_STR, s, n);
}

pp_status pp_values_add_bytes(pp_values *v, const void *p, size_t n)
{
    if (v == NULL || (p == NULL && n > 0))
        return PP_EINVAL;
    return add_blob(v, PP_TYPE_BYTES, p, n);
}

static pp_status add_named(pp_values *v, pp_type type, const char *name, void *h,
                           pp_status resolve_st)
{
    value_item *it;
    size_t n, enc;
    pp_status st;

    /* A missing handle must come with the reason, or the getter could not
     * tell the caller why. */
    if (v == NULL || pp__name_check(name) != PP_OK || (h == NULL) == (resolve_st == PP_OK))
        return PP_EINVAL;
    n = strlen(name); /* checked: at most PP_NAME_MAX */
    enc = pp__tuple_item_size(type, n);
    st = slot_get(v, enc, &it);
    if (st != PP_OK)
        return st;
    it->u.k = malloc(sizeof *it->u.k);
    if (it->u.k == NULL)
        return PP_ENOMEM;
    memcpy(it->u.k->name, name, n + 1);
    it->u.k->r = NULL;
    it->u.k->h = h;
    it->u.k->st = resolve_st;
    slot_commit(v, type, enc);
    return PP_OK;
}

pp_status pp__values_add_lock_named(pp_values *v, const char *name, pp_lock *lock,
                                    pp_status resolve_st)
{
    return add_named(v, PP_TYPE_LOCK, name, lock, resolve_st);
}

pp_status pp__values_add_shm_named(pp_values *v, const char *name, pp_shm *shm,
                                   pp_status resolve_st)
{
    return add_named(v, PP_TYPE_SHM, name, shm, resolve_st);
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
    st = slot_get(v, enc, &it);
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
    slot_commit(v, type, enc);
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
    return pp__values_add_lock_named(v, pp_lock_name(lock), lock, PP_OK);
}

pp_status pp_values_add_shm(pp_values *v, pp_shm *shm)
{
    if (v == NULL || shm == NULL)
        return PP_EINVAL;
    return pp__values_add_shm_named(v, pp_shm_name(shm), shm, PP_OK);
}

/* ------------------------------------------------------------- copying */

static pp_status item_copy(const value_item *src, value_item *dst)
{
    *dst = *src;
    if (is_named(src->type)) {
        dst->u.k = malloc(sizeof *dst->u.k);
        if (dst->u.k == NULL)
            return PP_ENOMEM;
        *dst->u.k = *src->u.k;
        if (src->u.k->r != NULL) {
            dst->u.k->r = malloc(sizeof *dst->u.k->r);
            if (dst->u.k->r == NULL) {
                free(dst->u.k);
                return PP_ENOMEM;
            }
            *dst->u.k->r = *src->u.k->r;
        }
        return PP_OK;
    }
    if (has_heap(src))
        return blob_dup(src->u.p, src->n, dst);
    return PP_OK;
}

pp_status pp_values_copy(const pp_values *v, pp_values **out)
{
    pp_values *c;
    pp_status st;
    size_t i;

    if (out == NULL)
        return PP_EINVAL;
    *out = NULL;
    if (v == NULL)
        return PP_EINVAL;
    st = pp_values_create(&c);
    if (st != PP_OK)
        return st;
    st = grow_to(c, v->count);
    for (i = 0; st == PP_OK && i < v->count; i++) {
        st = item_copy(&v->items[i], &c->items[i]);
        if (st == PP_OK)
            c->count++;
    }
    if (st != PP_OK) {
        pp_values_destroy(c);
        return st;
    }
    c->enc_size = v->enc_size;
    *out = c;
    return PP_OK;
}

/* ------------------------------------------------------------- reading */

size_t pp_values_count(const pp_values *v)
{
    return v ? v->count : 0;
}

size_t pp__values_encoded_size(const pp_values *v)
{
    return v ? v->enc_size : PP__VALUES_HDR;
}

size_t pp__values_item_encoded_size(const pp_values *v, size_t i)
{
    const value_item *it;

    if (v == NULL || i >= v->count)
        return 0;
    it = &v->items[i];
    if (is_named(it->type) && it->u.k->r != NULL)
        return pp__tuple_remote_size(&it->u.k->r->loc);
    if (is_named(it->type))
        return pp__tuple_item_size(it->type, strlen(it->u.k->name));
    return pp__tuple_item_size(it->type, it->n);
}

int pp__values_item_scalar(const pp_values *v, size_t i, pp_type *type, uint64_t *bits)
{
    const value_item *it;

    if (v == NULL || i >= v->count)
        return 0;
    it = &v->items[i];
    if (it->type == PP_TYPE_INT)
        *bits = (uint64_t)it->u.i;
    else if (it->type == PP_TYPE_DOUBLE)
        *bits = it->u.d;
    else
        return 0;
    *type = it->type;
    return 1;
}

size_t pp__values_scalar_size(void)
{
    return sizeof(scalar_tuple);
}

pp_values *pp__values_init_scalar(void *mem, pp_type type, uint64_t bits)
{
    scalar_tuple *t = mem;

    t->item.type = type;
    t->item.n = 0;
    if (type == PP_TYPE_INT)
        t->item.u.i = (int64_t)bits;
    else
        t->item.u.d = bits;
    t->v.items = &t->item;
    t->v.count = 1;
    t->v.cap = 1;
    t->v.enc_size = PP__VALUES_HDR + ENC_SCALAR;
    t->v.fixed = 1;
    return &t->v;
}

pp_type pp_values_type(const pp_values *v, size_t i)
{
    if (v == NULL || i >= v->count)
        return PP_TYPE_NONE;
    return v->items[i].type;
}

/* Common checks of the typed getters; *it is item i of the wanted type. */
static pp_status item_get(const pp_values *v, size_t i, pp_type type, const value_item **it)
{
    if (v == NULL)
        return PP_EINVAL;
    if (i >= v->count)
        return PP_ERANGE;
    if (v->items[i].type != type)
        return PP_ETYPE;
    *it = &v->items[i];
    return PP_OK;
}

pp_status pp_values_get_int(const pp_values *v, size_t i, int64_t *out)
{
    const value_item *it;
    pp_status st;

    if (out == NULL)
        return PP_EINVAL;
    st = item_get(v, i, PP_TYPE_INT, &it);
    if (st == PP_OK)
        *out = it->u.i;
    return st;
}

pp_status pp_values_get_double(const pp_values *v, size_t i, double *out)
{
    const value_item *it;
    pp_status st;

    if (out == NULL)
        return PP_EINVAL;
    st = item_get(v, i, PP_TYPE_DOUBLE, &it);
    if (st == PP_OK)
        memcpy(out, &it->u.d, sizeof *out);
    return st;
}

pp_status pp__values_get_double_bits(const pp_values *v, size_t i, uint64_t *bits)
{
    const value_item *it;
    pp_status st;

    if (bits == NULL)
        return PP_EINVAL;
    st = item_get(v, i, PP_TYPE_DOUBLE, &it);
    if (st == PP_OK)
        *bits = it->u.d;
    return st;
}

pp_status pp_values_get_str(const pp_values *v, size_t i, const char **out)
{
    const value_item *it;
    pp_status st;

    if (out == NULL)
        return PP_EINVAL;
    st = item_get(v, i, PP_TYPE_STR, &it);
    if (st == PP_OK)
        *out = (const char *)it->u.p;
    return st;
}

pp_status pp_values_get_bytes(const pp_values *v, size_t i, const void **data, size_t *len)
{
    const value_item *it;
    pp_status st;

    if (data == NULL || len == NULL)
        return PP_EINVAL;
    st = item_get(v, i, PP_TYPE_BYTES, &it);
    if (st == PP_OK) {
        *data = it->u.p;
        *len = it->n;
    }
    return st;
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
    st = item_get(v, i, PP_TYPE_LOCK, &it);
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
    st = item_get(v, i, PP_TYPE_SHM, &it);
    if (st != PP_OK)
        return st;
    *out = it->u.k->h;
    return named_status(it);
}

pp_status pp__values_get_proxy(const pp_values *v, size_t i, const pp__locator **loc, void **h,
                               pp_status *why)
{
    const value_item *it;
    pp_status st = item_get(v, i, PP_TYPE_PROXY, &it);

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
    if (!is_named(pp_values_type(v, i)))
        return NULL;
    if (v->items[i].u.k->r != NULL)
        return v->items[i].u.k->r->desc;
    return v->items[i].u.k->name;
}

const pp__locator *pp__values_item_locator(const pp_values *v, size_t i)
{
    if (!is_named(pp_values_type(v, i)) || v->items[i].u.k->r == NULL)
        return NULL;
    return &v->items[i].u.k->r->loc;
}

pp_status pp__values_attach_error(const pp_values *v, size_t *index)
{
    size_t i;

    for (i = 0; i < pp_values_count(v); i++) {
        if (is_named(v->items[i].type) && named_status(&v->items[i]) != PP_OK) {
            if (index != NULL)
                *index = i;
            return named_status(&v->items[i]);
        }
    }
    return PP_OK;
}
