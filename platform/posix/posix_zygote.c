/*
 * posix_zygote.c — the process that forks workers for the fork and
 * forkserver start methods.
 *
 * Fork: the parent forks the zygote when the pool is created, so workers
 * inherit the parent's state of that moment, and every later fork happens
 * in this single-threaded process (forking a multi-threaded parent could
 * leave the child with a lock some other thread held). Forkserver: the
 * same loop runs in a freshly exec'd copy of the program.
 *
 * The zygote only talks to its parent over the control socket
 * (pp__posix_zmsg, posix_internal.h): START -> STARTED(pid, channel fd via
 * SCM_RIGHTS) or FAILED(errno); EXIT(pid, status) whenever a worker ends.
 * It reaps only the pids it forked (never waitpid(-1): a fork server may
 * have children of the user's code). EOF on the control socket means the
 * parent is gone or destroyed the launcher: kill every worker, reap, exit.
 *
 * Spare (fork only): the zygote holds the program's state of the pool's
 * creation, which the parent, now multi-threaded, cannot copy again. So
 * the zygote keeps a spare: right after it starts (and whenever its spare
 * has died) it forks a copy of itself — safe, it is single-threaded — with
 * a control socket of its own, whose other end goes to the parent
 * (SPARE(pid, fd)). The spare waits. If the zygote dies, the parent sends
 * the spare PROMOTE on that socket: it becomes the zygote, forks a spare
 * of its own, and serves START requests. The spare is the zygote's child
 * but must survive it: fork clears the parent-death signal, and the spare
 * clears it again in case one was set. It ends with the parent instead:
 * EOF on its control socket, or (a copy of the parent's end held by a
 * child the program forked) the parent's pid gone. A zygote that exits
 * normally (EOF: parent gone, pool destroyed) kills its spare too.
 *
 * Workers forked ahead: a new fork pool's zygote forks its first workers
 * (prefork) as soon as it runs, a new fork server when asked (PREFORK,
 * the parent's first message), and sends STARTED for each unasked; the
 * parent takes them in order instead of sending START for them. A fork
 * zygote also has their first messages (the pool's HELLO for each, made
 * by the parent before it forked the zygote: pp__plat_launcher_create_pre)
 * and puts each into the worker's channel before the fork, so a new
 * worker reads it at once instead of waiting for the parent's threads to
 * send it; STARTED says which one (status: 1 + its index). Each may come
 * with an unnamed block for that worker alone (its control block): the
 * worker unmaps the later workers' ones, the zygote each one once its
 * worker is forked, so no other child (the spare included) has any.
 *
 * Retiring: once the pool will not start workers any more (closed with
 * no work left, or terminated) the parent sends RETIRE. The zygote kills
 * its spare at once and keeps none, goes on reporting its workers' ends,
 * and exits by itself after the last one: the spare's and the zygote's
 * exits overlap with the workers' instead of following them when the
 * pool is destroyed (which still waits for the zygote's end).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "posix_internal.h"

#ifdef PP_HAVE_PDEATHSIG
#include <sys/prctl.h>
#endif

/* At most this many workers forked ahead on PREFORK (a pool's most). */
#define PP_POSIX_PREFORK_MAX 1024

/* How often the zygote checks that its parent still lives. */
#define PP_POSIX_ZYGOTE_TICK_MS 500

typedef struct pp__posix_zygote {
    int ctl;
    int sig_r;
    pid_t self;
    pid_t root;  /* the pool's parent process */
    int direct;  /* root is our parent (the first zygote, a fork server) */
    int spares;  /* keep a spare (PP_POSIX_ZYGOTE_SPARE) */
    int waiting; /* we are a spare, waiting for PROMOTE */
    int retired; /* RETIRE received: exit after the last worker */
    pid_t spare; /* our spare, 0 if none */
    pid_t *pids; /* live workers */
    size_t n, cap;
    sigset_t worker_mask;
    struct sigaction user_chld;  /* restored in workers */
    const pp__plat_first *first; /* prefork's first messages, or NULL */
    int nfirst;                  /* how many */
} pp__posix_zygote;

/* Write end of the SIGCHLD self-pipe, for the handler. */
static int pp__posix_chld_w = -1;

