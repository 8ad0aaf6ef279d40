/*
 * platform.h — the contract between procpool's portable core (src/) and
 * its ports (platform/posix/, platform/win32/).
 *
 * Every OS call of the library lives behind these functions. src/ never
 * includes an OS header; if it needs one, a function is missing here.
 * This file says what each function does, its errors and its
 * preconditions; how and why a port does it is written in the port's
 * file (platform/posix/posix_*.c, platform/win32/win_*.c).
 *
 * Types are opaque. A function that fails because of the OS records the
 * raw OS code with pp__plat_set_os_error(), so pp_os_error() can report
 * it, and returns the mapped pp_status.
 *
 * Threading: all functions are thread-safe unless stated otherwise.
 */
#ifndef PROCPOOL_PLATFORM_H
#define PROCPOOL_PLATFORM_H

#include <stddef.h>
#include <stdint.h>

#include "procpool/common.h" /* PP_INFINITE, PP_NAME_MAX */
#include "procpool/error.h"

/* ------------------------------------------------------------------ misc */

/* One-time process initialisation of the port (called by pp_init before
 * anything else here). Idempotent. */
pp_status pp__plat_init(void);

/* Number of online CPUs, >= 1. */
int pp__plat_cpu_count(void);

/* Memory of the calling process now in RAM (resident set / working set),
 * in bytes; 0 if the OS cannot tell. */
uint64_t pp__plat_self_rss(void);

/* Fill buf with n cryptographically random bytes from the OS. */
pp_status pp__plat_random(void *buf, size_t n);

/* Monotonic clock in milliseconds; only differences are meaningful. */
int64_t pp__plat_now_ms(void);

/* Monotonic clock in nanoseconds (benchmarks, ordering logs). */
int64_t pp__plat_now_ns(void);

/* The pp__plat_now_ms() time at which a wait of timeout_ms (>= 0) that
 * starts now has lasted its whole timeout: now + timeout_ms + 1, because
 * now is truncated to the millisecond and a deadline of now + timeout_ms
 * can be reached up to a millisecond early (a waiter woken for another
 * reason just then would time out early). 0 stays now: a try. A timeout
 * too large to add (INT64_MAX from a caller) gives INT64_MAX, a deadline
 * never reached: an overflow would be undefined and land in the past. */
static inline int64_t pp__plat_deadline_ms(int64_t timeout_ms)
{
    int64_t now = pp__plat_now_ms();

    if (timeout_ms <= 0)
        return now;
    return timeout_ms >= INT64_MAX - 1 - now ? INT64_MAX : now + timeout_ms + 1;
}

/* Sleep the calling thread. */
void pp__plat_sleep_ms(int64_t ms);

/* Current process id. */
uint64_t pp__plat_getpid(void);

/* Id of the calling thread: never 0, and never given to another thread of
 * this process, also after this one has ended (owner checks rely on it).
 * The only thread of a forked child keeps the id of the thread that
 * forked. */
uint64_t pp__plat_thread_id(void);

/* Memory for large buffers (a map's frames, results and items): n bytes,
 * zeroed, page-aligned, private to the process, released with
 * pp__plat_big_free(p, n) (the same n). NULL on failure or n == 0. Meant
 * for blocks of PP__PLAT_BIG_MIN bytes or more; smaller ones come from
 * malloc. pp__plat_big_free(NULL, n) does nothing. */
#define PP__PLAT_BIG_MIN ((size_t)256 * 1024)
void *pp__plat_big_alloc(size_t n);
void pp__plat_big_free(void *p, size_t n);
/* As pp__plat_big_alloc(), but not populated: each page is zeroed when it
 * is first touched, by whoever touches it (a map's item array, which the
 * threads that read results fill while the workers run, instead of the
 * submitting thread before the first task goes out). */
void *pp__plat_big_alloc_lazy(size_t n);
/* Best effort, for n bytes at p (memory of the caller's, any alignment)
 * that are about to be written whole: have its pages mapped writable now
 * in one go rather than one page fault each during the copy. Changes no
 * byte; does nothing where the OS has no such call. */
void pp__plat_prefault_write(void *p, size_t n);

/* Have fn run in the child after every fork() of this process (by the
 * library or by anyone else), for process-wide state of the core that a
 * fork could catch in the middle of an update. Register each fn once.
 * Does nothing on Windows (no fork). */
void pp__plat_atfork_child(void (*fn)(void));

/* Flush the C runtime's stdio buffers of the process (before fork, and in
 * a worker after each task so its output is not lost on _exit). */
void pp__plat_flush_stdio(void);

/* ------------------------------------------------------------- atomics */

