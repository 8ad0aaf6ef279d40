/*
 * posix_err.c — errno to pp_status, and the thread-local "last OS error"
 * behind pp_os_error().
 */
#include <errno.h>

#include "posix_internal.h"

/* Each errno the port can meet and the status it means for a caller.
 * Resource exhaustion that the caller cannot act on differently from any
 * other OS failure (EMFILE, ENOSPC, ...) stays PP_ESYS; the raw code is
 * kept in pp_os_error(). */
static pp_status pp__posix_map_known(long e)
{
    switch (e) {
    case 0:
        return PP_OK;
    case EINVAL:
    case ENAMETOOLONG:
    case EBADF:
    case EFAULT:
        return PP_EINVAL;
    case ENOMEM:
        return PP_ENOMEM;
    case ENOENT:
    case ESRCH:
        return PP_ENOENT;
    case EEXIST:
        return PP_EEXIST;
    case EPERM:
        return PP_EPERM;
    case EACCES:
        return PP_EACCES;
    case EBUSY:
        return PP_EBUSY;
    case ETIMEDOUT:
        return PP_ETIMEDOUT;
    case EDEADLK:
        return PP_EDEADLK;
#ifdef EOWNERDEAD
    case EOWNERDEAD:
        return PP_EOWNERDEAD;
#endif
    case ENOSYS:
    case ENOTSUP:
#if defined(EOPNOTSUPP) && EOPNOTSUPP != ENOTSUP
    case EOPNOTSUPP:
#endif
        return PP_ENOTSUP;
    case EPIPE:
    case ECONNRESET:
    case ENOTCONN:
    case ECONNREFUSED:
    case ECONNABORTED:
        return PP_ECONNLOST;
    case EMSGSIZE:
    case E2BIG:
    case EFBIG:
        return PP_ETOOBIG;
    default:
        /* EMFILE, ENFILE, ENOSPC, EAGAIN, EIO, ... */
        return PP_ESYS;
    }
}

pp_status pp__plat_map_error(long oserr)
{
    return pp__posix_map_known(oserr);
}

long pp__plat_last_error(void)
{
    return (long)errno;
}

/* C11 thread-local: each thread sees the OS error of its own last failure. */
static _Thread_local long pp__posix_os_error;

void pp__plat_set_os_error(long oserr)
{
    pp__posix_os_error = oserr;
}

long pp__plat_get_os_error(void)
{
    return pp__posix_os_error;
}

pp_status pp__plat_fail(long oserr)
{
    pp__posix_os_error = oserr;
    /* A failure path must never turn into success because errno was 0. */
    return oserr == 0 ? PP_ESYS : pp__plat_map_error(oserr);
}
