/*
 * posix_helper.c — the launcher's side of its helper process, for the
 * fork and forkserver start methods: the zygote / fork server
 * (posix_zygote.c) that forks the workers.
 *
 * No thread of its own reads the control socket: whoever waits for news
 * from the helper reads it (pp__posix_pump), one thread at a time, the
 * others wait for what it reads: replies to START go to the one
 * pp__plat_launcher_start() in progress, EXIT notices are stored in the
 * proc they name, workers the zygote forked unasked (a new fork pool's
 * first ones) are queued until taken, the spare's socket is kept. Every
 * wait for a worker's end, a reply, an announcement or the helper's end
 * reads, and a look at a worker's state (exited? before a kill) reads
 * what has come without blocking, so nothing waits for a reader that
 * does not run; a fork pool's start and stop create and join one thread
 * less (the supervisor reads the announcements of the first workers
 * itself). This process never forks for this launcher after the helper.
 *
 * Helper death (the zygote or fork server killed or crashed): the next
 * read sees EOF and marks every worker it had not reported as killed by
 * SIGKILL (they were: their parent-death signal, or our kill where there
 * is none). The next launcher_start restarts the helper before it asks
 * for a worker: forkserver spawns a new server; fork promotes the spare
 * zygote (posix_zygote.c), whose control socket the old zygote handed us
 * (SPARE). No spare (both died together): PP_ESPAWN with os error ECHILD,
 * for good. A start that was waiting for the dead helper's reply is tried
 * once more with the new one.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "posix_launcher.h"

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
void pp__posix_ready_drop(pp__plat_launcher *l, pid_t pid)
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
        memmove(l->ready_first + i, l->ready_first + i + 1, (size_t)(l->nready - i) * sizeof(int));
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
            /* status: 1 + the index of the first message in its channel */
            l->ready_first[l->nready] = m->status - 1;
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
        /* Killed from outside, as a worker killed by itself: a start
         * this ends is retried, not counted as one that failed. */
        memset(&p->info, 0, sizeof p->info);
        p->info.signaled = 1;
        p->info.signo = SIGKILL;
        p->info.external = 1;
        snprintf(p->info.what, sizeof p->info.what, "signal 9 (SIGKILL) with its %s",
                 l->method == PP__START_FORK ? "zygote" : "fork server");
        p->done = 1;
    }
}

/* Milliseconds from now to *ts on clk, rounded up (0 if past). */
static int pp__posix_ms_until(clockid_t clk, const struct timespec *ts)
{
    struct timespec now;
    int64_t ms;

    clock_gettime(clk, &now);
    ms = ((int64_t)ts->tv_sec - (int64_t)now.tv_sec) * 1000 +
         ((int64_t)ts->tv_nsec - (int64_t)now.tv_nsec + 999999) / 1000000;
    if (ms <= 0)
        return 0;
    return ms > INT_MAX ? INT_MAX : (int)ms;
}

/*
 * Wait for news from the helper until *ts (NULL: do not block). Caller
 * holds l->mu and looks again at what it waits for after each call. If
 * no other thread is reading the control socket, read and handle its
 * next message (or its EOF: pp__posix_on_lost) — l->mu is released
 * meanwhile; else wait for that thread's news. Returns 0 (something may
 * have changed), or ETIMEDOUT (nothing came by *ts, or at once without
 * ts).
 */
int pp__posix_pump(pp__plat_launcher *l, const struct timespec *ts)
{
    struct pollfd pf;
    pp__posix_zmsg m;
    int fd = -1, r;

    if (l->reading || !l->up || l->lost) {
        /* another thread reads (and says when it is done), or nothing
         * can be read: the caller's condition changes by other means */
        if (ts == NULL)
            return ETIMEDOUT;
        return pp__posix_cond_timedwait(&l->cv, &l->mu, l->cv_clock, ts) == ETIMEDOUT ? ETIMEDOUT
                                                                                      : 0;
    }
    l->reading = 1;
    pf.fd = l->ctl; /* not closed while we read: only once lost (helper_gone) */
    pf.events = POLLIN;
    pf.revents = 0;
    pthread_mutex_unlock(&l->mu);
    r = poll(&pf, 1, ts == NULL ? 0 : pp__posix_ms_until(l->cv_clock, ts));
    if (r > 0)
        r = pp__posix_recv_msg(pf.fd, &m, sizeof m, &fd) > 0 ? 1 : -1;
    else if (r < 0 && errno == EINTR)
        r = 2; /* nothing read: the caller looks again */
    pthread_mutex_lock(&l->mu);
    l->reading = 0;
    if (r == 1)
        pp__posix_on_zmsg(l, &m, fd);
    else if (r < 0)
        pp__posix_on_lost(l); /* EOF, or the socket failed */
    /* news, or at least the reading turn is free for another waiter */
    pthread_cond_broadcast(&l->cv);
    return r == 0 ? ETIMEDOUT : 0;
}