/*
 * Atomic operations on a 64-bit word that may live in memory shared
 * between processes (a worker's control block). p must be 8-byte aligned.
 * load has acquire semantics, store release, cas is sequentially
 * consistent and returns 1 if *p was expect and is now desired, else 0.
 */
uint64_t pp__plat_atomic_load64(volatile uint64_t *p);
void pp__plat_atomic_store64(volatile uint64_t *p, uint64_t v);
int pp__plat_atomic_cas64(volatile uint64_t *p, uint64_t expect, uint64_t desired);

/* ---------------------------------------------------------------- errors */

/* Map a raw OS code (errno / GetLastError) to a pp_status; unknown codes
 * become PP_ESYS. */
pp_status pp__plat_map_error(long oserr);

/* The OS code of the last failed OS call on this thread (errno,
 * GetLastError). */
long pp__plat_last_error(void);

/* Thread-local "last OS error" behind pp_os_error(). Ports call
 * pp__plat_fail(oserr) = set it and return the mapped status. */
void pp__plat_set_os_error(long oserr);
long pp__plat_get_os_error(void);
pp_status pp__plat_fail(long oserr);

/* --------------------------------------------------------------- threads */

/* Threads, and mutexes and condition variables private to the process. */

typedef struct pp__plat_thread pp__plat_thread;

/* Start fn(arg) on a new thread. Errors: PP_EINVAL (out or fn NULL),
 * PP_ENOMEM, or the mapped OS error when the system cannot create another
 * thread. */
pp_status pp__plat_thread_create(pp__plat_thread **out, void (*fn)(void *arg), void *arg);

/* Wait for the thread to return and free it. NULL ok. Exactly once per
 * thread, from another thread. */
void pp__plat_thread_join(pp__plat_thread *t);

/* Let another runnable thread (of any process) have this CPU for a
 * moment; returns at once if there is none. For bounded spins only. */
void pp__plat_yield(void);

/* A non-recursive mutex for the threads of one process. */
typedef struct pp__plat_mtx pp__plat_mtx;

/* Errors: PP_EINVAL (out NULL), PP_ENOMEM, or a mapped OS error. */
pp_status pp__plat_mtx_create(pp__plat_mtx **out);

/* Free. The mutex must be unlocked and have no waiters. NULL ok. */
void pp__plat_mtx_destroy(pp__plat_mtx *m);

/* Lock; the caller must not hold m. */
void pp__plat_mtx_lock(pp__plat_mtx *m);

/* Unlock; the caller must hold m. */
void pp__plat_mtx_unlock(pp__plat_mtx *m);

/* Lock m if no thread holds it now: 1 locked, 0 not (never waits). */
int pp__plat_mtx_trylock(pp__plat_mtx *m);

/* In a child right after fork(): make m usable again (unlocked) whatever
 * state the fork caught it in (held by a thread that does not exist in
 * the child, or by the forking thread); its memory is kept, so pointers
 * to it stay valid. Only while the child has a single thread. POSIX
 * only; a no-op on Windows. */
void pp__plat_mtx_reset_after_fork(pp__plat_mtx *m);

/* A condition variable, used with one pp__plat_mtx at a time. */
typedef struct pp__plat_cond pp__plat_cond;

/* Errors: PP_EINVAL (out NULL), PP_ENOMEM, or a mapped OS error. */
pp_status pp__plat_cond_create(pp__plat_cond **out);

/* Free. No thread may be waiting on c. NULL ok. */
void pp__plat_cond_destroy(pp__plat_cond *c);

/* Wake at least one waiter / every waiter, if any. The caller need not
 * hold the mutex; a waiter that is not yet waiting misses the wake-up, so
 * a predicate the waiters check is changed under the mutex. */
void pp__plat_cond_signal(pp__plat_cond *c);
void pp__plat_cond_broadcast(pp__plat_cond *c);

/* Wait (m held): atomically unlock m and block until woken or the timeout
 * ends; m is held again on return, whatever the result. timeout_ms:
 * PP_INFINITE or >= 0, measured on a monotonic clock: a change of the
 * wall clock neither lengthens nor shortens it (the elapsed time of
 * pp__plat_now_ms() is at least timeout_ms when PP_ETIMEDOUT is
 * returned). Returns PP_OK when woken (spuriously too: check the
 * predicate again) or PP_ETIMEDOUT. */
pp_status pp__plat_cond_wait(pp__plat_cond *c, pp__plat_mtx *m, int64_t timeout_ms);

/* --------------------------------------------------- named robust mutex */

