/*
 * posix_misc.c — clocks, sleeping, ids, random bytes, CPU count, exit.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "posix_internal.h"

#ifdef PP_HAVE_GETRANDOM
#include <sys/random.h>
#endif

pp_status pp__plat_init(void)
{
    /* Objects of the port set themselves up lazily; only the resource
     * tracker's fork handler must be in place before any fork. */
    pp__posix_tracker_init();
    pp__posix_role_init();
    return PP_OK;
}

/* /proc/self/statm (Linux: pages resident now). Elsewhere getrusage's
 * ru_maxrss, the peak (KiB on the BSDs, bytes on macOS): an upper bound of
 * the current size, which is what a recycling limit needs. */
uint64_t pp__plat_self_rss(void)
{
#ifdef PP_HAVE_PROC_STATM
    unsigned long size = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    int n;

    if (f == NULL)
        return 0;
    n = fscanf(f, "%lu %lu", &size, &resident);
    fclose(f);
    return n == 2 ? (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE) : 0;
#else
    struct rusage ru;

    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
#if defined(__APPLE__)
    /* The unit is the system's own choice: bytes on macOS only. */
    return (uint64_t)ru.ru_maxrss;
#else
    return (uint64_t)ru.ru_maxrss * 1024u;
#endif
#endif
}

int pp__plat_cpu_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n >= 1 ? (int)n : 1;
}

/* /dev/urandom: the fallback where getrandom() is missing or refused
 * (old kernels, seccomp filters). */
static pp_status pp__posix_urandom(unsigned char *p, size_t n)
{
    int fd;
    do {
        fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return pp__plat_fail(errno);
    while (n > 0) {
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            int e = r < 0 ? errno : EIO;
            pp__posix_close(fd);
            return pp__plat_fail(e);
        }
        p += r;
        n -= (size_t)r;
    }
    pp__posix_close(fd);
    return PP_OK;
}

