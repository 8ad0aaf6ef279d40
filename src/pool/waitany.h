/*
 * waitany.h — waiting on many results at once (result.h:
 * pp_result_wait_any / _all, pp_completion_*): the pool layer's one
 * process-wide piece of state, started by pp_init() (init.c).
 */
#ifndef PROCPOOL_POOL_WAITANY_H
#define PROCPOOL_POOL_WAITANY_H

#include "procpool/error.h"

/* Create / free the process-wide completion signal. */
pp_status pp__waitany_init(void);
void pp__waitany_shutdown(void);

/* A result became ready (its core's mutex is held): wake the threads
 * waiting on sets of results. Costs one atomic load when nobody waits. */
void pp__waitany_notify(void);

#endif /* PROCPOOL_POOL_WAITANY_H */