/*
 * A mutex shared by processes, identified by a name of 1..PP_NAME_MAX
 * chars from [A-Za-z0-9._-] (the caller validates names). Owned by a
 * thread; not recursive. Robust: when its holder (thread or process) ends
 * while holding it, the next acquirer gets it with PP_EOWNERDEAD.
 *
 * Precondition: at most one pp__plat_mutex per name is open in a process
 * at a time (the core's lock cache guarantees it); all threads of the
 * process use that one object.
 *
 * Where the OS has no robust process-shared mutex (macOS), the POSIX port
 * keeps this contract with a lock file held with flock()
 * (posix/posix_flock.c); create and open return PP_ENOTSUP only where
 * there is neither.
 */
typedef struct pp__plat_mutex pp__plat_mutex;

/* Create exclusively, unlocked: PP_EEXIST if the name is taken. */
pp_status pp__plat_mutex_create(const char *name, pp__plat_mutex **out);
/* Open existing: PP_ENOENT if absent or unlinked, PP_EINVAL if the name
 * is not a procpool mutex or its creator has not finished creating it
 * within a short grace period. */
pp_status pp__plat_mutex_open(const char *name, pp__plat_mutex **out);
/* timeout_ms: PP_INFINITE (-1) or >= 0. Returns PP_OK, PP_EOWNERDEAD
 * (acquired, made consistent), PP_ETIMEDOUT, PP_EDEADLK (caller holds it). */
pp_status pp__plat_mutex_lock(pp__plat_mutex *m, int64_t timeout_ms);
/* PP_OK, PP_EOWNERDEAD, PP_EBUSY, PP_EDEADLK. */
pp_status pp__plat_mutex_trylock(pp__plat_mutex *m);
/* PP_OK, PP_EPERM (caller does not hold it). */
pp_status pp__plat_mutex_unlock(pp__plat_mutex *m);
/* 1 if the calling thread holds m (acquired through m), else 0. Takes
 * nothing: asking never uses up another's PP_EOWNERDEAD. */
int pp__plat_mutex_held(const pp__plat_mutex *m);
/* Detach this process from the mutex and free m. Does not remove the name
 * (but on Windows, closing the creator's object also gives the name up;
 * see unlink). NULL ok. */
void pp__plat_mutex_close(pp__plat_mutex *m);
/* The object's identity: random, non-zero, chosen when it was created and
 * the same in every process that has it open. An object created later
 * under the same name has another one (names are reused; identities are
 * not), which is how the core tells a re-created lock from the one a
 * process already has. */
uint64_t pp__plat_mutex_id(const pp__plat_mutex *m);
/* Remove the name: later opens get PP_ENOENT, objects already open keep
 * working among themselves. POSIX: PP_ENOENT if absent. Windows: PP_OK
 * also when absent (it cannot tell "never created" from "every handle
 * closed"), and the name may stay taken (PP_EEXIST on create) while other
 * processes still have the object open. */
pp_status pp__plat_mutex_unlink(const char *name);

/*
 * Names of a process that ends without removing them (mutexes and shm
 * blocks alike): POSIX removes every name a process created and did not
 * unlink once that process, and every process forked from it, has exited
 * — however it ended (killed, crashed, exit without unlink) — as long as
 * the port could start its helper for this at the process's first
 * create (a failure to start it does not fail the create). Windows: the
 * object, and with it the name, goes with its last handle; a dead
 * process's handles are closed by the system. Nothing is needed from the
 * core for either.
 */

/* ------------------------------------------------- named shared memory */

/* A named block of shared memory; names as for the named mutex. */
typedef struct pp__plat_shm pp__plat_shm;

/* Create exclusively a block of size bytes (1 .. 2^40; else PP_EINVAL),
 * zero-filled. PP_EEXIST if the name is taken. */
pp_status pp__plat_shm_create(const char *name, size_t size, pp__plat_shm **out);
/* Open existing: PP_ENOENT if absent or unlinked, PP_EINVAL if the name is
 * not a procpool block (or its creator did not finish in a grace
 * period). */
pp_status pp__plat_shm_open(const char *name, pp__plat_shm **out);
/* The block: 64-byte aligned, pp__plat_shm_size(s) bytes, valid until
 * close. */
void *pp__plat_shm_ptr(const pp__plat_shm *s);
size_t pp__plat_shm_size(const pp__plat_shm *s);
/* Unmap and free s. Does not remove the name. NULL ok. */
void pp__plat_shm_close(pp__plat_shm *s);
/* The block's identity, as pp__plat_mutex_id. */
uint64_t pp__plat_shm_id(const pp__plat_shm *s);
/* Remove the name; as pp__plat_mutex_unlink. */
pp_status pp__plat_shm_unlink(const char *name);

