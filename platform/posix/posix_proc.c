/*
 * posix_proc.c — launchers and worker process handles (parent side).
 *
 * Spawn: workers are our own children (posix_spawn.c); we wait for them
 * with waitpid(<that pid>, WNOHANG) polls, never waitpid(-1), so children
 * of the program and of other libraries are left alone.
 *
 * Fork / forkserver: workers are children of a zygote (posix_zygote.c);
 * the launcher's side of that helper is posix_helper.c.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "posix_internal.h"

#include "posix_launcher.h"

/* ---------------------------------------------------------- proc list */

static pp__plat_proc *pp__posix_proc_new(pp__plat_launcher *l)
{
    pp__plat_proc *p = calloc(1, sizeof *p);
    if (p != NULL)
        p->l = l;
    return p;
}

void pp__posix_proc_link(pp__plat_launcher *l, pp__plat_proc *p)
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
    free(l->ready_first);
    pthread_cond_destroy(&l->cv);
    pthread_mutex_destroy(&l->start_mu);
    pthread_mutex_destroy(&l->mu);
    free(l);
}

/* Wait for a direct child (zygote, server) for at most grace_ms, then
 * kill it and wait for good. */
void pp__posix_reap_bounded(pid_t pid, int64_t grace_ms)
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
    return pp__plat_launcher_create_pre(method, 0, NULL, out);
}

pp_status pp__plat_launcher_create_for(int method, int workers, pp__plat_launcher **out)
{
    return pp__plat_launcher_create_pre(method, workers, NULL, out);
}

pp_status pp__plat_launcher_create_pre(int method, int workers, const pp__plat_first *first,
                                       pp__plat_launcher **out)
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
    /* Fork and forkserver: the helper forks them unasked (the first
     * helper only: a restarted one forks on request). */
    if (pp__posix_is_zygote(l) && workers > 0) {
        l->ready_pid = malloc((size_t)workers * sizeof *l->ready_pid);
        l->ready_fd = malloc((size_t)workers * sizeof *l->ready_fd);
        l->ready_first = malloc((size_t)workers * sizeof *l->ready_first);
        if (l->ready_pid != NULL && l->ready_fd != NULL && l->ready_first != NULL)
            l->prefork = workers; /* else: each on request */
    }
    /* Fork: the zygote, a copy of this process, reads them (its own copy)
     * when it forks the first workers. Forkserver: sent by the caller. */
    if (l->method == PP__START_FORK && l->prefork > 0)
        l->first = first;
    if (pp__posix_is_zygote(l)) {
        st = pp__posix_start_zygote(l);
        l->first = NULL;
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

pp_status pp__plat_launcher_start(pp__plat_launcher *l, pp__plat_proc **proc, pp__plat_chan **chan)
{
    int first;
    pp_status st = pp__plat_launcher_start_first(l, proc, chan, &first);

    if (st == PP_OK && first >= 0) {
        /* Not for this caller (it gave no first messages): cannot be. */
        pp__plat_chan_close(*chan);
        pp__plat_proc_release(*proc);
        return PP_EPROTO;
    }
    return st;
}

pp_status pp__plat_launcher_start_first(pp__plat_launcher *l, pp__plat_proc **proc,
                                        pp__plat_chan **chan, int *first)
{
    pp__plat_proc *p = pp__posix_proc_new(l);
    pp_status st;
    int fd = -1;

    *first = -1;
    if (p == NULL)
        return PP_ENOMEM;
    if (pp__posix_is_zygote(l))
        st = pp__posix_start_forked(l, p, &fd, first);
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
    else if (!p->done)
        pp__posix_pump_ready(p->l); /* its EXIT, if the helper sent it */
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
    if (!p->done && pp__posix_is_zygote(l))
        pp__posix_pump_ready(l); /* an EXIT already sent: the pid may be reused */
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
