/*
 * frame.h — frames: the unit every message travels in, and a buffered
 * frame reader over a channel.
 *
 *   offset size field
 *        0    4 magic   "PPF" + version byte (PP__WIRE_VERSION)
 *        4    4 length  payload bytes that follow the 24-byte header (LE)
 *        8    1 type    PP__MSG_*
 *        9    1 flags   0; PP__FLAG_SCALARS and PP__FLAG_INBOX on TASK /
 *                       RESULT; PP__FLAG_TIMED on TASK; PP__FLAG_PARTIAL
 *                       on RESULT (any other bit is malformed)
 *       10    2 count   number of records in the payload (LE)
 *       12    4 reserved, must be 0
 *       16    8 id      task / chunk id (LE)
 *
 * length <= PP__FRAME_MAX. A header that breaks any of these rules is
 * rejected with PP_EPROTO. What the payloads hold: wire/msg.h; value
 * tuples inside them: values/tuple.h.
 */
#ifndef PROCPOOL_WIRE_FRAME_H
#define PROCPOOL_WIRE_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "platform.h"
#include "procpool/value.h"
#include "wire/buf.h"

#define PP__WIRE_VERSION 1u
#define PP__FRAME_HDR    24u
#define PP__FRAME_MAX    ((uint32_t)PP_MESSAGE_MAX)

enum {
    PP__MSG_HELLO = 1,  /* parent -> worker: configuration, initializer */
    PP__MSG_READY = 2,  /* worker -> parent: pid, initializer outcome */
    PP__MSG_TASK = 3,   /* parent -> worker: function + count argument tuples */
    PP__MSG_RESULT = 4, /* worker -> parent: count per-item outcomes */
    PP__MSG_QUIT = 5,   /* parent -> worker: exit when idle */
    PP__MSG_MAX_ = 5
};

/* TASK, RESULT: scalar columns (wire/msg.h) */
#define PP__FLAG_SCALARS 0x01u
/* TASK: items have a timeout; the worker notes when each starts (pool/wctl.h) */
#define PP__FLAG_TIMED 0x02u
/* RESULT: more RESULT frames of this chunk follow */
#define PP__FLAG_PARTIAL 0x04u
/* TASK: the payload is in the worker's inbox (pool/wctl.h); the frame's
 * own payload is u64 offset + u64 length of it there. RESULT: the results
 * lie in place of the arguments there (wire/msg.h) */
#define PP__FLAG_INBOX 0x08u
/* TASK: a sync apply's caller waits for this result, and its next apply
 * may follow at once: the worker spins for its next message before it
 * sleeps (pool/worker.c). A hint: what the task does is the same. */
#define PP__FLAG_WAITED 0x10u

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
/* The flags of the frame started at `at` of b (a whole header there). */
uint8_t pp__frame_flags(const pp__buf *b, size_t at);
/* Set the record count of the frame started at `at`. */
void pp__frame_set_count(pp__buf *b, size_t at, uint16_t count);

/* Parse and validate a header from exactly PP__FRAME_HDR bytes. */
pp_status pp__frame_parse_hdr(const uint8_t *p, pp__frame_hdr *h);

/* ---------------------------------------------------------- frame reader */

typedef struct pp__reader {
    pp__plat_chan *chan;
    uint8_t *buf;
    size_t cap;
    size_t start;        /* first unconsumed byte */
    size_t end;          /* one past the last byte read */
    int64_t spin_max_ns; /* 0: every wait for input blocks at once */
    int64_t spin_ns;     /* this wait's spin (pp__reader_spin_next) */
    int spin_on;         /* pp__reader_spin_enable */
} pp__reader;

pp_status pp__reader_init(pp__reader *fr, pp__plat_chan *chan);
void pp__reader_free(pp__reader *fr);

/* Let a wait for input spin up to max_ns (0: never) before it blocks: it
 * reads without blocking and yields the CPU between tries, so a message
 * that comes within the spin is read without a sleep and a wake-up. How
 * long it spins adapts to how long the last waits lasted
 * (pp__reader_spin_next). Where the channel cannot be read without
 * blocking (PP_ENOTSUP: Windows) the first wait turns it off. */
void pp__reader_set_spin(pp__reader *fr, int64_t max_ns);
/* Whether the next waits may spin (set: within pp__reader_set_spin's
 * max; the spin learnt so far is kept while off). */
void pp__reader_spin_enable(pp__reader *fr, int on);

/* The spin of the next wait, after one that spun up to cur ns and lasted
 * waited ns (whether its input came during the spin or after it, in the
 * blocking read): for a wait within max (short gaps, such as a caller's
 * next apply), twice the wait, at least max / 8 and at most max, so the
 * next one like it is caught; for a longer one, half of cur (long gaps:
 * spinning only burns the CPU; the next short wait grows it again). */
int64_t pp__reader_spin_next(int64_t cur, int64_t max, int64_t waited);
/* Next frame: *payload points into the reader's buffer and stays valid
 * until the next call. Blocks for input only when no complete frame is
 * buffered. PP_ECONNLOST on EOF, PP_EPROTO on a malformed header. */
pp_status pp__reader_next(pp__reader *fr, pp__frame_hdr *h, const uint8_t **payload);
/* 1 if a complete frame is already buffered (no blocking needed). */
int pp__reader_buffered(const pp__reader *fr);

#endif /* PROCPOOL_WIRE_FRAME_H */
