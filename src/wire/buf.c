/*
 * buf.c — growable byte buffers and a bounds-checked reader (wire/buf.h).
 *
 * The reading side reads bytes that come from another process, which may
 * be buggy, dying half-way through a write, or (for a manager over TCP)
 * hostile. So every read is checked against the bytes that are left before
 * it happens, every length against its limit before anything is allocated
 * for it, and a failed read leaves the reader where it was. Integers are
 * assembled byte by byte: no alignment or host byte order assumptions.
 */
#include <stdlib.h>
#include <string.h>

#include "platform.h"
#include "core/mem.h"
#include "wire/buf.h"

void pp__buf_init(pp__buf *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->big = 0;
}

static void buf_release(uint8_t *data, size_t cap, int big)
{
    if (big)
        pp__mem_big_release(data, cap);
    else
        free(data);
}

void pp__buf_free(pp__buf *b)
{
    if (b == NULL)
        return;
    buf_release(b->data, b->cap, b->big);
    pp__buf_init(b);
}

void pp__buf_reset(pp__buf *b)
{
    b->len = 0;
}

pp_status pp__buf_reserve(pp__buf *b, size_t extra)
{
    size_t need, cap;
    uint8_t *data;

    if (extra <= b->cap - b->len)
        return PP_OK;
    if (extra > SIZE_MAX - b->len)
        return PP_ENOMEM;
    need = b->len + extra;
    /* Doubling keeps appends amortised O(1); near SIZE_MAX take exactly
     * what is needed instead of overflowing. */
    cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    if (cap < PP__PLAT_BIG_MIN) {
        data = realloc(b->data, cap);
        if (data == NULL)
            return PP_ENOMEM;
    } else {
        /* Large buffers (a map's TASK frames) come populated: see
         * pp__plat_big_alloc. */
        data = pp__mem_big_alloc(cap, 0, &cap);
        if (data == NULL)
            return PP_ENOMEM;
        if (b->len > 0)
            memcpy(data, b->data, b->len);
        buf_release(b->data, b->cap, b->big);
        b->big = 1;
    }
    b->data = data;
    b->cap = cap;
    return PP_OK;
}

pp_status pp__buf_put(pp__buf *b, const void *p, size_t n)
{
    pp_status st;

    if (n == 0)
        return PP_OK;
    if (p == NULL)
        return PP_EINVAL;
    st = pp__buf_reserve(b, n);
    if (st != PP_OK)
        return st;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return PP_OK;
}

pp_status pp__buf_put_u8(pp__buf *b, uint8_t x)
{
    return pp__buf_put(b, &x, 1);
}

pp_status pp__buf_put_u32(pp__buf *b, uint32_t x)
{
    uint8_t le[4];

    pp__st_le32(le, x);
    return pp__buf_put(b, le, sizeof le);
}

pp_status pp__buf_put_u64(pp__buf *b, uint64_t x)
{
    uint8_t le[8];

    pp__st_le64(le, x);
    return pp__buf_put(b, le, sizeof le);
}

pp_status pp__buf_put_i64(pp__buf *b, int64_t x)
{
    /* Two's complement on the wire; the conversion to uint64_t is defined
     * for every value. */
    return pp__buf_put_u64(b, (uint64_t)x);
}

pp_status pp__buf_put_blob(pp__buf *b, const void *p, size_t n)
{
    pp_status st;

    if (n > UINT32_MAX)
        return PP_ETOOBIG;
    if (p == NULL && n > 0)
        return PP_EINVAL;
    /* One reservation so a failure cannot leave a length without bytes. */
    st = pp__buf_reserve(b, 4 + n);
    if (st != PP_OK)
        return st;
    pp__buf_put_u32(b, (uint32_t)n);
    return pp__buf_put(b, p, n);
}

/* ---------------------------------------------------------------- reader */

void pp__rd_init(pp__rd *r, const void *p, size_t len)
{
    /* Never keep a NULL base: even NULL + 0 is undefined behaviour. */
    static const uint8_t empty[1] = {0};

    r->p = p ? (const uint8_t *)p : empty;
    r->len = p ? len : 0;
    r->pos = 0;
}

size_t pp__rd_left(const pp__rd *r)
{
    return r->len - r->pos;
}

pp_status pp__rd_end(const pp__rd *r)
{
    return pp__rd_left(r) == 0 ? PP_OK : PP_EPROTO;
}

pp_status pp__rd_take(pp__rd *r, size_t n, const uint8_t **p)
{
    if (n > pp__rd_left(r))
        return PP_EPROTO;
    *p = r->p + r->pos;
    r->pos += n;
    return PP_OK;
}

pp_status pp__rd_u8(pp__rd *r, uint8_t *x)
{
    const uint8_t *p;
    pp_status st = pp__rd_take(r, 1, &p);

    if (st == PP_OK)
        *x = p[0];
    return st;
}

pp_status pp__rd_u32(pp__rd *r, uint32_t *x)
{
    const uint8_t *p;
    pp_status st = pp__rd_take(r, 4, &p);

    if (st == PP_OK)
        *x = pp__ld_le32(p);
    return st;
}

pp_status pp__rd_u64(pp__rd *r, uint64_t *x)
{
    const uint8_t *p;
    pp_status st = pp__rd_take(r, 8, &p);

    if (st == PP_OK)
        *x = pp__ld_le64(p);
    return st;
}

pp_status pp__rd_i64(pp__rd *r, int64_t *x)
{
    uint64_t u;
    pp_status st = pp__rd_u64(r, &u);

    /* Two's complement back without the implementation-defined conversion
     * of an out-of-range unsigned value. */
    if (st == PP_OK)
        *x = u <= INT64_MAX ? (int64_t)u : -(int64_t)(UINT64_MAX - u) - 1;
    return st;
}

pp_status pp__rd_blob(pp__rd *r, size_t max, const uint8_t **p, size_t *n)
{
    size_t start = r->pos;
    uint32_t len;
    pp_status st;

    st = pp__rd_u32(r, &len);
    if (st != PP_OK)
        return st;
    if (len > max)
        st = PP_EPROTO;
    else
        st = pp__rd_take(r, len, p);
    if (st != PP_OK) {
        r->pos = start;
        return st;
    }
    *n = len;
    return PP_OK;
}
