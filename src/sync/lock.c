/*
 * lock.c — the public pp_lock calls: argument checks, then the lock's
 * backend (sync/lock_backend.h).
 */
#include <stddef.h>

#include "procpool/lock.h"
#include "sync/lock_backend.h"
#include "sync/sync.h"

pp_status pp_lock_create(const char *name, pp_lock **out)
{
    return pp__lock_local_create(name, out);
}

pp_status pp_lock_open(const char *name, pp_lock **out)
{
    return pp__lock_local_open(name, out);
}

pp_status pp_lock_acquire(pp_lock *lock, int64_t timeout_ms)
{
    if (lock == NULL || timeout_ms < PP_INFINITE)
        return PP_EINVAL;
    return lock->backend->acquire(lock, timeout_ms);
}

pp_status pp_lock_try_acquire(pp_lock *lock)
{
    if (lock == NULL)
        return PP_EINVAL;
    return lock->backend->try_acquire(lock);
}

pp_status pp_lock_release(pp_lock *lock)
{
    if (lock == NULL)
        return PP_EINVAL;
    return lock->backend->release(lock);
}

const char *pp_lock_name(const pp_lock *lock)
{
    return lock ? lock->backend->name(lock) : NULL;
}

uint64_t pp_lock_fencing_token(const pp_lock *lock)
{
    if (lock == NULL || lock->backend->fencing_token == NULL)
        return 0;
    return lock->backend->fencing_token(lock);
}

void pp_lock_destroy(pp_lock *lock)
{
    if (lock != NULL)
        lock->backend->destroy(lock);
}

int pp__lock_locator(const pp_lock *lock, pp__locator *loc)
{
    if (lock == NULL || lock->backend->locator == NULL)
        return 0;
    lock->backend->locator(lock, loc);
    return 1;
}
