/*
 * worker.h — the worker process's side of a pool.
 */
#ifndef PROCPOOL_POOL_WORKER_H
#define PROCPOOL_POOL_WORKER_H

#include <stddef.h>
#include <stdint.h>

#include "platform.h"

/* The loop a worker runs on its channel end (every start method): read
 * HELLO, run the initializer, then TASK frames until QUIT or EOF. Returns
 * the process exit code (documented in README). pp_init() registers it as
 * the worker role's entry. */
int pp__worker_main(pp__plat_chan *chan);

/* Runs TASK frames outside a pool worker process (a remote worker,
 * redis/redis_remote.c) with the same chunk runner: the RESULT frames of
 * a chunk (one, or several partial ones) go to a sink instead of a
 * channel. */
typedef pp_status (*pp__result_sink)(void *ud, const uint8_t *frame, size_t len);
typedef struct pp__chunk_runner pp__chunk_runner;

pp_status pp__chunk_runner_create(pp__result_sink sink, void *ud, pp__chunk_runner **out);
/* Run one TASK frame (len bytes, header included): PP_OK once its RESULT
 * frames went to the sink; PP_EPROTO for a frame that is not a well-formed
 * TASK, or whose function is not by name (an address or none: never
 * accepted from another machine; the sink may have had partial frames of
 * it: discard them); what
 * the sink returned; PP_ENOMEM. */
pp_status pp__chunk_runner_run(pp__chunk_runner *r, const uint8_t *frame, size_t len);
void pp__chunk_runner_destroy(pp__chunk_runner *r);

#endif /* PROCPOOL_POOL_WORKER_H */
