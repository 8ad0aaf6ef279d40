/*
 * sem.c — local named semaphores (sync.h) on a sync segment (sobj.h).
 *
 * State: the free units (the COUNT word), and a table of the processes
 * that hold units (a slot each: owner pid and stamp, and a WORD with the
 * units it holds). Acquire takes a unit and records it against the
 * caller; release gives one back, from the caller's record if it has one
 * (Python lets any process release). A holder found dead — by a waiter,
 * at least once a slice while the value is 0, or by a try that finds none
 * free — has its units given back, and the next acquirer is told
 * (PP_EOWNERDEAD), once.
 *
 * Fast path (no state mutex, no clock, no system call): a process that
 * owns a slot (cached in the handle) takes or gives back a unit with
 *   1. slot word: CAS "idle" -> "idle | BUSY" (its threads take turns;
 *      BUSY also tells a repairer "an update may be half done"),
 *   2. count: CAS value -> value -/+ 1 (fails while FROZEN),
 *   3. slot word: store units +/- 1, BUSY cleared.
 * A release by a process that holds nothing (a "gift": it adds a unit
 * for good) and everything else take the state mutex.
 *
 * The invariant: at rest (no slot BUSY), value = TOTAL - sum of the
 * units of every slot, where TOTAL is a word only the state mutex's
 * holder changes (a gift adds 1; the bound of a bounded semaphore may cut
 * it at a repair). Fast updates keep it (-1/+1 and +1/-1). The count is
 * changed under the mutex only while FROZEN: a frozen count makes every
 * fast update fail at step 2, so the mutex's holder owns the count.
 *
 * Death anywhere, and why no unit is lost or made up:
 *  - between 1 and 2 (or after a failed step 2): nothing happened; the
 *    slot stays BUSY with the units it had;
 *  - between 2 and 3: the count moved, the units not. The slot is BUSY.
 * A dead process gives back ALL the units of its slot, so for a dead
 * slot it does not matter which of the two it was: a repair (REPAIR
 * below) freezes the count, waits until every LIVE slot that was BUSY
 * has been seen idle once (a live update that began before the freeze
 * ends at step 3; one that begins after fails at step 2 and restores its
 * word unchanged), zeroes the dead slots (BUSY or not), and recomputes
 * value = TOTAL - sum(units). That value is exact: the live slots are at
 * rest, and the dead ones hold nothing, which is the truth once their
 * units are given back whether or not their last CAS landed.
 * Under the mutex (gift, repair, claim of a slot) every store is to a
 * word only the mutex's holder writes (TOTAL, a frozen count, a slot being
 * claimed or a dead one) and each step can be done again: a holder that
 * dies leaves the count FROZEN (or a slot CLAIMing), and the next holder
 * of the mutex (told PP_EOWNERDEAD by the platform) repairs again from
 * scratch. The notice bit is set in the frozen count BEFORE any dead unit
 * is given back, so a repair that dies half-way cannot lose it. A gift
 * stores TOTAL + 1 then the count + 1: dying between them leaves the
 * count frozen, and the repair computes the value with the gift in it
 * (the release happened).
 *
 * Who is told: a repair sets the notice if a dead slot held units or
 * was in an acquire (W_TAKE: its CAS may have taken one). A process that
 * dies inside a release of its last unit may thus be told as a holder.
 *
 * A live slot BUSY holds a repair up until the update ends (a few
 * instructions), as a live holder of the state mutex would: a process
 * stopped (SIGSTOP, a debugger) inside an update stops repairs like one
 * stopped holding the mutex. Without start stamps (POSIX other than
 * Linux, see posix_sobj.c) a process that died in an update and whose pid
 * is reused at once counts as alive until the new process ends: repairs
 * wait for it meanwhile (an acquire still returns at its timeout, with
 * the count left frozen for the next one; a release waits).
 *
 * Ordering: every CAS is sequentially consistent, loads acquire, stores
 * release. A fast update whose count CAS comes before the freeze in the
 * count's order has its BUSY CAS before it, so the repairer (whose freeze
 * CAS reads that order) sees the slot BUSY or its final store.
 *
 * Wakes: a waiter naps only after marking the count (C_WAITER, set by CAS
 * while the value is 0; the wake word read before). The value stays 0
 * while the mark is there (no acquire at 0), so the next free unit is a
 * 0 -> 1 move by a CAS that sees the mark: it clears it and wakes every
 * waiter (whose wake word then differs). A release that finds no mark
 * touches neither the wake word nor the kernel. A waiter that dies
 * leaves a mark: one useless wake later.
 */
