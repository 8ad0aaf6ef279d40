/*
 * supervisor.c — the pool's supervisor thread (starts workers, also
 * replacements, reaps dead ones) and its result thread (runs callbacks, so
 * user code never runs under a pool lock and a callback may submit more).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sync/keyring.h"
#include "pool/pool_internal.h"
#include "pool/waitany.h"

/* Restart policy: a worker start that fails on its own (crash, exit,
 * launch error, timeout) counts; CRASH_LOOP_MAX of them within
 * CRASH_LOOP_MS break the pool for good. Starts killed from outside do not
 * count. After every failed start the next one waits, from BACKOFF_MIN_MS
 * doubling to BACKOFF_MAX_MS; a worker that reports ready resets it. */
#define CRASH_LOOP_MAX 5
#define CRASH_LOOP_MS  30000
#define BACKOFF_MIN_MS 10
#define BACKOFF_MAX_MS 2000

int pp__on_result_thread(const pp_pool *p)
{
    /* resthread_id is 0 until the result thread runs; it is set by that
     * thread itself, so the thread always sees its own id. */
    return p != NULL && p->resthread_id != 0 && p->resthread_id == pp__plat_thread_id();
}

/* Queue work for the result thread (callbacks, async progress). */
void pp__cb_enqueue_locked(pp_pool *p, struct pp_result *j)
{
    if (j->cb_queued)
        return;
    j->cb_queued = 1;
    j->refs++;
    j->cb_next = NULL;
    if (p->cb_tail)
        p->cb_tail->cb_next = j;
    else
        p->cb_head = j;
    p->cb_tail = j;
    pp__plat_cond_signal(p->res_cond);
}

/* ------------------------------------------------------------ supervisor */

/* Launch a worker process for slot w and send it HELLO. Called on the
 * supervisor thread without the mutex; the reader thread is started by
 * the caller under the mutex (attach_reader_locked). */
/* The worker's control block: a fresh shm block under a fresh name; its
 * name goes to the worker in HELLO and is removed once the worker has
 * opened it (READY), or when the slot is reaped. (A fork pool's first
 * workers have unnamed ones: pp__first_launcher_create.) */
static pp_status ctl_make(char *name, pp__plat_shm **shm, pp__wctl **ctl)
{
    pp_status st = PP_EEXIST;
    int tries;

    for (tries = 0; tries < 8 && st == PP_EEXIST; tries++) {
        st = pp__name_generate(name);
        if (st == PP_OK)
            st = pp__plat_shm_create(name, PP__WCTL_SIZE, shm);
    }
    if (st != PP_OK)
        return st;
    *ctl = pp__plat_shm_ptr(*shm);
    pp__wctl_init(*ctl);
    return PP_OK;
}

static pp_status ctl_create(pp__wslot *w)
{
    pp_status st = ctl_make(w->ctl_name, &w->ctl_shm, &w->ctl);

    if (st == PP_OK)
        w->ctl_linked = 1;
    return st;
}

static void ctl_release(pp__wslot *w)
{
    if (w->ctl_linked)
        (void)pp__plat_shm_unlink(w->ctl_name);
    w->ctl_linked = 0;
    pp__plat_shm_close(w->ctl_shm);
    w->ctl_shm = NULL;
    w->ctl = NULL;
}

/* HELLO: the keys this process knows now (sync/keyring.h: a worker
 * started later, a replacement, knows the managers met until then), the
 * pool's payload, then this worker's control block name. One reservation
 * for all of it: a reallocation would leave a copy of the keys behind; the
 * frame is wiped before it is freed. */
