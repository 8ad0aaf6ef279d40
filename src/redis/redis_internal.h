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

/* The broker of distributed pools (pool/broker.h): registered by
 * pp__redis_travel_init(), unregistered by its shutdown. */
void pp__redis_broker_init(void);
void pp__redis_broker_shutdown(void);

/* The remote worker loop of a distributed pool (redis_remote.c), for
 * PROCPOOL_REMOTE=url: never returns but with an exit code (3: url
 * malformed or credentials refused; 5: out of memory; without hiredis 3). */
int pp__redis_remote_main(const char *url);

#endif /* PROCPOOL_REDIS_REDIS_INTERNAL_H */
