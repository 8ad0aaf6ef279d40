/*
 * tuple.c — the wire encoding of value tuples (layout in values/tuple.h),
 * beside the sizes the container computes from it.
 *
 * Decoding reads bytes from another process: every read is bounds-checked
 * (wire/buf.h), every count is bounded by the bytes actually present
 * before anything is allocated, and a failure leaves the reader unmoved.
 */
#include <string.h>

#include "core/core.h"
#include "sync/remote.h"
#include "sync/sobj.h"
#include "sync/sync.h"
#include "values/tuple.h"
#include "values/value_internal.h"

/* Smallest encoding of one tuple item: type + u32 length of an empty
 * string or byte buffer. Bounds the item count by the bytes actually
 * present, before anything is allocated for the items. */
#define MIN_ITEM_ENC 5u

/* ------------------------------------------------------- value encoding */

size_t pp__tuple_item_size(pp_type type, size_t n)
{
    switch (type) {
    case PP_TYPE_STR:
    case PP_TYPE_BYTES:
        return PP__TUPLE_BLOB_ENC(n); /* tag, u32 length, bytes */
    case PP_TYPE_LOCK:
    case PP_TYPE_SHM:
        return 1u + 1u + n + 8u; /* tag, u8 length, name, u64 identity */
    case PP_TYPE_SYNC:
        return 1u + 1u + 1u + n + 8u; /* tag, u8 kind, u8 length, name, u64 identity */
    default:
        return PP__TUPLE_SCALAR_ENC; /* tag, 8 bytes */
    }
}

size_t pp__tuple_remote_size(const pp__locator *loc)
{
    return 1u + pp__locator_size(loc); /* tag, locator */
}

/* The name and identity of a lock, shm or sync item. */
static pp_status encode_name_id(const pp_values *v, size_t i, pp__buf *b)
{
    const char *s = pp__values_named_name(v, i);
    size_t n = strlen(s); /* <= PP_NAME_MAX: checked when added */
    pp_status st = pp__buf_put_u8(b, (uint8_t)n);

    if (st == PP_OK)
        st = pp__buf_put(b, s, n);
    return st == PP_OK ? pp__buf_put_u64(b, pp__values_named_id(v, i)) : st;
}

static pp_status encode_item(const pp_values *v, size_t i, pp__buf *b)
{
    pp_type type = pp_values_type(v, i);
    const pp__locator *loc = pp__values_item_locator(v, i);
    const uint8_t *p;
    int64_t x;
    uint64_t bits;
    size_t n;
    pp_status st;

    if (loc != NULL) {
        st = pp__buf_put_u8(b, (uint8_t)PP__TAG_REMOTE);
        return st == PP_OK ? pp__locator_encode(loc, b) : st;
    }
    st = pp__buf_put_u8(b, (uint8_t)type);
    if (st != PP_OK)
        return st;
    switch (type) {
    case PP_TYPE_INT:
        pp_values_get_int(v, i, &x);
        return pp__buf_put_i64(b, x);
    case PP_TYPE_DOUBLE:
        pp__values_get_double_bits(v, i, &bits); /* exact: NaN payloads, -0.0 */
        return pp__buf_put_u64(b, bits);
    case PP_TYPE_STR:
    case PP_TYPE_BYTES:
        pp__values_item_blob(v, i, &p, &n); /* the length is kept: no strlen */
        return pp__buf_put_blob(b, p, n);
    case PP_TYPE_SYNC:
        st = pp__buf_put_u8(b, pp__values_sync_kind(v, i));
        return st == PP_OK ? encode_name_id(v, i, b) : st;
    case PP_TYPE_LOCK:
    case PP_TYPE_SHM:
        return encode_name_id(v, i, b);
    default:
        return PP_EINVAL; /* cannot happen: the container only holds the above */
    }
}

pp_status pp__values_encode_scalar(pp_type type, uint64_t bits, pp__buf *b)
{
    uint8_t *p;
    pp_status st = pp__buf_reserve(b, PP__VALUES_HDR + 9);

    if (st != PP_OK)
        return st;
    p = b->data + b->len;
    pp__st_le32(p, 1);
    p[4] = (uint8_t)type;
    pp__st_le64(p + 5, bits);
    b->len += PP__VALUES_HDR + 9;
    return PP_OK;
}

