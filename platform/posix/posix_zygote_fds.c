/*
 * posix_zygote_fds.c — the descriptors a new fork zygote closes: every
 * close-on-exec one it inherited, so that no copy of another pool's
 * channel or control socket lingers there (see posix_zygote.c).
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "posix_internal.h"

#ifdef PP_HAVE_SYS_CLOSE_RANGE
#include <sys/syscall.h>
#endif

/* Is fd close-on-exec and not one we keep? */
static int pp__posix_sweepable(int fd, int keep)
{
    int fl;
    if (fd <= 2 || fd == keep)
        return 0; /* stdio stays: a reused 0..2 would send prints into a socket */
    if (fd == pp__posix_tracker_fd())
        return 0; /* the parent's resource tracker also tracks names workers create */
    fl = fcntl(fd, F_GETFD);
    return fl >= 0 && (fl & FD_CLOEXEC);
}

#ifdef PP_HAVE_PROC_SELF_FD
/* List the open fds from /proc (the fd table can be huge: ulimit -n of a
 * million is common in containers). Returns 0, or -1 if /proc is absent. */
static int pp__posix_sweep_proc(int keep)
{
    DIR *d = opendir("/proc/self/fd");
    int *fds = NULL;
    size_t n = 0, cap = 0, i;
    struct dirent *de;

    if (d == NULL)
        return -1;
    while ((de = readdir(d)) != NULL) {
        int fd;
        if (de->d_name[0] < '0' || de->d_name[0] > '9')
            continue;
        fd = atoi(de->d_name);
        if (fd == dirfd(d) || !pp__posix_sweepable(fd, keep))
            continue;
        if (n == cap) {
            int *nf = realloc(fds, (cap = cap ? cap * 2 : 64) * sizeof *fds);
            if (nf == NULL)
                break; /* best effort */
            fds = nf;
        }
        fds[n++] = fd;
    }
    closedir(d);
    for (i = 0; i < n; i++)
        pp__posix_close(fds[i]);
    free(fds);
    return 0;
}
#endif

/* Close the close-on-exec descriptors the zygote inherited: procpool's
 * own (other pools' channels and control sockets, whose EOF must not be
 * held up by a copy here) are all close-on-exec. Descriptors the program
 * opened without close-on-exec are inherited by workers, as with
 * Python's fork start method; so are none of the close-on-exec ones,
 * except the resource tracker's socket (posix_tracker.c): names the
 * workers create are tracked by the parent's tracker, which then waits
 * for the zygote and its workers too (they end with the parent). */
static void pp__posix_sweep_fds(int keep)
{
    long max;
    int fd;
#ifdef PP_HAVE_PROC_SELF_FD
    if (pp__posix_sweep_proc(keep) == 0)
        return;
#endif
    max = sysconf(_SC_OPEN_MAX);
    if (max < 0 || max > 65536)
        max = 65536;
    for (fd = 3; fd < max; fd++) {
        if (pp__posix_sweepable(fd, keep))
            pp__posix_close(fd);
    }
}

/*
 * The same sweep, planned by the parent (Linux): listing /proc/self/fd in
 * a process that has just been forked is slow (90-250 us of the zygote's
 * start, which a fork pool's first workers wait for: the kernel builds
 * the new pid's /proc entries), while the parent's listing is warm (~20
 * us after its first). So the parent lists what the zygote keeps (its
 * descriptors without close-on-exec) right before it forks, and the
 * zygote closes everything else with close_range() over the gaps, which
 * needs no listing at all. Another thread of the parent may open or close
 * descriptors between the listing and the fork: one opened then without
 * close-on-exec is closed in the zygote (as if it had been opened just
 * after the fork: the order of two threads' calls is not defined anyway);
 * one listed, closed then and its number reused with close-on-exec is
 * found by the check at the end (F_GETFD on each listed descriptor, in the
 * zygote), so no close-on-exec descriptor is ever inherited. Elsewhere,
 * or if close_range() fails (ENOSYS: Linux < 5.9), the zygote sweeps on
 * its own (pp__posix_sweep_fds).
 */
