/*
 * posix_proc.c — launchers and worker process handles (parent side).
 *
 * Spawn: workers are our own children (posix_spawn.c); we wait for them
 * with waitpid(<that pid>, WNOHANG) polls, never waitpid(-1), so children
 * of the program and of other libraries are left alone.
 *
 * Fork / forkserver: workers are children of a zygote (posix_zygote.c).
 * A thread per launcher reads the control socket: replies to START go to
 * the one pp__plat_launcher_start() in progress, EXIT notices are stored
 * in the proc they name. That thread is created after the zygote has been
 * forked, and this process never forks for this launcher again.
 *
 * Helper death (the zygote or fork server killed or crashed): the reader
 * sees EOF and marks every worker it had not reported as killed by
 * SIGKILL (they were: their parent-death signal, or our kill where there
 * is none). The next launcher_start restarts the helper before it asks
 * for a worker: forkserver spawns a new server; fork promotes the spare
 * zygote (posix_zygote.c), whose control socket the old zygote handed us
 * (SPARE). No spare (both died together): PP_ESPAWN with os error ECHILD,
 * for good. A start that was waiting for the dead helper's reply is tried
 * once more with the new one.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "posix_internal.h"

/* How long release/destroy wait for a killed process before giving up on
 * it (a process in uninterruptible sleep cannot die at once). */
#define PP_POSIX_KILL_GRACE_MS 5000

struct pp__plat_proc {
    pp__plat_launcher *l;
    pid_t pid;
    int done;           /* info is valid; a direct child is reaped */
    pp__exit_info info; /* guarded by l->mu */
    pp__plat_proc *next;
};

struct pp__plat_launcher {
    int method;
    int prefork;        /* fork: workers the zygote forks ahead */
    const char *role;   /* spawn: the role marker's name ("worker", "manager") */
    pthread_mutex_t mu; /* everything below, and every proc's done/info */
    pthread_cond_t cv;  /* a reply or an exit notice arrived */
    clockid_t cv_clock; /* cv's timed waits are measured on it */
    pp__plat_proc *procs;

    /* zygote / fork server only */
    pthread_mutex_t start_mu; /* one START request in flight; restarts */
    int ctl;
    pid_t zpid;
    int zchild; /* zpid is our child (reap it); a promoted spare is not */
    int up;     /* a helper and its reader thread (to join) exist */
    pthread_t thread;
    int lost;     /* control connection gone */
    int retired;  /* pp__plat_launcher_retire() was called */
    int spare_fd; /* fork: the spare zygote's control socket, or -1 */
    pid_t spare_pid;
    const char *failure;    /* pp__plat_launcher_failure() */
    pp__plat_proc *pending; /* proc of the START in flight */
    /* Fork: workers the zygote forks unasked first (prefork), announced
     * one by one: pre_expect announcements still to come; the workers
     * announced and not taken yet, in order. */
    int pre_expect;
    int nready;
    pid_t *ready_pid;
    int *ready_fd;
    int replied;
    int reply_err; /* 0 or the zygote's errno */
    int reply_fd;
};

static int pp__posix_is_zygote(const pp__plat_launcher *l)
{
    return l->method != PP__START_SPAWN;
}

/* ---------------------------------------------------------- proc list */

static pp__plat_proc *pp__posix_proc_new(pp__plat_launcher *l)
{
    pp__plat_proc *p = calloc(1, sizeof *p);
    if (p != NULL)
        p->l = l;
    return p;
}

/* Caller holds l->mu. */
static void pp__posix_proc_link(pp__plat_launcher *l, pp__plat_proc *p)
{
    p->next = l->procs;
    l->procs = p;
}

/* Caller holds l->mu. */
static void pp__posix_proc_unlink(pp__plat_launcher *l, pp__plat_proc *p)
{
    pp__plat_proc **pp;
    for (pp = &l->procs; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == p) {
            *pp = p->next;
            return;
        }
    }
}

/* ------------------------------------------------------ direct children */