#include <stdlib.h>
#include <string.h>

#include "procpool/sync.h"
#include "core/core.h"
#include "sync/sem_internal.h"
#include "sync/sobj.h"

enum { F_DONE, F_SLOW, F_EMPTY, F_GIFT };

size_t pp__sem_state_size(void)
{
    return sizeof(sem_state);
}

static sem_state *state_of(pp_sem *s)
{
    return s->o.state;
}

static uint64_t n_slots(sem_state *ss)
{
    uint64_t n = ld(&ss->slots);
    return n < PP__SOBJ_PROCS ? n : PP__SOBJ_PROCS;
}

static int slot_alive(sem_slot *h)
{
    return pp__plat_proc_alive(ld(&h->pid), ld(&h->stamp));
}

pp_status pp_sem_create(const char *name, int64_t value, int flags, pp_sem **out)
{
    sem_state *init;
    pp__sobj *o = NULL;
    pp_status st;

    if (out == NULL)
        return PP_EINVAL;
    *out = NULL;
    if (value < 0 || value > PP_SEM_MAX || (flags & ~(PP_SEM_BOUNDED | PP_SEM_UNOWNED)) != 0)
        return PP_EINVAL;
    init = calloc(1, sizeof *init);
    if (init == NULL)
        return PP_ENOMEM;
    init->count = (uint64_t)value << C_SHIFT;
    init->total = (uint64_t)value;
    init->initial = (uint64_t)value;
    init->bounded = (flags & PP_SEM_BOUNDED) != 0;
    init->unowned = (flags & PP_SEM_UNOWNED) != 0;
    st = pp__sobj_create(PP__SOBJ_SEM, name, sizeof *init, init, &o);
    free(init);
    *out = (pp_sem *)o;
    return st;
}

pp_status pp_sem_open(const char *name, pp_sem **out)
{
    pp__sobj *o = NULL;
    pp_status st;

    if (out == NULL)
        return PP_EINVAL;
    st = pp__sobj_open(PP__SOBJ_SEM, name, &o);
    *out = (pp_sem *)o;
    return st;
}

/* ------------------------------------------------------------ fast path */

/* Step 1: the caller's slot (cached in the handle), made BUSY; *w its
 * word before. NULL: no slot cached, not (or no longer) the caller's, or
 * another thread of the caller is in an update. The owner is checked
 * before the CAS, so a process never marks a slot of another one (the
 * tag bits in the word change with every claim: a slot given to another
 * process meanwhile fails the CAS); the full tag after it. */
static sem_slot *slot_begin(pp_sem *s, sem_state *ss, uint64_t busy, uint64_t *w)
{
    uint64_t kc = ld(&s->o.kc), tag = kc >> 8, v;
    sem_slot *h;

    if (kc == 0 || (kc & 0xff) >= PP__SOBJ_PROCS)
        return NULL;
    h = &ss->holders[kc & 0xff];
    v = ld(&h->word);
    if ((v & W_FLAGS) != 0 || ((v >> 3) & W_TAGS) != (tag & W_TAGS) || pp__sobj_me_pid == 0 ||
        ld(&h->pid) != pp__sobj_me_pid || ld(&h->stamp) != pp__sobj_me_stamp)
        return NULL;
    if (!cas(&h->word, v, v | busy))
        return NULL;
    if (ld(&h->tag) != tag) {
        store(&h->word, v);
        return NULL;
    }
    *w = v;
    return h;
}

/* Take a unit: F_DONE (*res PP_OK or PP_EOWNERDEAD), F_EMPTY (value 0),
 * F_SLOW (no slot, a sibling thread's update, a frozen count). */
