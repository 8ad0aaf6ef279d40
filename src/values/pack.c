/*
 * pack.c — pp_values_pack() / pp_values_unpack(): a tuple from a format
 * string and arguments, and back. A client of the container's public API
 * only (values.h), so it cannot bypass the container's checks.
 */
#include <limits.h>
#include <stdarg.h>
#include <string.h>

#include "procpool/value.h"

#define PACK_CHARS "ildsbkm"

static int fmt_valid(const char *fmt)
{
    return strspn(fmt, PACK_CHARS) == strlen(fmt);
}

static pp_status pack_one(pp_values *v, char c, va_list *ap)
{
    const void *p;

    switch (c) {
    case 'i':
        return pp_values_add_int(v, va_arg(*ap, int));
    case 'l':
        return pp_values_add_int(v, va_arg(*ap, int64_t));
    case 'd':
        return pp_values_add_double(v, va_arg(*ap, double));
    case 's':
        return pp_values_add_str(v, va_arg(*ap, const char *));
    case 'b':
        /* Arguments are evaluated in unspecified order: fetch in turn. */
        p = va_arg(*ap, const void *);
        return pp_values_add_bytes(v, p, va_arg(*ap, size_t));
    case 'k':
        return pp_values_add_lock(v, va_arg(*ap, pp_lock *));
    default: /* 'm'; fmt_valid() ruled out anything else */
        return pp_values_add_shm(v, va_arg(*ap, pp_shm *));
    }
}

pp_status pp_values_pack(pp_values **out, const char *fmt, ...)
{
    pp_values *v;
    pp_status st;
    va_list ap;

    if (out == NULL)
        return PP_EINVAL;
    *out = NULL;
    if (fmt == NULL || !fmt_valid(fmt))
        return PP_EINVAL;
    st = pp_values_create(&v);
    if (st != PP_OK)
        return st;
    va_start(ap, fmt);
    for (; st == PP_OK && *fmt != '\0'; fmt++)
        st = pack_one(v, *fmt, &ap);
    va_end(ap);
    if (st != PP_OK) {
        pp_values_destroy(v);
        return st;
    }
    *out = v;
    return PP_OK;
}

/* Output pointers of one format character, fetched with their own types
 * (va_arg with another pointer type would be undefined). */
typedef struct unpack_out {
    void *p;
    size_t *len; /* 'b' only */
} unpack_out;

static void unpack_fetch(char c, va_list *ap, unpack_out *o)
{
    o->len = NULL;
    switch (c) {
    case 'i':
        o->p = va_arg(*ap, int *);
        break;
    case 'l':
        o->p = va_arg(*ap, int64_t *);
        break;
    case 'd':
        o->p = va_arg(*ap, double *);
        break;
    case 's':
        o->p = (void *)va_arg(*ap, const char **);
        break;
    case 'b':
        o->p = (void *)va_arg(*ap, const void **);
        o->len = va_arg(*ap, size_t *);
        break;
    case 'k':
        o->p = va_arg(*ap, pp_lock **);
        break;
    default: /* 'm'; fmt_valid() ruled out anything else */
        o->p = va_arg(*ap, pp_shm **);
        break;
    }
}

/* Read item i for format character c into the matching member of val
 * (the typed getters check range, type, and that a lock or shm item has
 * its handle). */
typedef union unpack_val {
    int64_t i;
    double d;
    const char *s;
    struct {
        const void *p;
        size_t n;
    } b;
    pp_lock *k;
    pp_shm *m;
} unpack_val;

static pp_status unpack_get(const pp_values *v, size_t i, char c, unpack_val *val)
{
    pp_status st;

    switch (c) {
    case 'i':
        st = pp_values_get_int(v, i, &val->i);
        return st == PP_OK && (val->i < INT_MIN || val->i > INT_MAX) ? PP_ERANGE : st;
    case 'l':
        return pp_values_get_int(v, i, &val->i);
    case 'd':
        return pp_values_get_double(v, i, &val->d);
    case 's':
        return pp_values_get_str(v, i, &val->s);
    case 'b':
        return pp_values_get_bytes(v, i, &val->b.p, &val->b.n);
    case 'k':
        return pp_values_get_lock(v, i, &val->k);
    default: /* 'm' */
        return pp_values_get_shm(v, i, &val->m);
    }
}

static void unpack_store(char c, const unpack_val *val, const unpack_out *o)
{
    switch (c) {
    case 'i':
        *(int *)o->p = (int)val->i;
        break;
    case 'l':
        *(int64_t *)o->p = val->i;
        break;
    case 'd':
        memcpy(o->p, &val->d, sizeof(double));
        break;
    case 's':
        *(const char **)o->p = val->s;
        break;
    case 'b':
        *(const void **)o->p = val->b.p;
        *o->len = val->b.n;
        break;
    case 'k':
        *(pp_lock **)o->p = val->k;
        break;
    default: /* 'm' */
        *(pp_shm **)o->p = val->m;
        break;
    }
}

/*
 * One format character of pp_values_unpack(). With store == 0 only checks
 * (argument not NULL, type, range), so a failing unpack writes nothing.
 */
static pp_status unpack_one(const pp_values *v, size_t i, char c, va_list *ap, int store)
{
    unpack_val val;
    unpack_out o;
    pp_status st;

    unpack_fetch(c, ap, &o);
    if (o.p == NULL || (c == 'b' && o.len == NULL))
        return PP_EINVAL;
    st = unpack_get(v, i, c, &val);
    if (st == PP_OK && store)
        unpack_store(c, &val, &o);
    return st;
}

static pp_status unpack_pass(const pp_values *v, const char *fmt, va_list *ap, int store)
{
    pp_status st = PP_OK;
    size_t i;

    for (i = 0; st == PP_OK && fmt[i] != '\0'; i++)
        st = unpack_one(v, i, fmt[i], ap, store);
    return st;
}

pp_status pp_values_unpack(const pp_values *v, const char *fmt, ...)
{
    pp_status st;
    va_list ap, ap2;

    if (v == NULL || fmt == NULL || !fmt_valid(fmt))
        return PP_EINVAL;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    /* Check everything first, then store: all-or-nothing. */
    st = unpack_pass(v, fmt, &ap2, 0);
    if (st == PP_OK)
        st = unpack_pass(v, fmt, &ap, 1);
    va_end(ap2);
    va_end(ap);
    return st;
}
