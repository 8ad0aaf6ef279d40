/*
 * posix_internal.h — helpers shared by the files of the POSIX port.
 *
 * Nothing here is part of the contract (platform.h); src/ must not include
 * this header. Names are pp__posix_*.
 */
#ifndef PROCPOOL_POSIX_INTERNAL_H
#define PROCPOOL_POSIX_INTERNAL_H

#include "posix/pp_config.h" /* generated: PP_HAVE_* (see feature checks below) */

#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "platform.h"
#include "procpool/common.h"

/* ------------------------------------------------------ feature checks */

/* PP_HAVE_* (robust mutexes, pipe2, SOCK_CLOEXEC, MSG_NOSIGNAL, the
 * parent-death signal, ...): written by platform/posix/meson.build from
 * checks against this system's headers and libraries, with the build's
 * feature macros. Every file of the port includes it through this header,
 * first. */
/* -------------------------------------------------------------- timing */
/* (posix_misc.c) */

/* Absolute time timeout_ms (>= 0; a negative value counts as 0) from now
 * on clock clk, for the timed waits that take a deadline
 * (pthread_cond_timedwait, pthread_mutex_clocklock / timedlock). A
 * deadline past the end of time_t is clamped to its largest value, so a
 * huge timeout waits "forever" instead of overflowing into the past. */
struct timespec pp__posix_deadline(clockid_t clk, int64_t timeout_ms);

#ifdef PP_HAVE_ROBUST_MUTEX
/* A process-shared robust pthread mutex (errorcheck: also
 * PTHREAD_MUTEX_ERRORCHECK), and a lock of it bounded by timeout_ms
 * (pthread_mutex_clocklock on CLOCK_MONOTONIC where there is one), as
 * named locks (posix_mutex.c) and sync segments (posix_sobj.c) use them. */
pp_status pp__posix_robust_mutex_init(pthread_mutex_t *mtx, int errorcheck);
int pp__posix_mutex_timedlock(pthread_mutex_t *mtx, int64_t timeout_ms);
#endif

/* ------------------------------------------------- condition variables */
/* (posix_thread.c) For the port's own pthread condition variables (the
 * launcher); the contract's pp__plat_cond uses the same two. */

/* pthread_cond_init for timed waits that a wall-clock change cannot bend:
 * *clk receives the clock to compute their deadlines on (with
 * pp__posix_deadline) — CLOCK_MONOTONIC, or CLOCK_REALTIME on a system
 * that refuses it. Returns 0 or an errno value. */
int pp__posix_cond_init(pthread_cond_t *cv, clockid_t *clk);

/* Wait on cv (mu held) until woken or until deadline on clk (the clock
 * pp__posix_cond_init gave). Returns 0 (woken, perhaps spuriously),
 * ETIMEDOUT (only once the deadline has passed on clk), or another errno
 * value. */
int pp__posix_cond_timedwait(pthread_cond_t *cv, pthread_mutex_t *mu, clockid_t clk,
                             const struct timespec *deadline);

/* ---------------------------------------------------------- fd helpers */
/* (posix_fd.c) Every fd the port creates is close-on-exec from birth where
 * the OS allows it (PP_HAVE_PIPE2, PP_HAVE_SOCK_CLOEXEC,
 * PP_HAVE_MSG_CMSG_CLOEXEC: Linux, the BSDs); elsewhere (macOS) the flag is
 * set right after creation, which leaves a small window against a
 * concurrent fork+exec. */

/* close() that keeps errno and never retries on EINTR (Linux and most
 * systems release the fd even when close is interrupted). fd < 0 ok. */
void pp__posix_close(int fd);

/* Set FD_CLOEXEC. Returns 0 or -1 with errno. */
int pp__posix_set_cloexec(int fd);

/* AF_UNIX SOCK_STREAM socketpair, both ends close-on-exec and (macOS)
 * SO_NOSIGPIPE. Returns 0 or -1 with errno. */
int pp__posix_socketpair(int fds[2]);