static pp_status hello_frame(const pp_pool *p, const char *ctl_name, pp__buf *f)
{
    size_t n = strlen(ctl_name), at;
    pp_status st;

    pp__buf_init(f);
    st = pp__buf_reserve(f, PP__FRAME_HDR + PP__KEYRING_ENC_MAX + p->hello.len + 1 + n);
    if (st == PP_OK)
        st = pp__frame_begin(f, PP__MSG_HELLO, 0, 0, &at);
    if (st == PP_OK)
        st = pp__keyring_encode(f);
    if (st == PP_OK)
        st = pp__buf_put(f, p->hello.data, p->hello.len);
    if (st == PP_OK)
        st = pp__buf_put_u8(f, (uint8_t)n);
    if (st == PP_OK)
        st = pp__buf_put(f, ctl_name, n);
    if (st == PP_OK)
        st = pp__frame_end(f, at);
    return st;
}

static void hello_free(pp__buf *f)
{
    pp__keyring_wipe(f->data, f->len);
    pp__buf_free(f);
}

static pp_status send_hello(pp_pool *p, pp__wslot *w)
{
    pp__buf f;
    pp_status st = hello_frame(p, w->ctl_name, &f);

    if (st == PP_OK)
        st = pp__plat_chan_write(w->chan, f.data, f.len);
    hello_free(&f);
    return st;
}

/*
 * A new fork pool's first workers get their HELLO from the zygote (put in
 * each one's channel before it is forked: pp__plat_launcher_create_pre),
 * so they report READY while this process is still starting its threads,
 * instead of waiting for the supervisor to send it. Their control blocks
 * are made here for that, before the zygote exists, unnamed: each worker
 * inherits its own (the zygote keeps it from the others), so there is no
 * name to create, open, track or remove ("@" and the block's token in
 * HELLO instead of a name, worker.c). A slot takes over the block its
 * worker was given (take_first); one no worker took (its worker died
 * before it was taken, or the zygote could not give it) is freed at join
 * (pp__first_release).
 */
pp_status pp__first_launcher_create(pp_pool *p)
{
    pp__plat_first *first = NULL;
    pp__buf *frames = NULL;
    pp_status st = PP_OK;
    int i, made = 0;

    if (p->method == PP__START_FORK) {
        p->first = calloc((size_t)p->n, sizeof *p->first);
        first = calloc((size_t)p->n, sizeof *first);
        frames = calloc((size_t)p->n, sizeof *frames);
    }
    /* Without them (out of memory, other methods) HELLO is sent as usual. */
    for (i = 0; first != NULL && frames != NULL && p->first != NULL && i < p->n; i++) {
        pp__first_ctl *f = &p->first[i];
        if (pp__plat_shm_create_inherited(PP__WCTL_SIZE, &f->shm) != PP_OK)
            break;
        made++;
        f->ctl = pp__plat_shm_ptr(f->shm);
        pp__wctl_init(f->ctl);
        snprintf(f->name, sizeof f->name, "@%016llx",
                 (unsigned long long)pp__plat_shm_token(f->shm));
        first[i].own = f->shm;
        if (hello_frame(p, f->name, &frames[i]) != PP_OK || frames[i].len > PP__PLAT_FIRST_MAX) {
            /* too long for a worker's channel (big initargs): sent by the
             * supervisor, for each, as to any later worker */
            pp__plat_shm_close(f->shm);
            f->shm = NULL;
            first[i].own = NULL;
            made--;
            break;
        }
        first[i].data = frames[i].data;
        first[i].len = frames[i].len;
    }
    if (made > 0)
        st = pp__plat_launcher_create_pre(p->method, p->n, first, &p->launcher);
    else
        st = pp__plat_launcher_create_for(p->method, p->n, &p->launcher);
    for (i = 0; frames != NULL && i < p->n; i++)
        hello_free(&frames[i]);
    free(frames);
    free(first);
    if (st != PP_OK)
        pp__first_release(p);
    return st;
}

void pp__first_release(pp_pool *p)
{
    int i;

    for (i = 0; p->first != NULL && i < p->n; i++) {
        pp__first_ctl *f = &p->first[i];
        if (f->shm == NULL)
            continue;
        pp__plat_shm_close(f->shm);
        f->shm = NULL;
    }
    free(p->first);
    p->first = NULL;
}