/* Try to reap a direct child once. Caller holds l->mu. */
static void pp__posix_try_reap(pp__plat_proc *p)
{
    int status = 0;
    pid_t r;
    if (p->done)
        return;
    do {
        r = waitpid(p->pid, &status, WNOHANG);
    } while (r < 0 && errno == EINTR);
    if (r == p->pid) {
        pp__posix_decode_status(status, &p->info);
        p->done = 1;
    } else if (r < 0) {
        /* ECHILD: the program set SIGCHLD to SIG_IGN (children reap
         * themselves) or reaped it with waitpid(-1). Gone, cause unknown:
         * both exited and signaled stay 0. */
        memset(&p->info, 0, sizeof p->info);
        p->done = 1;
    }
}

/* Sleep for *nap_us microseconds, at most until deadline_ns (monotonic;
 * -1: none), and double *nap_us up to max_us for the next turn. A process
 * whose end we wait for has usually closed its descriptors (the EOF that
 * told us it is ending) an instant before it can be reaped: the first
 * naps are short, so that instant is not rounded up to milliseconds. */
static void pp__posix_nap(int64_t *nap_us, int64_t max_us, int64_t deadline_ns)
{
    int64_t ns = *nap_us * 1000;
    struct timespec ts;

    if (deadline_ns >= 0) {
        int64_t left = deadline_ns - pp__plat_now_ns();
        if (left < ns)
            ns = left > 0 ? left : 0;
    }
    ts.tv_sec = (time_t)(ns / 1000000000);
    ts.tv_nsec = (long)(ns % 1000000000);
    (void)nanosleep(&ts, NULL); /* EINTR: one look earlier, harmless */
    *nap_us = *nap_us * 2 < max_us ? *nap_us * 2 : max_us;
}

/* Polling: waitpid has no timeout, and blocking in waitpid(pid, 0) would
 * race another thread's WNOHANG reap of the same pid. The interval grows
 * from 20 us to 10 ms; channel EOF is the fast death signal anyway. */
static pp_status pp__posix_wait_direct(pp__plat_proc *p, int64_t timeout_ms, pp__exit_info *info)
{
    pp__plat_launcher *l = p->l;
    int64_t deadline = timeout_ms == PP_INFINITE ? -1 : pp__plat_now_ns() + timeout_ms * 1000000;
    int64_t nap = 20;

    for (;;) {
        pthread_mutex_lock(&l->mu);
        pp__posix_try_reap(p);
        if (p->done) {
            *info = p->info;
            pthread_mutex_unlock(&l->mu);
            return PP_OK;
        }
        pthread_mutex_unlock(&l->mu);
        if (deadline >= 0 && pp__plat_now_ns() >= deadline)
            return PP_ETIMEDOUT;
        pp__posix_nap(&nap, 10000, deadline);
    }
}

/* ------------------------------------------------------ zygote children */

static pp_status pp__posix_wait_zygote(pp__plat_proc *p, int64_t timeout_ms, pp__exit_info *info)
{
    pp__plat_launcher *l = p->l;
    struct timespec ts = pp__posix_deadline(l->cv_clock, timeout_ms);
    pp_status st = PP_OK;

    pthread_mutex_lock(&l->mu);
    while (!p->done) {
        if (timeout_ms == PP_INFINITE) {
            pthread_cond_wait(&l->cv, &l->mu);
        } else if (timeout_ms == 0 ||
                   pp__posix_cond_timedwait(&l->cv, &l->mu, l->cv_clock, &ts) == ETIMEDOUT) {
            st = p->done ? PP_OK : PP_ETIMEDOUT;
            break;
        }
    }
    if (st == PP_OK)
        *info = p->info;
    pthread_mutex_unlock(&l->mu);
    return st;
}

/* Caller holds l->mu. */
static pp__plat_proc *pp__posix_find(pp__plat_launcher *l, pid_t pid)
{
    pp__plat_proc *p;
    for (p = l->procs; p != NULL; p = p->next) {
        if (p->pid == pid)
            return p;
    }
    return NULL;
}