pp_status pp__plat_random(void *buf, size_t n)
{
    unsigned char *p = buf;
#ifdef PP_HAVE_GETRANDOM
    while (n > 0) {
        ssize_t r = getrandom(p, n, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            break; /* ENOSYS, EPERM (seccomp): try the device */
        p += r;
        n -= (size_t)r;
    }
    if (n == 0)
        return PP_OK;
#endif
    return pp__posix_urandom(p, n);
}

int64_t pp__plat_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void pp__plat_atfork_child(void (*fn)(void))
{
    (void)pthread_atfork(NULL, NULL, fn);
}

/* Blocks from this size on are asked for in transparent huge pages. */
#define HUGE_MIN ((size_t)2 * 1024 * 1024)

/* Where MAP_POPULATE exists (Linux) the block is mapped populated: one
 * system call fills every page instead of one page fault per 4 KiB, which
 * costs 10+ us each on a virtual machine (measured ~3x faster for 40 MB
 * on the bench machine). Blocks of 2 MiB and more are asked for in
 * transparent huge pages first (MADV_HUGEPAGE, then populated with
 * MADV_POPULATE_WRITE): a fresh 16 MiB block took 2-6 ms instead of
 * 11-20 ms on the bench machine, and every later pass over it is faster
 * (fewer TLB misses: a 16 MiB memset 1.5 ms instead of 4). A kernel that
 * refuses either advice gets the plain populated mapping. Elsewhere plain
 * anonymous memory. */
void *pp__plat_big_alloc(size_t n)
{
    int flags = MAP_PRIVATE | MAP_ANONYMOUS;
    void *p;

    if (n == 0)
        return NULL;
#if defined(PP_HAVE_MAP_POPULATE) && defined(MADV_HUGEPAGE) && defined(MADV_POPULATE_WRITE)
    if (n >= HUGE_MIN) {
        p = mmap(NULL, n, PROT_READ | PROT_WRITE, flags, -1, 0);
        if (p == MAP_FAILED)
            return NULL;
        if (madvise(p, n, MADV_HUGEPAGE) == 0 && madvise(p, n, MADV_POPULATE_WRITE) == 0)
            return p;
        (void)munmap(p, n);
    }
#endif
#ifdef PP_HAVE_MAP_POPULATE
    flags |= MAP_POPULATE;
#endif
    p = mmap(NULL, n, PROT_READ | PROT_WRITE, flags, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

/* The same in huge pages where the kernel gives them (one fault and one
 * zeroing per 2 MiB when first touched), not populated. */
void *pp__plat_big_alloc_lazy(size_t n)
{
    void *p;

    if (n == 0)
        return NULL;
    p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
#ifdef MADV_HUGEPAGE
    if (n >= HUGE_MIN)
        (void)madvise(p, n, MADV_HUGEPAGE); /* advice: without it, 4 KiB pages */
#endif
    return p;
}

void pp__plat_big_free(void *p, size_t n)
{
    if (p != NULL)
        (void)munmap(p, n);
}

/* MADV_POPULATE_WRITE (Linux 5.14+) on the whole pages inside the range:
 * one system call instead of a fault per page still unmapped (measured
 * 7.9 -> 6.6 ms for a fresh 8 MB malloc block on the bench machine). The
 * contents do not change; an old kernel (EINVAL) or a page that cannot
 * be written (EFAULT: the caller's copy faults as it would have) is
 * ignored. */
void pp__plat_prefault_write(void *p, size_t n)
{
#ifdef MADV_POPULATE_WRITE
    long pg = sysconf(_SC_PAGESIZE);
    uintptr_t page = pg > 0 ? (uintptr_t)pg : 4096;
    uintptr_t a = ((uintptr_t)p + page - 1) & ~(page - 1);
    uintptr_t e = ((uintptr_t)p + n) & ~(page - 1);

    if (p != NULL && e > a)
        (void)madvise((void *)a, e - a, MADV_POPULATE_WRITE);
#else
    (void)p;
    (void)n;
#endif
}

int64_t pp__plat_now_ms(void)
{
    return pp__plat_now_ns() / 1000000;
}

struct timespec pp__posix_deadline(clockid_t clk, int64_t timeout_ms)
{
    /* time_t is a signed integer type on every system we build on; 32 bits
     * on older 32-bit ABIs, where a CLOCK_REALTIME deadline runs out in
     * 2038 and a huge timeout would wrap into the past. */
    const time_t tmax = (time_t)(sizeof(time_t) >= sizeof(int64_t) ? INT64_MAX : INT32_MAX);
    struct timespec ts;
    int64_t sec;

    if (timeout_ms < 0)
        timeout_ms = 0;
    sec = timeout_ms / 1000;
    clock_gettime(clk, &ts);
    if (sec >= (int64_t)(tmax - ts.tv_sec)) {
        ts.tv_sec = tmax;
        ts.tv_nsec = 999999999L;
        return ts;
    }
    ts.tv_sec += (time_t)sec;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

void pp__plat_sleep_ms(int64_t ms)
{
    struct timespec ts;
    if (ms <= 0)
        return;
    ts.tv_sec = (time_t)(ms / 1000);
    ts.tv_nsec = (long)(ms % 1000) * 1000000;
    /* nanosleep leaves the unslept rest in ts: resume with it. */
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

uint64_t pp__plat_getpid(void)
{
    return (uint64_t)getpid();
}

/* Thread ids come from a process-wide counter rather than pthread_self()
 * (an opaque type, reused as soon as a thread is joined) or gettid()
 * (Linux only): ids are never reused, so an owner word naming a dead
 * thread can never match a live one. A forked child keeps the forking
 * thread's id, which is still unique there since it is the only thread. */
static atomic_uint_fast64_t pp__posix_next_tid = 1;
static _Thread_local uint64_t pp__posix_tid;

uint64_t pp__plat_thread_id(void)
{
    if (pp__posix_tid == 0)
        pp__posix_tid = (uint64_t)atomic_fetch_add(&pp__posix_next_tid, 1);
    return pp__posix_tid;
}

void pp__plat_flush_stdio(void)
{
    fflush(NULL);
}

/* The word is a plain uint64_t in the contract (shared memory laid out by
 * the core); C11 atomics apply to _Atomic objects, which on every ABI we
 * build for have the size and alignment of the plain type, and are lock-
 * free for 8 bytes (checked below), so they work across processes. */
_Static_assert(sizeof(_Atomic uint64_t) == sizeof(uint64_t), "atomic word layout");
/* A libatomic fallback (a lock local to the process) would not be atomic
 * between processes: the shm slots of shm.h and the workers' control
 * blocks need the hardware's 64-bit atomics. */
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "64-bit atomics must be lock-free");

uint64_t pp__plat_atomic_load64(volatile uint64_t *p)
{
    return atomic_load_explicit((volatile _Atomic uint64_t *)p, memory_order_acquire);
}

void pp__plat_atomic_store64(volatile uint64_t *p, uint64_t v)
{
    atomic_store_explicit((volatile _Atomic uint64_t *)p, v, memory_order_release);
}

int pp__plat_atomic_cas64(volatile uint64_t *p, uint64_t expect, uint64_t desired)
{
    return atomic_compare_exchange_strong((volatile _Atomic uint64_t *)p, &expect, desired);
}

/* state bit 1: SIGPIPE was blocked already; bit 2: one was pending
 * already (not ours to discard). */
int pp__plat_sigpipe_suspend(void)
{
    sigset_t pipe, old, pending;
    int state = 0;

    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    if (pthread_sigmask(SIG_BLOCK, &pipe, &old) != 0)
        return 1; /* nothing changed: nothing to restore */
    if (sigismember(&old, SIGPIPE))
        state |= 1;
    if (sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE))
        state |= 2;
    return state;
}

void pp__plat_sigpipe_resume(int state)
{
    sigset_t pipe, pending;

    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    if ((state & 2) == 0 && sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE)) {
        struct timespec zero = {0, 0};
        int e = errno;
        while (sigtimedwait(&pipe, NULL, &zero) < 0 && errno == EINTR)
            ;
        errno = e;
    }
    if ((state & 1) == 0)
        (void)pthread_sigmask(SIG_UNBLOCK, &pipe, NULL);
}

void pp__plat_exit(int code)
{
    /* _exit: a forked worker must not run the parent's atexit handlers or
     * flush stdio buffers it inherited; its own output is flushed here. */
    pp__plat_flush_stdio();
    _exit(code);
}

int pp__plat_default_start_method(void)
{
#if defined(__APPLE__)
    /* A system name on purpose: this is macOS's own behaviour, not a
     * feature to test for. Its system frameworks are not fork-safe without
     * exec (CPython made spawn the default there in 3.8 for the same
     * reason). */
    return PP__START_SPAWN;
#else
    return PP__START_FORK;
#endif
}