/* pipe with both ends close-on-exec. Returns 0 or -1 with errno. */
int pp__posix_pipe(int fds[2]);

/* Flags for send(): MSG_NOSIGNAL where it exists (SO_NOSIGPIPE is set on
 * the socket instead on macOS and the BSDs that lack it). */
#ifdef PP_HAVE_MSG_NOSIGNAL
#define PP_POSIX_SEND_FLAGS MSG_NOSIGNAL
#else
#define PP_POSIX_SEND_FLAGS 0
#endif

/* Send all len bytes, optionally passing one fd (SCM_RIGHTS) with the
 * first byte (pass_fd < 0: none). Returns 0 or -1 with errno (EPIPE when
 * the peer is gone). Never raises SIGPIPE. */
int pp__posix_send_msg(int sock, const void *buf, size_t len, int pass_fd);

/* Receive exactly len bytes; an fd passed with them is stored in *got_fd
 * (close-on-exec) if got_fd is not NULL, else closed; *got_fd = -1 when
 * none came. Returns 1 on success, 0 on EOF (nothing or a partial message
 * read), -1 with errno on error. */
int pp__posix_recv_msg(int sock, void *buf, size_t len, int *got_fd);

/* ------------------------------------------------------------ channels */
/* (posix_chan.c) */

/* Wrap a connected stream socket into a channel. Takes ownership of fd:
 * on failure it is closed. */
pp_status pp__posix_chan_wrap(int fd, pp__plat_chan **out);

/* The channel's socket. */
int pp__posix_chan_fd(const pp__plat_chan *c);

/* Make c's reads and writes also end (PP_ECONNLOST) when peer, the
 * process at the other end, has exited and nothing it wrote is left to
 * read, even if a copy of its end lives on elsewhere. peer must outlive
 * c's I/O. */
void pp__posix_chan_watch(pp__plat_chan *c, pp__plat_proc *peer);

/* Has p exited? Non-blocking; a direct child is reaped (its exit status
 * is kept for pp__plat_proc_wait). (posix_proc.c) */
int pp__posix_proc_exited(pp__plat_proc *p);

/* ------------------------------------------------ named shared segments */
/* (posix_seg.c) Common part of named mutexes and named shm: a segment
 * "/<name>" starting with this header. */

/* The header every procpool segment begins with. The creator fills it,
 * then initialises the payload, then stores PP_POSIX_SEG_READY in ready
 * with release semantics; openers wait for that value (acquire) before
 * touching anything else. */
typedef struct pp__posix_seg_hdr {
    uint32_t magic;         /* which kind of object (mutex, shm) */
    uint32_t version;       /* layout version of that kind */
    uint32_t size;          /* sizeof the kind's header struct (ABI check) */
    _Atomic uint32_t ready; /* PP_POSIX_SEG_READY once usable */
    uint64_t id;            /* random, non-zero: this object among all of its name */
} pp__posix_seg_hdr;

#define PP_POSIX_SEG_READY 0x52454459u /* "REDY": not a value fresh zeroes give */

/* Grace period open() allows a concurrent creator to finish. */
#define PP_POSIX_SEG_GRACE_MS 1000

/* Create "/<name>" exclusively with total bytes (zero-filled), map it,
 * and give it a fresh identity (hdr.id). The name is removed again on any
 * failure. */
pp_status pp__posix_seg_create(const char *name, size_t total, void **addr);

/* Open "/<name>", map it and validate the header: magic, version and
 * header size must match, and the segment size must be at least
 * expect_total (if != 0) and min_total (larger: the system rounded it up,
 * as macOS does to whole pages). Waits up to the grace
 * period for a concurrent creator. *total gets the mapped size. */
pp_status pp__posix_seg_open(const char *name, uint32_t magic, uint32_t version, uint32_t hdr_size,
                             size_t expect_total, size_t min_total, void **addr, size_t *total);

/* Publish a fully initialised segment (release store of ready). */
void pp__posix_seg_publish(pp__posix_seg_hdr *hdr);

/* Unmap. */
void pp__posix_seg_unmap(void *addr, size_t total);

