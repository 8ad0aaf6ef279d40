/*
 * mgr_addr.c — manager addresses and the private local endpoint
 * (mgr_addr.h says what they are and who removes what).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_env.h>
#include <apr_file_info.h>
#include <apr_file_io.h>
#include <apr_network_io.h>
#include <apr_pools.h>
#include <apr_user.h>

#include "platform.h"
#include "core/core.h"
#include "manager/mgr_addr.h"

#define LOCAL_PREFIX "procpool-mgr-"
#define LOCAL_SOCK   "sock"

static pp_status parse_port(const char *s, int for_listen, uint16_t *port)
{
    char *end = NULL;
    long v;

    if (*s < '0' || *s > '9')
        return PP_EINVAL;
    v = strtol(s, &end, 10);
    if (*end != '\0' || v > 65535 || (v == 0 && !for_listen))
        return PP_EINVAL;
    *port = (uint16_t)v;
    return PP_OK;
}

pp_status pp__mgr_addr_parse(const char *s, int for_listen, pp__mgr_addr *a)
{
    const char *h, *colon;
    size_t n;

    memset(a, 0, sizeof *a);
    if (s == NULL || strlen(s) >= PP_MANAGER_ADDR_MAX)
        return PP_EINVAL;
    if (strncmp(s, "unix://", 7) == 0) {
        s += 7;
        n = strlen(s);
        if (s[0] != '/' || n < 2 || s[n - 1] == '/')
            return PP_EINVAL;
        if (pp__plat_unix_path_max() == 0)
            return PP_ENOTSUP;
        if (n > pp__plat_unix_path_max())
            return PP_ETOOBIG;
        a->is_unix = 1;
        memcpy(a->path, s, n + 1);
        return PP_OK;
    }
    if (strncmp(s, "tcp://", 6) != 0)
        return PP_EINVAL;
    h = s + 6;
    if (*h == '[') {
        const char *close = strchr(h, ']');
        if (close == NULL || close == h + 1 || close[1] != ':')
            return PP_EINVAL;
        n = (size_t)(close - h - 1);
        memcpy(a->host, h + 1, n);
        a->host[n] = '\0';
        a->bracketed = 1;
        colon = close + 1;
    } else {
        colon = strrchr(h, ':');
        if (colon == NULL || colon == h)
            return PP_EINVAL;
        n = (size_t)(colon - h);
        memcpy(a->host, h, n);
        a->host[n] = '\0';
        if (strchr(a->host, ':') != NULL || strchr(a->host, '/') != NULL)
            return PP_EINVAL; /* an IPv6 literal needs brackets */
    }
    return parse_port(colon + 1, for_listen, &a->port);
}

void pp__mgr_addr_format(const pp__mgr_addr *a, uint16_t port, char *out)
{
    int n;

    /* A parsed address always fits: truncation cannot happen. */
    if (a->is_unix)
        n = snprintf(out, PP_MANAGER_ADDR_MAX, "unix://%s", a->path);
    else
        n = snprintf(out, PP_MANAGER_ADDR_MAX, a->bracketed ? "tcp://[%s]:%u" : "tcp://%s:%u",
                     a->host, (unsigned)(port != 0 ? port : a->port));
    if (n < 0 || n >= PP_MANAGER_ADDR_MAX)
        out[0] = '\0';
}

pp_status pp__mgr_addr_resolve(const pp__mgr_addr *a, apr_pool_t *pool, apr_sockaddr_t **sa)
{
    apr_status_t rv;

    if (a->is_unix)
        rv = apr_sockaddr_info_get(sa, a->path, APR_UNIX, 0, 0, pool);
    else
        rv = apr_sockaddr_info_get(sa, a->host, a->bracketed ? APR_INET6 : APR_UNSPEC, a->port, 0,
                                   pool);
    return rv == APR_SUCCESS && *sa != NULL ? PP_OK : PP_EINVAL;
}

/* ------------------------------------------------------ local endpoint */

/* The base directory: $XDG_RUNTIME_DIR (per user, 0700) if set and short
 * enough for DIR/procpool-mgr-PID-RANDOM/sock, else APR's temp dir. */
static const char *local_base(apr_pool_t *pool)
{
    const size_t room = sizeof LOCAL_PREFIX + 20 + 1 + 16 + 1 + sizeof LOCAL_SOCK;
    const char *dir = NULL;
    char *env = NULL;

    if (apr_env_get(&env, "XDG_RUNTIME_DIR", pool) == APR_SUCCESS && env[0] == '/' &&
        strlen(env) + room <= pp__plat_unix_path_max())
        return env;
    if (apr_temp_dir_get(&dir, pool) == APR_SUCCESS && dir[0] == '/' &&
        strlen(dir) + room <= pp__plat_unix_path_max())
        return dir;
    return "/tmp";
}

