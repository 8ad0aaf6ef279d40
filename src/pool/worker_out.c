/*
 * worker_out.c — a worker's chunk results as a column (pool/worker_out.h).
 */
#include <string.h>

#include "values/column.h"
#include "values/value_internal.h"
#include "pool/worker_out.h"

pp_status pp__worker_put_scalars(pp__buf *out, const volatile uint64_t *rcol, uint16_t n,
                                 pp_type rtype)
{
    pp_status st = PP_OK;
    uint16_t k;

    for (k = 0; k < n && st == PP_OK; k++) {
        st = pp__buf_put_u32(out, 0); /* status */
        if (st == PP_OK)
            st = pp__buf_put_u32(out, 0); /* code */
        if (st == PP_OK)
            st = pp__values_encode_scalar(rtype, pp__worker_le64(rcol[k]), out);
    }
    return st;
}

pp_status pp__worker_put_scalar_column(pp__buf *out, const pp__frame_hdr *h, size_t at,
                                       pp_type rtype, const volatile uint64_t *rcol)
{
    pp_status st;
    uint8_t *d;

    out->len = at; /* the header begun for the general form */
    st = pp__frame_begin(out, PP__MSG_RESULT, h->count, h->id, &at);
    if (st != PP_OK)
        return st;
    pp__frame_set_flags(out, at, PP__FLAG_SCALARS);
    st = pp__buf_reserve(out, 1 + (size_t)h->count * 8);
    if (st != PP_OK)
        return st;
    d = out->data + out->len;
    d[0] = (uint8_t)rtype;
    /* already little-endian; the worker's own, nothing writes it now */
    memcpy(d + 1, (const uint64_t *)rcol, (size_t)h->count * 8);
    out->len += 1 + (size_t)h->count * 8;
    return pp__frame_end(out, at);
}

pp_status pp__worker_put_column_in_place(pp__buf *out, const pp__frame_hdr *h, size_t at,
                                         pp_type rtype)
{
    pp_status st;

    out->len = at; /* the header begun for the general form */
    st = pp__frame_begin(out, PP__MSG_RESULT, h->count, h->id, &at);
    if (st != PP_OK)
        return st;
    pp__frame_set_flags(out, at, PP__FLAG_SCALARS | PP__FLAG_INBOX);
    st = pp__buf_put_u8(out, (uint8_t)rtype);
    if (st != PP_OK)
        return st;
    return pp__frame_end(out, at);
}

/* The column is shorter than the outcomes (5 + n bytes per item against
 * 17 + n), so the copy runs forward and never overtakes what it has still
 * to read. */
pp_status pp__worker_put_blob_column(pp__buf *out, size_t at, uint16_t count)
{
    uint8_t *base = out->data + at + PP__FRAME_HDR, *p = base, *d;
    size_t left = out->len - (at + PP__FRAME_HDR);
    uint8_t type = 0;
    uint32_t n = 0;
    uint16_t i;

    for (i = 0; i < count; i++, p += 17 + (size_t)n) {
        size_t room = left - (size_t)(p - base); /* p stays inside: checked below */
        if (room < 17 || pp__ld_le32(p) != 0 || pp__ld_le32(p + 4) != 0 ||
            pp__ld_le32(p + 8) != 1 || (p[12] != PP_TYPE_STR && p[12] != PP_TYPE_BYTES) ||
            (i > 0 && p[12] != type) || pp__ld_le32(p + 13) > room - 17)
            return PP_OK; /* stays in the general form */
        type = p[12];
        n = pp__ld_le32(p + 13);
    }
    p = base;
    d = base + 1;
    for (i = 0; i < count; i++) {
        n = pp__ld_le32(p + 13);
        memmove(d + 4, p + 17, n);
        pp__st_le32(d, n);
        d[4 + n] = 0;
        d += PP__COLUMN_BLOB_ENC(n);
        p += 17 + (size_t)n;
    }
    base[0] = type;
    out->len = (size_t)(d - out->data);
    pp__frame_set_flags(out, at, PP__FLAG_SCALARS);
    return pp__frame_end(out, at);
}
