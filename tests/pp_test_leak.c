/*
 * pp_test_leak.c — what a test must leave behind: nothing.
 *
 * A snapshot is taken in the test's own process (pp_tests --run) right
 * before the test, and compared right after it:
 *
 *                      Linux            other POSIX (macOS)   Windows
 *  named shm objects   /dev/shm         no-op (1)             no-op (2)
 *  fds / handles       /proc/self/fd    fcntl scan            no-op (3)
 *  child processes     /proc/<pid>/stat no-op (4)             Toolhelp32 snapshot
 *
 *  (1) POSIX has no call to list shm objects, and macOS has no /dev/shm.
 *  (2) Windows named objects (mutexes, file mappings) have no file-system
 *      presence: they vanish with their last handle, so a process that
 *      exits cannot leave one behind; the lock tests check that a
 *      destroyed name is gone with pp_lock_open() (PP_ENOENT) instead.
 *  (3) GetProcessHandleCount() also counts handles the system creates
 *      lazily inside the process (thread pool, loader, console, the
 *      first CreateProcess), so a before/after difference does not mean
 *      that the test leaked a handle.
 *  (4) macOS needs libproc (proc_listchildpids) for this; not done yet.
 *
 * On Linux only new /dev/shm entries whose name contains "-<pid>-" of the
 * test process count: other test processes (meson runs suites in
 * parallel) and other programs create entries at the same time. Every
 * name the tests and the library generate carries the creator's pid.
 */
#include <apr_general.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#include <windows.h>
#include <tlhelp32.h>
#else
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>
#endif

#include "pp_test.h"

#define MAX_FDS  1024
#define MAX_KIDS 256

typedef struct name_list {
    char **names;
    int n;
} name_list;

struct pp_test_snapshot {
    name_list shm;
    int fds[MAX_FDS];
    int nfds;
    long kids[MAX_KIDS];
    int nkids;
};

/* ------------------------------------------------------------- names */

static void names_free(name_list *l)
{
    int i;

    for (i = 0; i < l->n; i++)
        free(l->names[i]);
    free(l->names);
    l->names = NULL;
    l->n = 0;
}

static int int_in(const int *v, int n, int x)
{
    int i;

    for (i = 0; i < n; i++) {
        if (v[i] == x)
            return 1;
    }
    return 0;
}

static int long_in(const long *v, int n, long x)
{
    int i;

    for (i = 0; i < n; i++) {
        if (v[i] == x)
            return 1;
    }
    return 0;
}

/* ---------------------------------------------------------- /dev/shm */

#if defined(__linux__)
static void names_add(name_list *l, const char *name)
{
    char **grown = realloc(l->names, (size_t)(l->n + 1) * sizeof *grown);

    if (grown == NULL)
        return;
    l->names = grown;
    l->names[l->n] = malloc(strlen(name) + 1);
    if (l->names[l->n] != NULL)
        strcpy(l->names[l->n++], name);
}

static int names_has(const name_list *l, const char *name)
{
    int i;

    for (i = 0; i < l->n; i++) {
        if (strcmp(l->names[i], name) == 0)
            return 1;
    }
    return 0;
}

static void shm_list(name_list *out)
{
    DIR *d = opendir("/dev/shm");
    struct dirent *e;

    if (d == NULL)
        return;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            names_add(out, e->d_name);
    }
    closedir(d);
}

static int shm_check(const name_list *before)
{
    name_list now = {NULL, 0};
    const char *token = pp_test_pid_token();
    int i, leaks = 0;

    shm_list(&now);
    for (i = 0; i < now.n; i++) {
        if (strstr(now.names[i], token) != NULL && !names_has(before, now.names[i])) {
            fprintf(stdout, "  leak: /dev/shm/%s created by the test is still there\n",
                    now.names[i]);
            leaks++;
        }
    }
    names_free(&now);
    return leaks;
}

