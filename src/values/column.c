/*
 * column.c — scalar and blob columns (values/column.h).
 */
#include <string.h>

#include "values/column.h"
#include "values/value_repr.h"

int pp__column_put_scalars(const pp_values *v, size_t first, size_t count, pp_type *type,
                           uint8_t *dst)
{
    const value_item *it, *end;
    pp_type t;

    if (v == NULL || count == 0 || first > v->count || count > v->count - first)
        return 0;
    it = v->items + first;
    end = it + count;
    t = it->type;
    if (t != PP_TYPE_INT && t != PP_TYPE_DOUBLE)
        return 0;
    /* u.i and u.d share the same 8 bytes: the bits either way */
    for (; it < end; it++, dst += 8) {
        if (it->type != t)
            return 0;
        pp__st_le64(dst, it->u.d);
    }
    *type = t;
    return 1;
}

size_t pp__column_blob_extent(const pp_values *v, size_t first, size_t max_count, size_t max_bytes,
                              pp_type *type, size_t *bytes)
{
    const value_item *it;
    size_t k, sum = 0, sz;
    pp_type t;

    if (v == NULL || first >= v->count)
        return 0;
    if (max_count > v->count - first)
        max_count = v->count - first;
    it = v->items + first;
    t = it->type;
    if (t != PP_TYPE_STR && t != PP_TYPE_BYTES)
        return 0;
    for (k = 0; k < max_count; k++, it++) {
        sz = PP__COLUMN_BLOB_ENC(it->n);
        if (it->type != t || (k > 0 && sz > max_bytes - sum) || (k == 0 && sz > max_bytes))
            break;
        sum += sz;
    }
    if (k == 0) { /* the first alone is larger than max_bytes: it counts */
        k = 1;
        sum = PP__COLUMN_BLOB_ENC(v->items[first].n);
    }
    *type = t;
    *bytes = sum;
    return k;
}

void pp__column_put_blobs(const pp_values *v, size_t first, size_t count, uint8_t *dst)
{
    const value_item *it = v->items + first, *end = it + count;

    for (; it < end; it++) {
        pp__st_le32(dst, it->n);
        /* the item's own NUL comes along (value.c keeps one after every
         * string and byte buffer) */
        memcpy(dst + 4, it->u.p, (size_t)it->n + 1);
        dst += PP__COLUMN_BLOB_ENC(it->n);
    }
}

int pp__column_put_blobs_exact(const pp_values *v, size_t first, size_t count, pp_type type,
                               uint8_t *dst, size_t cap)
{
    const value_item *it, *end;
    size_t enc;

    if (v == NULL || first > v->count || count > v->count - first)
        return 0;
    for (it = v->items + first, end = it + count; it < end; it++) {
        enc = PP__COLUMN_BLOB_ENC(it->n);
        if (it->type != type || enc > cap)
            return 0;
        pp__st_le32(dst, it->n);
        memcpy(dst + 4, it->u.p, (size_t)it->n + 1); /* its NUL too */
        dst += enc;
        cap -= enc;
    }
    return cap == 0;
}

/* Has the 64-bit word x a zero byte? (exact: no false positives) */
#define HAS_ZERO_BYTE(x) (((x)-UINT64_C(0x0101010101010101)) & ~(x)&UINT64_C(0x8080808080808080))

/* Is there a NUL in p[0..n-1]? Short strings (the common entry) a word at
 * a time, without a call; the last word may overlap the one before. */
static int has_nul(const uint8_t *p, size_t n)
{
    uint64_t x;
    size_t k;

    if (n > 64)
        return memchr(p, '\0', n) != NULL;
    if (n < 8) {
        for (k = 0; k < n; k++) {
            if (p[k] == 0)
                return 1;
        }
        return 0;
    }
    for (k = 0; k + 8 <= n; k += 8) {
        memcpy(&x, p + k, 8);
        if (HAS_ZERO_BYTE(x))
            return 1;
    }
    if (k < n) {
        memcpy(&x, p + n - 8, 8);
        if (HAS_ZERO_BYTE(x))
            return 1;
    }
    return 0;
}

/* The entry at q (left bytes from q on) of a str or bytes column: its
 * length in *len if it is whole and well formed (the length within the
 * limit and the bytes left, a NUL after its bytes, none inside a
 * string's), else 0. */
static int blob_entry_ok(const uint8_t *q, size_t left, pp_type type, uint32_t *len)
{
    uint32_t n;

    if (left < 4)
        return 0;
    n = pp__ld_le32(q);
    if (n > PP_VALUE_MAX_BYTES || (size_t)n >= left - 4 || q[4 + n] != 0)
        return 0;
    if (type == PP_TYPE_STR && has_nul(q + 4, n))
        return 0;
    *len = n;
    return 1;
}

pp_status pp__column_get_blob(pp__rd *r, pp_type type, const uint8_t **p, size_t *n)
{
    const uint8_t *q = r->p + r->pos;
    uint32_t len;

    if (type != PP_TYPE_STR && type != PP_TYPE_BYTES)
        return PP_EPROTO;
    if (!blob_entry_ok(q, r->len - r->pos, type, &len))
        return PP_EPROTO;
    r->pos += PP__COLUMN_BLOB_ENC(len);
    *p = q + 4;
    *n = len;
    return PP_OK;
}

int pp__column_check_blobs(const uint8_t *p, size_t len, pp_type type, size_t count)
{
    size_t pos = 0, k;
    uint32_t n;

    if (type != PP_TYPE_STR && type != PP_TYPE_BYTES)
        return 0;
    for (k = 0; k < count; k++) {
        if (!blob_entry_ok(p + pos, len - pos, type, &n))
            return 0;
        pos += PP__COLUMN_BLOB_ENC(n);
    }
    return pos == len;
}
