/**
 * @file error.h
 * @brief procpool status codes.
 *
 * Every procpool function that can fail returns a ::pp_status: 0 (#PP_OK)
 * on success, a negative code otherwise. Codes are stable across releases
 * and platforms. When a failure came from the operating system, the raw OS
 * code (errno on POSIX, GetLastError() on Windows) of the most recent
 * failing procpool call on the calling thread is kept for diagnostics:
 * see pp_os_error().
 */
#ifndef PROCPOOL_ERROR_H
#define PROCPOOL_ERROR_H

#include "export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* X-macro list: XX(name, value, message). One list generates the enum,
 * pp_strerror() and pp_err_name(); never reuse or renumber a value. */
#define PP_STATUS_MAP(XX)                                                                          \
    XX(OK, 0, "success")                                                                           \
    XX(EINVAL, -1, "invalid argument")                                                             \
    XX(ENOMEM, -2, "out of memory")                                                                \
    XX(ENOENT, -3, "no such object")                                                               \
    XX(EEXIST, -4, "object already exists")                                                        \
    XX(EPERM, -5, "operation not permitted (caller is not the owner)")                             \
    XX(EACCES, -6, "permission denied")                                                            \
    XX(EBUSY, -7, "resource busy")                                                                 \
    XX(ETIMEDOUT, -8, "timed out")                                                                 \
    XX(EDEADLK, -9, "deadlock: the calling thread already holds the lock")                         \
    XX(EOWNERDEAD, -10, "acquired; the previous owner died while holding it")                      \
    XX(ENOTSUP, -11, "not supported on this platform or start method")                             \
    XX(ECLOSED, -12, "pool is closed")                                                             \
    XX(ETERMINATED, -13, "pool was terminated")                                                    \
    XX(EWORKERDIED, -14, "worker process died while running the task")                             \
    XX(ENOTREGISTERED, -15, "task function is not registered")                                     \
    XX(ETASK, -16, "task reported an error")                                                       \
    XX(EPROTO, -17, "malformed or unexpected message")                                             \
    XX(ETOOBIG, -18, "value or message too large")                                                 \
    XX(ECONNLOST, -19, "connection to peer lost")                                                  \
    XX(EAUTH, -20, "authentication failed")                                                        \
    XX(ENOTINIT, -21, "pp_init() has not been called")                                             \
    XX(ETYPE, -22, "value has another type")                                                       \
    XX(ERANGE, -23, "index out of range")                                                          \
    XX(ESTATE, -24, "operation not valid in the object's current state")                           \
    XX(ESPAWN, -25, "could not start a process")                                                   \
    XX(ENOTREADY, -26, "result not ready yet")                                                     \
    XX(ESYS, -27, "operating system error")                                                        \
    XX(EOF, -28, "no more items")                                                                  \
    XX(ECANCELED, -29, "canceled by the caller")                                                   \
    XX(EBROKEN, -30, "barrier is broken (aborted, reset, or a waiter timed out or died)")

/** Status codes returned by every fallible procpool function. */
typedef enum pp_status {
#define PP__STATUS_ENUM(name, value, msg) PP_##name = (value),
    PP_STATUS_MAP(PP__STATUS_ENUM)
#undef PP__STATUS_ENUM
        PP__STATUS_MIN = -30 /**< lowest defined code (internal) */
} pp_status;

/**
 * @brief Human-readable description of a status code.
 * @return a static string; "unknown procpool status" for codes outside the
 *         list. Never NULL. Thread-safe.
 */
PP_API const char *pp_strerror(int status);

/**
 * @brief The symbolic name of a status code ("PP_ETIMEDOUT").
 * @return a static string; "PP_UNKNOWN" for codes outside the list. Never NULL.
 */
PP_API const char *pp_err_name(int status);

/**
 * @brief Raw OS error code behind the most recent procpool failure on the
 *        calling thread that came from the operating system.
 *
 * errno on POSIX, GetLastError() on Windows; 0 if no procpool call on this
 * thread has failed in the OS yet. Neither successful calls nor failures
 * detected by procpool itself (e.g. #PP_EINVAL for a bad name) change it,
 * so read it right after the failing call.
 */
PP_API int pp_os_error(void);

#ifdef __cplusplus
}
#endif

#endif /* PROCPOOL_ERROR_H */
