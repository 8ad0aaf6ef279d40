/*
 * name.c — validation and generation of names of shared objects.
 *
 * Names are restricted to [A-Za-z0-9._-] so the same name is valid as a
 * POSIX shm name ("/<name>") and inside a Windows kernel object namespace
 * ("Local\...<name>") without escaping, on every platform.
 */
#include <stdio.h>
#include <string.h>

#include <apr_atomic.h>

#include "platform.h"
#include "core/core.h"

static int name_char_ok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

pp_status pp__name_check(const char *name)
{
    size_t i;

    if (name == NULL || name[0] == '\0')
        return PP_EINVAL;
    /* "." and ".." are directory entries, never usable object names */
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return PP_EINVAL;
    for (i = 0; name[i] != '\0'; i++) {
        if (i >= PP_NAME_MAX || !name_char_ok(name[i]))
            return PP_EINVAL;
    }
    return PP_OK;
}

pp_status pp__name_generate(char buf[PP__NAME_BUF])
{
    /* Sequence makes names from one process distinct; the random part makes
     * them unpredictable, so another user's process cannot pre-create or
     * guess them. Collisions across processes are left to O_EXCL. */
    static volatile apr_uint32_t seq;
    uint32_t rnd;
    pp_status st;
    int n;

    st = pp__plat_random(&rnd, sizeof rnd);
    if (st != PP_OK)
        return st;
    n = snprintf(buf, PP__NAME_BUF, "pp-%lu-%u-%08lx",
                 (unsigned long)(pp__plat_getpid() % 100000000u),
                 (unsigned)(apr_atomic_inc32(&seq) % 100000u), (unsigned long)rnd);
    if (n < 0 || n >= PP__NAME_BUF)
        return PP_EINVAL;
    return PP_OK;
}