/* May the next worker started come with its HELLO and control block? */
static int firsts_left(const pp_pool *p)
{
    int i;

    for (i = 0; p->first != NULL && i < p->n; i++) {
        if (p->first[i].shm != NULL)
            return 1;
    }
    return 0;
}

/* The worker just started has first message k already (its HELLO, with
 * control block k): slot w takes that block over. */
static void take_first(pp_pool *p, pp__wslot *w, int k)
{
    pp__first_ctl *f = &p->first[k];

    w->ctl_shm = f->shm;
    w->ctl = f->ctl;
    memcpy(w->ctl_name, f->name, sizeof w->ctl_name);
    w->ctl_linked = 0; /* unnamed */
    f->shm = NULL;
    f->ctl = NULL;
}

/* How long a worker whose HELLO could not be written is given to be
 * found ended, to tell a kill from outside from a failure of its own. */
#define HELLO_DEATH_WAIT_MS 2000

/* *why: the launcher's own words if it failed to start the process;
 * killed->what set (non-empty) if the process was ended from outside
 * before it could take its HELLO: a kill, retried like any start killed
 * from outside, not a start that failed. (A spawned worker killed even
 * before its exec looks launched: its HELLO is where that shows.) */
static pp_status launch_worker(pp_pool *p, pp__wslot *w, const char **why, pp__exit_info *killed)
{
    pp__exit_info info;
    pp_status st;
    int first = -1;

    *why = NULL;
    killed->what[0] = '\0';
    /* The control block first (its making overlaps the worker's start),
     * unless the worker may come with one (a fork pool's first ones). */
    if (!firsts_left(p)) {
        st = ctl_create(w);
        if (st != PP_OK)
            return st;
    }
    st = pp__plat_launcher_start_first(p->launcher, &w->proc, &w->chan, &first);
    if (st != PP_OK) {
        *why = pp__plat_launcher_failure(p->launcher);
        ctl_release(w);
        return st;
    }
    if (first >= 0 && w->ctl_shm == NULL && p->first != NULL && first < p->n &&
        p->first[first].shm != NULL) {
        take_first(p, w, first);
        return PP_OK; /* its HELLO is in its channel */
    }
    if (first >= 0)
        st = PP_EPROTO; /* a first message we did not make, or not now */
    else if (w->ctl_shm == NULL)
        st = ctl_create(w);
    if (st == PP_OK) {
        st = send_hello(p, w);
        if (st != PP_OK && pp__plat_proc_wait(w->proc, HELLO_DEATH_WAIT_MS, &info) == PP_OK &&
            info.external) {
            *killed = info;
            if (killed->what[0] == '\0')
                pp__strlcpy(killed->what, "killed", sizeof killed->what);
        }
    }
    if (st != PP_OK) {
        pp__plat_chan_close(w->chan);
        pp__plat_proc_release(w->proc);
        ctl_release(w);
        w->chan = NULL;
        w->proc = NULL;
    }
    return st;
}

static pp_status attach_reader_locked(pp_pool *p, pp__wslot *w)
{
    pp_status st;

    w->state = W_STARTING; /* before the reader can see READY */
    w->retired = 0;
    w->pid = pp__plat_proc_pid(w->proc);
    w->start_ms = pp__plat_now_ms();
    w->start_timed_out = 0;
    if (p->state == P_TERMINATING) {
        w->killed = 1;
        pp__plat_proc_kill(w->proc); /* terminated while it was starting */
    }
    st = pp__plat_thread_create(&w->reader, pp__reader_thread_main, w);
    if (st != PP_OK) {
        w->state = W_EMPTY;
        pp__plat_chan_close(w->chan);
        pp__plat_proc_release(w->proc);
        ctl_release(w);
        w->chan = NULL;
        w->proc = NULL;
        return st;
    }
    return PP_OK;
}

/* Failed starts that count, within the window ending now. */
static unsigned recent_failures_locked(const pp_pool *p, int64_t now)
{
    unsigned i, n = p->nfails < CRASH_LOOP_MAX ? p->nfails : CRASH_LOOP_MAX, recent = 0;

    for (i = 0; i < n; i++) {
        if (now - p->fail_ms[i] < CRASH_LOOP_MS)
            recent++;
    }
    return recent;
}

