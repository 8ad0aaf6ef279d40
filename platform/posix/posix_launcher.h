/*
 * posix_launcher.h — a launcher's state, shared by posix_proc.c (launchers
 * and process handles; spawned workers) and posix_helper.c (the zygote /
 * fork server that forks the workers of the fork and forkserver methods).
 * Private to the POSIX port.
 */
#ifndef PP_POSIX_LAUNCHER_H
#define PP_POSIX_LAUNCHER_H

#include <pthread.h>
#include <sys/types.h>
#include <time.h>

#include "posix_internal.h"

/* How long release/destroy wait for a killed process before giving up on
 * it (a process in uninterruptible sleep cannot die at once). */
#define PP_POSIX_KILL_GRACE_MS 5000
/* How long a zygote / fork server may take to answer a start (a fork)
 * before it is taken for hung and killed (posix_helper.c). */
#define PP_POSIX_HELPER_REPLY_MS 10000

struct pp__plat_proc {
    pp__plat_launcher *l;
    pid_t pid;
    int done;           /* info is valid; a direct child is reaped */
    pp__exit_info info; /* guarded by l->mu */
    pp__plat_proc *next;
};

struct pp__plat_launcher {
    int method;
    int prefork; /* fork: workers the zygote forks ahead */
    /* fork: their first messages (pp__plat_launcher_create_pre), read by
     * the zygote when it is forked, NULL after creation */
    const pp__plat_first *first;
    const char *role;   /* spawn: the role marker's name ("worker", "manager") */
    pthread_mutex_t mu; /* everything below, and every proc's done/info */
    pthread_cond_t cv;  /* a reply or an exit notice arrived */
    clockid_t cv_clock; /* cv's timed waits are measured on it */
    pp__plat_proc *procs;

    /* zygote / fork server only */
    pthread_mutex_t start_mu; /* one START request in flight; restarts */
    int ctl;
    pid_t zpid;
    int zchild;   /* zpid is our child (reap it); a promoted spare is not */
    int up;       /* a helper exists: ctl is its control socket */
    int reading;  /* a thread reads ctl now (pp__posix_pump) */
    int lost;     /* control connection gone (nobody reads it any more) */
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
    int *ready_first; /* the first message it was given, or -1 */
    int replied;
    int reply_err; /* 0 or the zygote's errno */
    int reply_fd;
};

static inline int pp__posix_is_zygote(const pp__plat_launcher *l)
{
    return l->method != PP__START_SPAWN;
}

/* posix_proc.c */
/* Link p into l's list. Caller holds l->mu. */
void pp__posix_proc_link(pp__plat_launcher *l, pp__plat_proc *p);
/* Wait for a direct child (zygote, server) for at most grace_ms, then
 * kill it and wait for good. */
void pp__posix_reap_bounded(pid_t pid, int64_t grace_ms);

/* posix_helper.c */
/* Fork or spawn the helper (l->method, l->prefork); it is read on demand
 * (pp__posix_pump). */
pp_status pp__posix_start_zygote(pp__plat_launcher *l);
/* Start a worker through the helper (restarting a dead one first); *fd:
 * the parent's end of its channel, p linked with its pid; *first: the
 * first message the zygote put in its channel (launcher_create_pre), or
 * -1. */
pp_status pp__posix_start_forked(pp__plat_launcher *l, pp__plat_proc *p, int *fd, int *first);
/* Wait (bounded) for the end of a helper's worker. */
pp_status pp__posix_wait_zygote(pp__plat_proc *p, int64_t timeout_ms, pp__exit_info *info);
/* destroy: the helper, then a spare left over (see posix_helper.c). */
void pp__posix_stop_helper(pp__plat_launcher *l);
void pp__posix_stop_spare(pp__plat_launcher *l);
/* Wait for news from the helper: read its next message if no other
 * thread reads, else wait for that one's news; ts NULL: do not block.
 * Caller holds l->mu (released while reading). Returns 0 or ETIMEDOUT. */
int pp__posix_pump(pp__plat_launcher *l, const struct timespec *ts);
/* Read what the helper has sent already, without blocking. Caller holds
 * l->mu. */
void pp__posix_pump_ready(pp__plat_launcher *l);
/* Drop the announced, untaken worker pid (all with pid 0). Caller holds
 * l->mu (or is the only user of l). */
void pp__posix_ready_drop(pp__plat_launcher *l, pid_t pid);

#endif /* PP_POSIX_LAUNCHER_H */
