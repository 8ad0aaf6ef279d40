/*
 * array.c — pp_array (array.h): typed elements in a sync segment
 * (sobj.h) with a robust lock kept in the segment's state.
 *
 * The user-visible lock is not the segment's state mutex (that one is
 * held only for short critical sections): it is an owner record —
 * (pid, start stamp, thread id), pid 0 when free — changed under the
 * state mutex with a redo record. A locker that finds it taken naps on
 * the wake word (sliced, sobj.h) and checks after each nap whether the
 * owner's process still runs; a dead owner's lock is taken over with
 * PP_EOWNERDEAD. A process that died while holding the state mutex
 * itself is repaired by pp__sobj_enter() (redo record), and its lock, if
 * it held that too, is found dead the same way.
 *
 * Whether the calling thread holds the lock is read without the mutex:
 * only the holder writes its own (pid, thread) into the record and it
 * clears it before letting go, so a thread that reads its own pair reads
 * what it wrote itself.
 */
#include <stdlib.h>
#include <string.h>

#include "procpool/array.h"
#include "platform.h"
#include "core/core.h"
#include "sync/array_internal.h"
#include "sync/sobj.h"
#include "sync/sync.h"

typedef struct astate {
    pp__sobj_redo redo; /* first member (sobj.h) */
    uint64_t type;      /* immutable */
    uint64_t elem_size; /* immutable */
    uint64_t length;    /* immutable */
    uint64_t owner_pid; /* 0: the lock is free */
    uint64_t owner_stamp;
    uint64_t owner_tid;
} astate;

#define DATA_OFF ((sizeof(astate) + 63u) & ~(size_t)63u)

/* As every sync kind (sobj.h): the handle is the cached sobj handle. */
struct pp_array {
    pp__sobj o;
};

static astate *state_of(const pp_array *a)
{
    return pp__sobj_state(&a->o);
}

static uint64_t ld(const uint64_t *p)
{
    return pp__plat_atomic_load64((volatile uint64_t *)p);
}

/* ---------------------------------------------------------- lifecycle */

static pp_status create(const char *name, pp_array_type type, size_t elem_size, size_t length,
                        pp_array **out)
{
    pp__sobj *o = NULL;
    astate *init;
    size_t size;
    pp_status st;

    if (out == NULL)
        return PP_EINVAL;
    *out = NULL;
    if (length == 0 || elem_size == 0 || length > PP_ARRAY_BYTES_MAX / elem_size)
        return PP_EINVAL;
    size = DATA_OFF + length * elem_size;
    init = calloc(1, size); /* the init image: zero pages are cheap */
    if (init == NULL)
        return PP_ENOMEM;
    init->type = (uint64_t)type;
    init->elem_size = elem_size;
    init->length = length;
    st = pp__sobj_create(PP__SOBJ_ARRAY, name, size, init, &o);
    free(init);
    *out = (pp_array *)o;
    return st;
}

pp_status pp_array_create(const char *name, pp_array_type type, size_t length, pp_array **out)
{
    if (type != PP_ARRAY_INT64 && type != PP_ARRAY_DOUBLE) {
        if (out != NULL)
            *out = NULL;
        return PP_EINVAL;
    }
    return create(name, type, 8, length, out);
}

pp_status pp_array_create_records(const char *name, size_t record_size, size_t length,
                                  pp_array **out)
{
    if (record_size > PP_ARRAY_RECORD_MAX) {
        if (out != NULL)
            *out = NULL;
        return PP_EINVAL;
    }
    return create(name, PP_ARRAY_RECORD, record_size, length, out);
}

pp_status pp__array_check(const pp__sobj *o)
{
    astate *s = pp__sobj_state(o);
    size_t size = pp__plat_sobj_state_size(pp__sobj_plat(o));
    int typed = s->type == PP_ARRAY_INT64 || s->type == PP_ARRAY_DOUBLE;

    /* It came from another process: never trust it blindly. */
    if (pp__sobj_kind(o) != PP__SOBJ_ARRAY || size < DATA_OFF || s->elem_size == 0 ||
        s->elem_size > PP_ARRAY_RECORD_MAX || (typed && s->elem_size != 8) ||
        (!typed && s->type != PP_ARRAY_RECORD) || s->length == 0 ||
        s->length > (size - DATA_OFF) / s->elem_size)
        return PP_EINVAL;
    return PP_OK;
}

pp_status pp_array_open(const char *name, pp_array **out)
{
    pp__sobj *o = NULL;
    pp_status st;

    if (out == NULL)
        return PP_EINVAL;
    *out = NULL;
    st = pp__sobj_open(PP__SOBJ_ARRAY, name, &o);
    if (st != PP_OK)
        return st;
    st = pp__array_check(o);
    if (st != PP_OK) {
        pp__sobj_destroy(o);
        return st;
    }
    *out = (pp_array *)o;
    return PP_OK;
}

