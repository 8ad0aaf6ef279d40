/*
 * remote.c — locators of hosted objects and the resolver seam
 * (sync/remote.h).
 */
#include <stdio.h>
#include <string.h>

#include "sync/remote.h"

static pp__remote_resolver g_resolver;

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
    if (loc == NULL || loc->backend != PP__LOC_MANAGER || loc->object != PP__OBJ_LOCK ||
        loc->id == 0 || memchr(loc->addr, '\0', sizeof loc->addr) == NULL)
        return PP_EINVAL;
    return addr_check(loc->addr, strlen(loc->addr));
}

size_t pp__locator_size(const pp__locator *loc)
{
    return 3u + strlen(loc->addr) + 16u;
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
    if (st == PP_OK)
        st = pp__buf_put_u64(b, loc->instance);
    if (st == PP_OK)
        st = pp__buf_put_u64(b, loc->id);
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
        st = pp__rd_u64(r, &loc->instance);
    }
    if (st == PP_OK)
        st = pp__rd_u64(r, &loc->id);
    if (st == PP_OK && pp__locator_check(loc) != PP_OK)
        st = PP_EPROTO;
    if (st != PP_OK) {
        r->pos = start;
        return PP_EPROTO;
    }
    return PP_OK;
}

void pp__locator_describe(const pp__locator *loc, char *buf, size_t cap)
{
    snprintf(buf, cap, "manager lock %llu at %s", (unsigned long long)loc->id, loc->addr);
}

pp_status pp__remote_resolve(const pp__locator *loc, void **out)
{
    pp__remote_resolver fn = g_resolver;

    *out = NULL;
    return fn != NULL ? fn(loc, out) : PP_ENOTSUP;
}

void pp__remote_set_resolver(pp__remote_resolver fn)
{
    g_resolver = fn;
}