/* shm_unlink("/<name>"): PP_OK, PP_ENOENT, ... */
pp_status pp__posix_seg_unlink(const char *name);

/* Remove the lock file of name, if the lock fallback (posix_flock.c: no
 * robust mutexes) made one; a no-op otherwise. errno is kept. */
void pp__posix_lockfile_remove(const char *name);

/* ---------------------------------------------------- resource tracker */
/* (posix_tracker.c) A helper process that removes the segments of a
 * process that died without removing them. */

/* Register the tracker's fork handler (from pp__plat_init). */
void pp__posix_tracker_init(void);

/* Start the tracker of this process if it has none yet (once per process,
 * thread-safe; a failure leaves it off, silently). Called before a
 * segment is created. */
void pp__posix_tracker_ensure(void);

/* Tell the tracker: name was created by this process / removed by it
 * (after a successful unlink, or one that found it gone). Never fail;
 * no-ops while the tracker is off. errno is kept. */
void pp__posix_tracker_created(const char *name);
void pp__posix_tracker_removed(const char *name);

/* The client end of the tracker's socket, or -1 if none: a fork zygote
 * keeps it open (workers it forks are processes forked from ours). */
int pp__posix_tracker_fd(void);

/* The tracker role ("--pp-role=tracker:<fd>"): detach, wait for EOF on
 * fd, remove the names still registered. Never returns. */
_Noreturn void pp__posix_tracker_run(int fd);

/* ------------------------------------------------------------- process */

/* The argv saved by pp__plat_role_detect() (marker removed), NULL-
 * terminated; NULL if role_detect was not called with an argv.
 * (posix_role.c) */
char *const *pp__posix_saved_argv(int *argc);

/* Path to exec as a fallback when /proc/self/exe is unusable (resolved
 * argv[0], or the macOS executable path); NULL if unknown. */
const char *pp__posix_exe_fallback(void);

/* Unmap this process's copy of an unnamed block (a fork zygote: one meant
 * for another process), leaving s itself alone. (posix_shm.c) */
void pp__posix_shm_drop(const pp__plat_shm *s);

/* Flags of pp__posix_zygote_run(). */
enum {
    /* close the close-on-exec fds the process inherited (fork zygote; see
     * posix_zygote.c) */
    PP_POSIX_ZYGOTE_SWEEP = 1,
    /* keep a spare copy of the zygote for the parent (fork zygote: the
     * parent cannot fork another one; see posix_zygote.c) */
    PP_POSIX_ZYGOTE_SPARE = 2
};

/* The descriptors a fork zygote keeps (posix_zygote.c): listed by the
 * parent just before it forks, so the new zygote need not list its own. */
typedef struct pp__posix_fdkeep {
    int *fds; /* the parent's descriptors >= 3 without close-on-exec, ascending */
    size_t n;
    int ok; /* the list is complete; 0: the zygote sweeps on its own */
} pp__posix_fdkeep;

/* In the parent, right before forking a zygote: list the descriptors it
 * must keep (k->ok stays 0 where this cannot be done cheaply or at all).
 * Free with pp__posix_fdkeep_free() after the fork, in the parent. */
void pp__posix_fdkeep_make(pp__posix_fdkeep *k);
void pp__posix_fdkeep_free(pp__posix_fdkeep *k);
/* In a new fork zygote: close the close-on-exec descriptors it inherited
 * but ctl (and the resource tracker's), from keep's list where it can.
 * (posix_zygote_fds.c) */
void pp__posix_zygote_sweep(pp__posix_fdkeep *keep, int ctl);

/* Run the zygote / fork server loop on control socket ctl. worker_mask is
 * the signal mask workers get; flags: PP_POSIX_ZYGOTE_*; prefork: how
 * many workers to fork first, before reading any request, each announced
 * unasked (STARTED, or FAILED); first: NULL, or prefork first messages
 * for them (pp__plat_launcher_create_pre; STARTED's status is then 1 + the
 * index of the one put in the worker's channel, 0 for none); keep: with
 * PP_POSIX_ZYGOTE_SWEEP, the parent's list (pp__posix_fdkeep_make) or
 * NULL. Never returns. (posix_zygote.c) */
