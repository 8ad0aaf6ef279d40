/*
 * broker.h — the seam between a pool and the broker of its remote workers
 * (pp_pool_options.broker). The pool cannot call the layer that speaks to
 * Redis (it is above the pool: redis/redis_pool.c): that layer registers
 * its operations here at pp_init(), as lock backends do (sync/remote.h).
 *
 * The broker stands for every remote worker of the pool as one more place
 * chunks go to: the dispatcher hands it queued chunks (pump_locked), it
 * keeps them in flight until their results come back (in any order, by
 * chunk id), and fails or returns them (to the queue) itself. Without a
 * registered implementation (a build without hiredis) a pool with a
 * broker is refused with PP_ENOTSUP.
 */
#ifndef PROCPOOL_POOL_BROKER_H
#define PROCPOOL_POOL_BROKER_H

#include <stddef.h>

#include "procpool/pool.h"

typedef struct pp__broker pp__broker;

typedef struct pp__broker_ops {
    /* Connect for pool p (its threads exist; workers are started) with the
     * options' broker address; errors as pp_pool_create() lists, each
     * logged with its reason. */
    pp_status (*open)(pp_pool *p, const pp_pool_options *o, pp__broker **out);
    /* Take queued chunks it has room for and send them. Caller holds the
     * pool's mutex; it may be released while sending. */
    void (*pump_locked)(pp__broker *b);
    /* How many more chunks it would take now: its remote workers are
     * idle enough to start them (caller holds the mutex). */
    unsigned (*room_locked)(const pp__broker *b);
    /* Chunks sent and not answered yet (caller holds the mutex). */
    unsigned (*inflight_locked)(const pp__broker *b);
    /* Remote workers of this pool seen alive (caller holds the mutex). */
    unsigned (*workers_locked)(const pp__broker *b);
    /* pp_result_cancel() of job j (its items are failed already): chunks
     * of it that no remote worker has started are withdrawn (caller holds
     * the mutex; the broker's thread does it). */
    void (*cancel_locked)(pp__broker *b, struct pp_result *j);
    /* pp_pool_terminate(): fail every chunk in flight with PP_ETERMINATED
     * and drop what was sent and not claimed (caller holds the mutex). */
    void (*terminate_locked)(pp__broker *b);
    /* Stop its threads, remove every key it made, free it (the pool's
     * threads are stopped; mutex not held). NULL ok. */
    void (*close)(pp__broker *b);
    /* pp_pool_remote_workers() */
    pp_status (*list)(pp__broker *b, pp_remote_worker *out, size_t cap, size_t *count);
} pp__broker_ops;

/* Register the implementation (NULL: none). */
void pp__broker_register(const pp__broker_ops *ops);

/* Open p's broker if o asks for one (p->broker, p->bops set). */
pp_status pp__broker_open(pp_pool *p, const pp_pool_options *o);

/* Arguments of a task that may run on another machine: PP_ENOTSUP (and a
 * message through the log hook naming what) if v holds a local named
 * lock, shared memory block or sync object; else PP_OK. */
pp_status pp__broker_check_args(const pp_values *v, const char *where);

#endif /* PROCPOOL_POOL_BROKER_H */