int pp_test_shm_cleanup_pid(int64_t pid)
{
    name_list now = {NULL, 0};
    char token[32], path[300];
    int i, n = 0;

    snprintf(token, sizeof token, "-%lld-", (long long)pid);
    shm_list(&now);
    for (i = 0; i < now.n; i++) {
        if (strstr(now.names[i], token) == NULL)
            continue;
        snprintf(path, sizeof path, "/dev/shm/%s", now.names[i]);
        if (unlink(path) == 0) {
            printf("  cleanup: removed /dev/shm/%s left by test process %lld\n", now.names[i],
                   (long long)pid);
            n++;
        }
    }
    names_free(&now);
    return n;
}
#else
static void shm_list(name_list *out)
{
    (void)out; /* no-op: see (1), (2) above */
}

int pp_test_shm_cleanup_pid(int64_t pid)
{
    (void)pid;
    return 0;
}

static int shm_check(const name_list *before)
{
    (void)before;
    return 0;
}
#endif

/* --------------------------------------------------------------- fds */

#if defined(__linux__)
static int fd_list(int *fds, int cap)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int n = 0, self;

    if (d == NULL)
        return 0;
    self = dirfd(d);
    while ((e = readdir(d)) != NULL && n < cap) {
        if (e->d_name[0] != '.' && atoi(e->d_name) != self)
            fds[n++] = atoi(e->d_name);
    }
    closedir(d);
    return n;
}

static void fd_describe(int fd, char *buf, size_t cap)
{
    char path[64];
    ssize_t n;

    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    n = readlink(path, buf, cap - 1);
    buf[n > 0 ? n : 0] = '\0';
}
#elif !defined(_WIN32)
static int fd_list(int *fds, int cap)
{
    int fd, n = 0;

    for (fd = 0; fd < MAX_FDS && n < cap; fd++) {
        if (fcntl(fd, F_GETFD) != -1)
            fds[n++] = fd;
    }
    return n;
}

static void fd_describe(int fd, char *buf, size_t cap)
{
#ifdef F_GETPATH /* macOS, the BSDs that have it */
    char path[1024];
    if (fcntl(fd, F_GETPATH, path) != -1) {
        snprintf(buf, cap, "%s", path);
        return;
    }
#endif
    (void)fd;
    snprintf(buf, cap, "?");
}
#else
static int fd_list(int *fds, int cap)
{
    (void)fds;
    (void)cap;
    return 0; /* no-op: see (3) above */
}

static void fd_describe(int fd, char *buf, size_t cap)
{
    (void)fd;
    snprintf(buf, cap, "?");
}
#endif

/* The lock file of a named lock where the system has no robust mutexes
 * (platform/posix/posix_flock.c: "/tmp/procpool-<uid>/<name>.lock"): it is
 * the lock's object, as the shared mapping is the robust mutex's (not
 * counted either), and lives as long as the lock does in this process —
 * for a lock resolved from a values tuple, until pp_shutdown (the core's
 * named cache). A name left behind is still caught by the shm check. */
static int is_lock_file(const char *what)
{
    const char *dot = strstr(what, ".lock");
    return strncmp(what, "/tmp/procpool-", 14) == 0 && dot != NULL &&
           (dot[5] == '\0' || strcmp(dot + 5, " (deleted)") == 0);
}

static int fd_check(const int *before, int nbefore)
{
    int now[MAX_FDS];
    int i, n = fd_list(now, MAX_FDS), leaks = 0;
    char what[512];

    for (i = 0; i < n; i++) {
        if (!int_in(before, nbefore, now[i])) {
            fd_describe(now[i], what, sizeof what);
            if (is_lock_file(what))
                continue;
            fprintf(stdout, "  leak: fd %d (%s) opened by the test is still open\n", now[i], what);
            leaks++;
        }
    }
    return leaks;
}

/* ---------------------------------------------------------- children */

#if defined(__linux__)
/* Children of this process, from the ppid field of /proc/<pid>/stat
 * (works without CONFIG_PROC_CHILDREN; zombies count: unreaped is a leak). */