/* An unnamed block (as pp__plat_shm_create, without a name to remove or
 * track), shared with the processes this one forks without exec from now
 * on, which find their copy with pp__plat_shm_inherit. Close as usual.
 * Errors: PP_EINVAL (size), PP_ENOMEM, PP_ENOTSUP (no fork: Windows). */
pp_status pp__plat_shm_create_inherited(size_t size, pp__plat_shm **out);
/* What a forked process gives pp__plat_shm_inherit for s (non-zero). */
uint64_t pp__plat_shm_token(const pp__plat_shm *s);
/* In a process forked without exec from the creator of an unnamed block,
 * that still has its copy: a handle on it, from its token. Errors:
 * PP_EINVAL (no such block here), PP_ENOMEM, PP_ENOTSUP (Windows). */
pp_status pp__plat_shm_inherit(uint64_t token, pp__plat_shm **out);

/* ------------------------------------------------- sync segments */

/*
 * A "sync segment": the one platform primitive behind every local
 * synchronization kind of the sync layer (semaphore, event, barrier,
 * condition, queue, array). ONE named object (names as for the named
 * mutex, one namespace with locks and shm blocks) made of
 *  - a header: magic, version, kind tag, identity, state size;
 *  - a robust cross-process STATE MUTEX (PP_EOWNERDEAD when its holder
 *    died holding it; not recursive);
 *  - a WAKE WORD (an eventcount: wait until it changes, bump and wake);
 *  - state_size bytes of kind state, 64-byte aligned, zeroed or copied
 *    from init at create, BEFORE any other process can open it.
 * Kinds keep all their state there and hold the state mutex only for
 * short critical sections, never while waiting. The name is registered
 * with the resource tracker as for the named mutex (platform.h above).
 */
typedef struct pp__plat_sobj pp__plat_sobj;

/* Largest state a segment holds (a sanity bound on sizes from garbage). */
#define PP__PLAT_SOBJ_STATE_MAX ((size_t)1 << 30)

/* Create exclusively. kind: a non-zero tag the sync layer defines.
 * state_size 1..PP__PLAT_SOBJ_STATE_MAX (else PP_EINVAL). init: NULL (the
 * state is zeroed) or state_size bytes copied into the state before the
 * segment can be opened. PP_EEXIST if the name exists (as any procpool
 * object). */
pp_status pp__plat_sobj_create(const char *name, uint32_t kind, size_t state_size, const void *init,
                               pp__plat_sobj **out);
/* Open. kind 0: any kind (see pp__plat_sobj_kind()). PP_ENOENT: no such
 * name (or unlinked); PP_EINVAL: the name is another procpool object
 * (lock, shm, ...) or not ready within a grace period; PP_ETYPE: a sync
 * segment of another kind. */
pp_status pp__plat_sobj_open(const char *name, uint32_t kind, pp__plat_sobj **out);
void *pp__plat_sobj_state(const pp__plat_sobj *s);
size_t pp__plat_sobj_state_size(const pp__plat_sobj *s);
uint32_t pp__plat_sobj_kind(const pp__plat_sobj *s);
/* Identity: random, non-zero, as pp__plat_mutex_id. */
uint64_t pp__plat_sobj_id(const pp__plat_sobj *s);
/* Take the state mutex, waiting at most timeout_ms (PP_INFINITE: no
 * bound). PP_OK, PP_EOWNERDEAD (taken; the previous holder died inside
 * its critical section: the kind repairs its state), PP_ETIMEDOUT. Not
 * recursive: the caller must not hold it. */
pp_status pp__plat_sobj_lock(pp__plat_sobj *s, int64_t timeout_ms);
void pp__plat_sobj_unlock(pp__plat_sobj *s);
/* Acquire-load of the wake word. */
uint32_t pp__plat_sobj_seq(const pp__plat_sobj *s);
/* Without the state mutex: sleep until the wake word differs from seen,
 * a wake, or timeout_ms (>= 0) passed. Spurious returns are allowed (the
 * caller re-checks its condition). PP_OK or PP_ETIMEDOUT. */
pp_status pp__plat_sobj_wait(pp__plat_sobj *s, uint32_t seen, int64_t timeout_ms);
/* Bump the wake word and wake every waiter (of every process). */
void pp__plat_sobj_wake(pp__plat_sobj *s);
/* Unmap and free (the name stays). NULL ok. */
void pp__plat_sobj_close(pp__plat_sobj *s);
/* Remove the name; as pp__plat_mutex_unlink. */
pp_status pp__plat_sobj_unlink(const char *name);