static int fast_take(pp_sem *s, sem_state *ss, pp_status *res)
{
    uint64_t w = 0, c;
    sem_slot *h = slot_begin(s, ss, W_BUSY | W_TAKE, &w);

    if (h == NULL)
        return F_SLOW;
    if ((w >> W_SHIFT) >= ((uint64_t)1 << 47)) {
        store(&h->word, w);
        *res = PP_ETOOBIG; /* units of one process: never in practice */
        return F_DONE;
    }
    c = ld(&ss->count);
    for (;;) {
        if ((c & C_FROZEN) != 0 || (c >> C_SHIFT) == 0) {
            store(&h->word, w);
            return (c & C_FROZEN) != 0 ? F_SLOW : F_EMPTY;
        }
        if (cas(&ss->count, c, (c - C_ONE) & ~C_NOTICE))
            break;
        c = ld(&ss->count);
    }
    store(&h->word, w + W_ONE);
    *res = (c & C_NOTICE) != 0 ? PP_EOWNERDEAD : PP_OK;
    return F_DONE;
}

/* Give back one of the caller's units: F_DONE (*res PP_OK or
 * PP_ESTATE), F_GIFT (it holds none), F_SLOW (as fast_take()). */
static int fast_give(pp_sem *s, sem_state *ss, pp_status *res)
{
    uint64_t w = 0, c, v;
    sem_slot *h = slot_begin(s, ss, W_BUSY, &w);

    if (h == NULL)
        return F_SLOW;
    if ((w >> W_SHIFT) == 0) {
        store(&h->word, w);
        return F_GIFT;
    }
    c = ld(&ss->count);
    for (;;) {
        if ((c & C_FROZEN) != 0) {
            store(&h->word, w);
            return F_SLOW;
        }
        v = c >> C_SHIFT;
        if ((ss->bounded && v >= ss->initial) || v >= (uint64_t)PP_SEM_MAX) {
            store(&h->word, w);
            *res = PP_ESTATE;
            return F_DONE;
        }
        if (cas(&ss->count, c, (c + C_ONE) & ~C_WAITER))
            break;
        c = ld(&ss->count);
    }
    store(&h->word, w - W_ONE);
    if ((c & C_WAITER) != 0)
        pp__plat_sobj_wake(s->o.plat);
    *res = PP_OK;
    return F_DONE;
}

/* ------------------------------------------------- under the state mutex */

/* Freeze the count (a no-op if it is): its word, frozen. */
static uint64_t freeze(sem_state *ss)
{
    uint64_t c;

    do {
        c = ld(&ss->count);
    } while ((c & C_FROZEN) == 0 && !cas(&ss->count, c, c | C_FROZEN));
    return c | C_FROZEN;
}

/* REPAIR (see the file comment): give back the units of dead slots and
 * recompute the value. PP_ETIMEDOUT if a live process's update did not
 * end by deadline: the count stays frozen, the next holder of the state
 * mutex repairs again. */
static pp_status repair(pp_sem *s, sem_state *ss, int64_t deadline)
{
    unsigned char dead[PP__SOBJ_PROCS];
    uint64_t c = freeze(ss), n = n_slots(ss), i, w, sum = 0, total, v;
    int notice = 0, spins;

    for (i = 0; i < n; i++) {
        sem_slot *h = &ss->holders[i];
        dead[i] = 0;
        for (spins = 0; ((w = ld(&h->word)) & W_BUSY) != 0; spins++) {
            if (spins < 1000)
                continue; /* a live update ends in a few instructions */
            if (!slot_alive(h)) {
                dead[i] = 1;
                break;
            }
            if (pp__sobj_left(deadline) == 0)
                return PP_ETIMEDOUT;
            pp__plat_sleep_ms(1);
        }
        if (!dead[i] && (w >> W_SHIFT) > 0 && !slot_alive(h))
            dead[i] = 1;
        /* a holder, or one that died in an acquire (whose CAS may have
         * taken a unit: it is told as a holder) */
        if (dead[i] && ((w >> W_SHIFT) > 0 || (w & W_TAKE) != 0))
            notice = 1;
    }
    if (notice) { /* told before anything is given back */
        c |= C_NOTICE;
        store(&ss->count, c);
    }
    for (i = 0; i < n; i++) {
        if (dead[i]) /* no units, not BUSY; the owner stays (dead: free) */
            store(&ss->holders[i].word, ld(&ss->holders[i].word) & (W_TAGS << 3));
        sum += ld(&ss->holders[i].word) >> W_SHIFT;
    }
    total = ld(&ss->total);
    if (total < sum) { /* cannot be: keep the count sane anyway */
        total = sum;
        store(&ss->total, total);
    }
    v = total - sum;
    if (ss->bounded && v > ss->initial) { /* others released its units for it */
        v = ss->initial;
        store(&ss->total, sum + v);
    }
    /* (a waiter's mark stays while the value stays 0) */
    store(&ss->count, (v << C_SHIFT) | (c & C_NOTICE) | (v == 0 ? c & C_WAITER : 0));
    if (v > 0)
        pp__plat_sobj_wake(s->o.plat);
    return PP_OK;
}