void pp__start_failed_locked(pp_pool *p, int how, const char *msg)
{
    int64_t now = pp__plat_now_ms();
    char line[sizeof p->broken_msg];

    p->n_start_failed++;
    pp__strlcpy(p->degraded_msg, msg, sizeof p->degraded_msg);
    p->backoff_ms = p->backoff_ms == 0                   ? BACKOFF_MIN_MS
                    : p->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS
                                                         : p->backoff_ms * 2;
    p->next_start_ms = now + p->backoff_ms;
    if (how == PP__START_KILLED) {
        pp__log(PP_LOG_WARN, "%s; starting it again", msg);
        return;
    }
    p->fail_ms[p->nfails++ % CRASH_LOOP_MAX] = now;
    if (p->creating) {
        /* pp_pool_create reports it: a program that cannot start its
         * workers learns it at once, not after a crash loop. */
        pp__break_pool_locked(p, PP_ESPAWN, msg);
        p->init_pending = 0;
    } else if (recent_failures_locked(p, now) >= CRASH_LOOP_MAX) {
        snprintf(line, sizeof line, "%d worker starts failed within %d s; the last: %s",
                 CRASH_LOOP_MAX, CRASH_LOOP_MS / 1000, msg);
        pp__break_pool_locked(p, PP_ESPAWN, line);
    } else {
        pp__log(PP_LOG_WARN, "%s; trying again in %lld ms", msg, (long long)p->backoff_ms);
    }
}

void pp__start_succeeded_locked(pp_pool *p)
{
    p->backoff_ms = 0;
    p->next_start_ms = 0;
    p->degraded_msg[0] = '\0';
    p->n_started++;
}

/* Kill workers that have not reported ready within the start timeout
 * (their death is then a PP__START_TIMEOUT). Returns the ms until the next
 * such deadline (or 100). */
static int64_t check_start_timeouts_locked(pp_pool *p, int64_t now)
{
    int64_t next = 100, left;
    int i;

    if (p->start_timeout_ms == PP_INFINITE)
        return next;
    for (i = 0; i < p->n; i++) {
        pp__wslot *w = &p->w[i];
        if (w->state != W_STARTING || w->init_reported || w->start_timed_out || w->killed)
            continue;
        left = p->start_timeout_ms - (now - w->start_ms); /* no overflow */
        if (left <= 0) {
            w->start_timed_out = 1;
            pp__plat_proc_kill(w->proc);
        } else if (left < next) {
            next = left;
        }
    }
    return next;
}

static void reap_worker(pp__wslot *w)
{
    pp__plat_thread_join(w->reader);
    pp__plat_chan_close(w->chan);
    pp__plat_proc_release(w->proc);
    ctl_release(w);
    w->reader = NULL;
    w->chan = NULL;
    w->proc = NULL;
    w->pid = 0;
    w->sent = 0;
    w->chunks_done = 0;
    w->quit_wanted = w->quit_sent = 0;
    w->killed = 0;
    w->task_timed_out = 0;
    w->init_reported = 0;
    w->state = W_EMPTY;
}

int pp__work_left_locked(const pp_pool *p)
{
    int i;

    if (p->q_head != NULL || p->feeding > 0)
        return 1;
    if (p->broker != NULL && p->bops->inflight_locked(p->broker) > 0)
        return 1;
    for (i = 0; i < p->n; i++) {
        if (p->w[i].ninflight > 0)
            return 1;
    }
    return 0;
}

static int want_workers_locked(const pp_pool *p, const pp__wslot *w)
{
    if (p->broken != PP_OK || p->stop)
        return 0;
    /* a slot retired for idleness waits for work */
    if (w->retired && p->q_head == NULL && p->feeding == 0)
        return 0;
    return p->state == P_RUNNING || (p->state == P_CLOSED && pp__work_left_locked(p));
}

