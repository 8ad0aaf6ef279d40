/*
 * error.c — status strings and the APR → pp_status boundary.
 */
#include <string.h>

#include <apr_errno.h>

#include "procpool/error.h"
#include "platform.h"
#include "core/core.h"

const char *pp_strerror(int status)
{
    switch (status) {
#define PP__STATUS_STR(name, value, msg)                                                           \
    case (value):                                                                                  \
        return (msg);
        PP_STATUS_MAP(PP__STATUS_STR)
#undef PP__STATUS_STR
    default:
        return "unknown procpool status";
    }
}

const char *pp_err_name(int status)
{
    switch (status) {
#define PP__STATUS_NAME(name, value, msg)                                                          \
    case (value):                                                                                  \
        return "PP_" #name;
        PP_STATUS_MAP(PP__STATUS_NAME)
#undef PP__STATUS_NAME
    default:
        return "PP_UNKNOWN";
    }
}

int pp_os_error(void)
{
    return (int)pp__plat_get_os_error();
}

/*
 * APR statuses carry OS codes offset by APR_OS_START_SYSERR on Windows (and
 * as-is errno on POSIX); APR_TO_OS_ERROR undoes that, so the port's own
 * table gives the same answer for an OS failure seen through APR as for
 * one seen directly.
 */
pp_status pp__from_apr(int apr_status)
{
    apr_status_t st = (apr_status_t)apr_status;

    if (st == APR_SUCCESS)
        return PP_OK;
    if (APR_STATUS_IS_ENOMEM(st))
        return PP_ENOMEM;
    if (APR_STATUS_IS_TIMEUP(st) || APR_STATUS_IS_ETIMEDOUT(st))
        return PP_ETIMEDOUT;
    if (APR_STATUS_IS_EBUSY(st))
        return PP_EBUSY;
    if (APR_STATUS_IS_ENOTIMPL(st))
        return PP_ENOTSUP;
    if (APR_STATUS_IS_ENOENT(st))
        return PP_ENOENT;
    if (APR_STATUS_IS_EEXIST(st))
        return PP_EEXIST;
    if (APR_STATUS_IS_EACCES(st))
        return PP_EACCES;
    if (APR_STATUS_IS_EINVAL(st))
        return PP_EINVAL;
    if (APR_STATUS_IS_EOF(st) || APR_STATUS_IS_EPIPE(st))
        return PP_ECONNLOST;
    if (st >= APR_OS_START_SYSERR || st < APR_OS_START_ERROR)
        return pp__plat_fail((long)APR_TO_OS_ERROR(st));
    /* An APR-internal code with no OS behind it. */
    return PP_ESYS;
}

void pp__strlcpy(char *dst, const char *src, size_t cap)
{
    size_t n;

    if (cap == 0)
        return;
    n = src ? strlen(src) : 0;
    if (n >= cap)
        n = cap - 1; /* truncation is intended: messages are bounded */
    if (n > 0)
        memcpy(dst, src, n);
    dst[n] = '\0';
}
