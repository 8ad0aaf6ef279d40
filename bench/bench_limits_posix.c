/*
 * bench_limits_posix.c — the physical references of bench_limits.h on
 * POSIX: pipe, fork, posix_spawn, a robust PTHREAD_PROCESS_SHARED mutex in
 * a shared anonymous mapping, /proc/self/status for peak memory (Linux).
 * Benchmarks only.
 */
#if !defined(_GNU_SOURCE)
#define _GNU_SOURCE /* MAP_ANONYMOUS, robust mutexes, posix_spawn */
#endif

#include "bench_limits.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "procpool/clock.h"

extern char **environ;

#define MODE_EXIT     "--bench-limit-exit"
#define READY_WAIT_MS 60000

static const char *g_argv0 = "";

static const char *self_path(void)
{
#if defined(__linux__)
    return "/proc/self/exe";
#else
    return g_argv0;
#endif
}

int bl_child_main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], MODE_EXIT) == 0)
        return 0;
    g_argv0 = argc > 0 ? argv[0] : "";
    return -1;
}

static int wait_ok(pid_t pid)
{
    int status = 0;
    pid_t r;

    do {
        r = waitpid(pid, &status, 0);
    } while (r < 0 && errno == EINTR);
    return r == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

double bl_pipe_roundtrip_us(int n, const char **why)
{
    int up[2], down[2], i, ok = 1;
    int64_t t0 = 0, dt;
    char c = 'x';
    pid_t pid;

    if (pipe(up) != 0) {
        *why = "pipe() failed";
        return 0;
    }
    if (pipe(down) != 0) {
        close(up[0]);
        close(up[1]);
        *why = "pipe() failed";
        return 0;
    }
    pid = fork();
    if (pid == 0) { /* the echo: async-signal-safe calls only */
        close(up[1]);
        close(down[0]);
        while (read(up[0], &c, 1) == 1 && write(down[1], &c, 1) == 1)
            ;
        _exit(0);
    }
    close(up[0]);
    close(down[1]);
    if (pid < 0) {
        close(up[1]);
        close(down[0]);
        *why = "fork() failed";
        return 0;
    }
    for (i = -n / 10; i < n && ok; i++) { /* the first tenth warms up */
        if (i == 0)
            t0 = pp_monotonic_ns();
        ok = write(up[1], &c, 1) == 1 && read(down[0], &c, 1) == 1;
    }
    dt = pp_monotonic_ns() - t0;
    close(up[1]); /* the echo reads EOF and exits */
    close(down[0]);
    if (!wait_ok(pid) || !ok) {
        *why = "the echo process failed";
        return 0;
    }
    return (double)dt / 1e3 / n;
}

double bl_fork_exit_wait_us(int n, const char **why)
{
    int64_t t0 = pp_monotonic_ns();
    int i;

    for (i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid == 0)
            _exit(0);
        if (pid < 0 || !wait_ok(pid)) {
            *why = "fork() failed";
            return 0;
        }
    }
    return (double)(pp_monotonic_ns() - t0) / 1e3 / n;
}

double bl_spawn_exit_wait_us(int n, const char **why)
{
    char *args[3];
    int64_t t0;
    int i;

    args[0] = (char *)g_argv0;
    args[1] = (char *)MODE_EXIT;
    args[2] = NULL;
    t0 = pp_monotonic_ns();
    for (i = 0; i < n; i++) {
        pid_t pid;
        if (posix_spawn(&pid, self_path(), NULL, NULL, args, environ) != 0 || !wait_ok(pid)) {
            *why = "posix_spawn() of this program failed";
            return 0;
        }
    }
    return (double)(pp_monotonic_ns() - t0) / 1e3 / n;
}

#if defined(__APPLE__)
double bl_mutex_pairs_per_s(int64_t pairs, int runs, const char **why)
{
    (void)pairs;
    (void)runs;
    *why = "no robust pthread mutexes on macOS";
    return 0;
}

double bl_mutex_contended_incr_per_s(int nproc, int64_t incr, int runs, const char **why)
{
    (void)nproc;
    (void)incr;
    (void)runs;
    *why = "no robust pthread mutexes on macOS";
    return 0;
}
#else
typedef struct mx_shared {
    pthread_mutex_t mu;
    atomic_int ready;
    int64_t counter; /* under mu */
} mx_shared;

static mx_shared *mx_create(void)
{
    pthread_mutexattr_t a;
    mx_shared *s = mmap(NULL, sizeof *s, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

    if (s == MAP_FAILED)
        return NULL;
    memset(s, 0, sizeof *s);
    atomic_init(&s->ready, 0);
    if (pthread_mutexattr_init(&a) != 0 ||
        pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED) != 0 ||
        pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST) != 0 ||
        pthread_mutex_init(&s->mu, &a) != 0) {
        munmap(s, sizeof *s);
        return NULL;
    }
    pthread_mutexattr_destroy(&a);
    return s;
}

static void mx_destroy(mx_shared *s)
{
    pthread_mutex_destroy(&s->mu);
    munmap(s, sizeof *s);
}