/* Drop the announced worker pid (all with pid 0) not taken yet: it
 * ended, or its zygote did. Caller holds l->mu. */
static void pp__posix_ready_drop(pp__plat_launcher *l, pid_t pid)
{
    int i = 0;

    while (i < l->nready) {
        if (pid != 0 && l->ready_pid[i] != pid) {
            i++;
            continue;
        }
        pp__posix_close(l->ready_fd[i]);
        l->nready--;
        memmove(l->ready_pid + i, l->ready_pid + i + 1, (size_t)(l->nready - i) * sizeof(pid_t));
        memmove(l->ready_fd + i, l->ready_fd + i + 1, (size_t)(l->nready - i) * sizeof(int));
    }
}

/* Caller holds l->mu. */
static void pp__posix_on_zmsg(pp__plat_launcher *l, const pp__posix_zmsg *m, int fd)
{
    pp__plat_proc *p;
    switch (m->type) {
    case PP_POSIX_ZMSG_STARTED:
    case PP_POSIX_ZMSG_FAILED:
        if (l->pre_expect > 0) {
            /* A worker forked unasked (nothing asks before they are all
             * announced); a failure is met again by a START. */
            l->pre_expect--;
            if (m->type != PP_POSIX_ZMSG_STARTED || fd < 0)
                break;
            l->ready_pid[l->nready] = (pid_t)m->pid;
            l->ready_fd[l->nready] = fd;
            l->nready++;
            return;
        }
        if (l->pending == NULL || l->replied || (m->type == PP_POSIX_ZMSG_STARTED && fd < 0)) {
            pp__posix_close(fd); /* no request waits for it: a zygote bug */
            return;
        }
        if (m->type == PP_POSIX_ZMSG_STARTED) {
            /* Linked now, before any EXIT for this pid can be read. */
            l->pending->pid = (pid_t)m->pid;
            pp__posix_proc_link(l, l->pending);
            l->reply_fd = fd;
            l->reply_err = 0;
        } else {
            l->reply_err = m->err != 0 ? m->err : EIO;
        }
        l->replied = 1;
        return;
    case PP_POSIX_ZMSG_EXIT:
        pp__posix_ready_drop(l, (pid_t)m->pid); /* never handed out */
        p = pp__posix_find(l, (pid_t)m->pid);
        if (p != NULL && !p->done) {
            pp__posix_decode_status(m->status, &p->info);
            p->done = 1;
        }
        break;
    case PP_POSIX_ZMSG_SPARE:
        if (l->method != PP__START_FORK || fd < 0)
            break;
        pp__posix_close(l->spare_fd); /* the previous spare died */
        l->spare_fd = fd;
        l->spare_pid = (pid_t)m->pid;
        return;
    default:
        break;
    }
    pp__posix_close(fd);
}

/* The zygote is gone (killed, crashed, or we shut it down). Its workers
 * got SIGKILL from it or from their parent-death signal
 * (PP_HAVE_PDEATHSIG); where there is no such signal, kill them here.
 * Every proc not yet done is one of its workers: a new helper starts only
 * after this (restart). Caller holds l->mu. */
static void pp__posix_on_lost(pp__plat_launcher *l)
{
    pp__plat_proc *p;
    l->lost = 1;
    /* Its announced workers died with it (or get EOF before HELLO). */
    l->pre_expect = 0;
    pp__posix_ready_drop(l, 0);
    for (p = l->procs; p != NULL; p = p->next) {
        if (p->done)
            continue;
#ifndef PP_HAVE_PDEATHSIG
        (void)kill(p->pid, SIGKILL);
#endif
        memset(&p->info, 0, sizeof p->info);
        p->info.signaled = 1;
        p->info.signo = SIGKILL;
        p->done = 1;
    }
}

