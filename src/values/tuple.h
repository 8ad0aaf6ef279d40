/*
 * tuple.h — the wire encoding of a value tuple (pp_values), and its size.
 *
 *   u32 count (<= PP_VALUES_MAX_ITEMS), then per item: u8 type, then
 *   INT: i64 | DOUBLE: u64 (IEEE-754 bits) | STR: u32 n + n bytes (no NUL,
 *   n <= PP_VALUE_MAX_BYTES) | BYTES: u32 n + n bytes | LOCK: u8 n + n
 *   name bytes (a valid name, see pp__name_check()) + u64 identity (non-
 *   zero: which object of that name, see pp__lock_id()) | SHM: as LOCK |
 *   REMOTE: a locator (sync/remote.h), a lock hosted by a manager or in
 *   Redis, which decodes into a LOCK item.
 *   Type tags are the pp_type values: INT 1, DOUBLE 2, STR 3, BYTES 4,
 *   LOCK 5, SHM 6, and wire-only tags from 128: REMOTE 128; any other
 *   tag is malformed.
 *
 * The container (value.c) keeps every tuple's exact encoded size as items
 * are added, from pp__tuple_item_size() below, so a tuple that exists can
 * always be encoded and an encoder reserves its buffer once. A decoder
 * rejects every malformed input with PP_EPROTO (truncated, trailing bytes
 * where the caller requires none, unknown type tag, embedded NUL in a
 * string, counts beyond limits) and never reads outside its input.
 */
#ifndef PROCPOOL_VALUES_TUPLE_H
#define PROCPOOL_VALUES_TUPLE_H

#include <stddef.h>
#include <stdint.h>

#include "procpool/value.h"
#include "wire/buf.h"

/* Encoded size of the u32 item count that starts every tuple. */
#define PP__VALUES_HDR 4u
/* Bytes an int or a double item adds to an encoding: tag + 8 bytes
 * (pp__tuple_item_size() of either). */
#define PP__TUPLE_SCALAR_ENC 9u
/* Bytes a string or byte buffer item of n bytes adds: tag, u32 length,
 * bytes (pp__tuple_item_size() of either, without the call). */
#define PP__TUPLE_BLOB_ENC(n) ((size_t)5 + (n))
/* Tag of a hosted object's locator (never a pp_type value). */
#define PP__TAG_REMOTE 128u

/* Bytes one item of type adds to an encoding; n is the length of a
 * string, byte buffer or name (ignored for INT and DOUBLE). */
size_t pp__tuple_item_size(pp_type type, size_t n);

/* Bytes a REMOTE item with locator loc adds to an encoding. */
struct pp__locator;
size_t pp__tuple_remote_size(const struct pp__locator *loc);

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
 * object: name and identity), hosted locks with pp__remote_resolve(); if
 * that fails the decoded tuple is still
 * returned complete, the item's handle is NULL and remembers why
 * (pp__values_attach_error()), and *attach_status (if not NULL) gets the
 * first such error, with the item's name in attach_err_name — the caller
 * decides (a worker fails that task with a clear message).
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
 * allocating or attaching locks or shm blocks. PP_EPROTO (reader unmoved)
 * otherwise. */
pp_status pp__values_skip(pp__rd *r);

#endif /* PROCPOOL_VALUES_TUPLE_H */