static void pp__posix_on_sigchld(int sig)
{
    int saved = errno;
    char c = 1;
    (void)sig;
    /* Non-blocking: a full pipe already holds a pending wake-up. */
    (void)write(pp__posix_chld_w, &c, 1);
    errno = saved;
}

static void pp__posix_zygote_signals(pp__posix_zygote *z, int sig_w)
{
    struct sigaction sa;
    sigset_t mask;

    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = SIG_IGN;
    /* The parent handles Ctrl-C for the whole pool. */
    (void)sigaction(SIGINT, &sa, NULL);
    /* Writes to a vanished parent fail with EPIPE (also MSG_NOSIGNAL). */
    (void)sigaction(SIGPIPE, &sa, NULL);

    pp__posix_chld_w = sig_w;
    sa.sa_handler = pp__posix_on_sigchld;
    sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
    (void)sigaction(SIGCHLD, &sa, &z->user_chld);

    mask = z->worker_mask;
    sigdelset(&mask, SIGCHLD);
    (void)sigprocmask(SIG_SETMASK, &mask, NULL);
}

static void pp__posix_zygote_send(pp__posix_zygote *z, int type, int err, pid_t pid, int status,
                                  int fd)
{
    pp__posix_zmsg m;
    memset(&m, 0, sizeof m);
    m.type = type;
    m.err = err;
    m.pid = (int64_t)pid;
    m.status = status;
    /* A failure means the parent is gone: the next poll sees the EOF. */
    (void)pp__posix_send_msg(z->ctl, &m, sizeof m, fd);
}

static void pp__posix_reap_one(pid_t pid)
{
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
}

/* Workers and the spare die with the zygote: nothing may outlive the
 * parent, and a destroyed pool leaves nothing behind. */
_Noreturn static void pp__posix_zygote_exit(pp__posix_zygote *z)
{
    size_t i;
    for (i = 0; i < z->n; i++)
        (void)kill(z->pids[i], SIGKILL);
    if (z->spare > 0)
        (void)kill(z->spare, SIGKILL);
    for (i = 0; i < z->n; i++)
        pp__posix_reap_one(z->pids[i]);
    if (z->spare > 0)
        pp__posix_reap_one(z->spare);
    _exit(0);
}

/* Is the pool's parent gone? Normally EOF on the control socket says so,
 * but a child the program forked without exec can hold a copy of the
 * parent's end. The first zygote is the parent's child (we were
 * reparented); a spare or a promoted one is not: ask for the pid (a
 * reused pid only delays this fallback, EOF still ends us). */
static int pp__posix_orphaned(const pp__posix_zygote *z)
{
    if (z->direct)
        return getppid() != z->root;
    return kill(z->root, 0) < 0 && errno == ESRCH;
}

/* Reap the workers that ended and tell the parent. */
static void pp__posix_zygote_reap(pp__posix_zygote *z)
{
    size_t i = 0;
    while (i < z->n) {
        int status = 0;
        pid_t r = waitpid(z->pids[i], &status, WNOHANG);
        if (r == 0 || (r < 0 && errno == EINTR)) {
            i++;
            continue;
        }
        if (r < 0)
            status = 0; /* ECHILD: cannot happen for our own children */
        pp__posix_zygote_send(z, PP_POSIX_ZMSG_EXIT, r < 0 ? errno : 0, z->pids[i], status, -1);
        z->pids[i] = z->pids[--z->n];
    }
    if (z->spare > 0) {
        int status;
        pid_t r = waitpid(z->spare, &status, WNOHANG);
        if (r == z->spare || (r < 0 && errno == ECHILD))
            z->spare = 0; /* a new one is forked at the next turn of the loop */
    }
}

/* In the new worker: undo the zygote's setup, become a worker, run. */
_Noreturn static void pp__posix_worker(pp__posix_zygote *z, int fd, int other)
{
    pp__plat_chan *chan;

    pp__posix_die_with_parent(z->self);
    (void)sigaction(SIGCHLD, &z->user_chld, NULL);
    pp__posix_close(z->ctl);
    pp__posix_close(z->sig_r);
    pp__posix_close(pp__posix_chld_w);
    pp__posix_close(other);
    free(z->pids);
    pp__plat_worker_setup();
    (void)sigprocmask(SIG_SETMASK, &z->worker_mask, NULL);
    if (pp__posix_chan_wrap(fd, &chan) != PP_OK)
        pp__plat_exit(1);
    pp__posix_run_worker(chan);
}