static void *pp__posix_reader(void *arg)
{
    pp__plat_launcher *l = arg;
    for (;;) {
        pp__posix_zmsg m;
        int fd = -1;
        int r = pp__posix_recv_msg(l->ctl, &m, sizeof m, &fd);
        pthread_mutex_lock(&l->mu);
        if (r > 0)
            pp__posix_on_zmsg(l, &m, fd);
        else
            pp__posix_on_lost(l);
        pthread_cond_broadcast(&l->cv);
        pthread_mutex_unlock(&l->mu);
        if (r <= 0)
            return NULL;
    }
}

/* ------------------------------------------------------------ launcher */

static pp_status pp__posix_launcher_alloc(int method, pp__plat_launcher **out)
{
    pp__plat_launcher *l = calloc(1, sizeof *l);
    int e;
    if (l == NULL)
        return PP_ENOMEM;
    l->method = method;
    l->role = "worker";
    l->ctl = -1;
    l->reply_fd = -1;
    l->spare_fd = -1;
    if ((e = pthread_mutex_init(&l->mu, NULL)) != 0)
        goto fail0;
    if ((e = pthread_mutex_init(&l->start_mu, NULL)) != 0)
        goto fail1;
    if ((e = pp__posix_cond_init(&l->cv, &l->cv_clock)) != 0)
        goto fail2;
    *out = l;
    return PP_OK;
fail2:
    pthread_mutex_destroy(&l->start_mu);
fail1:
    pthread_mutex_destroy(&l->mu);
fail0:
    free(l);
    return pp__plat_fail(e);
}

static void pp__posix_launcher_free(pp__plat_launcher *l)
{
    pp__posix_ready_drop(l, 0);
    free(l->ready_pid);
    free(l->ready_fd);
    pthread_cond_destroy(&l->cv);
    pthread_mutex_destroy(&l->start_mu);
    pthread_mutex_destroy(&l->mu);
    free(l);
}

/* Wait for a direct child (zygote, server) for at most grace_ms, then
 * kill it and wait for good. */
static void pp__posix_reap_bounded(pid_t pid, int64_t grace_ms)
{
    int64_t deadline = pp__plat_now_ns() + grace_ms * 1000000;
    int64_t nap = 20;
    int status;
    pid_t r;
    for (;;) {
        r = waitpid(pid, &status, WNOHANG);
        if (r != 0 && !(r < 0 && errno == EINTR))
            return; /* reaped, or ECHILD */
        if (pp__plat_now_ns() >= deadline)
            break;
        pp__posix_nap(&nap, 2000, deadline);
    }
    (void)kill(pid, SIGKILL);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
}

/* Fork the zygote: flush first so buffered output is not printed twice,
 * and block signals so no handler of the program runs in it before it
 * has set its own. */
static pp_status pp__posix_fork_zygote(int ctl_child, int ctl_parent, int prefork, pid_t *out)
{
    sigset_t all, old;
    pid_t pid;
    int e;

    pp__plat_flush_stdio();
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid = fork();
    if (pid == 0) {
        pp__posix_close(ctl_parent);
        pp__posix_zygote_run(ctl_child, &old, PP_POSIX_ZYGOTE_SWEEP | PP_POSIX_ZYGOTE_SPARE,
                             prefork);
    }
    e = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (pid < 0) {
        pp__plat_set_os_error(e);
        return PP_ESPAWN;
    }
    *out = pid;
    return PP_OK;
}

/* Start the reader of a new helper on l->ctl (zpid, zchild set). On
 * failure the helper is told to go (EOF) and l->ctl closed. */
static pp_status pp__posix_start_reader(pp__plat_launcher *l)
{
    int e;

    pthread_mutex_lock(&l->mu);
    l->lost = 0;
    pthread_mutex_unlock(&l->mu);
    e = pthread_create(&l->thread, NULL, pp__posix_reader, l);
    if (e != 0) {
        /* EOF makes the zygote exit. */
        pp__posix_close(l->ctl);
        l->ctl = -1;
        if (l->zchild)
            pp__posix_reap_bounded(l->zpid, PP_POSIX_KILL_GRACE_MS);
        return pp__plat_fail(e);
    }
    l->up = 1;
    return PP_OK;
}