static int mx_lock(mx_shared *s)
{
    int rc = pthread_mutex_lock(&s->mu);
    if (rc == EOWNERDEAD)
        rc = pthread_mutex_consistent(&s->mu);
    return rc == 0;
}

static int mx_unlock(mx_shared *s)
{
    return pthread_mutex_unlock(&s->mu) == 0;
}

double bl_mutex_pairs_per_s(int64_t pairs, int runs, const char **why)
{
    mx_shared *s = mx_create();
    int64_t best = INT64_MAX;
    int r;

    if (s == NULL) {
        *why = "no robust process-shared mutex";
        return 0;
    }
    for (r = 0; r < runs; r++) {
        int64_t t0 = pp_monotonic_ns(), dt, i;
        for (i = 0; i < pairs; i++) {
            if (!mx_lock(s) || !mx_unlock(s)) {
                mx_destroy(s);
                *why = "pthread_mutex_lock/unlock failed";
                return 0;
            }
        }
        dt = pp_monotonic_ns() - t0;
        if (dt < best)
            best = dt;
    }
    mx_destroy(s);
    return (double)pairs * 1e9 / (double)(best > 0 ? best : 1);
}

/* One run; the wall time in ns, 0 with *why on failure. */
static int64_t mx_contended_run(mx_shared *s, int nproc, int64_t incr, const char **why)
{
    pid_t pids[64];
    int64_t t0, dt, waited;
    int i, started = 0, ok = 1;

    s->counter = 0;
    atomic_store(&s->ready, 0);
    if (!mx_lock(s)) { /* the starting gate */
        *why = "pthread_mutex_lock failed";
        return 0;
    }
    for (i = 0; i < nproc; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            int64_t k;
            atomic_fetch_add(&s->ready, 1);
            for (k = 0; k < incr; k++) {
                if (!mx_lock(s))
                    _exit(3);
                s->counter++;
                if (!mx_unlock(s))
                    _exit(4);
            }
            _exit(0);
        }
        if (pid < 0) {
            ok = 0;
            break;
        }
        pids[started++] = pid;
    }
    for (waited = 0; ok && atomic_load(&s->ready) < started; waited++) {
        if (waited > READY_WAIT_MS)
            ok = 0;
        else
            pp_sleep_ms(1);
    }
    t0 = pp_monotonic_ns();
    mx_unlock(s);
    for (i = 0; i < started; i++)
        ok = wait_ok(pids[i]) && ok;
    dt = pp_monotonic_ns() - t0;
    if (!ok) {
        *why = "a contender failed (fork, lock, or not ready in 60 s)";
        return 0;
    }
    if (s->counter != (int64_t)nproc * incr) {
        *why = "the raw mutex did not exclude (wrong counter)";
        return 0;
    }
    return dt > 0 ? dt : 1;
}

double bl_mutex_contended_incr_per_s(int nproc, int64_t incr, int runs, const char **why)
{
    mx_shared *s;
    int64_t best = INT64_MAX;
    int r;

    if (nproc < 1 || nproc > 64) {
        *why = "1 to 64 contenders";
        return 0;
    }
    if ((s = mx_create()) == NULL) {
        *why = "no robust process-shared mutex";
        return 0;
    }
    for (r = 0; r < runs; r++) {
        int64_t dt = mx_contended_run(s, nproc, incr, why);
        if (dt == 0) {
            mx_destroy(s);
            return 0;
        }
        if (dt < best)
            best = dt;
    }
    mx_destroy(s);
    return (double)nproc * (double)incr * 1e9 / (double)best;
}
#endif /* robust mutexes */

/* ---------------------------------------------------------------- memory */

#if defined(__linux__)
static int64_t status_kb(const char *field)
{
    char line[256];
    size_t len = strlen(field);
    int64_t kb = -1;
    FILE *f = fopen("/proc/self/status", "r");

    if (f == NULL)
        return -1;
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, field, len) == 0) {
            kb = strtoll(line + len, NULL, 10);
            break;
        }
    }
    fclose(f);
    return kb;
}

void bl_mem_reset_peak(void)
{
    int fd = open("/proc/self/clear_refs", O_WRONLY);
    if (fd >= 0) {
        /* "5": reset the peak resident set size to the current one */
        if (write(fd, "5", 1) != 1) {
            /* an old kernel: the peak stays the process's since its start */
        }
        close(fd);
    }
}

int64_t bl_mem_begin(const char **why)
{
    int64_t kb;
#if defined(__GLIBC__)
    malloc_trim(0);
#endif
    bl_mem_reset_peak();
    kb = status_kb("VmRSS:");
    if (kb < 0)
        *why = "no VmRSS in /proc/self/status";
    return kb < 0 ? -1 : kb * 1024;
}

int64_t bl_mem_peak(const char **why)
{
    int64_t kb = status_kb("VmHWM:");
    if (kb < 0)
        *why = "no VmHWM in /proc/self/status";
    return kb < 0 ? -1 : kb * 1024;
}
#else
void bl_mem_reset_peak(void)
{
}

int64_t bl_mem_begin(const char **why)
{
    *why = "the resident set is read on Linux and Windows only";
    return -1;
}

int64_t bl_mem_peak(const char **why)
{
    *why = "the resident set is read on Linux and Windows only";
    return -1;
}
#endif
