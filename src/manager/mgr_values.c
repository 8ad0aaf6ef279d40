/*
 * mgr_values.c — the handles of a manager's hosted objects as values
 * (manager_objects.h, "Proxies as values"): a proxy item of a pp_values
 * holds the object's locator (sync/remote.h) beside the handle; the
 * codec carries the locator, and the receiving process resolves it
 * (mgr_travel.c) into a handle of its own.
 *
 * A condition's locator names its lock too, so that the receiver can
 * open the condition with a handle of that lock.
 */
#include <string.h>

#include "procpool/manager.h"
#include "procpool/manager_objects.h"
#include "core/core.h"
#include "sync/remote.h"
#include "values/value_internal.h"
#include "manager/manager.h"
#include "manager/mgr_client.h"
#include "manager/mgr_obj.h"

_Static_assert(PP__OBJ_SEM == PP__MK_SEM && PP__OBJ_BSEM == PP__MK_BSEM &&
                   PP__OBJ_COND == PP__MK_COND && PP__OBJ_EVENT == PP__MK_EVENT &&
                   PP__OBJ_BARRIER == PP__MK_BARRIER && PP__OBJ_VALUE == PP__MK_VALUE &&
                   PP__OBJ_QUEUE == PP__MK_QUEUE && PP__OBJ_DICT == PP__MK_DICT &&
                   PP__OBJ_LOCK == PP__MK_LOCK && PP__OBJ_RLOCK == PP__MK_RLOCK &&
                   PP__OBJ_KINDS == PP__MK_COUNT,
               "a locator's object byte is the manager's kind byte");

/* Append handle h (it starts with its pp__mgr_ref) as a proxy item. */
static pp_status add_proxy(pp_values *v, const void *h)
{
    const pp__mgr_ref *r = h;
    const char *addr;
    pp__locator loc;

    if (v == NULL || h == NULL)
        return PP_EINVAL;
    addr = pp_manager_address(r->mgr);
    memset(&loc, 0, sizeof loc);
    loc.backend = PP__LOC_MANAGER;
    loc.object = r->kind;
    if (addr == NULL || strlen(addr) >= sizeof loc.addr)
        return PP_EINVAL;
    pp__strlcpy(loc.addr, addr, sizeof loc.addr);
    loc.instance = pp__manager_instance(r->mgr);
    loc.id = r->id;
    if (r->kind == PP__MK_COND)
        pp__mcond_lock(h, &loc.lock_object, &loc.lock_id);
    return pp__values_add_remote(v, &loc, (void *)h, PP_OK);
}

/* Proxy item i if it is of kind k1 or k2: its handle, or why there is
 * none; *out NULL on every error. */
static pp_status get_proxy(const pp_values *v, size_t i, uint8_t k1, uint8_t k2, void **out)
{
    const pp__locator *loc = NULL;
    pp_status st, why = PP_OK;
    void *h = NULL;

    *out = NULL;
    st = pp__values_get_proxy(v, i, &loc, &h, &why);
    if (st != PP_OK)
        return st;
    if (loc->object != k1 && loc->object != k2)
        return PP_ETYPE;
    if (why != PP_OK)
        return why;
    *out = h;
    return PP_OK;
}

pp_status pp_values_add_msem(pp_values *v, pp_msem *s)
{
    return add_proxy(v, s);
}

pp_status pp_values_get_msem(const pp_values *v, size_t i, pp_msem **out)
{
    void *h = NULL;
    pp_status st = out != NULL ? get_proxy(v, i, PP__MK_SEM, PP__MK_BSEM, &h) : PP_EINVAL;

    if (out != NULL)
        *out = h;
    return st;
}

pp_status pp_values_add_mcond(pp_values *v, pp_mcond *c)
{
    return add_proxy(v, c);
}

pp_status pp_values_get_mcond(const pp_values *v, size_t i, pp_mcond **out)
{
    void *h = NULL;
    pp_status st = out != NULL ? get_proxy(v, i, PP__MK_COND, PP__MK_COND, &h) : PP_EINVAL;

    if (out != NULL)
        *out = h;
    return st;
}

pp_status pp_values_add_mevent(pp_values *v, pp_mevent *e)
{
    return add_proxy(v, e);
}

pp_status pp_values_get_mevent(const pp_values *v, size_t i, pp_mevent **out)
{
    void *h = NULL;
    pp_status st = out != NULL ? get_proxy(v, i, PP__MK_EVENT, PP__MK_EVENT, &h) : PP_EINVAL;

    if (out != NULL)
        *out = h;
    return st;
}

pp_status pp_values_add_mbarrier(pp_values *v, pp_mbarrier *b)
{
    return add_proxy(v, b);
}

pp_status pp_values_get_mbarrier(const pp_values *v, size_t i, pp_mbarrier **out)
{
    void *h = NULL;
    pp_status st = out != NULL ? get_proxy(v, i, PP__MK_BARRIER, PP__MK_BARRIER, &h) : PP_EINVAL;

    if (out != NULL)
        *out = h;
    return st;
}

pp_status pp_values_add_mvalue(pp_values *v, pp_mvalue *x)
{
    return add_proxy(v, x);
}

pp_status pp_values_get_mvalue(const pp_values *v, size_t i, pp_mvalue **out)
{
    void *h = NULL;
    pp_status st = out != NULL ? get_proxy(v, i, PP__MK_VALUE, PP__MK_VALUE, &h) : PP_EINVAL;

    if (out != NULL)
        *out = h;
    return st;
}

pp_status pp_values_add_mqueue(pp_values *v, pp_mqueue *q)
{
    return add_proxy(v, q);
}

pp_status pp_values_get_mqueue(const pp_values *v, size_t i, pp_mqueue **out)
{
    void *h = NULL;
    pp_status st = out != NULL ? get_proxy(v, i, PP__MK_QUEUE, PP__MK_QUEUE, &h) : PP_EINVAL;

    if (out != NULL)
        *out = h;
    return st;
}

pp_status pp_values_add_mdict(pp_values *v, pp_mdict *d)
{
    return add_proxy(v, d);
}

pp_status pp_values_get_mdict(const pp_values *v, size_t i, pp_mdict **out)
{
    void *h = NULL;
    pp_status st = out != NULL ? get_proxy(v, i, PP__MK_DICT, PP__MK_DICT, &h) : PP_EINVAL;

    if (out != NULL)
        *out = h;
    return st;
}
