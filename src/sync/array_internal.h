/*
 * array_internal.h — what the value plumbing needs from array.c beyond
 * array.h. Not installed.
 */
#ifndef PROCPOOL_SYNC_ARRAY_INTERNAL_H
#define PROCPOOL_SYNC_ARRAY_INTERNAL_H

#include "procpool/array.h"
#include "sync/sobj.h"

/* PP_OK if o is an array's segment whose header makes sense (it may come
 * from another process), else PP_EINVAL. */
pp_status pp__array_check(const pp__sobj *o);

#endif /* PROCPOOL_SYNC_ARRAY_INTERNAL_H */