/* Liveness of a participant, robust against pid reuse: the calling
 * process's pid and a stamp (its start time where the OS tells it, else
 * 0), and whether that process still runs: 1 alive (or cannot tell), 0
 * gone (or its pid now names another process: the stamp differs). A
 * stamp of 0 checks the pid only. */
void pp__plat_proc_self_stamp(uint64_t *pid, uint64_t *stamp);
int pp__plat_proc_alive(uint64_t pid, uint64_t stamp);

/* -------------------------------------------------------------- channels */

/*
 * A channel is a reliable duplex byte stream between the parent and one
 * worker. Its OS handles are never inherited by other processes, except
 * the worker's end, and that only into the one worker it belongs to.
 * One thread may read while another writes; two threads must not read
 * (or write) at once.
 */
typedef struct pp__plat_chan pp__plat_chan;

/* Read up to cap bytes; blocks until at least one byte is available.
 * Returns PP_OK with *got > 0, or PP_ECONNLOST on EOF / peer gone /
 * after pp__plat_chan_shutdown(). */
pp_status pp__plat_chan_read(pp__plat_chan *c, void *buf, size_t cap, size_t *got);

/* Copy up to cap bytes that can be read now, without consuming them and
 * without blocking: PP_OK with *got >= 0 (0: nothing there). Unlike
 * reads, a peek may run while another thread reads c (it then sees what
 * that read has not taken yet). PP_ENOTSUP where the port cannot
 * (Windows); any other failure is an error status (the reader sees it
 * too). */
pp_status pp__plat_chan_peek(pp__plat_chan *c, void *buf, size_t cap, size_t *got);

/* Read up to cap bytes that are there now, without blocking: PP_OK with
 * *got > 0, or with *got == 0 when nothing has come yet; PP_ECONNLOST on
 * EOF / peer gone (as pp__plat_chan_read); PP_ENOTSUP where the port
 * cannot (Windows: callers then block in pp__plat_chan_read). For a short
 * wait that does not sleep (wire/frame.h: pp__reader_set_spin). */
pp_status pp__plat_chan_try_read(pp__plat_chan *c, void *buf, size_t cap, size_t *got);

/* Write all len bytes (blocking). PP_ECONNLOST if the peer is gone; never
 * raises SIGPIPE. */
pp_status pp__plat_chan_write(pp__plat_chan *c, const void *buf, size_t len);

/* Make a read blocked in another thread return PP_ECONNLOST promptly, and
 * every later read/write fail. Does not free. */
void pp__plat_chan_shutdown(pp__plat_chan *c);

/* Close and free. No other thread may be using c (shut it down and let
 * them return first). NULL ok. */
void pp__plat_chan_close(pp__plat_chan *c);

/* -------------------------------------------------------- worker launch */

/* Start methods; values match pp_start_method in procpool/pool.h. */
enum { PP__START_FORK = 1, PP__START_SPAWN = 2, PP__START_FORKSERVER = 3 };

/* How a process ended. All zero: it is gone but how is unknown (POSIX:
 * someone else reaped it). A worker of a zygote / fork server that died
 * before reporting the worker's end: signaled with SIGKILL (what such a
 * worker gets; see pp__plat_launcher_start). */
typedef struct pp__exit_info {
    int exited;    /* 1: normal exit, code valid */
    int code;      /* exit code (Windows: the process exit code; 0xDEAD
                      when killed by pp__plat_proc_kill) */
    int signaled;  /* 1: killed by a signal (POSIX) */
    int signo;     /* the signal */
    int external;  /* 1: ended from outside (POSIX: SIGKILL, SIGTERM, SIGINT,
                      SIGHUP, SIGQUIT), not by a fault of its own (a crash
                      signal, an exit); 0 where the OS cannot tell (Windows) */
    int crashed;   /* 1: ended by a fault of the program (POSIX: SIGSEGV,
                      SIGBUS, SIGILL, SIGFPE, SIGABRT; Windows: an NTSTATUS
                      exception code) */
    char what[64]; /* how it ended, for messages: "signal 9 (SIGKILL)",
                      "exit code 3", "exception 0xC0000005 (access
                      violation)"; "" if unknown */
} pp__exit_info;

/* The start method used when the user asks for the default:
 * PP__START_FORK on Linux and the BSDs, PP__START_SPAWN on macOS and
 * Windows. */
int pp__plat_default_start_method(void);

typedef struct pp__plat_proc pp__plat_proc;
typedef struct pp__plat_launcher pp__plat_launcher;

/* The function a worker process runs with its channel end; its return
 * value becomes the process exit code. */
typedef int (*pp__plat_entry_fn)(pp__plat_chan *chan);