void pp_array_destroy(pp_array *a)
{
    pp__sobj_destroy(a ? &a->o : NULL);
}

pp_array_type pp_array_type_of(const pp_array *a)
{
    return a ? (pp_array_type)state_of(a)->type : (pp_array_type)0;
}

size_t pp_array_length(const pp_array *a)
{
    return a ? (size_t)state_of(a)->length : 0;
}

size_t pp_array_elem_size(const pp_array *a)
{
    return a ? (size_t)state_of(a)->elem_size : 0;
}

const char *pp_array_name(const pp_array *a)
{
    return a ? pp__sobj_name(&a->o) : NULL;
}

void *pp_array_ptr(const pp_array *a)
{
    return a ? (char *)state_of(a) + DATA_OFF : NULL;
}

/* --------------------------------------------------------------- lock */

/* The state mutex is held only briefly: even a caller that must not wait
 * for the array's lock allows its holder this long (a stopped holder:
 * PP_ETIMEDOUT after it). */
#define STATE_GRACE_MS 2000

static int64_t state_deadline(int64_t deadline)
{
    int64_t g = pp__plat_now_ms() + STATE_GRACE_MS;

    return deadline == PP_INFINITE || deadline > g ? deadline : g;
}

static int held_by_me(const pp_array *a)
{
    astate *s = state_of(a);
    pp__sobj_proc me;

    pp__sobj_self(&me);
    return ld(&s->owner_pid) == me.pid && ld(&s->owner_tid) == pp__plat_thread_id();
}

/* With the state mutex: make the caller the owner. */
static void take_lock(astate *s, const pp__sobj_proc *me)
{
    pp__sobj_tx tx;

    pp__sobj_tx_begin(&tx, s);
    pp__sobj_tx_set(&tx, &s->owner_pid, me->pid);
    pp__sobj_tx_set(&tx, &s->owner_stamp, me->stamp);
    pp__sobj_tx_set(&tx, &s->owner_tid, pp__plat_thread_id());
    pp__sobj_tx_commit(&tx);
}

pp_status pp_array_lock(pp_array *a, int64_t timeout_ms)
{
    int64_t deadline;
    pp__sobj_proc me, owner, dead = {0, 0};
    astate *s;
    uint32_t seen;
    int napped = 0;
    pp_status st;

    if (a == NULL || timeout_ms < PP_INFINITE)
        return PP_EINVAL;
    if (held_by_me(a))
        return PP_EDEADLK;
    s = state_of(a);
    pp__sobj_self(&me);
    deadline = pp__sobj_deadline(timeout_ms);
    for (;;) {
        seen = pp__plat_sobj_seq(pp__sobj_plat(&a->o));
        st = pp__sobj_enter(&a->o, state_deadline(deadline), NULL);
        if (st != PP_OK)
            return st;
        owner.pid = s->owner_pid;
        owner.stamp = s->owner_stamp;
        /* free, or still held by the process found dead just before */
        if (owner.pid == 0 || (owner.pid == dead.pid && owner.stamp == dead.stamp)) {
            st = owner.pid != 0 ? PP_EOWNERDEAD : PP_OK;
            take_lock(s, &me);
            pp__sobj_leave(&a->o);
            return st;
        }
        pp__sobj_leave(&a->o);
        /* The holder's liveness (a /proc read on Linux) is looked at
         * outside the mutex, after a nap that did not bring the lock, or
         * before giving up. */
        if ((napped || pp__sobj_left(deadline) == 0) && !pp__sobj_proc_alive(&owner)) {
            dead = owner;
            continue;
        }
        if (pp__sobj_left(deadline) == 0)
            return PP_ETIMEDOUT;
        pp__sobj_nap(&a->o, seen, deadline);
        napped = 1;
    }
}

pp_status pp_array_unlock(pp_array *a)
{
    pp__sobj_tx tx;
    astate *s;
    pp_status st;

    if (a == NULL)
        return PP_EINVAL;
    if (!held_by_me(a))
        return PP_EPERM;
    s = state_of(a);
    /* Only this thread can change the record now; the mutex is for the
     * redo record (and a dead holder of it). */
    st = pp__sobj_enter(&a->o, PP_INFINITE, NULL);
    if (st != PP_OK)
        return st;
    pp__sobj_tx_begin(&tx, s);
    pp__sobj_tx_set(&tx, &s->owner_tid, 0);
    pp__sobj_tx_set(&tx, &s->owner_stamp, 0);
    pp__sobj_tx_set(&tx, &s->owner_pid, 0);
    pp__sobj_tx_commit(&tx);
    pp__sobj_leave(&a->o);
    pp__plat_sobj_wake(pp__sobj_plat(&a->o));
    return PP_OK;
}

/* ------------------------------------------------------ element copies */