pp_status pp__values_encode(const pp_values *v, pp__buf *b)
{
    size_t start, i, count = pp_values_count(v);
    uint64_t bits;
    pp_type type;
    pp_status st;

    if (b == NULL)
        return PP_EINVAL;
    if (count == 1 && pp__values_item_scalar(v, 0, &type, &bits))
        return pp__values_encode_scalar(type, bits, b);
    start = b->len;
    /* The container tracks its exact encoded size: one reservation, after
     * which the puts below cannot fail for lack of memory. */
    st = pp__buf_reserve(b, pp__values_encoded_size(v));
    if (st != PP_OK)
        return st;
    st = pp__buf_put_u32(b, (uint32_t)count);
    for (i = 0; st == PP_OK && i < count; i++)
        st = encode_item(v, i, b);
    if (st != PP_OK)
        b->len = start;
    return st;
}

pp_status pp__values_encode_one(const pp_values *v, size_t i, pp__buf *b)
{
    size_t start;
    uint64_t bits;
    pp_type type;
    pp_status st;

    if (b == NULL)
        return PP_EINVAL;
    if (i >= pp_values_count(v))
        return PP_ERANGE;
    if (pp__values_item_scalar(v, i, &type, &bits))
        return pp__values_encode_scalar(type, bits, b);
    start = b->len;
    st = pp__buf_put_u32(b, 1);
    if (st == PP_OK)
        st = encode_item(v, i, b);
    if (st != PP_OK)
        b->len = start; /* no half-written tuple */
    return st;
}

/* ------------------------------------------------------- value decoding */

/* Where the first attach failure (lock or shm) is reported (all optional). */
typedef struct attach_report {
    pp_status *st;
    char *name;
    size_t name_len;
    int seen;
} attach_report;

static void attach_report_reset(attach_report *rep)
{
    rep->seen = 0;
    if (rep->st != NULL)
        *rep->st = PP_OK;
    if (rep->name != NULL && rep->name_len > 0)
        rep->name[0] = '\0';
}

static void report_attach_failure(attach_report *rep, const char *name, pp_status st)
{
    size_t n;

    if (rep->seen)
        return;
    rep->seen = 1;
    if (rep->st != NULL)
        *rep->st = st;
    if (rep->name != NULL && rep->name_len > 0) {
        n = strlen(name);
        if (n >= rep->name_len)
            n = rep->name_len - 1;
        memcpy(rep->name, name, n);
        rep->name[n] = '\0';
    }
}

/* The container rejects only what the checks here already exclude, or
 * runs out of memory; anything else means the input was malformed. */
static pp_status add_status(pp_status st)
{
    return st == PP_OK || st == PP_ENOMEM ? st : PP_EPROTO;
}

static pp_status decode_blob(pp__rd *r, pp_values *v, int is_str)
{
    const uint8_t *p;
    size_t n;
    pp_status st;

    st = pp__rd_blob(r, PP_VALUE_MAX_BYTES, &p, &n);
    if (st != PP_OK)
        return st;
    if (v == NULL) /* validating only */
        return is_str && memchr(p, '\0', n) != NULL ? PP_EPROTO : PP_OK;
    if (is_str) /* embedded NUL -> PP_EINVAL -> PP_EPROTO */
        return add_status(pp__values_add_str_n(v, (const char *)p, n));
    return add_status(pp_values_add_bytes(v, p, n));
}

/* Read the u8 length + name of a lock or shm item into name. */
static pp_status decode_name(pp__rd *r, char name[PP__NAME_BUF])
{
    const uint8_t *p;
    uint8_t n;
    pp_status st;

    st = pp__rd_u8(r, &n);
    if (st != PP_OK)
        return st;
    if (n == 0 || n > PP_NAME_MAX)
        return PP_EPROTO;
    st = pp__rd_take(r, n, &p);
    if (st != PP_OK)
        return st;
    /* pp__name_check() would stop at an embedded NUL and accept a prefix */
    if (memchr(p, '\0', n) != NULL)
        return PP_EPROTO;
    memcpy(name, p, n);
    name[n] = '\0';
    return pp__name_check(name) == PP_OK ? PP_OK : PP_EPROTO;
}

