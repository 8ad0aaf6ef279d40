/*
 * posix_spawn.c — start a fresh copy of the program's own image
 * (fork + exec) with a role marker and one inherited descriptor.
 *
 * Between fork and exec the child of a multi-threaded parent may only make
 * async-signal-safe calls, so everything it needs (argv, paths, masks) is
 * prepared before fork, and failures are reported through a close-on-exec
 * pipe: EOF means exec succeeded, an int means it failed with that errno.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "posix_internal.h"

#ifdef PP_HAVE_SYS_CLOSE_RANGE
#include <sys/syscall.h>
#endif

#ifndef NSIG
#define NSIG 65
#endif

typedef struct pp__posix_spawn_ctx {
    char **argv;
    const char *fallback; /* exe path if /proc/self/exe fails */
    int child_fd;         /* to be placed on PP_POSIX_CHILD_FD */
    int err_fd;           /* write end of the error pipe */
    int flags;            /* PP_POSIX_SPAWN_* */
    int max_fd;           /* close() loop bound where no closefrom/close_range */
    pid_t parent;
    sigset_t mask; /* the caller's mask, restored before exec */
} pp__posix_spawn_ctx;

/* Report errno to the parent and die. */
_Noreturn static void pp__posix_child_fail(int err_fd)
{
    int e = errno;
    ssize_t n;
    do {
        n = write(err_fd, &e, sizeof e);
    } while (n < 0 && errno == EINTR);
    _exit(127);
}

/* Default dispositions everywhere, so no handler of the parent can run in
 * the child and the new image starts clean; SIGINT stays ignored because
 * every process we spawn is a worker or a fork server, and a Ctrl-C
 * arriving before the new image reaches its own setup must not kill it
 * (an ignored disposition survives exec). */
static void pp__posix_child_signals(void)
{
    struct sigaction sa;
    int sig;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    sigemptyset(&sa.sa_mask);
    for (sig = 1; sig < NSIG; sig++) {
        if (sig != SIGKILL && sig != SIGSTOP)
            (void)sigaction(sig, &sa, NULL); /* EINVAL for libc-reserved ones */
    }
    sa.sa_handler = SIG_IGN;
    (void)sigaction(SIGINT, &sa, NULL);
}

/* Put child_fd on PP_POSIX_CHILD_FD without close-on-exec, making sure
 * the error pipe does not sit on that number. */
static void pp__posix_child_fds(pp__posix_spawn_ctx *c)
{
    if (c->err_fd == PP_POSIX_CHILD_FD) {
        int moved = fcntl(c->err_fd, F_DUPFD_CLOEXEC, PP_POSIX_CHILD_FD + 1);
        if (moved < 0)
            _exit(127); /* cannot even report */
        c->err_fd = moved;
    }
    if (c->child_fd == PP_POSIX_CHILD_FD) {
        if (fcntl(c->child_fd, F_SETFD, 0) < 0)
            pp__posix_child_fail(c->err_fd);
    } else if (dup2(c->child_fd, PP_POSIX_CHILD_FD) < 0) {
        /* dup2 clears close-on-exec on the copy; the original closes at exec */
        pp__posix_child_fail(c->err_fd);
    }
    /* The error pipe goes right above, so one range closes the rest. */
    if (c->err_fd != PP_POSIX_CHILD_FD + 1) {
        if (dup2(c->err_fd, PP_POSIX_CHILD_FD + 1) < 0 ||
            fcntl(PP_POSIX_CHILD_FD + 1, F_SETFD, FD_CLOEXEC) < 0)
            pp__posix_child_fail(c->err_fd);
        c->err_fd = PP_POSIX_CHILD_FD + 1;
    }
}

/* stdin, stdout and stderr on /dev/null (PP_POSIX_SPAWN_NULL_STDIO): a
 * process that must not read the program's input, write into its output,
 * or keep a pipe the program's output goes to open. No close-on-exec on
 * the copies; the spare descriptor (above the error pipe) goes with the
 * rest. Async-signal-safe. */
static void pp__posix_child_null_stdio(const pp__posix_spawn_ctx *c)
{
    int fd = open("/dev/null", O_RDWR), i;
    if (fd < 0)
        pp__posix_child_fail(c->err_fd);
    for (i = 0; i <= 2; i++) {
        if (fd != i && dup2(fd, i) < 0)
            pp__posix_child_fail(c->err_fd);
    }
}

/* A spawned process gets stdio and its one descriptor, nothing else: the
 * program's descriptors without close-on-exec are not passed on (as
 * Python's spawn does, and as the Windows port's explicit handle list
 * does). Async-signal-safe: close_range/closefrom, else a close() loop. */