/* Remove DIR/sock and DIR. */
static void remove_dir(const char *dir, apr_pool_t *pool)
{
    char sock[PP_MANAGER_ADDR_MAX + 8];

    if ((size_t)snprintf(sock, sizeof sock, "%s/%s", dir, LOCAL_SOCK) < sizeof sock)
        (void)apr_file_remove(sock, pool);
    (void)apr_dir_remove(dir, pool);
}

/* Remove the endpoints in base whose creator is gone (ours only: the
 * sticky /tmp would refuse the others anyway). */
static void sweep(const char *base, apr_pool_t *pool)
{
    apr_finfo_t fi;
    apr_dir_t *d = NULL;
    apr_uid_t uid;
    apr_gid_t gid;

    if (apr_uid_current(&uid, &gid, pool) != APR_SUCCESS ||
        apr_dir_open(&d, base, pool) != APR_SUCCESS)
        return;
    for (;;) {
        apr_status_t rv = apr_dir_read(&fi, APR_FINFO_NAME | APR_FINFO_TYPE | APR_FINFO_USER, d);
        char path[PP_MANAGER_ADDR_MAX + 8];
        unsigned long long pid;
        char tail;

        if (rv != APR_SUCCESS && !APR_STATUS_IS_INCOMPLETE(rv))
            break;
        if (fi.name == NULL || strncmp(fi.name, LOCAL_PREFIX, sizeof LOCAL_PREFIX - 1) != 0 ||
            fi.filetype != APR_DIR || !(fi.valid & APR_FINFO_USER) || fi.user != uid)
            continue;
        if (sscanf(fi.name + sizeof LOCAL_PREFIX - 1, "%llu-%c", &pid, &tail) != 2 ||
            pp__plat_pid_alive((uint64_t)pid))
            continue;
        if ((size_t)snprintf(path, sizeof path, "%s/%s", base, fi.name) >= sizeof path)
            continue;
        remove_dir(path, pool);
    }
    apr_dir_close(d);
}

pp_status pp__mgr_local_create(char *out)
{
    const apr_fileperms_t perms = APR_FPROT_UREAD | APR_FPROT_UWRITE | APR_FPROT_UEXECUTE;
    apr_pool_t *pool = NULL;
    const char *base;
    pp_status st = PP_ESYS;
    int tries;

    if (pp__plat_unix_path_max() == 0)
        return PP_ENOTSUP;
    if (apr_pool_create(&pool, NULL) != APR_SUCCESS)
        return PP_ENOMEM;
    base = local_base(pool);
    sweep(base, pool);
    for (tries = 0; tries < 100; tries++) {
        char dir[PP_MANAGER_ADDR_MAX];
        uint8_t r[8];
        apr_status_t rv;

        if (pp__plat_random(r, sizeof r) != PP_OK)
            break;
        snprintf(dir, sizeof dir, "%s/" LOCAL_PREFIX "%llu-%02x%02x%02x%02x%02x%02x%02x%02x", base,
                 (unsigned long long)pp__plat_getpid(), r[0], r[1], r[2], r[3], r[4], r[5], r[6],
                 r[7]);
        rv = apr_dir_make(dir, perms, pool); /* exclusive: EEXIST on a clash */
        if (APR_STATUS_IS_EEXIST(rv))
            continue;
        if (rv != APR_SUCCESS) {
            st = pp__from_apr(rv);
            break;
        }
        /* exactly 0700 whatever the umask took away */
        (void)apr_file_perms_set(dir, perms);
        st = (size_t)snprintf(out, PP_MANAGER_ADDR_MAX, "unix://%s/" LOCAL_SOCK, dir) <
                     PP_MANAGER_ADDR_MAX
                 ? PP_OK
                 : PP_ETOOBIG;
        break;
    }
    apr_pool_destroy(pool);
    return st;
}

void pp__mgr_local_remove(const char *address)
{
    char dir[PP_MANAGER_ADDR_MAX];
    apr_pool_t *pool = NULL;
    char *slash;

    if (address == NULL || strncmp(address, "unix://", 7) != 0)
        return;
    snprintf(dir, sizeof dir, "%s", address + 7);
    slash = strrchr(dir, '/');
    if (slash == NULL || strcmp(slash + 1, LOCAL_SOCK) != 0 ||
        apr_pool_create(&pool, NULL) != APR_SUCCESS)
        return;
    *slash = '\0';
    remove_dir(dir, pool);
    apr_pool_destroy(pool);
}
