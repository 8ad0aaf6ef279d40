/*
 * posix_mutex.c — named robust mutex: a process-shared, robust,
 * error-checking pthread mutex inside a named segment (posix_seg.c).
 *
 * Ownership is tracked twice: by the pthread mutex itself (per kernel
 * thread, across processes) and by an owner word in the process-local
 * handle. The owner word answers "does the calling thread hold it?"
 * cheaply and portably: with PTHREAD_MUTEX_ERRORCHECK, glibc's trylock by
 * the owner returns EBUSY, not EDEADLK, so the mutex alone cannot tell a
 * relock from contention.
 *
 * Built where the system has robust process-shared mutexes
 * (PP_HAVE_ROBUST_MUTEX); elsewhere posix_flock.c implements the same
 * contract with a lock file.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "posix_internal.h"

#ifdef PP_HAVE_ROBUST_MUTEX

#define PP_POSIX_MUTEX_MAGIC   0x50504d58u /* "PPMX" */
#define PP_POSIX_MUTEX_VERSION 2u          /* 2: the header has an id */

/* Contended acquires spin (pp__posix_spin): rounds at most / at least
 * (adaptive bounds), CPU pauses per round at most. */
#define PP_POSIX_SPIN_MAX    64
#define PP_POSIX_SPIN_MIN    4
#define PP_POSIX_SPIN_PAUSES 16

/* The shared segment. */
typedef struct pp__posix_mutex_seg {
    pp__posix_seg_hdr hdr;
    pthread_mutex_t mtx;
} pp__posix_mutex_seg;

struct pp__plat_mutex {
    pp__posix_mutex_seg *seg;
    size_t size;
    /* How many spin rounds a contended acquire tries before it sleeps in
     * the kernel (pp__posix_spin_lock): adapted to what spinning achieved
     * on this handle lately. Process-local, shared by its threads. */
    atomic_int spin_limit;
    /* Holder in this process: (pid << 32) | thread id, 0 when free here.
     * The pid part keeps a forked child (which inherits both the mapping
     * and the forking thread's id) from believing it holds a lock its
     * parent held at fork time. Written only by the holding thread. */
    _Atomic uint64_t owner;
};

/* getpid() is a system call since glibc 2.25 (about 1 us on a VM): the
 * key is computed once per thread and forgotten in a forked child (only
 * the forking thread exists there, and its pid changed). */
static _Thread_local uint64_t pp__posix_key_cache;
static pthread_once_t pp__posix_key_once = PTHREAD_ONCE_INIT;

static void pp__posix_key_forget(void)
{
    pp__posix_key_cache = 0;
}

static void pp__posix_key_register(void)
{
    (void)pthread_atfork(NULL, NULL, pp__posix_key_forget);
}

static uint64_t pp__posix_owner_key(void)
{
    if (pp__posix_key_cache == 0) {
        (void)pthread_once(&pp__posix_key_once, pp__posix_key_register);
        pp__posix_key_cache =
            ((uint64_t)(uint32_t)getpid() << 32) | (pp__plat_thread_id() & 0xffffffffu);
    }
    return pp__posix_key_cache;
}

pp_status pp__posix_robust_mutex_init(pthread_mutex_t *mtx, int errorcheck)
{
    pthread_mutexattr_t a;
    int e = pthread_mutexattr_init(&a);
    if (e != 0)
        return pp__plat_fail(e);
    if ((e = pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED)) == 0 &&
        (e = pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST)) == 0 &&
        (!errorcheck || (e = pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK)) == 0))
        e = pthread_mutex_init(mtx, &a);
    pthread_mutexattr_destroy(&a);
    return e == 0 ? PP_OK : pp__plat_fail(e);
}

static pp_status pp__posix_mutex_wrap(pp__posix_mutex_seg *seg, size_t size, pp__plat_mutex **out)
{
    pp__plat_mutex *m = malloc(sizeof *m);
    if (m == NULL)
        return PP_ENOMEM;
    m->seg = seg;
    m->size = size;
    atomic_init(&m->spin_limit, PP_POSIX_SPIN_MAX);
    atomic_init(&m->owner, 0);
    *out = m;
    return PP_OK;
}