/* A lock or shm item: the name and the identity, then a process-lifetime
 * handle for that object. A handle that cannot be attached is not a
 * malformed tuple: the item keeps the reason, and the first one is
 * reported. */
static pp_status decode_named(pp__rd *r, uint8_t type, pp_values *v, attach_report *rep)
{
    char name[PP__NAME_BUF];
    pp_lock *lock = NULL;
    pp_shm *shm = NULL;
    size_t start = r->pos;
    uint64_t id = 0;
    pp_status st, rst;

    st = decode_name(r, name);
    if (st == PP_OK)
        st = pp__rd_u64(r, &id);
    if (st == PP_OK && id == 0)
        st = PP_EPROTO; /* every object has a non-zero identity */
    if (st != PP_OK) {
        r->pos = start;
        return st;
    }
    if (v == NULL) /* validating only: nothing is attached */
        return PP_OK;
    rst =
        type == PP_TYPE_LOCK ? pp__lock_resolve(name, id, &lock) : pp__shm_resolve(name, id, &shm);
    if (rst != PP_OK) {
        lock = NULL;
        shm = NULL;
        report_attach_failure(rep, name, rst);
    }
    if (type == PP_TYPE_LOCK)
        return add_status(pp__values_add_lock_named(v, name, id, lock, rst));
    return add_status(pp__values_add_shm_named(v, name, id, shm, rst));
}

/* A local sync object (sync.h): its kind, then as a lock: name,
 * identity, a process-lifetime handle or the reason there is none. */
static pp_status decode_sync(pp__rd *r, pp_values *v, attach_report *rep)
{
    char name[PP__NAME_BUF];
    pp__sobj *o = NULL;
    size_t start = r->pos;
    uint64_t id = 0;
    uint8_t kind = 0;
    pp_status st, rst;

    st = pp__rd_u8(r, &kind);
    if (st == PP_OK && (kind == 0 || kind > PP__SOBJ_KIND_MAX))
        st = PP_EPROTO;
    if (st == PP_OK)
        st = decode_name(r, name);
    if (st == PP_OK)
        st = pp__rd_u64(r, &id);
    if (st == PP_OK && id == 0)
        st = PP_EPROTO;
    if (st != PP_OK) {
        r->pos = start;
        return st;
    }
    if (v == NULL)
        return PP_OK;
    rst = pp__sobj_resolve(kind, name, id, &o);
    if (rst != PP_OK) {
        o = NULL;
        report_attach_failure(rep, name, rst);
    }
    return add_status(pp__values_add_sync_named(v, kind, name, id, o, rst));
}

/* A hosted lock or a proxy: the locator, then a process-lifetime handle from the
 * resolver the manager layer registered; as for a named item, a handle
 * that cannot be had is the item's reason, not a malformed tuple. */
static pp_status decode_remote(pp__rd *r, pp_values *v, attach_report *rep)
{
    char desc[PP__LOC_DESC_MAX];
    pp__locator loc;
    void *h = NULL;
    pp_status st, rst;

    st = pp__locator_decode(r, &loc);
    if (st != PP_OK || v == NULL)
        return st;
    rst = pp__remote_resolve(&loc, &h);
    if (rst != PP_OK || h == NULL) {
        h = NULL;
        rst = rst != PP_OK ? rst : PP_ENOENT;
        pp__locator_describe(&loc, desc, sizeof desc);
        report_attach_failure(rep, desc, rst);
    }
    return add_status(pp__values_add_remote(v, &loc, h, rst));
}