/* Repair if a holder (or a process in the middle of an update) is dead. */
static pp_status reap(pp_sem *s, sem_state *ss, int64_t deadline)
{
    uint64_t n = n_slots(ss), i, w;

    for (i = 0; i < n; i++) {
        sem_slot *h = &ss->holders[i];
        w = ld(&h->word);
        if (((w >> W_SHIFT) > 0 || (w & W_BUSY) != 0) && !slot_alive(h))
            return repair(s, ss, deadline);
    }
    return PP_OK;
}

/* The state mutex, with what a holder that died under it left repaired:
 * a slot it was giving out is free again, a count it froze recomputed. */
static pp_status lock_state(pp_sem *s, sem_state *ss, int64_t deadline)
{
    uint64_t n, i;
    int repaired = 0;
    pp_status st = pp__sobj_enter(&s->o, deadline, &repaired);

    if (st != PP_OK)
        return st;
    if (repaired) {
        for (n = n_slots(ss), i = 0; i < n; i++) {
            sem_slot *h = &ss->holders[i];
            if ((ld(&h->word) & W_CLAIM) != 0) {
                store(&h->pid, 0);
                store(&h->stamp, 0);
                store(&h->word, 0);
            }
        }
    }
    if ((ld(&ss->count) & C_FROZEN) != 0) {
        st = repair(s, ss, deadline);
        if (st != PP_OK)
            pp__sobj_leave(&s->o);
    }
    return st;
}

/* Give the caller a slot (state mutex held): its own if it has one, else
 * a free one (never used, or its owner is gone), else one whose live owner
 * holds nothing now; cached in the handle. PP_ETOOBIG if none. */
static pp_status claim(pp_sem *s, sem_state *ss, int64_t deadline)
{
    sem_slot *h, *pick = NULL;
    pp__sobj_proc me;
    uint64_t n, i, w, tag, at = 0;
    int round;
    pp_status st;

    pp__sobj_self(&me);
    for (round = 0; round < 8; round++) {
        n = n_slots(ss);
        for (i = 0; i < n; i++) {
            h = &ss->holders[i];
            if (ld(&h->pid) == me.pid && ld(&h->stamp) == me.stamp &&
                (ld(&h->word) & W_CLAIM) == 0) {
                store(&s->o.kc, (ld(&h->tag) << 8) | i);
                return PP_OK;
            }
        }
        pick = NULL;
        for (i = 0; i < n && pick == NULL; i++) { /* never used, or a dead owner's */
            h = &ss->holders[i];
            if (ld(&h->word) >> W_SHIFT == 0 && (ld(&h->word) & W_FLAGS) == 0 &&
                (ld(&h->pid) == 0 || !slot_alive(h)))
                pick = h, at = i;
        }
        if (pick == NULL && n < PP__SOBJ_PROCS)
            pick = &ss->holders[n], at = n;
        for (i = 0; i < n && pick == NULL; i++) { /* a live owner that holds nothing */
            h = &ss->holders[i];
            if (ld(&h->word) >> W_SHIFT == 0 && (ld(&h->word) & W_FLAGS) == 0)
                pick = h, at = i;
        }
        if (pick == NULL) { /* full: of live holders, or are some gone? */
            st = reap(s, ss, deadline);
            if (st != PP_OK)
                return st;
            continue;
        }
        if (at >= n)
            store(&ss->slots, at + 1);
        w = ld(&pick->word);
        if (w >> W_SHIFT != 0 || (w & W_FLAGS) != 0 || !cas(&pick->word, w, W_CLAIM))
            continue; /* its owner just took a unit */
        tag = ld(&ss->claims) + 1;
        if (tag >= ((uint64_t)1 << 56))
            tag = 1;
        store(&ss->claims, tag);
        store(&pick->pid, me.pid);
        store(&pick->stamp, me.stamp);
        store(&pick->tag, tag);
        store(&pick->word, (tag & W_TAGS) << 3);
        store(&s->o.kc, (tag << 8) | at);
        return PP_OK;
    }
    return PP_ETOOBIG;
}

