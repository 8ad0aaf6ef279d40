/*
 * shm_atomic.c — atomic int64 slots in a shared memory block (shm.h):
 * the port's 64-bit atomics on the block's memory, after bounds and
 * alignment checks (the block's start is 64-byte aligned, so an offset
 * that is a multiple of 8 is an aligned slot).
 */
#include <stddef.h>

#include "procpool/shm.h"
#include "platform.h"
#include "sync/sync.h"

static pp_status slot(pp_shm *shm, size_t offset, volatile uint64_t **p)
{
    size_t size;

    if (shm == NULL || offset % 8 != 0)
        return PP_EINVAL;
    size = pp_shm_size(shm);
    if (size < 8 || offset > size - 8)
        return PP_ERANGE;
    *p = (volatile uint64_t *)((char *)pp_shm_ptr(shm) + offset);
    return PP_OK;
}

int64_t pp__atomic64_add(volatile uint64_t *p, int64_t delta)
{
    uint64_t old;

    do {
        old = pp__plat_atomic_load64(p);
    } while (!pp__plat_atomic_cas64(p, old, old + (uint64_t)delta));
    return (int64_t)(old + (uint64_t)delta);
}

void pp__atomic64_cas(volatile uint64_t *p, int64_t expected, int64_t desired, int *swapped,
                      int64_t *seen)
{
    int ok = pp__plat_atomic_cas64(p, (uint64_t)expected, (uint64_t)desired);

    if (swapped != NULL)
        *swapped = ok;
    if (seen != NULL)
        *seen = ok ? expected : (int64_t)pp__plat_atomic_load64(p);
}

pp_status pp_shm_load_int64(pp_shm *shm, size_t offset, int64_t *out)
{
    volatile uint64_t *p;
    pp_status st = out != NULL ? slot(shm, offset, &p) : PP_EINVAL;

    if (st == PP_OK)
        *out = (int64_t)pp__plat_atomic_load64(p);
    return st;
}

pp_status pp_shm_store_int64(pp_shm *shm, size_t offset, int64_t value)
{
    volatile uint64_t *p;
    pp_status st = slot(shm, offset, &p);

    if (st == PP_OK)
        pp__plat_atomic_store64(p, (uint64_t)value);
    return st;
}

pp_status pp_shm_add_int64(pp_shm *shm, size_t offset, int64_t delta, int64_t *now)
{
    volatile uint64_t *p;
    pp_status st = slot(shm, offset, &p);
    int64_t v;

    if (st != PP_OK)
        return st;
    v = pp__atomic64_add(p, delta);
    if (now != NULL)
        *now = v;
    return PP_OK;
}

pp_status pp_shm_cas_int64(pp_shm *shm, size_t offset, int64_t expected, int64_t desired,
                           int *swapped, int64_t *seen)
{
    volatile uint64_t *p;
    pp_status st = slot(shm, offset, &p);

    if (st != PP_OK)
        return st;
    pp__atomic64_cas(p, expected, desired, swapped, seen);
    return PP_OK;
}
