/*
 * fnref.c — how a task function travels in a message (wire/msg.h).
 */
#include <stdlib.h>
#include <string.h>

#include "core/registry.h"
#include "wire/msg.h"

pp_status pp__fnref_make(pp_task_fn fn, int allow_address, pp__fnref *ref)
{
    memset(ref, 0, sizeof *ref);
    if (fn == NULL) {
        ref->kind = PP__FN_NONE;
        return PP_OK;
    }
    ref->fn = fn;
    ref->name = pp_task_name(fn);
    if (ref->name != NULL) {
        ref->kind = PP__FN_NAME;
        return PP_OK;
    }
    if (!allow_address)
        return PP_ENOTREGISTERED;
    ref->kind = PP__FN_ADDR;
    return PP_OK;
}

size_t pp__fnref_encoded_size(const pp__fnref *ref)
{
    switch (ref->kind) {
    case PP__FN_NAME:
        return 1 + 4 + strlen(ref->name);
    case PP__FN_ADDR:
        return 1 + 8;
    default:
        return 1;
    }
}

pp_status pp__fnref_encode(const pp__fnref *ref, pp__buf *b)
{
    pp_status st = pp__buf_put_u8(b, (uint8_t)ref->kind);

    if (st != PP_OK)
        return st;
    switch (ref->kind) {
    case PP__FN_NAME:
        return pp__buf_put_blob(b, ref->name, strlen(ref->name));
    case PP__FN_ADDR:
        /* Only ever decoded by a forked copy of this very image, where the
         * address means the same function. */
        return pp__buf_put_u64(b, (uint64_t)(uintptr_t)ref->fn);
    default:
        return PP_OK;
    }
}

pp_status pp__fnref_decode(pp__rd *r, pp__fnref *ref)
{
    const uint8_t *name;
    uint64_t addr;
    uint8_t kind;
    size_t n;
    pp_status st;

    memset(ref, 0, sizeof *ref);
    st = pp__rd_u8(r, &kind);
    if (st != PP_OK)
        return st;
    ref->kind = kind;
    switch (kind) {
    case PP__FN_NONE:
        return PP_OK;
    case PP__FN_NAME:
        st = pp__rd_blob(r, PP_TASK_NAME_MAX, &name, &n);
        if (st != PP_OK)
            return st;
        ref->fn = pp__registry_find((const char *)name, n, &ref->name);
        return ref->fn ? PP_OK : PP_ENOTREGISTERED;
    case PP__FN_ADDR:
        st = pp__rd_u64(r, &addr);
        if (st != PP_OK)
            return st;
        if (addr == 0)
            return PP_EPROTO;
        /* Converting an integer to a function pointer is implementation
         * defined but exact on every platform procpool targets (POSIX
         * requires it for dlsym). */
        ref->fn = (pp_task_fn)(uintptr_t)addr;
        return PP_OK;
    default:
        return PP_EPROTO;
    }
}

pp_status pp__fnref_skip(pp__rd *r)
{
    const uint8_t *name;
    uint64_t addr;
    uint8_t kind;
    size_t n;
    pp_status st;

    st = pp__rd_u8(r, &kind);
    if (st != PP_OK)
        return st;
    switch (kind) {
    case PP__FN_NONE:
        return PP_OK;
    case PP__FN_NAME:
        return pp__rd_blob(r, PP_TASK_NAME_MAX, &name, &n);
    case PP__FN_ADDR:
        return pp__rd_u64(r, &addr);
    default:
        return PP_EPROTO;
    }
}