static pp_status pp__posix_start_zygote(pp__plat_launcher *l)
{
    pp_status st;
    int sv[2];

    if (pp__posix_socketpair(sv) < 0)
        return pp__plat_fail(errno);
    if (l->method == PP__START_FORK)
        st = pp__posix_fork_zygote(sv[1], sv[0], l->prefork, &l->zpid);
    else
        st = pp__posix_spawn_self("forkserver", sv[1], 0, &l->zpid);
    pp__posix_close(sv[1]);
    if (st != PP_OK) {
        pp__posix_close(sv[0]);
        return st;
    }
    l->ctl = sv[0];
    l->zchild = 1;
    return pp__posix_start_reader(l);
}

/* Fork: the zygote died; its spare becomes the zygote (and forks a spare
 * of its own before it answers any START). */
static pp_status pp__posix_promote(pp__plat_launcher *l)
{
    pp__posix_zmsg m;
    pid_t pid;
    int fd;

    pthread_mutex_lock(&l->mu);
    fd = l->spare_fd;
    pid = l->spare_pid;
    l->spare_fd = -1;
    l->spare_pid = 0;
    pthread_mutex_unlock(&l->mu);
    memset(&m, 0, sizeof m);
    m.type = PP_POSIX_ZMSG_PROMOTE;
    if (fd < 0 || pp__posix_send_msg(fd, &m, sizeof m, -1) < 0) {
        /* The spare died with the zygote (or before it, and the zygote
         * had no time to fork another): the state of the program the
         * workers must start from is gone, and we must not fork. */
        pp__posix_close(fd);
        l->failure = "the fork zygote and its spare both died: no process holds the "
                     "program's state of the pool's creation any more";
        pp__plat_set_os_error(ECHILD);
        return PP_ESPAWN;
    }
    l->ctl = fd;
    l->zpid = pid;
    l->zchild = 0;
    return pp__posix_start_reader(l);
}

/* Forget a helper whose control connection is gone: its reader has
 * returned (or is returning), reap it if it is our child. */
static void pp__posix_helper_gone(pp__plat_launcher *l)
{
    if (!l->up)
        return;
    pthread_join(l->thread, NULL);
    l->up = 0;
    pp__posix_close(l->ctl);
    l->ctl = -1;
    if (l->zchild)
        pp__posix_reap_bounded(l->zpid, PP_POSIX_KILL_GRACE_MS);
    l->zpid = 0;
    l->zchild = 0;
}

/* The helper died: start another one. Caller holds l->start_mu. */
static pp_status pp__posix_restart(pp__plat_launcher *l)
{
    pp__posix_helper_gone(l);
    if (l->method == PP__START_FORK)
        return pp__posix_promote(l);
    return pp__posix_start_zygote(l);
}

pp_status pp__plat_launcher_set_role(pp__plat_launcher *l, int role)
{
    if (l == NULL || l->method != PP__START_SPAWN)
        return PP_EINVAL;
    if (role == PP__ROLE_WORKER)
        l->role = "worker";
    else if (role == PP__ROLE_MANAGER)
        l->role = "manager";
    else
        return PP_EINVAL;
    return PP_OK;
}

pp_status pp__plat_launcher_create(int method, pp__plat_launcher **out)
{
    return pp__plat_launcher_create_for(method, 0, out);
}

pp_status pp__plat_launcher_create_for(int method, int workers, pp__plat_launcher **out)
{
    pp__plat_launcher *l = NULL;
    pp_status st;
    int argc;

    if (method != PP__START_SPAWN && method != PP__START_FORK && method != PP__START_FORKSERVER)
        return PP_EINVAL;
    /* Spawning needs the argv pp__plat_role_detect() saved (pp_init was
     * given none): a copy of the program that never sees its marker would
     * run the whole program again. */
    if (method != PP__START_FORK && pp__posix_saved_argv(&argc) == NULL)
        return PP_ESPAWN;
    st = pp__posix_launcher_alloc(method, &l);
    if (st != PP_OK)
        return st;
    /* Fork only: the fork server is spawned, its workers on request. */
    if (method == PP__START_FORK && workers > 0) {
        l->ready_pid = malloc((size_t)workers * sizeof *l->ready_pid);
        l->ready_fd = malloc((size_t)workers * sizeof *l->ready_fd);
        if (l->ready_pid != NULL && l->ready_fd != NULL)
            l->prefork = l->pre_expect = workers; /* else: each on request */
    }
    if (pp__posix_is_zygote(l)) {
        st = pp__posix_start_zygote(l);
        if (st != PP_OK) {
            pp__posix_launcher_free(l);
            return st;
        }
    }
    *out = l;
    return PP_OK;
}