/* Let workers idle for idle_timeout_ms go (they come back with work).
 * Returns the ms until the next one may be due (or 100). */
static int64_t check_idle_locked(pp_pool *p, int64_t now)
{
    int64_t next = 100, left;
    int i;

    if (p->idle_timeout_ms <= 0 || p->state != P_RUNNING || p->q_head != NULL)
        return next;
    for (i = 0; i < p->n; i++) {
        pp__wslot *w = &p->w[i];
        if (w->state != W_READY || w->ninflight > 0 || w->quit_wanted)
            continue;
        left = p->idle_timeout_ms - (now - w->idle_since_ms);
        if (left > 0) {
            next = left < next ? left : next;
            continue;
        }
        w->retired = 1;
        w->quit_wanted = 1;
        pp__pump_locked(p, w); /* sends QUIT: it has nothing in flight */
    }
    return next;
}

/* Will this pool never start a worker again? Terminated, or closed with
 * no work left: a closed pool takes no new work, so that lasts. */
static int no_more_starts_locked(const pp_pool *p)
{
    return p->state == P_TERMINATING || (p->state == P_CLOSED && !pp__work_left_locked(p));
}

/* One pass: reap the dead, start what is missing. Holds the mutex except
 * while launching or joining. Returns 1 if something changed. */
static int supervise_once(pp_pool *p)
{
    char msg[256];
    const char *why;
    pp__exit_info killed;
    pp_status st;
    int i, changed = 0;

    for (i = 0; i < p->n; i++) {
        pp__wslot *w = &p->w[i];
        /* Not while another thread is writing to it (mutex released):
         * handle_death has shut the channel down, so the write ends; nor
         * while a sync call looks at it (submit.c: a bounded spin). */
        if (w->state == W_DEAD && !w->pumping && !w->peeking) {
            pp__plat_mtx_unlock(p->core->mu);
            reap_worker(w);
            pp__plat_mtx_lock(p->core->mu);
            changed = 1;
        }
        if (w->state != W_EMPTY || !want_workers_locked(p, w))
            continue;
        if (pp__plat_now_ms() < p->next_start_ms)
            continue; /* backing off after a failed start */
        w->launching = 1;
        pp__plat_mtx_unlock(p->core->mu);
        st = launch_worker(p, w, &why, &killed);
        pp__plat_mtx_lock(p->core->mu);
        w->launching = 0;
        if (st == PP_OK)
            st = attach_reader_locked(p, w);
        changed = 1;
        if (st != PP_OK && killed.what[0] != '\0') {
            snprintf(msg, sizeof msg, "a worker was ended from outside while starting (%s)",
                     killed.what);
            pp__start_failed_locked(p, PP__START_KILLED, msg);
        } else if (st != PP_OK) {
            if (why != NULL)
                snprintf(msg, sizeof msg, "could not start a worker process: %s", why);
            else
                snprintf(msg, sizeof msg, "could not start a worker process: %s (os error %d)",
                         pp_strerror(st), pp_os_error());
            pp__start_failed_locked(p, PP__START_FAILED, msg);
        }
    }
    pp__maybe_quit_workers_locked(p);
    if (!p->launcher_retired && no_more_starts_locked(p)) {
        /* The zygote's spare and the zygote itself end while the last
         * workers end, not after them when join destroys the launcher. */
        p->launcher_retired = 1;
        pp__plat_mtx_unlock(p->core->mu);
        pp__plat_launcher_retire(p->launcher);
        pp__plat_mtx_lock(p->core->mu);
        changed = 1; /* look again: a death signalled meanwhile found no waiter */
    }
    if (changed)
        pp__plat_cond_broadcast(p->core->cond);
    return changed;
}

/* Kill workers whose running item has run past its job's timeout (the
 * item then fails with PP_ETIMEDOUT, reader.c). Returns the ms until the
 * next check is due. */
