/*
 * posix_role.c — what this process is (the program, a spawned worker, a
 * fork server, a resource tracker, a manager server), the saved argv used to spawn more of
 * ourselves, and the per-worker process setup.
 *
 * A spawned process carries "--pp-role=<role>:<fd>:<parent pid>" as
 * argv[1], put there by posix_spawn.c (":<parent pid>" optional when
 * parsed); everything else on its command line is the parent's.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "posix_internal.h"

#if defined(PP_HAVE_PDEATHSIG) || defined(PP_HAVE_PR_SET_NAME)
#include <sys/prctl.h>
#endif
#ifdef PP_HAVE_NSGETEXECUTABLEPATH
#include <mach-o/dyld.h>
#endif

/* Written once by pp__plat_role_detect() (from pp_init, before any pool
 * exists), read-only afterwards. */
static char **pp__posix_argv;
static int pp__posix_argc;
static char *pp__posix_exe;

/* Written once by pp_init() before any launcher exists; forked workers
 * read their copy. */
static pp__plat_entry_fn pp__posix_entry;

/* The process whose death must end this one (a worker's, a fork server's,
 * a manager's parent), 0 if not known: from the role marker of a spawned
 * process, or set by pp__posix_die_with_parent() in a forked worker. */
static pid_t pp__posix_parent;

/* A forked child's parent is the process that forked it, not ours. */
static void pp__posix_forget_parent(void)
{
    pp__posix_parent = 0;
}

void pp__posix_role_init(void)
{
    static int registered; /* pp_init runs single-threaded, as the tracker's */
    if (!registered) {
        registered = 1;
        pp__plat_atfork_child(pp__posix_forget_parent);
    }
}

pid_t pp__posix_parent_pid(void)
{
    return pp__posix_parent != 0 ? pp__posix_parent : getppid();
}

char *const *pp__posix_saved_argv(int *argc)
{
    *argc = pp__posix_argc;
    return pp__posix_argv;
}

const char *pp__posix_exe_fallback(void)
{
    return pp__posix_exe;
}