static pp_status range_ok(const pp_array *a, size_t first, size_t count)
{
    size_t len = pp_array_length(a);

    if (count == 0)
        return PP_EINVAL;
    return first < len && count <= len - first ? PP_OK : PP_ERANGE;
}

/* Copy under the lock (taken here unless the calling thread holds it). */
static pp_status copy(pp_array *a, size_t first, size_t count, void *buf, int writing,
                      int64_t timeout_ms)
{
    size_t es;
    char *p;
    pp_status st, lst = PP_OK;
    int mine;

    if (a == NULL || buf == NULL || timeout_ms < PP_INFINITE)
        return PP_EINVAL;
    st = range_ok(a, first, count);
    if (st != PP_OK)
        return st;
    mine = held_by_me(a);
    if (!mine) {
        lst = pp_array_lock(a, timeout_ms);
        if (lst != PP_OK && lst != PP_EOWNERDEAD)
            return lst;
    }
    es = pp_array_elem_size(a);
    p = (char *)pp_array_ptr(a) + first * es;
    if (writing)
        memcpy(p, buf, count * es);
    else
        memcpy(buf, p, count * es);
    if (!mine)
        pp_array_unlock(a);
    return lst;
}

pp_status pp_array_read(pp_array *a, size_t first, size_t count, void *out, int64_t timeout_ms)
{
    return copy(a, first, count, out, 0, timeout_ms);
}

pp_status pp_array_write(pp_array *a, size_t first, size_t count, const void *in,
                         int64_t timeout_ms)
{
    /* copy() only reads through buf when writing */
    return copy(a, first, count, (void *)(uintptr_t)in, 1, timeout_ms);
}

static pp_status typed(const pp_array *a, pp_array_type type)
{
    if (a == NULL)
        return PP_EINVAL;
    return pp_array_type_of(a) == type ? PP_OK : PP_ETYPE;
}

pp_status pp_array_get_int64(pp_array *a, size_t i, int64_t *out, int64_t timeout_ms)
{
    pp_status st = out ? typed(a, PP_ARRAY_INT64) : PP_EINVAL;

    return st == PP_OK ? pp_array_read(a, i, 1, out, timeout_ms) : st;
}

pp_status pp_array_set_int64(pp_array *a, size_t i, int64_t x, int64_t timeout_ms)
{
    pp_status st = typed(a, PP_ARRAY_INT64);

    return st == PP_OK ? pp_array_write(a, i, 1, &x, timeout_ms) : st;
}

pp_status pp_array_get_double(pp_array *a, size_t i, double *out, int64_t timeout_ms)
{
    pp_status st = out ? typed(a, PP_ARRAY_DOUBLE) : PP_EINVAL;

    return st == PP_OK ? pp_array_read(a, i, 1, out, timeout_ms) : st;
}

pp_status pp_array_set_double(pp_array *a, size_t i, double x, int64_t timeout_ms)
{
    pp_status st = typed(a, PP_ARRAY_DOUBLE);

    return st == PP_OK ? pp_array_write(a, i, 1, &x, timeout_ms) : st;
}

/* ------------------------------------------------------------- atomics */

static pp_status slot(pp_array *a, size_t i, volatile uint64_t **p)
{
    pp_status st = typed(a, PP_ARRAY_INT64);

    if (st != PP_OK)
        return st;
    if (i >= pp_array_length(a))
        return PP_ERANGE;
    *p = (volatile uint64_t *)pp_array_ptr(a) + i;
    return PP_OK;
}

pp_status pp_array_load_int64(pp_array *a, size_t i, int64_t *out)
{
    volatile uint64_t *p;
    pp_status st = out ? slot(a, i, &p) : PP_EINVAL;

    if (st == PP_OK)
        *out = (int64_t)pp__plat_atomic_load64(p);
    return st;
}

pp_status pp_array_store_int64(pp_array *a, size_t i, int64_t x)
{
    volatile uint64_t *p;
    pp_status st = slot(a, i, &p);

    if (st == PP_OK)
        pp__plat_atomic_store64(p, (uint64_t)x);
    return st;
}

pp_status pp_array_add_int64(pp_array *a, size_t i, int64_t delta, int64_t *now)
{
    volatile uint64_t *p;
    pp_status st = slot(a, i, &p);
    int64_t v;

    if (st != PP_OK)
        return st;
    v = pp__atomic64_add(p, delta);
    if (now != NULL)
        *now = v;
    return PP_OK;
}

pp_status pp_array_cas_int64(pp_array *a, size_t i, int64_t expected, int64_t desired, int *swapped,
                             int64_t *seen)
{
    volatile uint64_t *p;
    pp_status st = slot(a, i, &p);

    if (st != PP_OK)
        return st;
    pp__atomic64_cas(p, expected, desired, swapped, seen);
    return PP_OK;
}
