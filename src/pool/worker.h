/*
 * worker.h — the worker process's side of a pool.
 */
#ifndef PROCPOOL_POOL_WORKER_H
#define PROCPOOL_POOL_WORKER_H

#include "platform.h"

/* The loop a worker runs on its channel end (every start method): read
 * HELLO, run the initializer, then TASK frames until QUIT or EOF. Returns
 * the process exit code (documented in README). pp_init() registers it as
 * the worker role's entry. */
int pp__worker_main(pp__plat_chan *chan);

#endif /* PROCPOOL_POOL_WORKER_H */
