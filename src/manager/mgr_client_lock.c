/*
 * mgr_client_lock.c — the manager lock and recursive lock: rows of
 * sync/lock_backend.h whose operations are requests to the server
 * (manager/mgr_proto.h) on the handle's pp_manager connection. A release
 * is decided locally (the handle counts its holds) and sent without
 * waiting for an answer (RELEASE_NR).
 */
#include <stdlib.h>
#include <string.h>

#include "procpool/manager.h"
#include "procpool/manager_objects.h"
#include "platform.h"
#include "core/core.h"
#include "wire/buf.h"
#include "sync/lock_backend.h"
#include "sync/remote.h"
#include "manager/manager.h"
#include "manager/mgr_client.h"
#include "manager/mgr_obj.h"
#include "manager/mgr_proto.h"

/* One request without reply data. */
static pp_status call(pp_manager *m, uint8_t type, const uint8_t *payload, size_t len,
                      int64_t wait_ms, pp_status *status, uint64_t *value)
{
    return pp__mgr_call(m, type, payload, len, wait_ms, status, value, NULL);
}

static pp_status call_id(pp_manager *m, uint8_t type, uint64_t id, int64_t wait_ms, uint64_t *value)
{
    uint8_t p[8];
    pp_status st, answer;

    pp__st_le64(p, id);
    st = call(m, type, p, sizeof p, wait_ms, &answer, value);
    return st != PP_OK ? st : answer;
}

/* ------------------------------------------------------ the lock backend */

typedef struct mgr_lock {
    pp_lock base;    /* first: a pp_lock */
    pp__mgr_ref ref; /* kind LOCK or RLOCK, manager, id, creator */
    uint64_t token;  /* of the last acquire */
    int64_t held;    /* acquires through this handle not released yet (the manager's mutex) */
} mgr_lock;

/* An acquire through l succeeded: its token, and l holds the lock once
 * more (under the connection's mutex: another thread may release through
 * l). */
static void set_held(mgr_lock *l, uint64_t token)
{
    pp__plat_mtx *mu = pp__mgr_mutex(l->ref.mgr);

    pp__plat_mtx_lock(mu);
    l->token = token;
    l->held++;
    pp__plat_mtx_unlock(mu);
}

/* The server waits at most PP__MGR_SLICE_MS per request: a longer wait is
 * a loop here, and each round proves the server alive. */
static pp_status mgr_acquire(pp_lock *lock, int64_t timeout_ms)
{
    mgr_lock *l = (mgr_lock *)lock;
    int64_t deadline = timeout_ms == PP_INFINITE ? 0 : pp__plat_deadline_ms(timeout_ms);
    uint8_t p[16];
    pp_status st, answer;
    uint64_t value = 0;

    for (;;) {
        int64_t slice = PP__MGR_SLICE_MS;
        if (timeout_ms != PP_INFINITE) {
            int64_t left = deadline - pp__plat_now_ms();
            slice = left < 0 ? 0 : (left < slice ? left : slice);
        }
        pp__st_le64(p, l->ref.id);
        pp__st_le64(p + 8, (uint64_t)slice);
        st = call(l->ref.mgr, PP__MGR_ACQUIRE, p, sizeof p, slice, &answer, &value);
        if (st != PP_OK)
            return st;
        if (answer == PP_ETIMEDOUT &&
            (timeout_ms == PP_INFINITE || deadline - pp__plat_now_ms() > 0))
            continue;
        if (answer == PP_OK || answer == PP_EOWNERDEAD)
            set_held(l, value);
        return answer;
    }
}

static pp_status mgr_try_acquire(pp_lock *lock)
{
    mgr_lock *l = (mgr_lock *)lock;
    uint64_t value = 0;
    pp_status st = call_id(l->ref.mgr, PP__MGR_TRY, l->ref.id, 0, &value);

    if (st == PP_OK || st == PP_EOWNERDEAD)
        set_held(l, value);
    return st == PP_ETIMEDOUT ? PP_EBUSY : st;
}

/* Whether this handle holds the lock, and how many times (a recursive
 * lock), is known here: a release by a non-holder is PP_EPERM without
 * asking, and the server's answer to a holder's release would carry
 * nothing, so it is not waited for (half the round trips of an
 * acquire+release pair). The server counts a recursive lock's holds per
 * connection: the sum of its handles' counts, so a release this handle
 * may do never fails there. */
static pp_status mgr_release(pp_lock *lock)
{
    mgr_lock *l = (mgr_lock *)lock;
    pp__plat_mtx *mu = pp__mgr_mutex(l->ref.mgr);
    int held;

    if (pp__mgr_check_process(l->ref.mgr) != PP_OK)
        return PP_ESTATE;
    pp__plat_mtx_lock(mu);
    held = l->held > 0;
    if (held)
        l->held--;
    pp__plat_mtx_unlock(mu);
    return held ? pp__mgr_post(l->ref.mgr, PP__MGR_RELEASE_NR, l->ref.id) : PP_EPERM;
}

