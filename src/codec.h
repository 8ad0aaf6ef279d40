/*
 * codec.h — wire format of procpool: byte buffers, frames, value tuples.
 *
 * Every message between a parent and a worker is one frame:
 *
 *   offset size field
 *        0    4 magic   "PPF" + version byte (PP__WIRE_VERSION)
 *        4    4 length  payload bytes that follow the 24-byte header (LE)
 *        8    1 type    PP__MSG_*
 *        9    1 flags   0, or PP__FLAG_SCALARS on TASK / RESULT
 *                       (any other value is malformed)
 *       10    2 count   number of records in the payload (LE)
 *       12    4 reserved, must be 0
 *       16    8 id      task / chunk id (LE)
 *
 * All integers little-endian. length <= PP__FRAME_MAX. A decoder never
 * reads outside the bytes it is given and rejects every malformed input
 * with PP_EPROTO (bad header, truncated, trailing bytes, unknown type tag,
 * embedded NUL in a string, counts beyond limits).
 *
 * Scalar columns (PP__FLAG_SCALARS): the commonest map, one int or one
 * double per item in and out, without a tuple per item. TASK payload:
 * fnref, u64 first, then u8 type (INT or DOUBLE) and count x u64 (each
 * item's argument is the one-item tuple of that value). RESULT payload:
 * u8 type and count x u64: every item succeeded with a one-item tuple of
 * that type. The payload must be exactly that long.
 *
 * Value tuple encoding:
 *   u32 count (<= PP_VALUES_MAX_ITEMS), then per item: u8 type, then
 *   INT: i64 | DOUBLE: u64 (IEEE-754 bits) | STR: u32 n + n bytes (no NUL,
 *   n <= PP_VALUE_MAX_BYTES) | BYTES: u32 n + n bytes | LOCK: u8 n + n
 *   name bytes (a valid name, see pp__name_check()) | SHM: as LOCK.
 *   Type tags are the pp_type values: INT 1, DOUBLE 2, STR 3, BYTES 4,
 *   LOCK 5, SHM 6; any other tag is malformed.
 */
#ifndef PROCPOOL_CODEC_H
#define PROCPOOL_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "procpool/value.h"

#define PP__WIRE_VERSION 1u
#define PP__FRAME_HDR 24u
#define PP__FRAME_MAX ((uint32_t)PP_MESSAGE_MAX)

/* ---------------------------------------------------------------- buffer */

typedef struct pp__buf {
    uint8_t *data;
    size_t len;
    size_t cap;
    int big; /* data is from pp__plat_big_alloc (cap >= PP__PLAT_BIG_MIN) */
} pp__buf;

/* n zeroed bytes: calloc below PP__PLAT_BIG_MIN, pp__plat_big_alloc from
 * there on. Free with pp__mem_free(p, n), the same n. */
void *pp__mem_zalloc(size_t n);
void pp__mem_free(void *p, size_t n);
/* Once per process before any large block (pp_init): a forked child starts
 * with an empty cache. */
void pp__mem_init(void);
/* Give the cached large blocks back to the OS (pp_shutdown). */
void pp__mem_trim(void);

void pp__buf_init(pp__buf *b);
void pp__buf_free(pp__buf *b);
void pp__buf_reset(pp__buf *b);              /* len = 0, keeps memory */
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
pp_status pp__rd_u8(pp__rd *r, uint8_t *x);
pp_status pp__rd_u32(pp__rd *r, uint32_t *x);
pp_status pp__rd_u64(pp__rd *r, uint64_t *x);
pp_status pp__rd_i64(pp__rd *r, int64_t *x);
/* u32 length + bytes; *p points into the reader's memory; n <= max */
pp_status pp__rd_blob(pp__rd *r, size_t max, const uint8_t **p, size_t *n);

/* ---------------------------------------------------------------- frames */

