/*
 * column.h — columns: the arguments or results of a chunk of map items
 * that are all one value of one type, without a tuple per item
 * (PP__FLAG_SCALARS, wire/msg.h). After the u8 type:
 *
 *   INT, DOUBLE  count x u64 (the int's value, the double's IEEE-754 bits)
 *   STR, BYTES   count x (u32 n, n bytes, u8 0): the NUL after the bytes
 *                lets a reader hand each one out in place, as a read-only
 *                one-item tuple (pp__values_init_blob()), with no copy and
 *                no allocation per item; a string has no other NUL.
 *
 * Encoders here read a tuple's items directly (no call per item); the
 * decoder checks every entry against the bytes present and never reads
 * outside them.
 */
#ifndef PROCPOOL_VALUES_COLUMN_H
#define PROCPOOL_VALUES_COLUMN_H

#include <stddef.h>
#include <stdint.h>

#include "procpool/value.h"
#include "wire/buf.h"

/* Bytes of one blob column entry of n bytes. */
#define PP__COLUMN_BLOB_ENC(n) ((size_t)5 + (n))

/* Are items first..first+count-1 of v (count >= 1) all one int, or all
 * one double? Then 1, with *type and their count x 8 bytes written at dst
 * (little-endian); else 0 (dst partly written). */
int pp__column_put_scalars(const pp_values *v, size_t first, size_t count, pp_type *type,
                           uint8_t *dst);
/* pp__column_put_blobs() of items that must all be one value of type
 * (a string or byte buffer) whose entries take exactly cap bytes: 1, or 0 if they do not
 * (never more than cap bytes written). */
int pp__column_put_blobs_exact(const pp_values *v, size_t first, size_t count, pp_type type,
                               uint8_t *dst, size_t cap);

/* How many items from first on (at most max_count; their entries taking
 * at most max_bytes, except that the first always counts) are strings, or
 * are byte buffers: 0 if item first is neither. *type gets the type and
 * *bytes the bytes of their entries. */
size_t pp__column_blob_extent(const pp_values *v, size_t first, size_t max_count, size_t max_bytes,
                              pp_type *type, size_t *bytes);

/* Write the entries of items first..first+count-1 of v (as measured by
 * pp__column_blob_extent()) at dst. */
void pp__column_put_blobs(const pp_values *v, size_t first, size_t count, uint8_t *dst);

/* Read one entry of a blob column of type (PP_TYPE_STR or PP_TYPE_BYTES):
 * *p, *n its bytes (p[n] is its NUL). PP_EPROTO (reader unmoved) if it is
 * truncated, longer than PP_VALUE_MAX_BYTES, has no NUL after its bytes,
 * or is a string with a NUL inside. */
pp_status pp__column_get_blob(pp__rd *r, pp_type type, const uint8_t **p, size_t *n);

/* Are the len bytes at p exactly count entries of a blob column of type
 * (each as pp__column_get_blob() checks it)? 1 or 0; one pass, no call
 * per entry (a RESULT's column, checked whole before any of it is used). */
int pp__column_check_blobs(const uint8_t *p, size_t len, pp_type type, size_t count);

#endif /* PROCPOOL_VALUES_COLUMN_H */