static pp_status pp__posix_start_spawn(pp__plat_launcher *l, pp__plat_proc *p, int *fd)
{
    pp_status st;
    int sv[2];

    if (pp__posix_socketpair(sv) < 0)
        return pp__plat_fail(errno);
    st = pp__posix_spawn_self(l->role, sv[1], PP_POSIX_SPAWN_PDEATH, &p->pid);
    pp__posix_close(sv[1]);
    if (st != PP_OK) {
        pp__posix_close(sv[0]);
        return st;
    }
    pthread_mutex_lock(&l->mu);
    pp__posix_proc_link(l, p);
    pthread_mutex_unlock(&l->mu);
    *fd = sv[0];
    return PP_OK;
}

/* One request at a time (caller holds l->start_mu): the zygote answers in
 * order, and the reply slot in the launcher holds one answer. *lost: the
 * helper died before it answered. */
static pp_status pp__posix_request(pp__plat_launcher *l, pp__plat_proc *p, int *fd, int *lost)
{
    pp__posix_zmsg m;
    pp_status st = PP_OK;

    memset(&m, 0, sizeof m);
    m.type = PP_POSIX_ZMSG_START;
    pthread_mutex_lock(&l->mu);
    l->pending = p;
    l->replied = 0;
    l->reply_fd = -1;
    pthread_mutex_unlock(&l->mu);

    if (pp__posix_send_msg(l->ctl, &m, sizeof m, -1) < 0)
        pp__plat_set_os_error(errno); /* zygote gone: the reader sees EOF too */

    pthread_mutex_lock(&l->mu);
    while (!l->replied && !l->lost)
        pthread_cond_wait(&l->cv, &l->mu);
    *lost = !l->replied;
    if (!l->replied) {
        pp__plat_set_os_error(EPIPE);
        st = PP_ESPAWN;
    } else if (l->reply_err != 0) {
        pp__plat_set_os_error(l->reply_err);
        st = PP_ESPAWN;
    } else {
        *fd = l->reply_fd;
    }
    l->pending = NULL;
    l->reply_fd = -1;
    pthread_mutex_unlock(&l->mu);
    return st;
}

/* A worker the zygote forked unasked, waiting for its announcement if
 * more are to come: 1 and p linked (under l->mu, so an EXIT read after
 * this finds it), or 0 (none: ask). Caller holds l->start_mu. */
static int pp__posix_take_ready(pp__plat_launcher *l, pp__plat_proc *p, int *fd)
{
    int took = 0;

    pthread_mutex_lock(&l->mu);
    while (l->nready == 0 && l->pre_expect > 0 && !l->lost)
        pthread_cond_wait(&l->cv, &l->mu);
    if (l->nready > 0) {
        p->pid = l->ready_pid[0];
        *fd = l->ready_fd[0];
        l->nready--;
        memmove(l->ready_pid, l->ready_pid + 1, (size_t)l->nready * sizeof(pid_t));
        memmove(l->ready_fd, l->ready_fd + 1, (size_t)l->nready * sizeof(int));
        pp__posix_proc_link(l, p);
        took = 1;
    }
    pthread_mutex_unlock(&l->mu);
    return took;
}

/* Restart a dead helper first; a request the helper died on is tried
 * once more with the new one. */