/* Read what the helper has sent already, without blocking (a worker's
 * EXIT, say). Caller holds l->mu. */
void pp__posix_pump_ready(pp__plat_launcher *l)
{
    while (pp__posix_pump(l, NULL) == 0) {
    }
}

pp_status pp__posix_wait_zygote(pp__plat_proc *p, int64_t timeout_ms, pp__exit_info *info)
{
    pp__plat_launcher *l = p->l;
    /* PP_INFINITE: an hour at a time */
    struct timespec ts = pp__posix_deadline(l->cv_clock, timeout_ms < 0 ? 3600000 : timeout_ms);
    pp_status st = PP_OK;

    pthread_mutex_lock(&l->mu);
    while (!p->done) {
        if (timeout_ms == 0) {
            pp__posix_pump_ready(l);
            st = p->done ? PP_OK : PP_ETIMEDOUT;
            break;
        }
        if (pp__posix_pump(l, &ts) == ETIMEDOUT && !p->done) {
            if (timeout_ms > 0) {
                st = PP_ETIMEDOUT;
                break;
            }
            ts = pp__posix_deadline(l->cv_clock, 3600000);
        }
    }
    if (st == PP_OK)
        *info = p->info;
    pthread_mutex_unlock(&l->mu);
    return st;
}

/* Fork the zygote: flush first so buffered output is not printed twice,
 * and block signals so no handler of the program runs in it before it
 * has set its own. */
static pp_status pp__posix_fork_zygote(int ctl_child, int ctl_parent, int prefork,
                                       const pp__plat_first *first, pid_t *out)
{
    pp__posix_fdkeep keep;
    sigset_t all, old;
    pid_t pid;
    int e;

    pp__plat_flush_stdio();
    pp__posix_fdkeep_make(&keep);
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid = fork();
    if (pid == 0) {
        pp__posix_close(ctl_parent);
        pp__posix_zygote_run(ctl_child, &old, PP_POSIX_ZYGOTE_SWEEP | PP_POSIX_ZYGOTE_SPARE,
                             prefork, first, &keep);
    }
    e = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pp__posix_fdkeep_free(&keep);
    if (pid < 0) {
        pp__plat_set_os_error(e);
        return PP_ESPAWN;
    }
    *out = pid;
    return PP_OK;
}

/* A new helper's control socket is l->ctl (zpid, zchild set): it is up. */
static void pp__posix_helper_up(pp__plat_launcher *l)
{
    pthread_mutex_lock(&l->mu);
    l->lost = 0;
    l->up = 1;
    pthread_mutex_unlock(&l->mu);
}

/* Forkserver: ask the new server for the first workers unasked (the
 * fork zygote is told when it is forked). Announcements are expected
 * only if the request went out. */
static void pp__posix_ask_prefork(pp__plat_launcher *l, int n)
{
    pp__posix_zmsg m;

    memset(&m, 0, sizeof m);
    m.type = PP_POSIX_ZMSG_PREFORK;
    m.pid = n;
    pthread_mutex_lock(&l->mu);
    l->pre_expect = n; /* before any announcement can be read */
    pthread_mutex_unlock(&l->mu);
    if (pp__posix_send_msg(l->ctl, &m, sizeof m, -1) < 0) {
        pthread_mutex_lock(&l->mu);
        l->pre_expect = 0; /* each on request (the server is gone, likely) */
        pthread_mutex_unlock(&l->mu);
    }
}

pp_status pp__posix_start_zygote(pp__plat_launcher *l)
{
    pp_status st;
    int sv[2], prefork = l->prefork;

    l->prefork = 0; /* the first helper only */
    if (pp__posix_socketpair(sv) < 0)
        return pp__plat_fail(errno);
    if (l->method == PP__START_FORK) {
        l->pre_expect = prefork; /* no reader yet */
        st = pp__posix_fork_zygote(sv[1], sv[0], prefork, l->first, &l->zpid);
    } else {
        st = pp__posix_spawn_self("forkserver", sv[1], 0, &l->zpid);
    }
    pp__posix_close(sv[1]);
    if (st != PP_OK) {
        l->pre_expect = 0;
        pp__posix_close(sv[0]);
        return st;
    }
    l->ctl = sv[0];
    l->zchild = 1;
    pp__posix_helper_up(l);
    if (l->method == PP__START_FORKSERVER && prefork > 0)
        pp__posix_ask_prefork(l, prefork);
    return PP_OK;
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
    pp__posix_helper_up(l);
    return PP_OK;
}

/* Forget a helper whose control connection is gone (l->lost: nobody
 * reads it any more): close it, reap the helper if it is our child. */