pp_status pp__plat_mutex_create(const char *name, pp__plat_mutex **out)
{
    pp__posix_mutex_seg *seg;
    void *addr;
    pp_status st = pp__posix_seg_create(name, sizeof *seg, &addr);
    if (st != PP_OK)
        return st;
    seg = addr;
    seg->hdr.magic = PP_POSIX_MUTEX_MAGIC;
    seg->hdr.version = PP_POSIX_MUTEX_VERSION;
    seg->hdr.size = (uint32_t)sizeof *seg;
    st = pp__posix_robust_mutex_init(&seg->mtx, 1);
    if (st == PP_OK)
        st = pp__posix_mutex_wrap(seg, sizeof *seg, out);
    if (st != PP_OK) {
        pp__posix_seg_unmap(seg, sizeof *seg);
        (void)pp__posix_seg_unlink(name);
        return st;
    }
    pp__posix_seg_publish(&seg->hdr);
    return PP_OK;
}

pp_status pp__plat_mutex_open(const char *name, pp__plat_mutex **out)
{
    void *addr;
    size_t size;
    pp_status st;

    st = pp__posix_seg_open(name, PP_POSIX_MUTEX_MAGIC, PP_POSIX_MUTEX_VERSION,
                            (uint32_t)sizeof(pp__posix_mutex_seg), sizeof(pp__posix_mutex_seg), 0,
                            &addr, &size);
    if (st != PP_OK)
        return st;
    st = pp__posix_mutex_wrap(addr, size, out);
    if (st != PP_OK)
        pp__posix_seg_unmap(addr, size);
    return st;
}

/*
 * Contended acquire: spin a little before sleeping. The holder of a
 * process lock usually keeps it for a short critical section while it
 * runs on another CPU; going to sleep at once (futex wait) costs the
 * waiter a sleep and a wake-up, and the holder a wake-up system call at
 * each release while someone sleeps — on 2 CPUs contended throughput fell
 * to about a third of the uncontended rate. So a waiter first watches the
 * lock for up to spin_limit rounds, each a few CPU pause instructions
 * (doubling up to PP_POSIX_SPIN_PAUSES) and a look at the lock word
 * (glibc: the owner's thread id, read without writing it; elsewhere a
 * try), and tries to take it when it looks free. Bounded: some tens of
 * microseconds at most, then the usual blocking lock. Adaptive, per
 * handle: a spin that got the lock doubles the limit (up to
 * PP_POSIX_SPIN_MAX), one that did not halves it (down to
 * PP_POSIX_SPIN_MIN), so long critical sections or a holder that is not
 * running (more processes than CPUs) soon cost little spinning.
 * glibc's PTHREAD_MUTEX_ADAPTIVE_NP does this, but not for robust
 * mutexes. The uncontended path (the first try succeeds) is unchanged.
 */

static inline void pp__posix_cpu_relax(void)
{
/* GCC and Clang builtins (the compilers of this port); any other compiler
 * gets the portable fence below. */
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    __builtin_ia32_pause();
#elif defined(__GNUC__) && (defined(__aarch64__) || defined(__arm__))
    __asm__ __volatile__("yield" ::: "memory");
#else
    atomic_signal_fence(memory_order_seq_cst);
#endif
}

/* Does the mutex look held? Reads the lock word without writing it, where
 * its layout is known (glibc: the owner's thread id, bits 0..29, with the
 * waiters and owner-died flags above); elsewhere "maybe not": try. */
static inline int pp__posix_looks_held(pthread_mutex_t *mtx)
{
#if defined(__GLIBC__) && defined(__GNUC__)
    return (__atomic_load_n(&mtx->__data.__lock, __ATOMIC_RELAXED) & 0x3fffffff) != 0;
#else
    (void)mtx;
    return 0;
#endif
}

/* pthread_mutex_trylock's result after a bounded spin (EBUSY: still
 * held, sleep). */
static int pp__posix_spin(pp__plat_mutex *m)
{
    pthread_mutex_t *mtx = &m->seg->mtx;
    int limit = atomic_load_explicit(&m->spin_limit, memory_order_relaxed);
    int round, i, pauses = 1, e = EBUSY;

    for (round = 0; round < limit; round++) {
        for (i = 0; i < pauses; i++)
            pp__posix_cpu_relax();
        if (pauses < PP_POSIX_SPIN_PAUSES)
            pauses *= 2;
        if (pp__posix_looks_held(mtx))
            continue;
        e = pthread_mutex_trylock(mtx);
        if (e != EBUSY)
            break;
    }
    if (e == EBUSY)
        limit = limit / 2 > PP_POSIX_SPIN_MIN ? limit / 2 : PP_POSIX_SPIN_MIN;
    else
        limit = limit * 2 < PP_POSIX_SPIN_MAX ? limit * 2 : PP_POSIX_SPIN_MAX;
    atomic_store_explicit(&m->spin_limit, limit, memory_order_relaxed);
    return e;
}