/* --------------------------------------------------------- operations */

/* Before a nap (the wake word read before the value was seen 0): mark the
 * count "a waiter may nap" while it is 0, so that the release that makes
 * it 1 wakes (and only that one: releases make no system call and no
 * store to the wake word otherwise). 0: not 0 (or frozen) now, retry. */
static int mark_waiter(sem_state *ss)
{
    uint64_t c = ld(&ss->count);

    while ((c & (C_FROZEN | C_WAITER)) == 0 && (c >> C_SHIFT) == 0) {
        if (cas(&ss->count, c, c | C_WAITER))
            return 1;
        c = ld(&ss->count);
    }
    return (c & C_FROZEN) == 0 && (c >> C_SHIFT) == 0;
}

static pp_status acquire(pp_sem *s, int64_t timeout_ms, pp_status busy)
{
    sem_state *ss = state_of(s);
    pp__plat_sobj *ps;
    int64_t deadline, last_reap = 0;
    pp_status st, res = PP_OK;
    uint32_t seen;
    int r;

    if (fast_take(s, ss, &res) == F_DONE)
        return res;
    ps = s->o.plat;
    deadline = pp__sobj_deadline(timeout_ms);
    for (;;) {
        seen = pp__plat_sobj_seq(ps);
        st = lock_state(s, ss, deadline);
        if (st != PP_OK)
            return st == PP_ETIMEDOUT ? busy : st;
        r = fast_take(s, ss, &res);
        if (r == F_SLOW && ld(&s->o.kc) == 0) {
            st = claim(s, ss, deadline);
            r = st == PP_OK ? fast_take(s, ss, &res) : F_DONE;
            res = st == PP_OK ? res : st;
        } else if (r == F_SLOW) { /* not (or no longer) ours? */
            uint64_t kc = ld(&s->o.kc);
            sem_slot *h = &ss->holders[(kc & 0xff) % PP__SOBJ_PROCS];
            if (ld(&h->tag) != kc >> 8 || ld(&h->pid) != pp__sobj_me_pid ||
                ld(&h->stamp) != pp__sobj_me_stamp || pp__sobj_me_pid == 0) {
                store(&s->o.kc, 0);
                st = claim(s, ss, deadline);
                r = st == PP_OK ? fast_take(s, ss, &res) : F_DONE;
                res = st == PP_OK ? res : st;
            }
        }
        if (r == F_EMPTY && pp__plat_now_ms() - last_reap >= PP__SOBJ_SLICE_MS) {
            st = reap(s, ss, deadline);
            last_reap = pp__plat_now_ms();
            r = st == PP_OK ? fast_take(s, ss, &res) : F_DONE;
            res = st == PP_OK ? res : st;
        }
        pp__sobj_leave(&s->o);
        if (r == F_DONE)
            return res == PP_ETIMEDOUT ? busy : res;
        if (pp__sobj_left(deadline) == 0)
            return busy;
        if (r == F_EMPTY && mark_waiter(ss))
            pp__sobj_nap(&s->o, seen, deadline);
        /* F_SLOW: a sibling thread's update, over in a moment */
    }
}

