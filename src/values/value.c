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
#include "values/value_repr.h"

/* Encoded size of an int or a double item (values/tuple.h). */
#define ENC_SCALAR PP__TUPLE_SCALAR_ENC

/* pp_values.fixed: who owns the storage. */
enum { OWNED = 0, FIXED = 1, SCRATCH = 2 };

/* Bytes of a scratch tuple's arena (pp__values_create_scratch). */
#define SCRATCH_ARENA ((size_t)16 * 1024)

/* A scratch tuple: a plain one whose strings and byte buffers are copied
 * into an arena while it has room, instead of an allocation each; clearing
 * it empties the arena. The tuple comes first: the pp_values * handed out
 * is this one's. */
typedef struct scratch_values {
    pp_values v;
    uint8_t *arena; /* SCRATCH_ARENA bytes, allocated at the first blob */
    size_t used;
} scratch_values;

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

int pp__vi_is_named(pp_type type)
{
    return type == PP_TYPE_LOCK || type == PP_TYPE_SHM || type == PP_TYPE_SYNC ||
           type == PP_TYPE_PROXY;
}

pp_status pp__values_create_scratch(pp_values **out)
{
    scratch_values *s = calloc(1, sizeof *s);

    *out = &s->v;
    if (s == NULL)
        return PP_ENOMEM;
    s->v.enc_size = PP__VALUES_HDR;
    s->v.fixed = SCRATCH;
    return PP_OK;
}

/* Does the item own an allocation (u.p or u.k)? */
static int has_heap(const value_item *it)
{
    return it->type == PP_TYPE_STR || it->type == PP_TYPE_BYTES || pp__vi_is_named(it->type);
}

/* Is p in v's arena (a scratch tuple's blob that was not allocated)? */
static int in_arena(const pp_values *v, const uint8_t *p)
{
    const scratch_values *s = (const scratch_values *)(const void *)v;
    uintptr_t a, x = (uintptr_t)p;

    if (v->fixed != SCRATCH) /* else v is not a scratch_values */
        return 0;
    a = (uintptr_t)s->arena;
    return a != 0 && x >= a && x - a < SCRATCH_ARENA;
}

static void item_free(const pp_values *v, value_item *it)
{
    if (!has_heap(it))
        return;
    if (pp__vi_is_named(it->type)) {
        free(it->u.k->r);
        free(it->u.k);
    } else if (!in_arena(v, it->u.p)) {
        free(it->u.p);
    }
}

void pp_values_destroy(pp_values *v)
{
    size_t i;

    if (v == NULL || v->fixed == FIXED)
        return; /* a fixed tuple's storage belongs to its owner */
    for (i = 0; i < v->count; i++)
        item_free(v, &v->items[i]);
    if (v->fixed == SCRATCH)
        free(((scratch_values *)(void *)v)->arena);
    free(v->items);
    free(v);
}

void pp__values_clear(pp_values *v)
{
    size_t i;

    if (v->fixed == FIXED)
        return;
    for (i = 0; i < v->count; i++)
        item_free(v, &v->items[i]);
    v->count = 0;
    v->enc_size = PP__VALUES_HDR;
    if (v->fixed == SCRATCH)
        ((scratch_values *)(void *)v)->used = 0;
}

/* ------------------------------------------------------------- growing */

