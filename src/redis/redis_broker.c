/*
 * redis_broker.c — helpers both sides of a distributed pool share
 * (redis/redis_broker.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_network_io.h>
#include <apr_pools.h>

#include "core/core.h"
#include "redis/redis_broker.h"

pp_status pp__rb_parse(const char *url, pp__rb_keys *k)
{
    char host[PP__REDIS_HOST_MAX + 1];
    const char *slash, *name;
    size_t n, i;
    int port;

    memset(k, 0, sizeof *k);
    if (url == NULL || pp__redis_parse_address(url, host, &port) != PP_OK)
        return PP_EINVAL;
    slash = strchr(strstr(url, "://") + 3, '/');
    if (slash == NULL)
        return PP_EINVAL;
    name = slash + 1;
    n = strlen(name);
    if (n == 0 || n > PP__RB_NAME_MAX)
        return PP_EINVAL;
    for (i = 0; i < n; i++) {
        char ch = name[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '.' || ch == '-'))
            return PP_EINVAL;
    }
    snprintf(k->addr, sizeof k->addr, "redis://%s:%d", host, port);
    memcpy(k->name, name, n + 1);
    snprintf(k->t, sizeof k->t, "pp:{%s}:t", name);
    snprintf(k->r, sizeof k->r, "pp:{%s}:r", name);
    snprintf(k->hello, sizeof k->hello, "pp:{%s}:hello", name);
    snprintf(k->alive, sizeof k->alive, "pp:{%s}:alive", name);
    snprintf(k->s, sizeof k->s, "pp:{%s}:s", name);
    snprintf(k->hb_prefix, sizeof k->hb_prefix, "pp:{%s}:hb:", name);
    return PP_OK;
}

static const char *env_or_null(const char *name)
{
    const char *v = getenv(name);

    return v != NULL && v[0] != '\0' ? v : NULL;
}

pp_status pp__rb_connect(const pp__rb_keys *k, int64_t reply_ms, pp__redis_conn **out)
{
    return pp__redis_conn_open(k->addr, env_or_null("PROCPOOL_REDIS_USERNAME"),
                               env_or_null("PROCPOOL_REDIS_PASSWORD"), reply_ms, reply_ms, out);
}

pp_status pp__rb_cmd(pp__redis_conn *c, int64_t wait_ms, pp__redis_val **out, int argc,
                     const char **argv, const size_t *lens)
{
    size_t l[16];
    int i;

    if (lens == NULL) {
        if (argc > 16)
            return PP_EINVAL;
        for (i = 0; i < argc; i++)
            l[i] = strlen(argv[i]);
        lens = l;
    }
    return pp__redis_conn_cmd_val(c, wait_ms, argc, argv, lens, out);
}

pp_status pp__rb_do(pp__redis_conn *c, const char *what, int argc, const char **argv,
                    const size_t *lens)
{
    pp__redis_val *v = NULL;
    pp_status st = pp__rb_cmd(c, 0, &v, argc, argv, lens);

    if (st == PP_OK && v->kind == PP__RR_ERROR) {
        pp__log(PP_LOG_ERROR, "broker: %s: Redis answered %s", what, v->str);
        st = PP_EPROTO;
    }
    pp__redis_val_free(v);
    return st;
}

const pp__redis_val *pp__rb_field(const pp__redis_val *fields, const char *name)
{
    size_t i, n = strlen(name);

    if (fields == NULL || fields->kind != PP__RR_ARRAY)
        return NULL;
    for (i = 0; i + 1 < fields->n; i += 2) {
        const pp__redis_val *f = &fields->elem[i];
        if (f->kind == PP__RR_STR && f->len == n && memcmp(f->str, name, n) == 0)
            return fields->elem[i + 1].kind == PP__RR_STR ? &fields->elem[i + 1] : NULL;
    }
    return NULL;
}

void pp__rb_instance_str(uint64_t inst, char out[17])
{
    snprintf(out, 17, "%016llx", (unsigned long long)inst);
}

void pp__rb_hostname(char *buf, size_t cap)
{
    char name[APRMAXHOSTLEN + 1];
    apr_pool_t *pool = NULL;

    snprintf(buf, cap, "?");
    if (apr_pool_create(&pool, NULL) != APR_SUCCESS)
        return;
    if (apr_gethostname(name, sizeof name, pool) == APR_SUCCESS) {
        name[APRMAXHOSTLEN] = '\0';
        snprintf(buf, cap, "%s", name);
    }
    apr_pool_destroy(pool);
}