pp_status pp_sem_acquire(pp_sem *s, int64_t timeout_ms)
{
    if (s == NULL || timeout_ms < PP_INFINITE)
        return PP_EINVAL;
    if (state_of(s)->unowned)
        return pp__sem_count_acquire(s, timeout_ms, PP_ETIMEDOUT);
    return acquire(s, timeout_ms, PP_ETIMEDOUT);
}

pp_status pp_sem_try_acquire(pp_sem *s)
{
    if (s == NULL)
        return PP_EINVAL;
    if (state_of(s)->unowned)
        return pp__sem_count_acquire(s, 0, PP_EBUSY);
    return acquire(s, 0, PP_EBUSY);
}

/* A release by a process that holds nothing adds a unit for good (state
 * mutex held): TOTAL + 1, then the count + 1. */
static pp_status gift(pp_sem *s, sem_state *ss)
{
    uint64_t c = freeze(ss), v = c >> C_SHIFT;

    if ((ss->bounded && v >= ss->initial) || v >= (uint64_t)PP_SEM_MAX) {
        store(&ss->count, c & ~C_FROZEN);
        return PP_ESTATE;
    }
    store(&ss->total, ld(&ss->total) + 1);
    store(&ss->count, ((c & ~C_FROZEN) + C_ONE) & ~C_WAITER);
    if ((c & C_WAITER) != 0)
        pp__plat_sobj_wake(s->o.plat);
    return PP_OK;
}

pp_status pp_sem_release(pp_sem *s)
{
    sem_state *ss;
    pp_status st, res = PP_OK;
    int r;

    if (s == NULL)
        return PP_EINVAL;
    ss = state_of(s);
    if (ss->unowned)
        return pp__sem_count_release(s);
    r = fast_give(s, ss, &res);
    if (r == F_DONE)
        return res;
    for (;;) {
        st = lock_state(s, ss, PP_INFINITE);
        if (st != PP_OK)
            return st;
        r = fast_give(s, ss, &res);
        if (r == F_SLOW) {
            uint64_t kc = ld(&s->o.kc);
            sem_slot *h = &ss->holders[(kc & 0xff) % PP__SOBJ_PROCS];
            if (kc == 0 || ld(&h->tag) != kc >> 8 || ld(&h->pid) != pp__sobj_me_pid ||
                ld(&h->stamp) != pp__sobj_me_stamp || pp__sobj_me_pid == 0) {
                /* no slot of ours cached: find it, if the process has one */
                pp__sobj_proc me;
                uint64_t n = n_slots(ss), i;
                pp__sobj_self(&me);
                store(&s->o.kc, 0);
                for (i = 0; i < n; i++) {
                    h = &ss->holders[i];
                    if (ld(&h->pid) == me.pid && ld(&h->stamp) == me.stamp &&
                        (ld(&h->word) & W_CLAIM) == 0) {
                        store(&s->o.kc, (ld(&h->tag) << 8) | i);
                        break;
                    }
                }
                r = ld(&s->o.kc) == 0 ? F_GIFT : fast_give(s, ss, &res);
            }
        }
        if (r == F_GIFT)
            res = gift(s, ss);
        pp__sobj_leave(&s->o);
        if (r != F_SLOW)
            return res;
        /* a sibling thread's update, over in a moment */
    }
}

pp_status pp_sem_value(pp_sem *s, int64_t *value)
{
    sem_state *ss;
    uint64_t c;
    pp_status st;

    if (s == NULL || value == NULL)
        return PP_EINVAL;
    ss = state_of(s);
    c = ld(&ss->count);
    if ((c & C_FROZEN) != 0) { /* a repair under way (or cut short) */
        st = lock_state(s, ss, PP_INFINITE);
        if (st != PP_OK)
            return st;
        c = ld(&ss->count);
        pp__sobj_leave(&s->o);
    }
    *value = (int64_t)(c >> C_SHIFT);
    return PP_OK;
}

const char *pp_sem_name(const pp_sem *s)
{
    return s ? pp__sobj_name(&s->o) : NULL;
}

void pp_sem_destroy(pp_sem *s)
{
    pp__sobj_destroy(s ? &s->o : NULL);
}