static void pp__posix_free_argv(char **v, int n)
{
    int i;
    if (v == NULL)
        return;
    for (i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* Deep copy: the caller's argv strings may be rewritten later (programs
 * set their process title by writing over argv[0]). */
static pp_status pp__posix_save_argv(int argc, char **argv)
{
    char **v = calloc((size_t)argc + 1, sizeof *v);
    int i;
    if (v == NULL)
        return PP_ENOMEM;
    for (i = 0; i < argc; i++) {
        v[i] = strdup(argv[i] != NULL ? argv[i] : "");
        if (v[i] == NULL) {
            pp__posix_free_argv(v, i);
            return PP_ENOMEM;
        }
    }
    pp__posix_free_argv(pp__posix_argv, pp__posix_argc);
    pp__posix_argv = v;
    pp__posix_argc = argc;
    return PP_OK;
}

/* Search PATH for a bare program name, as the shell did to start us. */
static char *pp__posix_search_path(const char *prog)
{
    const char *path = getenv("PATH");
    char buf[PATH_MAX];
    while (path != NULL && *path != '\0') {
        const char *end = strchr(path, ':');
        size_t dl = end != NULL ? (size_t)(end - path) : strlen(path);
        if (dl > 0 && dl + 1 + strlen(prog) < sizeof buf) {
            memcpy(buf, path, dl);
            buf[dl] = '/';
            strcpy(buf + dl + 1, prog);
            if (access(buf, X_OK) == 0)
                return realpath(buf, NULL);
        }
        path = end != NULL ? end + 1 : NULL;
    }
    return NULL;
}

/* Absolute path of our image for systems (or containers) where
 * /proc/self/exe cannot be exec'd. Resolved now because argv[0] may be
 * relative to a working directory the program changes later. */
static char *pp__posix_find_exe(const char *argv0)
{
#ifdef PP_HAVE_NSGETEXECUTABLEPATH
    char buf[PATH_MAX];
    uint32_t n = sizeof buf;
    if (_NSGetExecutablePath(buf, &n) == 0)
        return realpath(buf, NULL);
#endif
    if (argv0 == NULL || *argv0 == '\0')
        return NULL;
    if (strchr(argv0, '/') != NULL)
        return realpath(argv0, NULL);
    return pp__posix_search_path(argv0);
}

/* "<role>:<fd>" after the prefix. */
static pp_status pp__posix_parse_marker(const char *m, int *role, int *fd)
{
    const char *num;
    char *end;
    long v;

    if (strncmp(m, "worker:", 7) == 0) {
        *role = PP__ROLE_WORKER;
        num = m + 7;
    } else if (strncmp(m, "manager:", 8) == 0) {
        *role = PP__ROLE_MANAGER;
        num = m + 8;
    } else if (strncmp(m, "forkserver:", 11) == 0) {
        *role = -1; /* internal: never reported to the core */
        num = m + 11;
    } else if (strncmp(m, "tracker:", 8) == 0) {
        *role = -2; /* internal too */
        num = m + 8;
    } else {
        return PP_EINVAL;
    }
    if (*num < '0' || *num > '9')
        return PP_EINVAL;
    errno = 0;
    v = strtol(num, &end, 10);
    if (errno != 0 || (*end != '\0' && *end != ':') || v > INT_MAX)
        return PP_EINVAL;
    if (*end == ':') { /* ":<parent pid>" (posix_spawn.c) */
        const char *pn = end + 1;
        long pp;
        if (*pn < '1' || *pn > '9')
            return PP_EINVAL;
        pp = strtol(pn, &end, 10);
        if (errno != 0 || *end != '\0' || pp > INT_MAX)
            return PP_EINVAL;
        pp__posix_parent = (pid_t)pp;
    }
    /* The fd must really be open: a marker typed by hand must not make us
     * read from whatever gets that number later. */
    if (fcntl((int)v, F_GETFD) < 0)
        return PP_EINVAL;
    *fd = (int)v;
    return PP_OK;
}

/* We were exec'd as /proc/self/exe, so the kernel named us "exe": give
 * ps, top and pkill the program's name back (Linux; cosmetic). */
static void pp__posix_set_name(const char *argv0)
{
#ifdef PP_HAVE_PR_SET_NAME
    const char *base = argv0 != NULL ? strrchr(argv0, '/') : NULL;
    base = base != NULL ? base + 1 : argv0;
    if (base != NULL && *base != '\0')
        (void)prctl(PR_SET_NAME, base); /* truncated to 15 bytes */
#else
    (void)argv0;
#endif
}

/* Remove argv[1] (the marker) in place, keeping the NULL terminator. */
static void pp__posix_strip_marker(int *argc, char **argv)
{
    int i;
    for (i = 1; i < *argc; i++)
        argv[i] = argv[i + 1];
    (*argc)--;
}

pp_status pp__plat_role_detect(int *argc, char ***argv, int *role, pp__plat_chan **chan)
{
    size_t plen = strlen(PP_POSIX_ROLE_PREFIX);
    int kind = PP__ROLE_MAIN, fd = -1;
    pp_status st;
    char **v;

    *role = PP__ROLE_MAIN;
    if (chan != NULL)
        *chan = NULL;
    if (argc == NULL || argv == NULL || *argv == NULL || *argc < 1)
        return PP_OK; /* nothing saved: spawning is impossible (launcher says so) */
    v = *argv;
    if (*argc >= 2 && v[1] != NULL && strncmp(v[1], PP_POSIX_ROLE_PREFIX, plen) == 0) {
        st = pp__posix_parse_marker(v[1] + plen, &kind, &fd);
        if (st != PP_OK)
            return st;
        if (kind > 0 && chan == NULL)
            return PP_EINVAL;
        pp__posix_strip_marker(argc, v);
    }
    st = pp__posix_save_argv(*argc, v);
    if (st != PP_OK)
        return st;
    free(pp__posix_exe);
    pp__posix_exe = pp__posix_find_exe(v[0]);

    if (kind == PP__ROLE_MAIN)
        return PP_OK;
    pp__posix_set_name(v[0]);
    /* Inherited without close-on-exec on purpose; from now on a task that
     * runs a program must not pass it on. */
    (void)pp__posix_set_cloexec(fd);
    if (kind == -2)
        pp__posix_tracker_run(fd); /* the resource tracker: never returns */
    if (kind < 0) {
        sigset_t mask;
        pthread_sigmask(SIG_SETMASK, NULL, &mask);
        pp__posix_zygote_run(fd, &mask, 0, 0, NULL, NULL); /* the fork server: never returns */
    }
    pp__plat_worker_setup();
    st = pp__posix_chan_wrap(fd, chan);
    if (st != PP_OK)
        return st;
    *role = kind;
    return PP_OK;
}

void pp__plat_set_worker_entry(pp__plat_entry_fn fn)
{
    pp__posix_entry = fn;
}

_Noreturn void pp__posix_run_worker(pp__plat_chan *chan)
{
    int rc = 1;

    if (pp__posix_entry != NULL)
        rc = pp__posix_entry(chan);
    else
        fputs("procpool: worker started with no entry function set\n", stderr);
    pp__plat_exit(rc);
    _exit(rc); /* not reached */
}

void pp__posix_die_with_parent(pid_t parent)
{
    pp__posix_parent = parent;
#ifdef PP_HAVE_PDEATHSIG
    /* Note: the signal fires when the parent *thread* that forked us exits,
     * not the parent process. The core starts workers only from a
     * long-lived thread per pool, and zygotes are single-threaded. */
    (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
#endif
    /* The parent may have died before prctl (or before the watchdog that
     * pp__plat_worker_setup starts where there is no prctl): we would
     * wait forever. */
    if (getppid() != parent)
        _exit(1);
}

#ifndef PP_HAVE_PDEATHSIG
/* No parent-death signal (macOS, the BSDs): a watchdog thread looks at
 * the parent every PP_POSIX_WATCHDOG_MS and kills the process with
 * SIGKILL, as the signal would, once it has been reparented. It runs
 * whatever the other threads do (a task busy in a loop), so the process
 * ends within about that time after its parent. (kqueue's NOTE_EXIT on
 * the parent pid would say it at once on macOS and the BSDs; polling
 * getppid() works on every POSIX system.) */
#define PP_POSIX_WATCHDOG_MS 100

static void *pp__posix_watchdog(void *arg)
{
    pid_t parent = (pid_t)(intptr_t)arg;
    struct timespec ts = {0, PP_POSIX_WATCHDOG_MS * 1000000L};
    for (;;) {
        if (getppid() != parent)
            (void)kill(getpid(), SIGKILL);
        (void)nanosleep(&ts, NULL);
    }
    return NULL;
}

static void pp__posix_start_watchdog(void)
{
    pid_t parent = pp__posix_parent_pid();
    pthread_attr_t a;
    pthread_t th;
    sigset_t all, old;

    if (getppid() != parent)
        _exit(1);
    if (pthread_attr_init(&a) != 0)
        return;
    (void)pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    /* No signal of the program is ever delivered to it. */
    sigfillset(&all);
    (void)pthread_sigmask(SIG_SETMASK, &all, &old);
    if (pthread_create(&th, &a, pp__posix_watchdog, (void *)(intptr_t)parent) != 0) {
        /* Without it the process would outlive its parent: refuse to run. */
        fputs("procpool: cannot start the parent watchdog thread\n", stderr);
        _exit(1);
    }
    (void)pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&a);
}
#endif

void pp__plat_worker_setup(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    sigemptyset(&sa.sa_mask);
    /* Ctrl-C goes to the whole foreground process group: the parent
     * decides what happens to its workers, they must not die under it. */
    (void)sigaction(SIGINT, &sa, NULL);
    /* A write to a channel whose parent is gone must fail, not kill. */
    (void)sigaction(SIGPIPE, &sa, NULL);
#ifdef PP_HAVE_PDEATHSIG
    (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
#else
    pp__posix_start_watchdog();
#endif
}

/* The usual name of a signal, for messages ("SIG?" if not one of them). */
static const char *pp__posix_signal_name(int signo)
{
    switch (signo) {
    case SIGKILL:
        return "SIGKILL";
    case SIGTERM:
        return "SIGTERM";
    case SIGINT:
        return "SIGINT";
    case SIGHUP:
        return "SIGHUP";
    case SIGQUIT:
        return "SIGQUIT";
    case SIGSEGV:
        return "SIGSEGV";
    case SIGBUS:
        return "SIGBUS";
    case SIGILL:
        return "SIGILL";
    case SIGFPE:
        return "SIGFPE";
    case SIGABRT:
        return "SIGABRT";
    case SIGPIPE:
        return "SIGPIPE";
    case SIGUSR1:
        return "SIGUSR1";
    case SIGUSR2:
        return "SIGUSR2";
    default:
        return "SIG?";
    }
}

void pp__posix_decode_status(int status, pp__exit_info *info)
{
    memset(info, 0, sizeof *info);
    if (WIFEXITED(status)) {
        info->exited = 1;
        info->code = WEXITSTATUS(status);
        snprintf(info->what, sizeof info->what, "exit code %d", info->code);
    } else if (WIFSIGNALED(status)) {
        info->signaled = 1;
        info->signo = WTERMSIG(status);
        switch (info->signo) {
        case SIGKILL:
        case SIGTERM:
        case SIGINT:
        case SIGHUP:
        case SIGQUIT:
            info->external = 1;
            break;
        case SIGSEGV:
        case SIGBUS:
        case SIGILL:
        case SIGFPE:
        case SIGABRT:
            info->crashed = 1;
            break;
        default:
            break;
        }
        snprintf(info->what, sizeof info->what, "signal %d (%s)", info->signo,
                 pp__posix_signal_name(info->signo));
    }
}