/*
 * Set once by pp_init() before pp__plat_role_detect(), before any
 * launcher exists. Ports call it in every new worker they start
 * themselves, forked from a zygote or fork server (after
 * pp__plat_worker_setup()), and exit the process with its return value
 * through pp__plat_exit(); if none was set, such a worker exits at once
 * with a non-zero code. A spawned worker is reported to the core by
 * pp__plat_role_detect() as PP__ROLE_WORKER instead, and the core runs
 * the same function.
 */
void pp__plat_set_worker_entry(pp__plat_entry_fn fn);

/*
 * Create a launcher for one pool.
 *  - PP__START_SPAWN: each worker is a fresh execution of the program's
 *    own image with the argv saved by pp__plat_role_detect(), whose
 *    pp_init() finds it is a worker (PP__ROLE_WORKER).
 *  - PP__START_FORK (POSIX): forks a single-threaded zygote *now*, from
 *    the calling thread; workers are forked from the zygote and so
 *    inherit the process's state of this moment, not of their start.
 *  - PP__START_FORKSERVER (POSIX): starts a fresh execution of the
 *    program's image (as spawn) that forks the workers.
 * Workers ignore SIGINT / console Ctrl-C (the parent decides their fate)
 * and end when the parent process ends: killed at once where the OS
 * offers it (Linux, Windows), elsewhere when they see their channel's EOF.
 * Errors: PP_EINVAL (unknown method), PP_ENOTSUP (fork or forkserver on
 * Windows), PP_ESPAWN (the zygote / server could not be started; spawn or
 * forkserver without an argv saved by pp__plat_role_detect(), reported
 * here or by pp__plat_launcher_start()), PP_ENOMEM, or a mapped OS
 * error.
 */
pp_status pp__plat_launcher_create(int method, pp__plat_launcher **out);

/* As pp__plat_launcher_create, for a caller that will start `workers`
 * workers at once right after (a new pool): a port may prepare them
 * ahead (POSIX fork: the zygote forks them as soon as it runs, so they
 * start while the caller sets up, and those starts are answered at once;
 * one that dies before it is asked for is forgotten, never handed out).
 * A hint: 0 prepares nothing. */
pp_status pp__plat_launcher_create_for(int method, int workers, pp__plat_launcher **out);

/* A worker's first message, prepared by the caller (see below). */
typedef struct pp__plat_first {
    const void *data;
    size_t len;
    /* NULL, or an unnamed block (pp__plat_shm_create_inherited) meant for
     * this worker alone: a port that forks the workers from a helper
     * keeps it out of the helper's other children */
    const pp__plat_shm *own;
} pp__plat_first;

/* The most a first message may hold (bytes); a longer one is sent by the
 * caller as usual. */
#define PP__PLAT_FIRST_MAX 8192

/* As pp__plat_launcher_create_for, with the first message each of those
 * `workers` workers is to read (first[i] for the i-th; first NULL, or an
 * entry with len 0 or above PP__PLAT_FIRST_MAX: none). A port that
 * prepares them ahead may put the message into the new worker's channel
 * itself (POSIX fork: the zygote, before the worker runs), so the worker
 * reads it without waiting for the caller; pp__plat_launcher_start_first()
 * says which worker got which. The messages are read during this call
 * only. Errors: as pp__plat_launcher_create. */
pp_status pp__plat_launcher_create_pre(int method, int workers, const pp__plat_first *first,
                                       pp__plat_launcher **out);

/*
 * Start one worker. On success the worker runs the worker entry (see
 * pp__plat_set_worker_entry) with its end of a fresh channel, *chan is the
 * parent's end and *proc the worker's handle. *chan also ends
 * (PP_ECONNLOST) once the worker has exited and its output is read, even
 * if a copy of the worker's end lives on in another process.
 * Preconditions:
 *  - Call it from a thread that outlives every worker it starts: on Linux
 *    a worker is killed when the *thread* that started it ends (the
 *    parent-death signal follows the thread, not the process). The core
 *    starts workers only from a pool's supervisor thread, which lives
 *    until the pool's workers are gone.
 *  - Close *chan (no read or write in progress) before releasing *proc.
 * Death of the zygote / fork server (killed from outside, crashed): every
 * worker it started dies with it (parent-death signal, or killed by the
 * port) and is reported as ended promptly: pp__plat_proc_wait returns
 * signaled with SIGKILL for each one whose end the helper had not
 * reported; its channel ends. The next start restarts the helper first,
 * transparently:
 *  - forkserver: a new server, spawned as at creation;
 *  - fork: a spare copy of the zygote, forked by the zygote (never by the
 *    calling process) and so holding the state of launcher_create's
 *    moment, becomes the zygote; it makes a spare of its own, and a
 *    zygote whose spare died makes a new one.
 * A start that was waiting for the dead helper's reply is tried once more
 * with the new one. If the zygote and its spare die together, no process
 * holds that state any more: every later start fails with PP_ESPAWN (OS
 * error ECHILD, pp__plat_launcher_failure() says why).
 * Errors: PP_ESPAWN (the worker could not be started, e.g. exec failed;
 * the OS error is the reason), PP_ENOMEM, or a mapped OS error.
 */