static int kid_list(long *kids, int cap, int verbose)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    char path[300], stat[512], *rp;
    long ppid, me = (long)getpid();
    FILE *f;
    int n = 0;

    if (d == NULL)
        return 0;
    while ((e = readdir(d)) != NULL && n < cap) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        f = fopen(path, "r");
        if (f == NULL)
            continue;
        stat[0] = '\0';
        if (fgets(stat, sizeof stat, f) == NULL)
            stat[0] = '\0';
        fclose(f);
        rp = strrchr(stat, ')'); /* comm may contain spaces and parens */
        if (rp == NULL || sscanf(rp + 1, " %*c %ld", &ppid) != 1 || ppid != me)
            continue;
        kids[n++] = atol(e->d_name);
        if (verbose == 2)
            fprintf(stdout, "  child: %s", stat);
    }
    closedir(d);
    return n;
}
#elif defined(_WIN32)
static int created_after_me(DWORD pid)
{
    FILETIME mine[4], theirs[4];
    HANDLE h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, pid);
    int after = 1;

    if (h == NULL)
        return 1;
    if (GetProcessTimes(GetCurrentProcess(), &mine[0], &mine[1], &mine[2], &mine[3]) &&
        GetProcessTimes(h, &theirs[0], &theirs[1], &theirs[2], &theirs[3]))
        after = CompareFileTime(&theirs[0], &mine[0]) >= 0;
    CloseHandle(h);
    return after;
}

/* Processes whose parent id is ours and that started after us (Windows
 * recycles ids, and a parent id is never updated). */
static int kid_list(long *kids, int cap, int verbose)
{
    HANDLE snap = CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0);
    PROCESSENTRY32 pe;
    DWORD me = GetCurrentProcessId();
    int n = 0;

    if (snap == INVALID_HANDLE_VALUE)
        return 0;
    pe.dwSize = sizeof pe;
    if (Process32First(snap, &pe)) {
        do {
            if (pe.th32ParentProcessID == me && pe.th32ProcessID != me &&
                created_after_me(pe.th32ProcessID) && n < cap) {
                kids[n++] = (long)pe.th32ProcessID;
                if (verbose == 2)
                    fprintf(stdout, "  child: pid %lu\n", (unsigned long)pe.th32ProcessID);
            }
        } while (Process32Next(snap, &pe));
    }
    CloseHandle(snap);
    return n;
}
#else
static int kid_list(long *kids, int cap, int verbose)
{
    (void)kids;
    (void)cap;
    (void)verbose;
    return 0; /* no-op: see (4) above */
}
#endif

static int kid_check(const long *before, int nbefore)
{
    long now[MAX_KIDS];
    int i, n, leaks = 0;

    /* A child the test killed or waited for can take a moment to vanish
     * from the process table (Windows); give it a short grace period. */
    for (i = 0; i < 50; i++) {
        n = kid_list(now, MAX_KIDS, 0);
        if (n <= nbefore)
            break;
        apr_sleep(20000);
    }
    for (i = 0; i < n; i++) {
        if (!long_in(before, nbefore, now[i])) {
            fprintf(stdout,
                    "  leak: child process %ld of the test is still there "
                    "(running or not reaped)\n",
                    now[i]);
            leaks++;
        }
    }
    if (leaks > 0)
        kid_list(now, MAX_KIDS, 2);
    return leaks;
}

/* ------------------------------------------------------------ public */

pp_test_snapshot *pp_test_snapshot_take(void)
{
    pp_test_snapshot *s = calloc(1, sizeof *s);

    if (s == NULL)
        return NULL;
    shm_list(&s->shm);
    s->nfds = fd_list(s->fds, MAX_FDS);
    s->nkids = kid_list(s->kids, MAX_KIDS, 0);
    return s;
}

int pp_test_snapshot_check(pp_test_snapshot *before)
{
    int leaks = 0;

    if (before == NULL)
        return 0;
    leaks += shm_check(&before->shm);
    leaks += fd_check(before->fds, before->nfds);
    leaks += kid_check(before->kids, before->nkids);
    names_free(&before->shm);
    free(before);
    return leaks;
}