static pp_status decode_item(pp__rd *r, pp_values *v, attach_report *rep)
{
    uint64_t bits;
    int64_t x;
    uint8_t type;
    pp_status st;

    st = pp__rd_u8(r, &type);
    if (st != PP_OK)
        return st;
    switch (type) {
    case PP_TYPE_INT:
        st = pp__rd_i64(r, &x);
        if (st != PP_OK || v == NULL)
            return st;
        return add_status(pp_values_add_int(v, x));
    case PP_TYPE_DOUBLE:
        st = pp__rd_u64(r, &bits);
        if (st != PP_OK || v == NULL)
            return st;
        return add_status(pp__values_add_double_bits(v, bits));
    case PP_TYPE_STR:
        return decode_blob(r, v, 1);
    case PP_TYPE_BYTES:
        return decode_blob(r, v, 0);
    case PP_TYPE_LOCK:
    case PP_TYPE_SHM:
        return decode_named(r, type, v, rep);
    case PP_TYPE_SYNC:
        return decode_sync(r, v, rep);
    case PP__TAG_REMOTE:
        return decode_remote(r, v, rep);
    default:
        return PP_EPROTO;
    }
}

static pp_status decode_items(pp__rd *r, pp_values *v, attach_report *rep)
{
    uint32_t count, i;
    pp_status st;

    st = pp__rd_u32(r, &count);
    if (st != PP_OK)
        return st;
    if (count > PP_VALUES_MAX_ITEMS || count > pp__rd_left(r) / MIN_ITEM_ENC)
        return PP_EPROTO;
    st = v != NULL ? add_status(pp__values_reserve(v, count)) : PP_OK;
    for (i = 0; st == PP_OK && i < count; i++)
        st = decode_item(r, v, rep);
    return st;
}

/* Decode into the empty tuple v; on failure v is left empty and the
 * reader unmoved. */
static pp_status decode_into(pp__rd *r, pp_values *v, pp_status *attach_status,
                             char *attach_err_name, size_t attach_err_name_len)
{
    attach_report rep;
    size_t start;
    pp_status st;

    rep.st = attach_status;
    rep.name = attach_err_name;
    rep.name_len = attach_err_name_len;
    attach_report_reset(&rep);
    start = r->pos;
    st = decode_items(r, v, &rep);
    if (st != PP_OK) {
        /* Nothing consumed, nothing returned, nothing to report about
         * handles of a tuple that does not exist. */
        r->pos = start;
        pp__values_clear(v);
        attach_report_reset(&rep);
    }
    return st;
}

pp_status pp__values_decode(pp__rd *r, pp_values **out, pp_status *attach_status,
                            char *attach_err_name, size_t attach_err_name_len)
{
    pp_values *v;
    pp_status st;

    if (out == NULL)
        return PP_EINVAL;
    *out = NULL;
    if (r == NULL)
        return PP_EINVAL;
    st = pp_values_create(&v);
    if (st != PP_OK)
        return st;
    st = decode_into(r, v, attach_status, attach_err_name, attach_err_name_len);
    if (st != PP_OK) {
        pp_values_destroy(v);
        return st;
    }
    *out = v;
    return PP_OK;
}

pp_status pp__values_decode_reuse(pp__rd *r, pp_values *v, pp_status *attach_status,
                                  char *attach_err_name, size_t attach_err_name_len)
{
    if (r == NULL || v == NULL)
        return PP_EINVAL;
    pp__values_clear(v);
    return decode_into(r, v, attach_status, attach_err_name, attach_err_name_len);
}

int pp__values_peek_scalar(const pp__rd *r, pp_type *type, uint64_t *bits)
{
    const uint8_t *p = r->p + r->pos;

    if (pp__rd_left(r) < PP__VALUES_HDR + 9 || pp__ld_le32(p) != 1)
        return 0;
    if (p[4] != (uint8_t)PP_TYPE_INT && p[4] != (uint8_t)PP_TYPE_DOUBLE)
        return 0;
    *type = (pp_type)p[4];
    *bits = pp__ld_le64(p + 5);
    return 1;
}

pp_status pp__values_skip(pp__rd *r)
{
    size_t start;
    pp_status st;

    if (r == NULL)
        return PP_EINVAL;
    start = r->pos;
    st = decode_items(r, NULL, NULL);
    if (st != PP_OK)
        r->pos = start;
    return st;
}
