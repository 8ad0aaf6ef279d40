/*
 * buf.h — the byte level of procpool's wire format: growable buffers to
 * write into, a bounds-checked reader, little-endian integers.
 *
 * All integers on the wire are little-endian and assembled byte by byte
 * (no alignment or host byte order assumptions). A reader never reads
 * outside the bytes it is given; a failed read returns PP_EPROTO and
 * leaves the reader where it was.
 */
#ifndef PROCPOOL_WIRE_BUF_H
#define PROCPOOL_WIRE_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "procpool/error.h"

/* ------------------------------------------------------------ endianness */

static inline void pp__st_le16(uint8_t *p, uint16_t x)
{
    p[0] = (uint8_t)x;
    p[1] = (uint8_t)(x >> 8);
}

static inline void pp__st_le32(uint8_t *p, uint32_t x)
{
    int i;

    for (i = 0; i < 4; i++)
        p[i] = (uint8_t)(x >> (8 * i));
}

static inline void pp__st_le64(uint8_t *p, uint64_t x)
{
    int i;

    for (i = 0; i < 8; i++)
        p[i] = (uint8_t)(x >> (8 * i));
}

static inline uint16_t pp__ld_le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t pp__ld_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static inline uint64_t pp__ld_le64(const uint8_t *p)
{
    return (uint64_t)pp__ld_le32(p) | ((uint64_t)pp__ld_le32(p + 4) << 32);
}

/* ---------------------------------------------------------------- buffer */

/* Large buffers (from PP__PLAT_BIG_MIN bytes) come from core/mem.h. */
typedef struct pp__buf {
    uint8_t *data;
    size_t len;
    size_t cap;
    int big; /* data is from pp__mem_big_alloc (cap >= PP__PLAT_BIG_MIN) */
} pp__buf;

void pp__buf_init(pp__buf *b);
void pp__buf_free(pp__buf *b);
void pp__buf_reset(pp__buf *b); /* len = 0, keeps memory */
pp_status pp__buf_reserve(pp__buf *b, size_t extra);
pp_status pp__buf_put(pp__buf *b, const void *p, size_t n);
pp_status pp__buf_put_u8(pp__buf *b, uint8_t x);
pp_status pp__buf_put_u32(pp__buf *b, uint32_t x);
pp_status pp__buf_put_u64(pp__buf *b, uint64_t x);
pp_status pp__buf_put_i64(pp__buf *b, int64_t x);
/* u32 length + bytes */
pp_status pp__buf_put_blob(pp__buf *b, const void *p, size_t n);

/* ---------------------------------------------------------------- reader */

typedef struct pp__rd {
    const uint8_t *p;
    size_t len;
    size_t pos;
} pp__rd;

void pp__rd_init(pp__rd *r, const void *p, size_t len);
size_t pp__rd_left(const pp__rd *r);
/* PP_OK if r has no bytes left, else PP_EPROTO: for payloads that must be
 * consumed exactly (trailing bytes are malformed). */
pp_status pp__rd_end(const pp__rd *r);
/* Borrow the next n bytes (*p points into the reader's memory), or fail
 * without moving. */
pp_status pp__rd_take(pp__rd *r, size_t n, const uint8_t **p);
pp_status pp__rd_u8(pp__rd *r, uint8_t *x);
pp_status pp__rd_u32(pp__rd *r, uint32_t *x);
pp_status pp__rd_u64(pp__rd *r, uint64_t *x);
pp_status pp__rd_i64(pp__rd *r, int64_t *x);
/* u32 length + bytes; *p points into the reader's memory; n <= max */
pp_status pp__rd_blob(pp__rd *r, size_t max, const uint8_t **p, size_t *n);

#endif /* PROCPOOL_WIRE_BUF_H */