enum {
    PP__MSG_HELLO = 1,  /* parent -> worker: configuration, initializer */
    PP__MSG_READY = 2,  /* worker -> parent: pid, initializer outcome */
    PP__MSG_TASK = 3,   /* parent -> worker: function + count argument tuples */
    PP__MSG_RESULT = 4, /* worker -> parent: count per-item outcomes */
    PP__MSG_QUIT = 5,   /* parent -> worker: exit when idle */
    PP__MSG_MAX_ = 5
};

#define PP__FLAG_SCALARS 0x01u

typedef struct pp__frame_hdr {
    uint32_t length;
    uint8_t type;
    uint8_t flags;
    uint16_t count;
    uint64_t id;
} pp__frame_hdr;

/* Start a frame at the end of b; returns the frame's start offset in *at.
 * The payload is appended by the caller; pp__frame_end() patches length
 * and fails with PP_ETOOBIG (and truncates b back to *at) if the payload
 * exceeds PP__FRAME_MAX. */
pp_status pp__frame_begin(pp__buf *b, uint8_t type, uint16_t count, uint64_t id, size_t *at);
pp_status pp__frame_end(pp__buf *b, size_t at);
/* Set the id of the frame started at `at`. */
void pp__frame_set_id(pp__buf *b, size_t at, uint64_t id);
/* Set the flags of the frame started at `at` (TASK / RESULT only). */
void pp__frame_set_flags(pp__buf *b, size_t at, uint8_t flags);

/* Parse and validate a header from exactly PP__FRAME_HDR bytes. */
pp_status pp__frame_parse_hdr(const uint8_t *p, pp__frame_hdr *h);

/* ---------------------------------------------------------------- values */

/* Append the encoding of v (NULL encodes as an empty tuple). */
pp_status pp__values_encode(const pp_values *v, pp__buf *b);

/* Append the one-item tuple of an int or a double (bits: the int's value
 * or the double's IEEE-754 bits), the commonest map argument and task
 * result, in one step. */
pp_status pp__values_encode_scalar(pp_type type, uint64_t bits, pp__buf *b);

/* Append item i of v encoded as a one-item tuple (what map sends per
 * input). PP_ERANGE if i is out of range. */
pp_status pp__values_encode_one(const pp_values *v, size_t i, pp__buf *b);

/*
 * Decode one tuple. Lock and shm items are resolved with
 * pp__lock_resolve() / pp__shm_resolve() (a process-lifetime handle per
 * name); if that fails the decoded tuple is still returned complete, the
 * item's handle is NULL and remembers why (pp__values_attach_error()),
 * and *attach_status (if not NULL) gets the first such error, with the
 * item's name in attach_err_name — the caller decides (a worker fails
 * that task with a clear message).
 * Errors: PP_EPROTO for malformed input, PP_ENOMEM.
 */
pp_status pp__values_decode(pp__rd *r, pp_values **out, pp_status *attach_status,
                            char *attach_err_name, size_t attach_err_name_len);

/* As pp__values_decode(), into an existing tuple that is emptied first
 * (a worker decodes every task's arguments into the same tuple). */
pp_status pp__values_decode_reuse(pp__rd *r, pp_values *v, pp_status *attach_status,
                                  char *attach_err_name, size_t attach_err_name_len);

/* If the tuple at r's position is one int or one double (the commonest
 * task result), return 1 with its type and bits (a double's IEEE-754
 * bits); else 0. Does not move r or check what follows the scalar. */
int pp__values_peek_scalar(const pp__rd *r, pp_type *type, uint64_t *bits);

/* Check that one well-formed tuple follows and step over it, without
 * allocating or attaching locks or shm blocks. PP_EPROTO (reader unmoved) otherwise. */
pp_status pp__values_skip(pp__rd *r);

/* Implemented in lock.c: open (or reuse) a per-process, process-lifetime
 * handle to the lock called name. */
pp_status pp__lock_resolve(const char *name, pp_lock **out);

/* Implemented in shm.c: the same for a shared memory block. */
pp_status pp__shm_resolve(const char *name, pp_shm **out);

#endif /* PROCPOOL_CODEC_H */
