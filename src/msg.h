/*
 * msg.h — the messages parents and workers exchange, on top of codec.h,
 * and a buffered frame reader over a channel.
 *
 * HELLO  (parent→worker)  u32 maxtasks, fnref initializer, tuple initargs
 * READY  (worker→parent)  u64 pid, i32 status, i32 code, blob message
 * TASK   (parent→worker)  id = chunk id, count = items;
 *                         fnref, u64 first index, count × tuple
 * RESULT (worker→parent)  id = chunk id, count = items; per item:
 *                         i32 status, i32 code, then tuple (status 0)
 *                         or blob message
 * QUIT   (parent→worker)  empty
 *
 * fnref: u8 kind (0 none, 1 name: blob name, 2 address: u64).
 */
#ifndef PROCPOOL_MSG_H
#define PROCPOOL_MSG_H

#include "codec.h"
#include "platform.h"
#include "procpool/task.h"

#define PP__MAX_CHUNK 65535u /* items per TASK frame (u16 count) */
#define PP__ERRMSG_MAX 255u

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

/* Registry lookups (registry.c). */
pp_task_fn pp__registry_find(const char *name, size_t len, const char **stored_name);

/* ---------------------------------------------------------- frame reader */

typedef struct pp__reader {
    pp__plat_chan *chan;
    uint8_t *buf;
    size_t cap;
    size_t start; /* first unconsumed byte */
    size_t end;   /* one past the last byte read */
} pp__reader;

pp_status pp__reader_init(pp__reader *fr, pp__plat_chan *chan);
void pp__reader_free(pp__reader *fr);
/* Next frame: *payload points into the reader's buffer and stays valid
 * until the next call. Blocks for input only when no complete frame is
 * buffered. PP_ECONNLOST on EOF, PP_EPROTO on a malformed header. */
pp_status pp__reader_next(pp__reader *fr, pp__frame_hdr *h, const uint8_t **payload);
/* 1 if a complete frame is already buffered (no blocking needed). */
int pp__reader_buffered(const pp__reader *fr);

#endif /* PROCPOOL_MSG_H */
