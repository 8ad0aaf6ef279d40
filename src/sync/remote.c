/*
 * remote.c — locators of hosted objects (their resolution: remote_cache.c)
 * (sync/remote.h).
 */
#include <stdio.h>
#include <string.h>

#include "core/core.h"
#include "sync/remote.h"

_Static_assert(PP__LOC_NAME_MAX == PP_NAME_MAX + 1, "a locator carries any lock name");
_Static_assert(PP__LOC_ADDR_MAX - 1 <= 255, "an address length fits the locator's u8");

static int addr_char_ok(char c)
{
    return c > ' ' && c < 0x7f;
}

static pp_status addr_check(const char *p, size_t n)
{
    size_t i;

    if (n == 0 || n >= PP__LOC_ADDR_MAX)
        return PP_EINVAL;
    for (i = 0; i < n; i++) {
        if (!addr_char_ok(p[i]))
            return PP_EINVAL;
    }
    return PP_OK;
}

pp_status pp__locator_check(const pp__locator *loc)
{
    if (loc == NULL || memchr(loc->addr, '\0', sizeof loc->addr) == NULL)
        return PP_EINVAL;
    if (loc->backend == PP__LOC_MANAGER) {
        if (loc->id == 0 || loc->object == 0 || loc->object >= PP__OBJ_KINDS)
            return PP_EINVAL;
        if (loc->object == PP__OBJ_COND ? loc->lock_id == 0 || (loc->lock_object != PP__OBJ_LOCK &&
                                                                loc->lock_object != PP__OBJ_RLOCK)
                                        : loc->lock_id != 0 || loc->lock_object != 0)
            return PP_EINVAL;
    } else if (loc->backend == PP__LOC_REDIS) {
        if (loc->object != PP__OBJ_LOCK || loc->lock_id != 0 || loc->lock_object != 0 ||
            memchr(loc->name, '\0', sizeof loc->name) == NULL || pp__name_check(loc->name) != PP_OK)
            return PP_EINVAL;
    } else {
        return PP_EINVAL;
    }
    return addr_check(loc->addr, strlen(loc->addr));
}

size_t pp__locator_size(const pp__locator *loc)
{
    if (loc->backend == PP__LOC_REDIS)
        return 3u + strlen(loc->addr) + 1u + strlen(loc->name);
    return 3u + strlen(loc->addr) + 16u + (loc->object == PP__OBJ_COND ? 9u : 0u);
}

pp_status pp__locator_encode(const pp__locator *loc, pp__buf *b)
{
    size_t n = strlen(loc->addr);
    pp_status st = pp__buf_reserve(b, pp__locator_size(loc));

    if (st == PP_OK)
        st = pp__buf_put_u8(b, loc->backend);
    if (st == PP_OK)
        st = pp__buf_put_u8(b, loc->object);
    if (st == PP_OK)
        st = pp__buf_put_u8(b, (uint8_t)n);
    if (st == PP_OK)
        st = pp__buf_put(b, loc->addr, n);
    if (loc->backend == PP__LOC_REDIS) {
        size_t k = strlen(loc->name);
        if (st == PP_OK)
            st = pp__buf_put_u8(b, (uint8_t)k);
        if (st == PP_OK)
            st = pp__buf_put(b, loc->name, k);
        return st;
    }
    if (st == PP_OK)
        st = pp__buf_put_u64(b, loc->instance);
    if (st == PP_OK)
        st = pp__buf_put_u64(b, loc->id);
    if (st == PP_OK && loc->object == PP__OBJ_COND)
        st = pp__buf_put_u8(b, loc->lock_object);
    if (st == PP_OK && loc->object == PP__OBJ_COND)
        st = pp__buf_put_u64(b, loc->lock_id);
    return st;
}

pp_status pp__locator_decode(pp__rd *r, pp__locator *loc)
{
    size_t start = r->pos;
    const uint8_t *p = NULL;
    uint8_t n = 0;
    pp_status st;

    memset(loc, 0, sizeof *loc);
    st = pp__rd_u8(r, &loc->backend);
    if (st == PP_OK)
        st = pp__rd_u8(r, &loc->object);
    if (st == PP_OK)
        st = pp__rd_u8(r, &n);
    if (st == PP_OK)
        st = pp__rd_take(r, n, &p);
    if (st == PP_OK && addr_check((const char *)p, n) != PP_OK)
        st = PP_EPROTO;
    if (st == PP_OK) {
        memcpy(loc->addr, p, n);
        loc->addr[n] = '\0';
    }
    if (st == PP_OK && loc->backend == PP__LOC_REDIS) {
        st = pp__rd_u8(r, &n);
        if (st == PP_OK && n >= PP__LOC_NAME_MAX)
            st = PP_EPROTO;
        if (st == PP_OK)
            st = pp__rd_take(r, n, &p);
        /* a NUL inside would cut the name: not what the encoder writes */
        if (st == PP_OK && memchr(p, '\0', n) != NULL)
            st = PP_EPROTO;
        if (st == PP_OK) {
            memcpy(loc->name, p, n);
            loc->name[n] = '\0';
        }
    } else {
        if (st == PP_OK)
            st = pp__rd_u64(r, &loc->instance);
        if (st == PP_OK)
            st = pp__rd_u64(r, &loc->id);
        if (st == PP_OK && loc->object == PP__OBJ_COND)
            st = pp__rd_u8(r, &loc->lock_object);
        if (st == PP_OK && loc->object == PP__OBJ_COND)
            st = pp__rd_u64(r, &loc->lock_id);
    }
    if (st == PP_OK && pp__locator_check(loc) != PP_OK)
        st = PP_EPROTO;
    if (st != PP_OK) {
        r->pos = start;
        return PP_EPROTO;
    }
    return PP_OK;
}

/* What messages call an object of kind object (a checked byte). */
static const char *object_word(uint8_t object)
{
    static const char *const words[PP__OBJ_KINDS] = {
        "object",  "lock",  "rlock", "semaphore", "bounded semaphore", "condition", "event",
        "barrier", "value", "queue", "dict"};

    return object < PP__OBJ_KINDS ? words[object] : "object";
}

void pp__locator_describe(const pp__locator *loc, char *buf, size_t cap)
{
    if (loc->backend == PP__LOC_REDIS)
        snprintf(buf, cap, "Redis lock %s at %s", loc->name, loc->addr);
    else if (loc->object == PP__OBJ_COND)
        snprintf(buf, cap, "manager condition %llu (of %s %llu) at %s", (unsigned long long)loc->id,
                 object_word(loc->lock_object), (unsigned long long)loc->lock_id, loc->addr);
    else
        snprintf(buf, cap, "manager %s %llu at %s", object_word(loc->object),
                 (unsigned long long)loc->id, loc->addr);
}
