/*
 * posix_sobj.c — sync segments (platform.h, "sync segments"): a named
 * segment (posix_seg.c) holding a state mutex, a wake word and the kind's
 * state.
 *
 * State mutex:
 *  - PP_HAVE_ROBUST_MUTEX: a process-shared robust pthread mutex in the
 *    segment (EOWNERDEAD -> pthread_mutex_consistent -> PP_EOWNERDEAD).
 *  - otherwise (macOS, the BSDs, -Dforce_fallbacks): an owner word taken
 *    by compare-and-swap with the holder's pid, its start stamp beside it.
 *    A holder found dead by pp__plat_proc_alive() is stolen from (the
 *    thief gets PP_EOWNERDEAD). Contended: a short spin, then sleeps with
 *    a backoff from 50 us to 2 ms. The holder clears the stamp before the
 *    owner word, so a thief never pairs a new holder's pid with an old
 *    holder's stamp.
 *
 * Wake word: with PP_HAVE_FUTEX (Linux) a shared futex on it (FUTEX_WAIT /
 * FUTEX_WAKE without _PRIVATE: waiters are in other processes) with a
 * waiter count that waiters raise and a waker takes (exchange with 0), so
 * a wake without waiters makes no system call, and neither do the wakes
 * after the first while the woken are getting back to a CPU. A waiter
 * killed while waiting leaves the count too high: the next wake makes a
 * useless system call, nothing worse. Without futexes: waiters poll the
 * word with the same backoff as the lock. Never a process-shared condition
 * variable: glibc's can block a signaller forever on a waiter killed
 * inside pthread_cond_wait.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "posix_internal.h"

#ifdef PP_HAVE_FUTEX
#include <linux/futex.h>
#include <sys/syscall.h>
#endif

#define PP_POSIX_SOBJ_MAGIC   0x50505359u /* "PPSY" */
#define PP_POSIX_SOBJ_VERSION 1u
#define PP_POSIX_SOBJ_HDR     256u /* the state starts here (64-byte aligned) */

typedef struct pp__posix_sobj_seg {
    pp__posix_seg_hdr hdr;
    uint32_t kind;
    uint32_t pad;
    uint64_t state_size;
#ifdef PP_HAVE_ROBUST_MUTEX
    pthread_mutex_t mtx;
#endif
    _Atomic uint64_t owner;       /* fallback lock: holder's pid, 0 free */
    _Atomic uint64_t owner_stamp; /* its start stamp (0: not yet written) */
    _Atomic uint32_t word;        /* the wake word */
    _Atomic uint32_t waiters;     /* futex waiters (a hint) */
} pp__posix_sobj_seg;

_Static_assert(sizeof(pp__posix_sobj_seg) <= PP_POSIX_SOBJ_HDR, "sync segment header too large");

struct pp__plat_sobj {
    pp__posix_sobj_seg *seg;
    size_t total;
};

/* ------------------------------------------------------------ liveness */

#ifdef PP_HAVE_PROC_PID_STAT
/* Linux: field 22 of /proc/<pid>/stat, the start time in clock ticks
 * since boot; 0 if it cannot be read (the process is gone). The command
 * name (field 2) may hold spaces and parentheses: fields are counted from
 * the last ')'. */