pp_status pp__plat_launcher_start(pp__plat_launcher *l, pp__plat_proc **proc, pp__plat_chan **chan);

/* As pp__plat_launcher_start; *first: the index (into the array given to
 * pp__plat_launcher_create_pre) of the message already waiting in the new
 * worker's channel, which the caller must then not send, or -1: none, the
 * caller sends the worker's first message. Each index is given out at
 * most once. Errors: as pp__plat_launcher_start. */
pp_status pp__plat_launcher_start_first(pp__plat_launcher *l, pp__plat_proc **proc,
                                        pp__plat_chan **chan, int *first);

/* Spawn launchers only: the processes l starts from now on run in role
 * `role` instead of PP__ROLE_WORKER (the default): pp__plat_role_detect()
 * reports that role in them, with their channel. Everything else is as
 * for a spawned worker (same image and argv, stdio, dies with the
 * parent). Errors: PP_EINVAL (l NULL, not PP__START_SPAWN, or role not
 * PP__ROLE_WORKER / PP__ROLE_MANAGER). */
pp_status pp__plat_launcher_set_role(pp__plat_launcher *l, int role);

/* Wait, for at most timeout_ms, until l can restart its helper by itself
 * should it die (fork: the zygote's spare exists; it is forked after the
 * first workers, see pp__plat_launcher_create_for). Nothing to wait for
 * elsewhere. NULL ok. */
void pp__plat_launcher_settle(pp__plat_launcher *l, int64_t timeout_ms);

/* No worker will be asked of l any more (the caller guarantees it: a
 * later pp__plat_launcher_start fails with PP_ESPAWN): let go at once of
 * what only serves future starts, so that it ends while the last workers
 * end instead of after them. Fork / forkserver: the spare zygote is
 * killed, and the zygote / fork server exits by itself once the end of
 * its last worker is reported (pp__plat_launcher_destroy still waits for
 * it). Spawn, Windows: nothing to do. Call it from the thread that starts
 * the workers. NULL ok. */
void pp__plat_launcher_retire(pp__plat_launcher *l);

/* Why the last pp__plat_launcher_start on l failed, in words, when the
 * port knows more than its status and OS error say; else NULL. Valid
 * until the next start on l; call it from the thread that started. */
const char *pp__plat_launcher_failure(const pp__plat_launcher *l);

/* Stop the zygote / fork server (its remaining workers and its spare are
 * killed; it has ended, or been killed after a grace period, when this
 * returns) and free. Every proc of this launcher must have been released
 * before. NULL ok. */
void pp__plat_launcher_destroy(pp__plat_launcher *l);

/* Wait for the process to end: PP_OK with *info filled, or PP_ETIMEDOUT.
 * timeout_ms: PP_INFINITE or >= 0. May be called again after PP_OK (the
 * same info is returned). Never waits for other processes. */
pp_status pp__plat_proc_wait(pp__plat_proc *p, int64_t timeout_ms, pp__exit_info *info);

/* Kill the process now, without letting it run any code. PP_OK also if
 * it has already exited. */
pp_status pp__plat_proc_kill(pp__plat_proc *p);

/* OS process id. */
uint64_t pp__plat_proc_pid(const pp__plat_proc *p);

/* Free the handle; reaps the process if it has ended (no zombie). If it
 * still runs it is killed and reaped first. NULL ok. */
void pp__plat_proc_release(pp__plat_proc *p);

/* ------------------------------------------------------------- roles */

enum {
    PP__ROLE_MAIN = 0,   /* ordinary program: pp_init returns */
    PP__ROLE_WORKER = 1, /* spawned worker: *chan is its channel */
    PP__ROLE_MANAGER = 2 /* spawned manager server: *chan is its control
                            channel to the program that started it */
};

/*
 * Called by pp_init(). Saves a copy of the original argv for spawning and
 * looks for the role marker a launcher put on the command line. If found,
 * removes it from argc and argv (the user's main sees the parent's argv).
 * A fork server role is handled entirely inside the port: this function
 * then never returns (it runs the server and exits the process).
 * Returns PP_OK with *role set (and *chan for PP__ROLE_WORKER and
 * PP__ROLE_MANAGER), PP_EINVAL
 * for a malformed marker.
 */
