/*
 * msg.h — the payloads of the messages parents and workers exchange (each
 * one frame, wire/frame.h), and how a task function travels in them.
 *
 * HELLO  (parent→worker)  keyring (sync/keyring.h: the program key and
 *                         the managers' keys the parent knows), u32
 *                         maxtasks, u64 max resident bytes (0: no
 *                         limit), fnref initializer, tuple initargs,
 *                         u8 n + n bytes: name of the worker's control
 *                         block (pool/wctl.h), a shm block
 * READY  (worker→parent)  u64 pid, i32 status, i32 code, blob message
 * TASK   (parent→worker)  id = chunk id, count = items;
 *                         fnref, u64 first index, count × tuple
 * RESULT (worker→parent)  id = chunk id, count = items; per item:
 *                         i32 status, i32 code, then tuple (status 0)
 *                         or blob message. Results that do not fit one
 *                         message come in several RESULT frames, each for
 *                         the next items of the chunk, all but the last
 *                         flagged PP__FLAG_PARTIAL.
 *                         With PP__FLAG_INBOX the payload is u64 offset +
 *                         u64 length: the TASK payload above lies there in
 *                         the worker's inbox (pool/wctl.h), written by the
 *                         parent before this frame and left alone until
 *                         the chunk's last RESULT (or the worker's death).
 * QUIT   (parent→worker)  empty
 *
 * fnref: u8 kind (0 none, 1 name: blob name, 2 address: u64).
 * Tuples: values/tuple.h.
 *
 * Columns (PP__FLAG_SCALARS): the commonest maps, one int, double,
 * string or byte buffer per item in and out, without a tuple per item.
 * TASK payload: fnref, u64 first, then u8 type and count entries (each
 * item's argument is the one-item tuple of its entry). RESULT payload: u8
 * type and count entries: every item succeeded with a one-item tuple of
 * that type (never in a PARTIAL frame). Entries (values/column.h): INT,
 * DOUBLE: u64; STR, BYTES: u32 n, n bytes, a NUL. The payload must be
 * exactly that long.
 * A RESULT with PP__FLAG_SCALARS | PP__FLAG_INBOX answers a TASK that
 * came with PP__FLAG_SCALARS | PP__FLAG_INBOX and INT or DOUBLE entries:
 * its payload is only u8 type (INT or DOUBLE), and every item succeeded
 * with one value of that type, whose u64 entry the worker wrote over the
 * item's argument entry in the inbox (never in a PARTIAL frame).
 */
#ifndef PROCPOOL_WIRE_MSG_H
#define PROCPOOL_WIRE_MSG_H

#include "procpool/task.h"
#include "wire/buf.h"
#include "wire/frame.h"

#define PP__MAX_CHUNK 65535u /* items per TASK frame (u16 count): PP_MAX_CHUNKSIZE */
/* Bytes of the RESULT outcome of a task that returned one int or double:
 * i32 status 0, i32 code 0, tuple u32 count 1, u8 type, 8 bytes. */
#define PP__SCALAR_OUTCOME 21u
#define PP__ERRMSG_MAX     255u

enum { PP__FN_NONE = 0, PP__FN_NAME = 1, PP__FN_ADDR = 2 };

/* How a function travels: by registered name, or (fork only) by address. */
typedef struct pp__fnref {
    int kind;
    const char *name; /* PP__FN_NAME: registry-owned string */
    pp_task_fn fn;    /* resolved function (PP__FN_ADDR, or after lookup) */
} pp__fnref;

/* Build the fnref for fn: by name if registered, by address if
 * allow_address (fork), else PP_ENOTREGISTERED. fn NULL → PP__FN_NONE. */
pp_status pp__fnref_make(pp_task_fn fn, int allow_address, pp__fnref *ref);
pp_status pp__fnref_encode(const pp__fnref *ref, pp__buf *b);
/* Bytes pp__fnref_encode() appends. */
size_t pp__fnref_encoded_size(const pp__fnref *ref);
/* Decode and resolve to a function: PP_ENOTREGISTERED if the name is not
 * registered here, PP_EPROTO if malformed. */
pp_status pp__fnref_decode(pp__rd *r, pp__fnref *ref);
/* Step over an encoded fnref without resolving it. PP_EPROTO if
 * malformed. */
pp_status pp__fnref_skip(pp__rd *r);

#endif /* PROCPOOL_WIRE_MSG_H */