static uint64_t pp__posix_start_time(uint64_t pid)
{
    char path[64], buf[1024];
    unsigned long long v = 0;
    const char *p;
    size_t n;
    FILE *f;
    int field;

    snprintf(path, sizeof path, "/proc/%llu/stat", (unsigned long long)pid);
    f = fopen(path, "re");
    if (f == NULL)
        return 0;
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    p = strrchr(buf, ')');
    if (p == NULL)
        return 0;
    /* field 3, the state: a zombie has ended (its parent has not reaped
     * it yet) */
    if (p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X'))
        return 0;
    /* after ')' comes " S" = field 3; find field 22 */
    for (field = 2; *p != '\0' && field < 22; p++) {
        if (*p == ' ')
            field++;
    }
    if (sscanf(p, "%llu", &v) != 1)
        return 0;
    return (uint64_t)v;
}
#endif

/* The caller's pid and stamp, computed once per thread (getpid() is a
 * system call) and forgotten in a fork child, whose only thread is the
 * one that forked (as posix_mutex.c does for its owner key). */
static _Thread_local uint64_t pp__posix_self_pid, pp__posix_self_stamp;
static pthread_once_t pp__posix_self_once = PTHREAD_ONCE_INIT;

static void pp__posix_self_forget(void)
{
    pp__posix_self_pid = 0;
}

static void pp__posix_self_register(void)
{
    (void)pthread_atfork(NULL, NULL, pp__posix_self_forget);
}

void pp__plat_proc_self_stamp(uint64_t *pid, uint64_t *stamp)
{
    if (pp__posix_self_pid == 0) {
        uint64_t me;
        (void)pthread_once(&pp__posix_self_once, pp__posix_self_register);
        me = (uint64_t)getpid();
#ifdef PP_HAVE_PROC_PID_STAT
        pp__posix_self_stamp = pp__posix_start_time(me);
#else
        pp__posix_self_stamp = 0;
#endif
        pp__posix_self_pid = me;
    }
    *pid = pp__posix_self_pid;
    *stamp = pp__posix_self_stamp;
}

int pp__plat_proc_alive(uint64_t pid, uint64_t stamp)
{
    if (pid == 0 || pid > (uint64_t)INT_MAX)
        return 0;
    if (kill((pid_t)pid, 0) < 0 && errno == ESRCH)
        return 0;
#ifdef PP_HAVE_PROC_PID_STAT
    if (stamp != 0) {
        uint64_t now = pp__posix_start_time(pid);
        /* 0: gone between kill() and the read (or a zombie being reaped) */
        return now == stamp;
    }
#else
    /* Without a start time (macOS, the BSDs: proc_pidinfo / kinfo_proc
     * could give one later) a reused pid counts as alive: a death is then
     * noticed late (when the new process ends), never wrongly. */
    (void)stamp;
#endif
    return 1;
}

/* ------------------------------------------------------------ segments */

static pp_status pp__posix_sobj_wrap(pp__posix_sobj_seg *seg, size_t total, pp__plat_sobj **out)
{
    pp__plat_sobj *s = malloc(sizeof *s);
    if (s == NULL)
        return PP_ENOMEM;
    s->seg = seg;
    s->total = total;
    *out = s;
    return PP_OK;
}

pp_status pp__plat_sobj_create(const char *name, uint32_t kind, size_t state_size, const void *init,
                               pp__plat_sobj **out)
{
    pp__posix_sobj_seg *seg;
    size_t total;
    void *addr;
    pp_status st;

    if (out == NULL || kind == 0 || state_size == 0 || state_size > PP__PLAT_SOBJ_STATE_MAX)
        return PP_EINVAL;
    total = PP_POSIX_SOBJ_HDR + state_size;
    st = pp__posix_seg_create(name, total, &addr);
    if (st != PP_OK)
        return st;
    seg = addr;
    seg->hdr.magic = PP_POSIX_SOBJ_MAGIC;
    seg->hdr.version = PP_POSIX_SOBJ_VERSION;
    seg->hdr.size = (uint32_t)sizeof *seg;
    seg->kind = kind;
    seg->state_size = (uint64_t)state_size;
#ifdef PP_HAVE_ROBUST_MUTEX
    st = pp__posix_robust_mutex_init(&seg->mtx, 0);
#endif
    if (st == PP_OK && init != NULL)
        memcpy((char *)addr + PP_POSIX_SOBJ_HDR, init, state_size);
    if (st == PP_OK)
        st = pp__posix_sobj_wrap(seg, total, out);
    if (st != PP_OK) {
        pp__posix_seg_unmap(seg, total);
        (void)pp__posix_seg_unlink(name);
        return st;
    }
    pp__posix_seg_publish(&seg->hdr);
    return PP_OK;
}

pp_status pp__plat_sobj_open(const char *name, uint32_t kind, pp__plat_sobj **out)
{
    pp__posix_sobj_seg *seg;
    void *addr;
    size_t total;
    pp_status st;

    if (out == NULL)
        return PP_EINVAL;
    st = pp__posix_seg_open(name, PP_POSIX_SOBJ_MAGIC, PP_POSIX_SOBJ_VERSION,
                            (uint32_t)sizeof(pp__posix_sobj_seg), 0, PP_POSIX_SOBJ_HDR + 1, &addr,
                            &total);
    if (st != PP_OK)
        return st;
    seg = addr;
    if (seg->state_size == 0 || seg->state_size > (uint64_t)(total - PP_POSIX_SOBJ_HDR))
        st = PP_EINVAL;
    else if (kind != 0 && seg->kind != kind)
        st = PP_ETYPE;
    if (st == PP_OK)
        st = pp__posix_sobj_wrap(seg, total, out);
    if (st != PP_OK)
        pp__posix_seg_unmap(addr, total);
    return st;
}

void *pp__plat_sobj_state(const pp__plat_sobj *s)
{
    return (char *)s->seg + PP_POSIX_SOBJ_HDR;
}

size_t pp__plat_sobj_state_size(const pp__plat_sobj *s)
{
    return (size_t)s->seg->state_size;
}

uint32_t pp__plat_sobj_kind(const pp__plat_sobj *s)
{
    return s->seg->kind;
}

uint64_t pp__plat_sobj_id(const pp__plat_sobj *s)
{
    return s->seg->hdr.id;
}

void pp__plat_sobj_close(pp__plat_sobj *s)
{
    if (s == NULL)
        return;
    pp__posix_seg_unmap(s->seg, s->total);
    free(s);
}

pp_status pp__plat_sobj_unlink(const char *name)
{
    return pp__posix_seg_unlink(name);
}

/* ------------------------------------------------------------- backoff */
/* (the fallbacks of the state mutex and of the wake word) */
#if !defined(PP_HAVE_ROBUST_MUTEX) || !defined(PP_HAVE_FUTEX)

/* Sleep ns nanoseconds (EINTR ends it early: callers loop anyway). */
static void pp__posix_sobj_nap(long ns)
{
    struct timespec ts;
    ts.tv_sec = ns / 1000000000L;
    ts.tv_nsec = ns % 1000000000L;
    (void)nanosleep(&ts, NULL);
}

/* The next backoff step: 50 us doubling up to 2 ms. */
static long pp__posix_sobj_backoff(long ns)
{
    if (ns == 0)
        return 50000L;
    return ns >= 1000000L ? 2000000L : ns * 2;
}
#endif

/* ---------------------------------------------------------- state mutex */

#ifdef PP_HAVE_ROBUST_MUTEX

pp_status pp__plat_sobj_lock(pp__plat_sobj *s, int64_t timeout_ms)
{
    pthread_mutex_t *mtx = &s->seg->mtx;
    int e;

    if (timeout_ms == PP_INFINITE)
        e = pthread_mutex_lock(mtx);
    else if (timeout_ms <= 0)
        e = pthread_mutex_trylock(mtx);
    else
        e = pp__posix_mutex_timedlock(mtx, timeout_ms);
    switch (e) {
    case 0:
        return PP_OK;
    case EOWNERDEAD:
        e = pthread_mutex_consistent(mtx);
        if (e != 0) {
            (void)pthread_mutex_unlock(mtx);
            return pp__plat_fail(e);
        }
        pp__plat_set_os_error(EOWNERDEAD);
        return PP_EOWNERDEAD;
    case EBUSY:
    case ETIMEDOUT:
        return PP_ETIMEDOUT;
    default:
        return pp__plat_fail(e);
    }
}

void pp__plat_sobj_unlock(pp__plat_sobj *s)
{
    (void)pthread_mutex_unlock(&s->seg->mtx);
}

#else /* !PP_HAVE_ROBUST_MUTEX: the owner word */

/* One attempt: PP_OK (taken), PP_EOWNERDEAD (taken from a dead holder),
 * PP_EBUSY (a live holder). */
static pp_status pp__posix_sobj_try(pp__posix_sobj_seg *seg, uint64_t me, uint64_t stamp)
{
    uint64_t expect = 0;
    uint64_t holder_stamp;

    if (atomic_compare_exchange_strong(&seg->owner, &expect, me)) {
        atomic_store(&seg->owner_stamp, stamp);
        return PP_OK;
    }
    /* expect: the holder's pid. Its stamp (0 while it has not written it
     * yet: the pid alone is checked then). */
    holder_stamp = atomic_load(&seg->owner_stamp);
    if (atomic_load(&seg->owner) != expect)
        return PP_EBUSY; /* changed hands meanwhile: look again */
    if (pp__plat_proc_alive(expect, holder_stamp))
        return PP_EBUSY;
    if (!atomic_compare_exchange_strong(&seg->owner, &expect, me))
        return PP_EBUSY; /* another thief was first */
    atomic_store(&seg->owner_stamp, stamp);
    pp__plat_set_os_error(EOWNERDEAD);
    return PP_EOWNERDEAD;
}

pp_status pp__plat_sobj_lock(pp__plat_sobj *s, int64_t timeout_ms)
{
    int64_t deadline = timeout_ms < 0 ? INT64_MAX : pp__plat_deadline_ms(timeout_ms);
    uint64_t me, stamp;
    long nap = 0;
    int spins = 0;
    pp_status st;

    pp__plat_proc_self_stamp(&me, &stamp);
    for (;;) {
        st = pp__posix_sobj_try(s->seg, me, stamp);
        if (st != PP_EBUSY)
            return st;
        if (pp__plat_now_ms() >= deadline)
            return PP_ETIMEDOUT;
        if (spins < 100) {
            spins++;
            sched_yield();
            continue;
        }
        nap = pp__posix_sobj_backoff(nap);
        pp__posix_sobj_nap(nap);
    }
}

void pp__plat_sobj_unlock(pp__plat_sobj *s)
{
    atomic_store(&s->seg->owner_stamp, 0);
    atomic_store(&s->seg->owner, 0);
}

#endif /* PP_HAVE_ROBUST_MUTEX */

/* ------------------------------------------------------------ wake word */

uint32_t pp__plat_sobj_seq(const pp__plat_sobj *s)
{
    return atomic_load_explicit(&s->seg->word, memory_order_acquire);
}

#ifdef PP_HAVE_FUTEX

static long pp__posix_futex(_Atomic uint32_t *addr, int op, uint32_t val, const struct timespec *ts)
{
    return syscall(SYS_futex, (uint32_t *)addr, op, val, ts, NULL, 0);
}

pp_status pp__plat_sobj_wait(pp__plat_sobj *s, uint32_t seen, int64_t timeout_ms)
{
    pp__posix_sobj_seg *seg = s->seg;
    int64_t deadline = pp__plat_deadline_ms(timeout_ms);
    struct timespec ts;
    int64_t left;

    for (;;) {
        /* Counted before the word is checked (both sequentially
         * consistent): a waker that bumps the word after this check sees
         * the count and makes the system call. */
        atomic_fetch_add(&seg->waiters, 1);
        if (atomic_load(&seg->word) != seen)
            return PP_OK;
        left = deadline - pp__plat_now_ms();
        if (left <= 0)
            return PP_ETIMEDOUT;
        ts.tv_sec = (time_t)(left / 1000);
        ts.tv_nsec = (long)(left % 1000) * 1000000L;
        /* FUTEX_WAIT's timeout is relative. Returns when woken, on a
         * signal, at the timeout, or at once (EAGAIN) if the word moved. */
        if (pp__posix_futex(&seg->word, FUTEX_WAIT, seen, &ts) == 0)
            return PP_OK; /* woken: the caller re-checks */
    }
}

void pp__plat_sobj_wake(pp__plat_sobj *s)
{
    pp__posix_sobj_seg *seg = s->seg;

    atomic_fetch_add(&seg->word, 1);
    /* The waker takes the count: the wakes that follow while the woken
     * ones are still on their way make no system call (one per sleep,
     * not one per wake). A waiter never takes itself off: one that timed
     * out or saw the word move leaves a count that costs one useless
     * FUTEX_WAKE later, nothing worse. */
    if (atomic_load(&seg->waiters) != 0 && atomic_exchange(&seg->waiters, 0) != 0)
        (void)pp__posix_futex(&seg->word, FUTEX_WAKE, INT_MAX, NULL);
}

#else /* !PP_HAVE_FUTEX: polling */

pp_status pp__plat_sobj_wait(pp__plat_sobj *s, uint32_t seen, int64_t timeout_ms)
{
    int64_t deadline = pp__plat_deadline_ms(timeout_ms);
    long nap = 0;

    while (atomic_load_explicit(&s->seg->word, memory_order_acquire) == seen) {
        if (pp__plat_now_ms() >= deadline)
            return PP_ETIMEDOUT;
        nap = pp__posix_sobj_backoff(nap);
        pp__posix_sobj_nap(nap);
    }
    return PP_OK;
}

void pp__plat_sobj_wake(pp__plat_sobj *s)
{
    atomic_fetch_add(&s->seg->word, 1);
}

#endif /* PP_HAVE_FUTEX */