pp_status pp__plat_role_detect(int *argc, char ***argv, int *role, pp__plat_chan **chan);

/* Prepare the calling process to be a worker: ignore SIGINT / Ctrl-C,
 * writes to a vanished peer fail instead of killing it, and it dies with
 * the thread that started it where the OS offers that (Linux). */
void pp__plat_worker_setup(void);

/* A write to a socket whose peer is gone must fail (EPIPE), not kill the
 * process with SIGPIPE; the core's sockets are APR's, which do not ask
 * for that. Bracket such a write: pp__plat_sigpipe_suspend() blocks
 * SIGPIPE for the calling thread and returns a state for
 * pp__plat_sigpipe_resume(state), which discards a SIGPIPE the write
 * raised and restores the thread's mask. Signals of other origin are
 * kept. Windows has no SIGPIPE: both are no-ops. */
int pp__plat_sigpipe_suspend(void);
void pp__plat_sigpipe_resume(int state);

/* Exit the process immediately with code, without atexit handlers (after
 * flushing stdio). */
void pp__plat_exit(int code);

/* ------------------------------------------------------- server programs */

/* (posix_server.c, win_server.c) */

/* Longest path of a Unix domain socket, in bytes without the terminator
 * (sun_path less one: 107 on Linux, 103 on the BSDs and macOS); 0 where
 * the core does not use Unix domain sockets (Windows: TCP loopback). */
size_t pp__plat_unix_path_max(void);

/* 0 if the OS says no process has this id (any more); 1 otherwise (also
 * for another user's process, or when it cannot tell). */
int pp__plat_pid_alive(uint64_t pid);

/* Read a whole file of at most cap bytes that must be private to its
 * owner (a key file). POSIX: PP_EACCES if group or others have any
 * permission on it or it is not the effective user's; PP_EINVAL if it is
 * not a regular file. Windows: its ACL decides who may read it; not
 * checked. PP_ETOOBIG if it is longer than cap; else a mapped OS error
 * (PP_ENOENT: no such file). */
pp_status pp__plat_read_private_file(const char *path, void *buf, size_t cap, size_t *len);

/* Stop requests of a server program: SIGINT and SIGTERM (POSIX); Ctrl-C,
 * Ctrl-Break and closing the console (Windows). After _catch() they no
 * longer end the process; _wait() blocks until one has arrived (its name,
 * "SIGTERM", "Ctrl-C", ...) or timeout_ms (PP_INFINITE: none) passed
 * (NULL). One stop request is reported once. */
pp_status pp__plat_stop_signals_catch(void);
const char *pp__plat_stop_signal_wait(int64_t timeout_ms);

/* Socket I/O on the manager's hot path (one request and its reply per
 * call), on the OS socket of an APR socket (apr_os_sock_get): APR's send
 * cannot ask for MSG_NOSIGNAL (each send cost two signal-mask calls
 * around it, pp__plat_sigpipe_suspend) and its recv with a timeout reads
 * first and polls after a failed read (three calls per wait instead of
 * two). deadline_ms: pp__plat_now_ms() time, or PP_INFINITE.
 * send: all n bytes; PP_ECONNLOST if the peer is gone (never SIGPIPE),
 * PP_ETIMEDOUT if they could not all go by the deadline.
 * recv: wait until something can be read, read what is there (1..cap
 * bytes, *got); PP_ECONNLOST on EOF or a broken connection, PP_ETIMEDOUT
 * at the deadline. */
pp_status pp__plat_sock_send(intptr_t sock, const void *p, size_t n, int64_t deadline_ms);
pp_status pp__plat_sock_recv(intptr_t sock, void *p, size_t cap, size_t *got, int64_t deadline_ms);

/* A connection that always waits about as long for an answer (a manager
 * client: a slice and a grace): make the socket blocking with a receive
 * timeout of ms (SO_RCVTIMEO), so that a wait is one blocking recv, no
 * poll before it (pp__plat_sock_recv_blocking: 1..cap bytes, *got;
 * PP_ETIMEDOUT once the receive timeout passed, PP_ECONNLOST on EOF or a
 * broken connection). pp__plat_sock_send still never blocks past its
 * deadline. */
pp_status pp__plat_sock_set_recv_timeout(intptr_t sock, int64_t ms);
pp_status pp__plat_sock_recv_blocking(intptr_t sock, void *p, size_t cap, size_t *got);

#endif /* PROCPOOL_PLATFORM_H */
