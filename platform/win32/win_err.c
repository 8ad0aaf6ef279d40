/*
 * win_err.c — GetLastError() codes to pp_status, and the thread-local
 * "last OS error" behind pp_os_error().
 */
#include "win_internal.h"

typedef struct pp__win_errmap {
    DWORD code;
    pp_status status;
} pp__win_errmap;

/* One table, read top-down; codes not listed become PP_ESYS. */
static const pp__win_errmap pp__win_errors[] = {
    {ERROR_FILE_NOT_FOUND, PP_ENOENT},
    {ERROR_PATH_NOT_FOUND, PP_ENOENT},
    {ERROR_INVALID_DRIVE, PP_ENOENT},
    {ERROR_MOD_NOT_FOUND, PP_ENOENT},
    {ERROR_ALREADY_EXISTS, PP_EEXIST},
    {ERROR_FILE_EXISTS, PP_EEXIST},
    {ERROR_ACCESS_DENIED, PP_EACCES},
    {ERROR_SHARING_VIOLATION, PP_EACCES},
    {ERROR_LOCK_VIOLATION, PP_EACCES},
    {ERROR_NOT_ENOUGH_MEMORY, PP_ENOMEM},
    {ERROR_OUTOFMEMORY, PP_ENOMEM},
    {ERROR_COMMITMENT_LIMIT, PP_ENOMEM},
    {ERROR_NO_SYSTEM_RESOURCES, PP_ENOMEM},
    {ERROR_NOT_ENOUGH_QUOTA, PP_ENOMEM},
    {ERROR_TOO_MANY_OPEN_FILES, PP_ENOMEM},
    {ERROR_INVALID_PARAMETER, PP_EINVAL},
    {ERROR_INVALID_NAME, PP_EINVAL},
    {ERROR_BAD_PATHNAME, PP_EINVAL},
    {ERROR_FILENAME_EXCED_RANGE, PP_EINVAL},
    {ERROR_INVALID_HANDLE, PP_EINVAL},
    {ERROR_INVALID_FLAGS, PP_EINVAL},
    {ERROR_NOT_OWNER, PP_EPERM},
    {ERROR_PRIVILEGE_NOT_HELD, PP_EPERM},
    {ERROR_BROKEN_PIPE, PP_ECONNLOST},
    {ERROR_NO_DATA, PP_ECONNLOST},
    {ERROR_PIPE_NOT_CONNECTED, PP_ECONNLOST},
    {ERROR_OPERATION_ABORTED, PP_ECONNLOST},
    {ERROR_NETNAME_DELETED, PP_ECONNLOST},
    {ERROR_BAD_PIPE, PP_ECONNLOST},
    {ERROR_HANDLE_EOF, PP_ECONNLOST},
    {WAIT_TIMEOUT, PP_ETIMEDOUT},
    {ERROR_TIMEOUT, PP_ETIMEDOUT},
    {ERROR_SEM_TIMEOUT, PP_ETIMEDOUT},
    {ERROR_NOT_SUPPORTED, PP_ENOTSUP},
    {ERROR_CALL_NOT_IMPLEMENTED, PP_ENOTSUP},
    {ERROR_BUSY, PP_EBUSY},
    {ERROR_PIPE_BUSY, PP_EBUSY},
    {ERROR_POSSIBLE_DEADLOCK, PP_EDEADLK},
    {ERROR_ABANDONED_WAIT_0, PP_EOWNERDEAD},
    {ERROR_BAD_EXE_FORMAT, PP_ESPAWN},
    {ERROR_EXE_MACHINE_TYPE_MISMATCH, PP_ESPAWN},
    {ERROR_INSUFFICIENT_BUFFER, PP_ETOOBIG},
};

static PP__WIN_TLS long pp__win_os_error;

pp_status pp__plat_map_error(long oserr)
{
    size_t i;

    if (oserr == 0)
        return PP_OK;
    for (i = 0; i < sizeof pp__win_errors / sizeof pp__win_errors[0]; i++) {
        if (pp__win_errors[i].code == (DWORD)oserr)
            return pp__win_errors[i].status;
    }
    return PP_ESYS;
}

long pp__plat_last_error(void)
{
    return (long)GetLastError();
}

void pp__plat_set_os_error(long oserr)
{
    pp__win_os_error = oserr;
}

long pp__plat_get_os_error(void)
{
    return pp__win_os_error;
}

pp_status pp__plat_fail(long oserr)
{
    pp__plat_set_os_error(oserr);
    /* A caller reporting failure with code 0 still failed: never say OK. */
    if (oserr == 0)
        return PP_ESYS;
    return pp__plat_map_error(oserr);
}

pp_status pp__win_fail_last(void)
{
    return pp__plat_fail((long)GetLastError());
}