_Noreturn void pp__posix_zygote_run(int ctl, const sigset_t *worker_mask, int flags, int prefork,
                                    const pp__plat_first *first, pp__posix_fdkeep *keep);

/* fork+exec the program's own image with the role marker
 * "--pp-role=<role>:<PP_POSIX_CHILD_FD>:<our pid>" and child_fd placed on
 * PP_POSIX_CHILD_FD. flags: PP_POSIX_SPAWN_PDEATH asks for SIGKILL when
 * the calling thread dies (Linux); PP_POSIX_SPAWN_NULL_STDIO gives the
 * child /dev/null as stdin, stdout and stderr (otherwise it shares the
 * caller's). PP_ESPAWN (os error = the child's errno) if the exec failed.
 * (posix_spawn.c) */
#define PP_POSIX_SPAWN_PDEATH     1
#define PP_POSIX_SPAWN_NULL_STDIO 2
pp_status pp__posix_spawn_self(const char *role, int child_fd, int flags, pid_t *pid);

/* In a worker forked by a zygote / fork server: run the worker entry set
 * by pp__plat_set_worker_entry() on chan and exit with its return value
 * (pp__plat_exit); with none set, say so on stderr and exit 1.
 * (posix_role.c) */
_Noreturn void pp__posix_run_worker(pp__plat_chan *chan);

/* Set the parent-death signal to SIGKILL (PP_HAVE_PDEATHSIG) and remember
 * parent for the watchdog pp__plat_worker_setup() starts where there is
 * no such signal. If the parent is already gone (getppid() != parent),
 * _exit at once. Async-signal-safe. (posix_role.c) */
void pp__posix_die_with_parent(pid_t parent);

/* The parent whose death must end this process: the one given to
 * pp__posix_die_with_parent() or named by the spawn marker, else
 * getppid(). (posix_role.c) */
pid_t pp__posix_parent_pid(void);

/* Register posix_role.c's fork handler (from pp__plat_init). */
void pp__posix_role_init(void);

/* Decode a waitpid status. */
void pp__posix_decode_status(int status, pp__exit_info *info);

/* Fixed fd a spawned process finds its channel / control socket on. */
#define PP_POSIX_CHILD_FD 3

/* Marker prefix on a spawned process's command line. */
#define PP_POSIX_ROLE_PREFIX "--pp-role="

/* Messages between the parent and a zygote / fork server (control
 * socket). Fixed size; same program image on both ends, so native
 * layout is fine. */
enum {
    PP_POSIX_ZMSG_START = 1,   /* parent -> zygote: fork a worker */
    PP_POSIX_ZMSG_STARTED = 2, /* zygote -> parent: pid, channel fd attached */
    PP_POSIX_ZMSG_FAILED = 3,  /* zygote -> parent: err = errno */
    PP_POSIX_ZMSG_EXIT = 4,    /* zygote -> parent: pid ended, status */
    PP_POSIX_ZMSG_SPARE = 5,   /* zygote -> parent: a new spare zygote, pid,
                                  the spare's control socket attached */
    PP_POSIX_ZMSG_PROMOTE = 6, /* parent -> spare: the zygote died, you are
                                  the zygote now */
    PP_POSIX_ZMSG_RETIRE = 7,  /* parent -> zygote: no START will come any
                                  more: kill the spare, keep none, and exit
                                  once the last worker has ended */
    PP_POSIX_ZMSG_PREFORK = 8  /* parent -> fork server, first message: fork
                                  pid workers now, each announced unasked
                                  (STARTED or FAILED), as the fork zygote
                                  does when it starts */
};

typedef struct pp__posix_zmsg {
    int32_t type;
    int32_t err;
    int64_t pid;
    int32_t status; /* raw waitpid status for EXIT */
    int32_t pad;
} pp__posix_zmsg;

#endif /* PROCPOOL_POSIX_INTERNAL_H */
