/*
 * redis_internal.h — the redis layer's entry points for pp_init() and
 * pp_shutdown() (init.c).
 */
#ifndef PROCPOOL_REDIS_REDIS_INTERNAL_H
#define PROCPOOL_REDIS_REDIS_INTERNAL_H

#include "procpool/error.h"

/* Register the resolver of Redis locks arriving in task arguments
 * (sync/remote.h); without hiredis, nothing to register (PP_OK). */
pp_status pp__redis_travel_init(void);
/* Unregister it and close what it opened. */
void pp__redis_travel_shutdown(void);

#endif /* PROCPOOL_REDIS_REDIS_INTERNAL_H */