int pp__posix_mutex_timedlock(pthread_mutex_t *mtx, int64_t timeout_ms)
{
#ifdef PP_HAVE_CLOCKLOCK
    struct timespec ts = pp__posix_deadline(CLOCK_MONOTONIC, timeout_ms);
    return pthread_mutex_clocklock(mtx, CLOCK_MONOTONIC, &ts);
#else
    struct timespec ts = pp__posix_deadline(CLOCK_REALTIME, timeout_ms);
    return pthread_mutex_timedlock(mtx, &ts);
#endif
}

/* Turn the result of a lock attempt into a status; on success the caller
 * holds the mutex and becomes the recorded owner. */
static pp_status pp__posix_locked(pp__plat_mutex *m, int e, uint64_t me, pp_status busy)
{
    switch (e) {
    case 0:
        atomic_store_explicit(&m->owner, me, memory_order_relaxed);
        return PP_OK;
    case EOWNERDEAD:
        /* The holder died: we own it now. Mark it usable again, and tell
         * the caller so the protected data can be checked. */
        e = pthread_mutex_consistent(&m->seg->mtx);
        if (e != 0) {
            (void)pthread_mutex_unlock(&m->seg->mtx);
            return pp__plat_fail(e);
        }
        atomic_store_explicit(&m->owner, me, memory_order_relaxed);
        pp__plat_set_os_error(EOWNERDEAD);
        return PP_EOWNERDEAD;
    case EBUSY:
    case ETIMEDOUT:
        return busy;
    case EDEADLK:
        return PP_EDEADLK;
    case ENOTRECOVERABLE:
        /* Only reachable if someone unlocked an EOWNERDEAD mutex without
         * making it consistent; we never do. */
        pp__plat_set_os_error(e);
        return PP_ESYS;
    default:
        return pp__plat_fail(e);
    }
}

pp_status pp__plat_mutex_lock(pp__plat_mutex *m, int64_t timeout_ms)
{
    uint64_t me = pp__posix_owner_key();
    int e;

    if (timeout_ms < -1)
        return PP_EINVAL;
    if (atomic_load_explicit(&m->owner, memory_order_relaxed) == me)
        return PP_EDEADLK;
    e = pthread_mutex_trylock(&m->seg->mtx);
    if (e == EBUSY && timeout_ms != 0) {
        e = pp__posix_spin(m); /* contended: spin a little first */
        if (e == EBUSY && timeout_ms == PP_INFINITE)
            e = pthread_mutex_lock(&m->seg->mtx);
        else if (e == EBUSY)
            e = pp__posix_mutex_timedlock(&m->seg->mtx, timeout_ms);
    }
    return pp__posix_locked(m, e, me, PP_ETIMEDOUT);
}

pp_status pp__plat_mutex_trylock(pp__plat_mutex *m)
{
    uint64_t me = pp__posix_owner_key();
    if (atomic_load_explicit(&m->owner, memory_order_relaxed) == me)
        return PP_EDEADLK;
    return pp__posix_locked(m, pthread_mutex_trylock(&m->seg->mtx), me, PP_EBUSY);
}

int pp__plat_mutex_held(const pp__plat_mutex *m)
{
    return atomic_load_explicit(&m->owner, memory_order_relaxed) == pp__posix_owner_key();
}

pp_status pp__plat_mutex_unlock(pp__plat_mutex *m)
{
    uint64_t me = pp__posix_owner_key();
    int e;

    if (atomic_load_explicit(&m->owner, memory_order_relaxed) != me)
        return PP_EPERM;
    /* Clear before unlocking: once unlocked another thread of this process
     * may acquire and write its own id. */
    atomic_store_explicit(&m->owner, 0, memory_order_relaxed);
    e = pthread_mutex_unlock(&m->seg->mtx);
    if (e == 0)
        return PP_OK;
    if (e == EPERM)
        return PP_EPERM;
    return pp__plat_fail(e);
}

uint64_t pp__plat_mutex_id(const pp__plat_mutex *m)
{
    return m->seg->hdr.id;
}

void pp__plat_mutex_close(pp__plat_mutex *m)
{
    if (m == NULL)
        return;
    /* The pthread mutex is not destroyed: other processes may still use
     * it, and destroying a shared mutex is a no-op on every system we
     * support anyway. */
    pp__posix_seg_unmap(m->seg, m->size);
    free(m);
}

pp_status pp__plat_mutex_unlink(const char *name)
{
    return pp__posix_seg_unlink(name);
}

#endif /* PP_HAVE_ROBUST_MUTEX */
