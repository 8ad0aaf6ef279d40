/*
 * waitany.h — waiting on many results at once (result.h:
 * pp_result_wait_any / _all, pp_completion_*), and the process's own id
 * as pools see it: the pool layer's process-wide state, started by
 * pp_init() (init.c).
 */
#ifndef PROCPOOL_POOL_WAITANY_H
#define PROCPOOL_POOL_WAITANY_H

#include <stdint.h>

#include "procpool/error.h"

/* Create / free the process-wide completion signal. */
pp_status pp__waitany_init(void);
void pp__waitany_shutdown(void);

/* A result became ready (its core's mutex is held): wake the threads
 * waiting on sets of results. Costs one atomic load when nobody waits. */
void pp__waitany_notify(void);

/* This process's id (pp__plat_getpid()), cached: a fork child gets its
 * own (pp__waitany_init() registers the fork handler). */
uint64_t pp__pool_self_pid(void);

#endif /* PROCPOOL_POOL_WAITANY_H */