#if defined(PP_HAVE_PROC_SELF_FD) && defined(PP_HAVE_SYS_CLOSE_RANGE)
void pp__posix_fdkeep_make(pp__posix_fdkeep *k)
{
    DIR *d;
    struct dirent *de;
    size_t cap = 0;

    memset(k, 0, sizeof *k);
    d = opendir("/proc/self/fd");
    if (d == NULL)
        return;
    while ((de = readdir(d)) != NULL) {
        int fd, fl;
        if (de->d_name[0] < '0' || de->d_name[0] > '9')
            continue;
        fd = atoi(de->d_name);
        if (fd <= 2 || fd == dirfd(d))
            continue;
        fl = fcntl(fd, F_GETFD);
        if (fl < 0 || (fl & FD_CLOEXEC))
            continue;
        if (k->n == cap) {
            int *nf = realloc(k->fds, (cap = cap ? cap * 2 : 16) * sizeof *nf);
            if (nf == NULL) {
                closedir(d);
                pp__posix_fdkeep_free(k);
                return;
            }
            k->fds = nf;
        }
        k->fds[k->n++] = fd;
    }
    closedir(d);
    k->ok = 1;
}

static int pp__posix_int_cmp(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* Close [lo, hi]. 0, or -1 if close_range is refused. */
static int pp__posix_close_span(int lo, unsigned hi)
{
    return syscall(SYS_close_range, (unsigned)lo, hi, 0u) == 0 ? 0 : -1;
}

/* In the new zygote: close every descriptor from 3 up except the listed
 * ones, keep and the tracker's, then the listed ones that are
 * close-on-exec here. Returns 0, or -1 (nothing or only some closed: the
 * caller sweeps). */
static int pp__posix_sweep_planned(pp__posix_fdkeep *k, int keep)
{
    int extra[2], lo = 3;
    size_t i;

    if (k == NULL || !k->ok)
        return -1;
    extra[0] = keep;
    extra[1] = pp__posix_tracker_fd();
    for (i = 0; i < 2; i++) { /* the list is our own copy of the parent's */
        int *nf;
        if (extra[i] < 3)
            continue;
        nf = realloc(k->fds, (k->n + 1) * sizeof *nf);
        if (nf == NULL)
            return -1;
        k->fds = nf;
        k->fds[k->n++] = extra[i];
    }
    qsort(k->fds, k->n, sizeof *k->fds, pp__posix_int_cmp);
    for (i = 0; i < k->n; i++) {
        int fd = k->fds[i];
        if (fd < lo)
            continue; /* a duplicate */
        if (fd > lo && pp__posix_close_span(lo, (unsigned)fd - 1) < 0)
            return -1;
        lo = fd + 1;
    }
    if (pp__posix_close_span(lo, ~0u) < 0)
        return -1;
    for (i = 0; i < k->n; i++) {
        if (pp__posix_sweepable(k->fds[i], keep))
            pp__posix_close(k->fds[i]);
    }
    return 0;
}
#else
void pp__posix_fdkeep_make(pp__posix_fdkeep *k)
{
    memset(k, 0, sizeof *k); /* the zygote sweeps on its own */
}

static int pp__posix_sweep_planned(pp__posix_fdkeep *k, int keep)
{
    (void)k;
    (void)keep;
    return -1;
}
#endif

void pp__posix_fdkeep_free(pp__posix_fdkeep *k)
{
    free(k->fds);
    memset(k, 0, sizeof *k);
}

void pp__posix_zygote_sweep(pp__posix_fdkeep *keep, int ctl)
{
    if (pp__posix_sweep_planned(keep, ctl) < 0)
        pp__posix_sweep_fds(ctl);
}