static pp_status pp__posix_start_forked(pp__plat_launcher *l, pp__plat_proc *p, int *fd)
{
    pp_status st = PP_OK;
    int attempt, lost = 0;

    pthread_mutex_lock(&l->start_mu);
    l->failure = NULL;
    if (l->retired) {
        pthread_mutex_unlock(&l->start_mu);
        l->failure = "the launcher was retired: it starts no worker any more";
        pp__plat_set_os_error(EINVAL);
        return PP_ESPAWN;
    }
    if (pp__posix_take_ready(l, p, fd)) {
        pthread_mutex_unlock(&l->start_mu);
        return PP_OK;
    }
    for (attempt = 0; attempt < 2; attempt++) {
        pthread_mutex_lock(&l->mu);
        lost = l->lost || !l->up;
        pthread_mutex_unlock(&l->mu);
        if (lost && (st = pp__posix_restart(l)) != PP_OK)
            break;
        st = pp__posix_request(l, p, fd, &lost);
        if (st == PP_OK || !lost)
            break;
    }
    pthread_mutex_unlock(&l->start_mu);
    return st;
}

pp_status pp__plat_launcher_start(pp__plat_launcher *l, pp__plat_proc **proc, pp__plat_chan **chan)
{
    pp__plat_proc *p = pp__posix_proc_new(l);
    pp_status st;
    int fd = -1;

    if (p == NULL)
        return PP_ENOMEM;
    if (pp__posix_is_zygote(l))
        st = pp__posix_start_forked(l, p, &fd);
    else
        st = pp__posix_start_spawn(l, p, &fd);
    if (st != PP_OK) {
        free(p);
        return st;
    }
    st = pp__posix_chan_wrap(fd, chan);
    if (st != PP_OK) {
        pp__plat_proc_release(p); /* kills and reaps the new worker */
        return st;
    }
    pp__posix_chan_watch(*chan, p);
    *proc = p;
    return PP_OK;
}

/* Tell the helper to go (EOF: it kills its workers and its spare, reaps
 * them and exits) and wait for its end of the connection to close, so no
 * worker of it is left when destroy returns — also when the helper is a
 * promoted spare, which we cannot waitpid. Bounded: then it is killed. */
static void pp__posix_stop_helper(pp__plat_launcher *l)
{
    struct timespec ts = pp__posix_deadline(l->cv_clock, PP_POSIX_KILL_GRACE_MS);
    int lost;

    (void)shutdown(l->ctl, SHUT_WR);
    pthread_mutex_lock(&l->mu);
    while (!l->lost && pp__posix_cond_timedwait(&l->cv, &l->mu, l->cv_clock, &ts) == 0) {
    }
    lost = l->lost;
    pthread_mutex_unlock(&l->mu);
    if (!lost) {
        /* Alive (its socket is open), so the pid is still its own. */
        (void)kill(l->zpid, SIGKILL);
        (void)shutdown(l->ctl, SHUT_RDWR); /* the reader returns */
    }
    pp__posix_helper_gone(l);
}

/* At destroy, a spare is still alive only if its zygote died (a zygote
 * that exits kills its spare): tell it to go (EOF, also if a copy of our
 * end lives on elsewhere) and wait for its end to close. Bounded: then it
 * is killed (its socket is open, so the pid is still its own). */
static void pp__posix_stop_spare(pp__plat_launcher *l)
{
    int64_t deadline = pp__plat_now_ms() + PP_POSIX_KILL_GRACE_MS;
    char buf[sizeof(pp__posix_zmsg)];

    (void)shutdown(l->spare_fd, SHUT_WR);
    for (;;) {
        struct pollfd pf;
        int64_t left = deadline - pp__plat_now_ms();
        ssize_t n;

        if (left <= 0) {
            (void)kill(l->spare_pid, SIGKILL);
            break;
        }
        pf.fd = l->spare_fd;
        pf.events = POLLIN;
        pf.revents = 0;
        if (poll(&pf, 1, (int)left) <= 0)
            continue; /* EINTR, or the deadline */
        n = recv(l->spare_fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK))
            break; /* its end is closed: it has exited */
    }
    pp__posix_close(l->spare_fd);
    l->spare_fd = -1;
}