static void pp__posix_child_close_rest(const pp__posix_spawn_ctx *c)
{
    int fd = PP_POSIX_CHILD_FD + 2;
#ifdef PP_HAVE_SYS_CLOSE_RANGE
    if (syscall(SYS_close_range, (unsigned)fd, ~0u, 0u) == 0)
        return; /* Linux >= 5.9; ENOSYS before */
#elif defined(PP_HAVE_CLOSEFROM)
    closefrom(fd);
    return;
#endif
    for (; fd < c->max_fd; fd++)
        (void)close(fd);
}

/* Loop bound for the fallback above, computed before fork (getrlimit is
 * not on the async-signal-safe list). Capped: a limit of millions would
 * cost a second of close() calls per worker. */
static int pp__posix_max_fd(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > 65536)
        return 65536;
    return (int)rl.rlim_cur;
}

_Noreturn static void pp__posix_child(pp__posix_spawn_ctx *c)
{
    pp__posix_child_signals();
    if (c->flags & PP_POSIX_SPAWN_PDEATH)
        pp__posix_die_with_parent(c->parent);
    pp__posix_child_fds(c);
    if (c->flags & PP_POSIX_SPAWN_NULL_STDIO)
        pp__posix_child_null_stdio(c);
    pp__posix_child_close_rest(c);
    (void)sigprocmask(SIG_SETMASK, &c->mask, NULL);
#ifdef PP_HAVE_PROC_SELF_EXE
    execv("/proc/self/exe", c->argv);
#endif
    if (c->fallback != NULL)
        execv(c->fallback, c->argv);
    pp__posix_child_fail(c->err_fd);
}

/* [argv0, marker, argv1..., NULL]; marker is stored in the same block. */
static char **pp__posix_build_argv(const char *role)
{
    int argc, i;
    char *const *saved = pp__posix_saved_argv(&argc);
    size_t mlen = strlen(PP_POSIX_ROLE_PREFIX) + strlen(role) + 40;
    char **v;
    char *marker;

    if (saved == NULL || argc < 1)
        return NULL;
    v = malloc(((size_t)argc + 2) * sizeof *v + mlen);
    if (v == NULL)
        return NULL;
    marker = (char *)(v + argc + 2);
    /* ":<our pid>": the child's parent, for a watchdog where there is no
     * parent-death signal (posix_role.c) */
    snprintf(marker, mlen, "%s%s:%d:%ld", PP_POSIX_ROLE_PREFIX, role, PP_POSIX_CHILD_FD,
             (long)getpid());
    v[0] = saved[0];
    v[1] = marker;
    for (i = 1; i < argc; i++)
        v[i + 1] = saved[i];
    v[argc + 1] = NULL;
    return v;
}

/* Read the child's verdict: 0 bytes = exec'd, else its errno. */
static int pp__posix_exec_result(int fd)
{
    int e = 0;
    ssize_t n;
    do {
        n = read(fd, &e, sizeof e);
    } while (n < 0 && errno == EINTR);
    if (n == 0)
        return 0;
    return n == (ssize_t)sizeof e && e != 0 ? e : EIO;
}

static void pp__posix_reap(pid_t pid)
{
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
}

pp_status pp__posix_spawn_self(const char *role, int child_fd, int flags, pid_t *out)
{
    pp__posix_spawn_ctx c;
    sigset_t all;
    int ep[2], e;
    pid_t pid;

    memset(&c, 0, sizeof c);
    c.argv = pp__posix_build_argv(role);
    if (c.argv == NULL)
        return pp__posix_saved_argv(&e) == NULL ? PP_ESPAWN : PP_ENOMEM;
    if (pp__posix_pipe(ep) < 0) {
        free(c.argv);
        return pp__plat_fail(errno);
    }
    c.fallback = pp__posix_exe_fallback();
    c.child_fd = child_fd;
    c.err_fd = ep[1];
    c.flags = flags;
    c.max_fd = pp__posix_max_fd();
    c.parent = getpid();

    /* All signals blocked across fork: the child must not run a handler of
     * the parent before it has reset the dispositions. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &c.mask);
    pid = fork();
    if (pid == 0)
        pp__posix_child(&c);
    e = errno;
    pthread_sigmask(SIG_SETMASK, &c.mask, NULL);
    pp__posix_close(ep[1]);
    free(c.argv);
    if (pid < 0) {
        pp__posix_close(ep[0]);
        pp__plat_set_os_error(e);
        return PP_ESPAWN;
    }
    e = pp__posix_exec_result(ep[0]);
    pp__posix_close(ep[0]);
    if (e != 0) {
        pp__posix_reap(pid);
        pp__plat_set_os_error(e);
        return PP_ESPAWN;
    }
    *out = pid;
    return PP_OK;
}