/* Put msg (may be NULL) into the channel sv[0] -> sv[1] of a worker not
 * forked yet. 1 if it is there whole; 0 if not there at all (the parent
 * sends it); -1 if only part went in (the channel is spoilt). */
static int pp__posix_put_first(int sv0, const pp__plat_first *msg)
{
    ssize_t n;

    if (msg == NULL || msg->len == 0 || msg->len > PP__PLAT_FIRST_MAX)
        return 0;
    /* An empty socket takes that much without blocking. */
    do {
        n = send(sv0, msg->data, msg->len, MSG_DONTWAIT | MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return 0;
    return (size_t)n == msg->len ? 1 : -1;
}

/* The unnamed blocks meant for the first workers (pp__plat_first.own)
 * from index `from` on: out of this process. Each worker keeps its own
 * only; the zygote drops each once that worker is forked (in order), so
 * its later children, the spare included, have none. */
static void pp__posix_drop_own(const pp__posix_zygote *z, int from)
{
    int i;

    for (i = from; z->first != NULL && i < z->nfirst; i++)
        pp__posix_shm_drop(z->first[i].own);
}

/* Fork a worker; *fd is the parent's end of its channel, where first
 * message `idx` (-1: none) is put first if it can be (*given: 1 if it
 * was). Returns 0 or an errno. */
static int pp__posix_zygote_fork(pp__posix_zygote *z, int idx, pid_t *out, int *fd, int *given)
{
    const pp__plat_first *msg = idx >= 0 && z->first != NULL ? &z->first[idx] : NULL;
    sigset_t block, old;
    int sv[2], e;
    pid_t pid;

    if (z->n == z->cap) {
        size_t cap = z->cap ? z->cap * 2 : 16;
        pid_t *np = realloc(z->pids, cap * sizeof *np);
        if (np == NULL)
            return ENOMEM;
        z->pids = np;
        z->cap = cap;
    }
    if (pp__posix_socketpair(sv) < 0)
        return errno;
    *given = pp__posix_put_first(sv[0], msg);
    if (*given < 0) {
        /* cannot be on an empty socket; the worker must not read half */
        pp__posix_close(sv[0]);
        pp__posix_close(sv[1]);
        *given = 0;
        if (pp__posix_socketpair(sv) < 0)
            return errno;
    }
    /* SIGCHLD blocked across fork so the child cannot run our handler
     * before it restores the program's own. */
    sigemptyset(&block);
    sigaddset(&block, SIGCHLD);
    (void)sigprocmask(SIG_BLOCK, &block, &old);
    pid = fork();
    if (pid == 0) {
        if (idx >= 0)
            pp__posix_drop_own(z, idx + 1); /* the later workers' */
        pp__posix_worker(z, sv[1], sv[0]);
    }
    e = errno;
    (void)sigprocmask(SIG_SETMASK, &old, NULL);
    pp__posix_close(sv[1]);
    if (pid < 0) {
        pp__posix_close(sv[0]);
        return e;
    }
    z->pids[z->n++] = pid;
    *out = pid;
    *fd = sv[0];
    return 0;
}

/* Fork a worker and answer: STARTED with its channel, or FAILED. Also
 * unasked, for the workers forked ahead (pp__posix_zygote_run), with the
 * first message of index `first` if there is one (-1: none). */
static void pp__posix_zygote_start(pp__posix_zygote *z, int first)
{
    pid_t pid;
    int fd, e, given = 0;

    e = pp__posix_zygote_fork(z, first, &pid, &fd, &given);
    if (first >= 0 && z->first != NULL && first < z->nfirst)
        pp__posix_shm_drop(z->first[first].own); /* its worker's now (or nobody's) */
    if (e != 0) {
        pp__posix_zygote_send(z, PP_POSIX_ZMSG_FAILED, e, 0, 0, -1);
        return;
    }
    pp__posix_zygote_send(z, PP_POSIX_ZMSG_STARTED, 0, pid, given ? first + 1 : 0, fd);
    pp__posix_close(fd);
}

/* A new pool's first workers, unasked (fork: when the zygote starts;
 * forkserver: PREFORK): the parent takes them as they come instead of
 * asking for each (no round trip), and they start while it is still
 * setting up. */
static void pp__posix_zygote_prefork(pp__posix_zygote *z, int n)
{
    int i;

    for (i = 0; i < n; i++)
        pp__posix_zygote_start(z, i < z->nfirst ? i : -1);
    z->first = NULL; /* the first workers only */
    z->nfirst = 0;
}

/* A fresh SIGCHLD self-pipe: the one inherited from the zygote is shared
 * with it (either could eat the other's wake-up). Returns 0 or -1. */
static int pp__posix_sig_pipe(pp__posix_zygote *z)
{
    int sp[2];
    if (pp__posix_pipe(sp) < 0)
        return -1;
    if (fcntl(sp[0], F_SETFL, O_NONBLOCK) < 0 || fcntl(sp[1], F_SETFL, O_NONBLOCK) < 0) {
        pp__posix_close(sp[0]);
        pp__posix_close(sp[1]);
        return -1;
    }
    z->sig_r = sp[0];
    pp__posix_chld_w = sp[1];
    return 0;
}

/* In the new spare (SIGCHLD blocked): the zygote's state, minus its
 * workers, its control socket and its self-pipe; fd is our own control
 * socket. */
static void pp__posix_become_spare(pp__posix_zygote *z, int fd, int other)
{
#ifdef PP_HAVE_PDEATHSIG
    (void)prctl(PR_SET_PDEATHSIG, 0); /* the zygote's death must not kill us */
#endif
    pp__posix_close(other);
    pp__posix_close(z->ctl);
    pp__posix_close(z->sig_r);
    pp__posix_close(pp__posix_chld_w);
    z->ctl = fd;
    z->self = getpid();
    z->direct = 0;
    z->waiting = 1;
    z->spare = 0;
    z->n = 0; /* the zygote's workers are not our children */
    if (pp__posix_sig_pipe(z) < 0)
        _exit(1); /* the parent finds a dead spare: PROMOTE fails */
}

/*
 * The spare's fork. The spare is a copy of this zygote that waits: it runs
 * no code of the program, and when it is promoted it forks workers with
 * fork(), whose handlers then run in each worker. So where the system has
 * it, _Fork() makes it: no fork handlers (pthread_atfork: the program's
 * and procpool's own, which ran in this zygote when the parent forked it)
 * and none of the C library's locking of every malloc arena and stdio
 * stream around the fork: about 25 fewer page faults (copies of pages
 * written right after the fork) in the zygote and the spare, a tenth of
 * those of a fork pool's start+stop (measured: Linux, glibc 2.36). Safe:
 * the zygote is single-threaded and between calls here, so no lock is held
 * that the spare could inherit locked.
 */
static pid_t pp__posix_fork_spare(void)
{
#ifdef PP_HAVE__FORK
    return _Fork();
#else
    return fork();
#endif
}

/* Fork a spare of this zygote and hand its control socket to the parent.
 * On failure there is no spare until the next try (next turn of the
 * loop); the parent only needs one if we die meanwhile. */
static void pp__posix_zygote_spare(pp__posix_zygote *z)
{
    sigset_t block, old;
    int sv[2];
    pid_t pid;

    if (pp__posix_socketpair(sv) < 0)
        return;
    sigemptyset(&block);
    sigaddset(&block, SIGCHLD);
    (void)sigprocmask(SIG_BLOCK, &block, &old);
    pid = pp__posix_fork_spare();
    if (pid == 0) {
        pp__posix_become_spare(z, sv[1], sv[0]);
        (void)sigprocmask(SIG_SETMASK, &old, NULL);
        return; /* the loop goes on, in the spare */
    }
    (void)sigprocmask(SIG_SETMASK, &old, NULL);
    pp__posix_close(sv[1]);
    if (pid > 0) {
        z->spare = pid;
        pp__posix_zygote_send(z, PP_POSIX_ZMSG_SPARE, 0, pid, 0, sv[0]);
    }
    pp__posix_close(sv[0]);
}

static void pp__posix_drain(int fd)
{
    char buf[64];
    while (read(fd, buf, sizeof buf) > 0) {
    }
}

/* RETIRE: no spare any more (reaped at exit, or by the loop once dead);
 * the loop exits after the last worker. */
static void pp__posix_zygote_retire(pp__posix_zygote *z)
{
    z->retired = 1;
    z->spares = 0;
    if (z->spare > 0)
        (void)kill(z->spare, SIGKILL);
}

/* One control message. Anything out of place (START to a spare, PROMOTE
 * to a zygote) is nonsense: exit. */
static void pp__posix_zygote_msg(pp__posix_zygote *z, const pp__posix_zmsg *m)
{
    if (m->type == PP_POSIX_ZMSG_START && !z->waiting && !z->retired)
        pp__posix_zygote_start(z, -1);
    else if (m->type == PP_POSIX_ZMSG_PROMOTE && z->waiting)
        z->waiting = 0; /* the loop forks our own spare first */
    else if (m->type == PP_POSIX_ZMSG_RETIRE && !z->waiting)
        pp__posix_zygote_retire(z);
    else if (m->type == PP_POSIX_ZMSG_PREFORK && !z->waiting && !z->retired && m->pid > 0 &&
             m->pid <= PP_POSIX_PREFORK_MAX)
        pp__posix_zygote_prefork(z, (int)m->pid);
    else
        pp__posix_zygote_exit(z);
}

_Noreturn void pp__posix_zygote_run(int ctl, const sigset_t *worker_mask, int flags, int prefork,
                                    const pp__plat_first *first, pp__posix_fdkeep *keep)
{
    pp__posix_zygote z;

    memset(&z, 0, sizeof z);
    z.ctl = ctl;
    z.self = getpid();
    z.root = pp__posix_parent_pid(); /* a fork server's from its marker */
    z.direct = 1;
    z.spares = (flags & PP_POSIX_ZYGOTE_SPARE) != 0;
    z.worker_mask = *worker_mask;
    z.first = first;
    z.nfirst = first != NULL ? prefork : 0;
    if (!(flags & PP_POSIX_ZYGOTE_SWEEP))
        pp__plat_flush_stdio(); /* fork server: output of main before pp_init */
    else
        pp__posix_zygote_sweep(keep, ctl);
    if (pp__posix_sig_pipe(&z) < 0)
        _exit(1); /* the parent sees EOF and reports PP_ESPAWN */
    pp__posix_zygote_signals(&z, pp__posix_chld_w);
    pp__posix_zygote_prefork(&z, prefork); /* then the spare, at the loop's top */

    for (;;) {
        struct pollfd pf[2];
        pp__posix_zmsg m;
        int r;

        /* Before serving a START: a promoted spare makes its own spare
         * first, so the parent has one again as soon as it can. */
        if (z.spares && !z.waiting && z.spare == 0)
            pp__posix_zygote_spare(&z); /* returns in the spare too */
        pf[0].fd = z.ctl;
        pf[0].events = POLLIN;
        pf[1].fd = z.sig_r;
        pf[1].events = POLLIN;
        pf[0].revents = pf[1].revents = 0;
        r = poll(pf, 2, PP_POSIX_ZYGOTE_TICK_MS);
        if (r < 0 && errno != EINTR)
            pp__posix_zygote_exit(&z);
        if (pp__posix_orphaned(&z))
            pp__posix_zygote_exit(&z);
        if (r <= 0)
            continue;
        if (pf[1].revents != 0) {
            pp__posix_drain(z.sig_r);
            pp__posix_zygote_reap(&z);
        }
        if (pf[0].revents != 0) {
            r = pp__posix_recv_msg(z.ctl, &m, sizeof m, NULL);
            if (r <= 0)
                pp__posix_zygote_exit(&z); /* EOF or error */
            pp__posix_zygote_msg(&z, &m);
        }
        if (z.retired && z.n == 0)
            pp__posix_zygote_exit(&z); /* every worker's end was reported */
    }
}
