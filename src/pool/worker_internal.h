/*
 * worker_internal.h — what the worker loop (worker.c) and its chunk
 * runner (worker_chunk.c) share: the worker's state and the calls that
 * run tasks and write their outcomes.
 */
#ifndef PROCPOOL_POOL_WORKER_INTERNAL_H
#define PROCPOOL_POOL_WORKER_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "platform.h"
#include "procpool/task.h"
#include "wire/buf.h"
#include "wire/frame.h"
#include "pool/wctl.h"
#include "pool/worker.h"

typedef struct pp__worker {
    pp__plat_chan *chan;
    pp_values *args;   /* reused for every task */
    pp_values *result; /* reused for every task */
    /* a chunk's scalar results (little-endian): the control block's kept
     * column (wctl.h); volatile, so the compiler keeps each value's store
     * before the progress word's */
    volatile uint64_t *rcol;
    int from_inbox; /* the running chunk's arguments lie in the inbox */
    pp__reader rd;
    pp__buf out;
    uint32_t maxtasks;
    uint64_t max_rss; /* recycle above this many resident bytes; 0: never */
    uint32_t done;
    pp__plat_shm *ctl_shm; /* the control block (pool/wctl.h) */
    pp__wctl *ctl;
    pp__wctl_cursor kept; /* what this chunk's outcomes have in ctl */
    pp__result_sink sink; /* set: frames go there, not to chan (pp__chunk_runner) */
    void *sink_ud;
    uint64_t argmem[8]; /* a column item's read-only argument tuple */
    uint64_t *argbits;  /* a scalar column's: where its value goes */
} pp__worker;

/* A worker's state is called "worker" in the files that run it. */
typedef pp__worker worker;

/* Send w->out (one or more frames) to the parent, or to the sink of a
 * chunk runner, and empty it. */
pp_status pp__worker_send_frame(worker *w);

/* Run fn on args as item index; fill the task outcome t. result is an
 * empty tuple the task appends its result to. */
void pp__worker_run_one(pp_task_fn fn, const pp_values *args, uint64_t index, pp_values *result,
                        pp_task *t);

/* Append a failed outcome (status, code, message) to b. */
pp_status pp__worker_put_failure(pp__buf *b, pp_status status, int code, const char *msg);

/* A lock or shm block named in args that this worker cannot attach (its
 * creator destroyed it, say): the task must not run with a NULL handle.
 * PP_OK, or the reason with a message naming it (where: "arguments",
 * "initializer arguments") in msg[cap]. */
pp_status pp__worker_attach_check(const pp_values *args, const char *where, char *msg, size_t cap);

/* Run the items of TASK frame h (payload: its h->length bytes) and leave
 * its RESULT frame(s) in w->out (earlier partial ones already sent).
 * PP_EPROTO for a malformed payload; else a send or memory failure. */
pp_status pp__worker_run_chunk(worker *w, const pp__frame_hdr *h, const uint8_t *payload);

#endif /* PROCPOOL_POOL_WORKER_INTERNAL_H */
