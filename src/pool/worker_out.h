/*
 * worker_out.h — how a worker (worker.c) writes a chunk's results as a
 * column (values/column.h, wire/msg.h) instead of an outcome per item.
 */
#ifndef PROCPOOL_POOL_WORKER_OUT_H
#define PROCPOOL_POOL_WORKER_OUT_H

#include <stddef.h>
#include <stdint.h>

#include "procpool/value.h"
#include "wire/buf.h"
#include "wire/frame.h"

/* How a chunk's scalar results are held until its end (rcol, the kept
 * column of pool/wctl.h): each value's 8 bytes little-endian, the form of
 * the wire's column, so the column is copied whole (or, in the inbox, not
 * at all). */
static inline uint64_t pp__worker_le64(uint64_t bits)
{
    uint64_t v;

    pp__st_le64((uint8_t *)&v, bits);
    return v;
}

/* A column answer is no longer possible at item n: append the general
 * outcomes of items 0..n-1, held in rcol until now (all succeeded with one
 * value of type rtype). */
pp_status pp__worker_put_scalars(pp__buf *out, const volatile uint64_t *rcol, uint16_t n,
                                 pp_type rtype);

/* Rewrite the RESULT frame begun at `at` (for chunk h) in its scalar
 * column form: h->count values of type rtype from rcol. */
pp_status pp__worker_put_scalar_column(pp__buf *out, const pp__frame_hdr *h, size_t at,
                                       pp_type rtype, const volatile uint64_t *rcol);

/* Rewrite the RESULT frame begun at `at` (for chunk h, whose arguments
 * came through the inbox as a scalar column) as the answer that its
 * h->count values of type rtype lie in place of its arguments there
 * (wire/msg.h). */
pp_status pp__worker_put_column_in_place(pp__buf *out, const pp__frame_hdr *h, size_t at,
                                         pp_type rtype);

/* If the general outcomes of all count items of the RESULT frame at `at`
 * are successes of one string each (or one byte buffer each), rewrite them
 * in place as a blob column, which the parent hands out without decoding
 * a tuple per item; else leave the frame as it is. PP_OK, or what ending
 * the frame gave. */
pp_status pp__worker_put_blob_column(pp__buf *out, size_t at, uint16_t count);

#endif /* PROCPOOL_POOL_WORKER_OUT_H */