void pp__plat_launcher_settle(pp__plat_launcher *l, int64_t timeout_ms)
{
    struct timespec ts;

    if (l == NULL || l->method != PP__START_FORK)
        return;
    ts = pp__posix_deadline(l->cv_clock, timeout_ms);
    pthread_mutex_lock(&l->mu);
    while (l->spare_fd < 0 && !l->lost &&
           pp__posix_cond_timedwait(&l->cv, &l->mu, l->cv_clock, &ts) == 0) {
    }
    pthread_mutex_unlock(&l->mu);
}

void pp__plat_launcher_retire(pp__plat_launcher *l)
{
    pp__posix_zmsg m;

    if (l == NULL || !pp__posix_is_zygote(l))
        return;
    pthread_mutex_lock(&l->start_mu);
    if (!l->retired && l->up) {
        memset(&m, 0, sizeof m);
        m.type = PP_POSIX_ZMSG_RETIRE;
        /* A failure means the helper is gone: its reader sees the EOF and
         * destroy reaps it as usual. */
        (void)pp__posix_send_msg(l->ctl, &m, sizeof m, -1);
    }
    l->retired = 1;
    pthread_mutex_unlock(&l->start_mu);
}

const char *pp__plat_launcher_failure(const pp__plat_launcher *l)
{
    return l->failure;
}

void pp__plat_launcher_destroy(pp__plat_launcher *l)
{
    if (l == NULL)
        return;
    if (pp__posix_is_zygote(l)) {
        if (l->up)
            pp__posix_stop_helper(l);
        if (l->spare_fd >= 0)
            pp__posix_stop_spare(l);
    }
    pp__posix_launcher_free(l);
}

/* ---------------------------------------------------------------- procs */

int pp__posix_proc_exited(pp__plat_proc *p)
{
    int done;

    pthread_mutex_lock(&p->l->mu);
    if (!pp__posix_is_zygote(p->l))
        pp__posix_try_reap(p);
    done = p->done;
    pthread_mutex_unlock(&p->l->mu);
    return done;
}

pp_status pp__plat_proc_wait(pp__plat_proc *p, int64_t timeout_ms, pp__exit_info *info)
{
    if (timeout_ms < -1)
        return PP_EINVAL;
    if (pp__posix_is_zygote(p->l))
        return pp__posix_wait_zygote(p, timeout_ms, info);
    return pp__posix_wait_direct(p, timeout_ms, info);
}

pp_status pp__plat_proc_kill(pp__plat_proc *p)
{
    pp__plat_launcher *l = p->l;
    pp_status st = PP_OK;

    /* Under the lock a direct child cannot be reaped meanwhile, so its pid
     * cannot have been reused. A zygote child is reaped by the zygote: a
     * reuse in the instant between that and the EXIT notice would need the
     * pid space to wrap around in that instant. */
    pthread_mutex_lock(&l->mu);
    if (!p->done && kill(p->pid, SIGKILL) < 0 && errno != ESRCH)
        st = pp__plat_fail(errno);
    pthread_mutex_unlock(&l->mu);
    return st;
}

uint64_t pp__plat_proc_pid(const pp__plat_proc *p)
{
    return (uint64_t)p->pid;
}

void pp__plat_proc_release(pp__plat_proc *p)
{
    pp__plat_launcher *l;
    pp__exit_info info;

    if (p == NULL)
        return;
    l = p->l;
    (void)pp__plat_proc_kill(p);
    /* Bounded for zygote children: if the zygote never reports, its later
     * EXIT notice finds no proc and is dropped. A direct child is always
     * waited for: leaving it unreaped would leave a zombie. */
    (void)pp__plat_proc_wait(p, pp__posix_is_zygote(l) ? PP_POSIX_KILL_GRACE_MS : PP_INFINITE,
                             &info);
    pthread_mutex_lock(&l->mu);
    pp__posix_proc_unlink(l, p);
    pthread_mutex_unlock(&l->mu);
    free(p);
}
