/*
 * sem_internal.h — the state of a local semaphore in its sync segment and
 * the atomics on it, shared by sem.c (the semaphore with holder records)
 * and sem_count.c (PP_SEM_UNOWNED: the count alone). Not installed. See
 * sem.c's file comment for what the words mean.
 */
#ifndef PROCPOOL_SYNC_SEM_INTERNAL_H
#define PROCPOOL_SYNC_SEM_INTERNAL_H

#include <stdint.h>

#include "procpool/sync.h"
#include "platform.h"
#include "sync/sobj.h"

struct pp_sem {
    pp__sobj o;
};

/* count word: value << C_SHIFT | flags */
#define C_FROZEN ((uint64_t)1) /* the state mutex's holder owns the count */
#define C_NOTICE ((uint64_t)2) /* a holder died: the next acquirer is told */
#define C_WAITER ((uint64_t)4) /* a waiter may nap: the next 0 -> 1 wakes */
#define C_SHIFT  3
#define C_ONE    ((uint64_t)1 << C_SHIFT)

/* slot word: units << W_SHIFT | (claim number & W_TAGS) << 3 | flags */
#define W_BUSY  ((uint64_t)1) /* a fast update of its process in flight */
#define W_CLAIM ((uint64_t)2) /* being given to a process (state mutex) */
#define W_TAKE  ((uint64_t)4) /* with W_BUSY: the update is an acquire */
#define W_FLAGS ((uint64_t)7)
#define W_SHIFT 16
#define W_TAGS  ((uint64_t)0x1fff)
#define W_ONE   ((uint64_t)1 << W_SHIFT)

typedef struct sem_slot {
    uint64_t word;
    uint64_t tag; /* claim number of the owner (one per claim) */
    uint64_t pid; /* owner; 0: none */
    uint64_t stamp;
    uint64_t pad[4]; /* a cache line per slot */
} sem_slot;

typedef struct sem_state {
    pp__sobj_redo redo; /* first (sobj.h); unused: see the file comment */
    uint64_t pad0[7];
    uint64_t count; /* on a cache line of its own */
    uint64_t pad1[7];
    uint64_t total; /* TOTAL (state mutex) */
    uint64_t initial;
    uint64_t bounded;
    uint64_t slots;   /* holders[0..slots-1] may be in use */
    uint64_t claims;  /* the last claim number */
    uint64_t unowned; /* PP_SEM_UNOWNED: the count alone (sem_count.c) */
    uint64_t pad2[2];
    sem_slot holders[PP__SOBJ_PROCS];
} sem_state;

/* Atomics on the shared words: inline where the compiler has them (GCC,
 * clang, MinGW), else the platform's calls (MSVC). load: acquire, store:
 * release, cas: sequentially consistent (platform.h). */
#if defined(__GNUC__) || defined(__clang__)
static inline uint64_t ld(uint64_t *p)
{
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static inline void store(uint64_t *p, uint64_t v)
{
    __atomic_store_n(p, v, __ATOMIC_RELEASE);
}

static inline int cas(uint64_t *p, uint64_t expect, uint64_t desired)
{
    return __atomic_compare_exchange_n(p, &expect, desired, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}
#else
static inline uint64_t ld(uint64_t *p)
{
    return pp__plat_atomic_load64(p);
}

static inline void store(uint64_t *p, uint64_t v)
{
    pp__plat_atomic_store64(p, v);
}

static inline int cas(uint64_t *p, uint64_t expect, uint64_t desired)
{
    return pp__plat_atomic_cas64(p, expect, desired);
}
#endif

/* PP_SEM_UNOWNED semaphores (sem_count.c): acquire and release on the
 * count word alone, lock-free. busy: what a wait that ends without a
 * unit returns (PP_ETIMEDOUT, or PP_EBUSY for the try form). */
pp_status pp__sem_count_acquire(pp_sem *s, int64_t timeout_ms, pp_status busy);
pp_status pp__sem_count_release(pp_sem *s);

#endif /* PROCPOOL_SYNC_SEM_INTERNAL_H */