static pp_status grow_to(pp_values *v, size_t need)
{
    value_item *items;
    size_t cap;

    if (need <= v->cap)
        return PP_OK;
    if (v->fixed == FIXED)
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
 * it. The slot is only counted by pp__vi_slot_commit(), so a failure after this
 * (allocating a copy) leaves the tuple unchanged.
 */
pp_status pp__vi_slot_get(pp_values *v, size_t enc, value_item **slot)
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

void pp__vi_slot_commit(pp_values *v, pp_type type, size_t enc)
{
    v->items[v->count].type = type;
    v->count++;
    v->enc_size += (uint32_t)enc; /* total <= PP_MESSAGE_MAX: checked */
}

/* Where a copy of n bytes and a NUL goes in v: its arena (a scratch tuple
 * with room left), else an allocation of its own. NULL: no memory. */
static uint8_t *blob_mem(pp_values *v, size_t n)
{
    scratch_values *s = (scratch_values *)(void *)v;
    uint8_t *c;

    if (v->fixed != SCRATCH || n >= SCRATCH_ARENA - s->used)
        return malloc(n + 1);
    if (s->arena == NULL) {
        s->arena = malloc(SCRATCH_ARENA);
        if (s->arena == NULL)
            return malloc(n + 1);
    }
    c = s->arena + s->used;
    s->used += n + 1;
    return c;
}

/* n <= PP_VALUE_MAX_BYTES: no overflow, and n fits the item's u32. */
static pp_status blob_dup(pp_values *v, const void *p, size_t n, value_item *it)
{
    uint8_t *c = blob_mem(v, n);

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

/* Room for one more scalar without growing (the commonest add: a task's
 * one result into its reused tuple); cap never exceeds PP_VALUES_MAX_ITEMS
 * and a read-only tuple is full. */
static int scalar_fits(const pp_values *v)
{
    return v->count < v->cap && v->enc_size <= PP_MESSAGE_MAX - ENC_SCALAR;
}

pp_status pp_values_add_int(pp_values *v, int64_t x)
{
    value_item *it;
    pp_status st;

    if (v == NULL)
        return PP_EINVAL;
    if (scalar_fits(v)) {
        it = &v->items[v->count++];
        it->type = PP_TYPE_INT;
        it->n = 0;
        it->u.i = x;
        v->enc_size += ENC_SCALAR;
        return PP_OK;
    }
    st = pp__vi_slot_get(v, ENC_SCALAR, &it);
    if (st != PP_OK)
        return st;
    it->u.i = x;
    pp__vi_slot_commit(v, PP_TYPE_INT, ENC_SCALAR);
    return PP_OK;
}

pp_status pp__values_add_double_bits(pp_values *v, uint64_t bits)
{
    value_item *it;
    pp_status st;

    if (v == NULL)
        return PP_EINVAL;
    if (scalar_fits(v)) {
        it = &v->items[v->count++];
        it->type = PP_TYPE_DOUBLE;
        it->n = 0;
        it->u.d = bits;
        v->enc_size += ENC_SCALAR;
        return PP_OK;
    }
    st = pp__vi_slot_get(v, ENC_SCALAR, &it);
    if (st != PP_OK)
        return st;
    it->u.d = bits;
    pp__vi_slot_commit(v, PP_TYPE_DOUBLE, ENC_SCALAR);
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
    size_t enc = PP__TUPLE_BLOB_ENC(n); /* type: a string or byte buffer */
    value_item *it;
    pp_status st;

    if (n > PP_VALUE_MAX_BYTES)
        return PP_ETOOBIG;
    st = pp__vi_slot_get(v, enc, &it);
    if (st != PP_OK)
        return st;
    st = blob_dup(v, p, n, it);
    if (st != PP_OK)
        return st;
    pp__vi_slot_commit(v, type, enc);
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

/* ------------------------------------------------------------- copying */

static pp_status item_copy(const value_item *src, pp_values *to, value_item *dst)
{
    *dst = *src;
    if (pp__vi_is_named(src->type)) {
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
        return blob_dup(to, src->u.p, src->n, dst);
    return PP_OK;
}

pp_status pp__values_append(pp_values *dst, const pp_values *src, size_t first, size_t count)
{
    value_item *it;
    size_t i, enc;
    pp_status st;

    if (dst == NULL || dst->fixed == FIXED || src == NULL || first > src->count ||
        count > src->count - first)
        return PP_EINVAL;
    for (i = first; i < first + count; i++) {
        enc = pp__values_item_encoded_size(src, i);
        st = pp__vi_slot_get(dst, enc, &it);
        if (st == PP_OK)
            st = item_copy(&src->items[i], dst, it);
        if (st != PP_OK)
            return st;
        dst->count++;
        dst->enc_size += (uint32_t)enc; /* checked by pp__vi_slot_get() */
    }
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
        st = item_copy(&v->items[i], c, &c->items[i]);
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
    if (pp__vi_is_named(it->type) && it->u.k->r != NULL)
        return pp__tuple_remote_size(&it->u.k->r->loc);
    if (pp__vi_is_named(it->type))
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

int pp__values_take_scalar(pp_values *v, pp_type *type, uint64_t *bits)
{
    const value_item *it;

    /* once per item of a worker's chunk: the expected case first */
    if (v == NULL || v->count != 1 || v->fixed == FIXED)
        return 0;
    it = v->items;
    if (it->type != *type) {
        if (*type != PP_TYPE_NONE || (it->type != PP_TYPE_INT && it->type != PP_TYPE_DOUBLE))
            return 0;
        *type = it->type;
    }
    *bits = it->u.d; /* u.i and u.d share their 8 bytes */
    v->count = 0;    /* nothing to free */
    v->enc_size = PP__VALUES_HDR;
    return 1;
}

int pp__values_one_blob(const pp_values *v, pp_type *type, const uint8_t **p, size_t *n)
{
    const value_item *it;

    if (v == NULL || v->count != 1)
        return 0;
    it = &v->items[0];
    if (it->type != PP_TYPE_STR && it->type != PP_TYPE_BYTES)
        return 0;
    *type = it->type;
    *p = it->u.p;
    *n = it->n;
    return 1;
}

int pp__values_item_blob(const pp_values *v, size_t i, const uint8_t **p, size_t *n)
{
    const value_item *it;

    if (v == NULL || i >= v->count)
        return 0;
    it = &v->items[i];
    if (it->type != PP_TYPE_STR && it->type != PP_TYPE_BYTES)
        return 0;
    *p = it->u.p;
    *n = it->n;
    return 1;
}

uint64_t *pp__values_scalar_bits(pp_values *v)
{
    return &((scalar_tuple *)(void *)v)->item.u.d; /* v is the struct's first member */
}

pp_values *pp__values_init_blob(void *mem, pp_type type, const uint8_t *p, size_t n)
{
    scalar_tuple *t = mem;

    t->item.type = type;
    t->item.n = (uint32_t)n;
    t->item.u.p = (uint8_t *)(uintptr_t)p; /* read-only: adds fail, nothing frees it */
    t->v.items = &t->item;
    t->v.count = 1;
    t->v.cap = 1;
    t->v.enc_size = (uint32_t)(PP__VALUES_HDR + PP__TUPLE_BLOB_ENC(n));
    t->v.fixed = FIXED;
    return &t->v;
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
    t->v.fixed = FIXED;
    return &t->v;
}

pp_type pp_values_type(const pp_values *v, size_t i)
{
    if (v == NULL || i >= v->count)
        return PP_TYPE_NONE;
    return v->items[i].type;
}

/* Common checks of the typed getters; *it is item i of the wanted type. */
pp_status pp__vi_item_get(const pp_values *v, size_t i, pp_type type, const value_item **it)
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
    if (v != NULL && i < v->count && v->items[i].type == PP_TYPE_INT) {
        *out = v->items[i].u.i; /* the commonest read: a task's int argument */
        return PP_OK;
    }
    st = pp__vi_item_get(v, i, PP_TYPE_INT, &it);
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
    st = pp__vi_item_get(v, i, PP_TYPE_DOUBLE, &it);
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
    st = pp__vi_item_get(v, i, PP_TYPE_DOUBLE, &it);
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
    st = pp__vi_item_get(v, i, PP_TYPE_STR, &it);
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
    st = pp__vi_item_get(v, i, PP_TYPE_BYTES, &it);
    if (st == PP_OK) {
        *data = it->u.p;
        *len = it->n;
    }
    return st;
}