static int64_t check_task_timeouts_locked(pp_pool *p, int64_t now)
{
    int64_t next = 100, left, since;
    unsigned item;
    int i;

    for (i = 0; i < p->n; i++) {
        pp__wslot *w = &p->w[i];
        pp__chunk *c = w->inflight;
        if (w->state != W_READY || c == NULL || c->job->timeout_ms <= 0 || w->task_timed_out ||
            w->ctl == NULL)
            continue;
        if (!pp__wctl_running(w->ctl, c->id, &item, &since)) {
            if (next > 10)
                next = 10; /* between items, or not started yet: look again soon */
            continue;
        }
        left = c->job->timeout_ms - (now - since);
        if (left > 0) {
            next = left < next ? left : next;
            continue;
        }
        w->task_timed_out = 1;
        w->timeout_chunk = c->id;
        w->timeout_item = item;
        pp__plat_proc_kill(w->proc);
    }
    return next;
}

void pp__supervisor_main(void *arg)
{
    pp_pool *p = arg;

    int64_t now, wait, left;

    pp__plat_mtx_lock(p->core->mu);
    while (!p->stop) {
        if (supervise_once(p))
            continue;
        /* Timed: start timeouts, and a start that failed is retried after
         * its backoff. */
        now = pp__plat_now_ms();
        wait = check_start_timeouts_locked(p, now);
        left = check_task_timeouts_locked(p, now);
        if (left < wait)
            wait = left;
        left = check_idle_locked(p, now);
        if (left < wait)
            wait = left;
        if (p->next_start_ms > now && p->next_start_ms - now < wait)
            wait = p->next_start_ms - now;
        pp__plat_cond_wait(p->sup_cond, p->core->mu, wait);
    }
    pp__plat_mtx_unlock(p->core->mu);
}

/* ---------------------------------------------------------- result thread */

static void run_callbacks(pp_pool *p, struct pp_result *j)
{
    size_t done;
    const pp_error *err = NULL;
    int complete = j->complete;

    done = j->done;
    if (complete && j->first_failed < j->n) {
        err = pp__item_error(&j->items[j->first_failed]);
        if (j->error_callback)
            j->observed = 1;
    }
    pp__plat_mtx_unlock(p->core->mu);
    if (j->progress && done != j->progress_seen)
        j->progress(done, j->n, j->progress_ud);
    j->progress_seen = done;
    if (complete) {
        if (err == NULL && j->callback)
            j->callback(j, j->userdata);
        else if (err != NULL && j->error_callback)
            j->error_callback(j, err, j->userdata);
    }
    pp__plat_mtx_lock(p->core->mu);
}

static void resthread_loop(void *arg)
{
    pp_pool *p = arg;
    struct pp_result *j;

    pp__plat_mtx_lock(p->core->mu);
    for (;;) {
        j = p->cb_head;
        if (j == NULL) {
            if (p->stop)
                break;
            pp__plat_cond_wait(p->res_cond, p->core->mu, PP_INFINITE);
            continue;
        }
        p->cb_head = j->cb_next;
        if (p->cb_head == NULL)
            p->cb_tail = NULL;
        j->cb_queued = 0;
        p->resthread_busy = 1;
        run_callbacks(p, j);
        p->resthread_busy = 0;
        if (j->complete && !j->cb_queued) {
            j->ready = 1;
            pp__plat_atomic_store64(&j->ready_flag, 1);
            pp__waitany_notify();
        }
        /* result waiters, and join (which waits for this thread to idle) */
        pp__plat_cond_broadcast(p->core->cond);
        pp__job_unref_locked(j);
    }
    pp__plat_mtx_unlock(p->core->mu);
}

pp_status pp__resthread_ensure_locked(pp_pool *p)
{
    if (p->resthread != NULL || p->stop)
        return PP_OK;
    return pp__plat_thread_create(&p->resthread, pp__resthread_main, p);
}

void pp__resthread_main(void *arg)
{
    pp_pool *p = arg;

    pp__plat_mtx_lock(p->core->mu);
    p->resthread_id = pp__plat_thread_id();
    pp__plat_mtx_unlock(p->core->mu);
    resthread_loop(arg);
}
