/*
 * queue_internal.h — what the value plumbing and the tests need from
 * queue.c beyond queue.h. Not installed.
 */
#ifndef PROCPOOL_VALUES_QUEUE_INTERNAL_H
#define PROCPOOL_VALUES_QUEUE_INTERNAL_H

#include "procpool/queue.h"
#include "sync/sobj.h"

/* PP_OK if o is a queue's segment whose header makes sense (it may come
 * from another process), else PP_EINVAL. */
pp_status pp__queue_check(const pp__sobj *o);

/* Points inside pp_queue_put() / pp_queue_get() where the tests' hook
 * runs (a test process kills itself there): with the state mutex held
 * before anything is written; after the item's data is copied but before
 * it is published; after it is published, mutex still held; a getter
 * with the mutex, before the item leaves the ring; after it left, the
 * mutex released, before decoding. */
enum {
    PP__QUEUE_HOOK_PUT_LOCKED = 1,
    PP__QUEUE_HOOK_PUT_COPIED = 2,
    PP__QUEUE_HOOK_PUT_PUBLISHED = 3,
    PP__QUEUE_HOOK_GET_LOCKED = 4,
    PP__QUEUE_HOOK_GET_TAKEN = 5
};

/* Tests only: called at each point above (NULL: nothing). */
extern void (*pp__queue_test_hook)(int point);

#endif /* PROCPOOL_VALUES_QUEUE_INTERNAL_H */