static const char *mgr_name(const pp_lock *lock)
{
    (void)lock;
    return NULL; /* it has an id; it travels by locator (mgr_locator) */
}

static uint64_t mgr_token(const pp_lock *lock)
{
    return ((const mgr_lock *)lock)->token;
}

static void mgr_destroy(pp_lock *lock)
{
    mgr_lock *l = (mgr_lock *)lock;

    pp__mgr_obj_drop(&l->ref);
    free(l);
}

/* What travels in task arguments (sync/remote.h). */
static void mgr_locator(const pp_lock *lock, pp__locator *out)
{
    const mgr_lock *l = (const mgr_lock *)lock;

    memset(out, 0, sizeof *out);
    out->backend = PP__LOC_MANAGER;
    out->object = l->ref.kind == PP__MK_RLOCK ? PP__OBJ_RLOCK : PP__OBJ_LOCK;
    pp__strlcpy(out->addr, pp_manager_address(l->ref.mgr), sizeof out->addr);
    out->instance = pp__manager_instance(l->ref.mgr);
    out->id = l->ref.id;
}

static const pp__lock_backend g_manager_lock = {"manager",   mgr_acquire, mgr_try_acquire,
                                                mgr_release, mgr_name,    mgr_token,
                                                mgr_destroy, mgr_locator};
/* The recursive lock: the same requests; the server counts the holds. */
static const pp__lock_backend g_manager_rlock = {"manager-rlock", mgr_acquire, mgr_try_acquire,
                                                 mgr_release,     mgr_name,    mgr_token,
                                                 mgr_destroy,     mgr_locator};

static pp_status lock_handle(const pp__mgr_ref *ref, pp_lock **out)
{
    mgr_lock *l = calloc(1, sizeof *l);

    if (l == NULL)
        return PP_ENOMEM;
    l->base.backend = ref->kind == PP__MK_RLOCK ? &g_manager_rlock : &g_manager_lock;
    l->ref = *ref;
    *out = &l->base;
    return PP_OK;
}

const pp__mgr_ref *pp__mgr_lock_ref(const pp_lock *lock)
{
    if (lock == NULL || (lock->backend != &g_manager_lock && lock->backend != &g_manager_rlock))
        return NULL;
    return &((const mgr_lock *)lock)->ref;
}

uint64_t pp_manager_lock_id(const pp_lock *lock)
{
    const pp__mgr_ref *ref = pp__mgr_lock_ref(lock);

    return ref != NULL ? ref->id : 0;
}

pp_status pp_manager_lock_open(pp_manager *mgr, uint64_t id, pp_lock **out)
{
    pp__mgr_ref ref = {PP__MK_LOCK, NULL, 0, 0};
    uint64_t value;
    pp_status st;

    if (mgr == NULL || out == NULL || id == 0)
        return PP_EINVAL;
    st = call_id(mgr, PP__MGR_OPEN, id, 0, &value);
    ref.mgr = mgr;
    ref.id = id;
    return st != PP_OK ? st : lock_handle(&ref, out);
}

pp_status pp_manager_lock(pp_manager *mgr, pp_lock **out)
{
    pp__mgr_ref ref = {PP__MK_LOCK, NULL, 0, 1};
    pp_status st, answer;
    uint64_t id = 0;

    if (mgr == NULL || out == NULL)
        return PP_EINVAL;
    st = call(mgr, PP__MGR_CREATE_LOCK, NULL, 0, 0, &answer, &id);
    if (st != PP_OK)
        return st;
    if (answer != PP_OK)
        return answer;
    ref.mgr = mgr;
    ref.id = id;
    st = lock_handle(&ref, out);
    if (st != PP_OK)
        pp__mgr_obj_drop(&ref);
    return st;
}

pp_status pp_manager_rlock(pp_manager *mgr, pp_lock **out)
{
    pp__mgr_ref ref;
    pp_status st;

    if (mgr == NULL || out == NULL)
        return PP_EINVAL;
    st = pp__mgr_obj_create(mgr, PP__MK_RLOCK, 0, 0, &ref);
    if (st == PP_OK && (st = lock_handle(&ref, out)) != PP_OK)
        pp__mgr_obj_drop(&ref);
    return st;
}

pp_status pp_manager_rlock_open(pp_manager *mgr, uint64_t id, pp_lock **out)
{
    pp__mgr_ref ref;
    pp_status st;

    if (mgr == NULL || out == NULL || id == 0)
        return PP_EINVAL;
    st = pp__mgr_obj_open(mgr, PP__MK_RLOCK, id, 0, &ref, NULL);
    return st != PP_OK ? st : lock_handle(&ref, out);
}