static void pp__posix_helper_gone(pp__plat_launcher *l)
{
    if (!l->up)
        return;
    pthread_mutex_lock(&l->mu);
    l->up = 0;
    pthread_mutex_unlock(&l->mu);
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

/* Wait (caller holds l->mu) for the helper's next message or its loss
 * (pp__posix_pump). A helper silent past *ts is taken for hung (stopped,
 * say: a fork takes milliseconds) and killed, so that no start — and no
 * terminate, join or destroy waiting for one — waits for it forever: the
 * next read sees its EOF (l->lost), its workers count as killed from
 * outside, and the next start restarts it. Its socket is still open, so
 * zpid is its own. */
static void pp__posix_helper_wait(pp__plat_launcher *l, struct timespec *ts)
{
    if (pp__posix_pump(l, ts) != ETIMEDOUT)
        return;
    if (l->zpid > 0)
        (void)kill(l->zpid, SIGKILL);
    (void)shutdown(l->ctl, SHUT_RDWR); /* its EOF comes at once even so */
    *ts = pp__posix_deadline(l->cv_clock, PP_POSIX_KILL_GRACE_MS);
}

/* One request at a time (caller holds l->start_mu): the zygote answers in
 * order, and the reply slot in the launcher holds one answer. *lost: the
 * helper died before it answered. */
static pp_status pp__posix_request(pp__plat_launcher *l, pp__plat_proc *p, int *fd, int *lost)
{
    struct timespec ts;
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
        pp__plat_set_os_error(errno); /* zygote gone: the next read sees EOF */

    pthread_mutex_lock(&l->mu);
    ts = pp__posix_deadline(l->cv_clock, PP_POSIX_HELPER_REPLY_MS);
    while (!l->replied && !l->lost)
        pp__posix_helper_wait(l, &ts);
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
static int pp__posix_take_ready(pp__plat_launcher *l, pp__plat_proc *p, int *fd, int *first)
{
    struct timespec ts;
    int took = 0;

    pthread_mutex_lock(&l->mu);
    ts = pp__posix_deadline(l->cv_clock, PP_POSIX_HELPER_REPLY_MS);
    while (l->nready == 0 && l->pre_expect > 0 && !l->lost)
        pp__posix_helper_wait(l, &ts);
    if (l->nready > 0) {
        p->pid = l->ready_pid[0];
        *fd = l->ready_fd[0];
        *first = l->ready_first[0];
        l->nready--;
        memmove(l->ready_pid, l->ready_pid + 1, (size_t)l->nready * sizeof(pid_t));
        memmove(l->ready_fd, l->ready_fd + 1, (size_t)l->nready * sizeof(int));
        memmove(l->ready_first, l->ready_first + 1, (size_t)l->nready * sizeof(int));
        pp__posix_proc_link(l, p);
        took = 1;
    }
    pthread_mutex_unlock(&l->mu);
    return took;
}

/* Restart a dead helper first; a request the helper died on is tried
 * once more with the new one. */
pp_status pp__posix_start_forked(pp__plat_launcher *l, pp__plat_proc *p, int *fd, int *first)
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
    if (pp__posix_take_ready(l, p, fd, first)) {
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

/* Tell the helper to go (EOF: it kills its workers and its spare, reaps
 * them and exits) and read until its end of the connection closes, so no
 * worker of it is left when destroy returns — also when the helper is a
 * promoted spare, which we cannot waitpid. Bounded: then it is killed.
 * Only destroy's thread uses the launcher now. */
void pp__posix_stop_helper(pp__plat_launcher *l)
{
    struct timespec ts = pp__posix_deadline(l->cv_clock, PP_POSIX_KILL_GRACE_MS);
    int killed = 0;

    (void)shutdown(l->ctl, SHUT_WR);
    pthread_mutex_lock(&l->mu);
    while (!l->lost) {
        if (pp__posix_pump(l, &ts) != ETIMEDOUT || l->lost)
            continue;
        if (killed)
            break; /* cannot be: a shut socket reads EOF at once */
        /* Alive (its socket is open), so the pid is still its own. */
        (void)kill(l->zpid, SIGKILL);
        (void)shutdown(l->ctl, SHUT_RDWR); /* EOF now */
        ts = pp__posix_deadline(l->cv_clock, PP_POSIX_KILL_GRACE_MS);
        killed = 1;
    }
    if (!l->lost)
        pp__posix_on_lost(l); /* its workers count as gone with it */
    pthread_mutex_unlock(&l->mu);
    pp__posix_helper_gone(l);
}

/* At destroy, a spare is still alive only if its zygote died (a zygote
 * that exits kills its spare): tell it to go (EOF, also if a copy of our
 * end lives on elsewhere) and wait for its end to close. Bounded: then it
 * is killed (its socket is open, so the pid is still its own). */
void pp__posix_stop_spare(pp__plat_launcher *l)
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
    while (l->spare_fd < 0 && !l->lost && pp__posix_pump(l, &ts) == 0) {
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
        /* A failure means the helper is gone: the next read sees the EOF
         * and destroy reaps it as usual. */
        (void)pp__posix_send_msg(l->ctl, &m, sizeof m, -1);
    }
    l->retired = 1;
    pthread_mutex_unlock(&l->start_mu);
}
