/**
 * @file common.h
 * @brief Constants shared by every procpool API.
 */
#ifndef PROCPOOL_COMMON_H
#define PROCPOOL_COMMON_H

#include <stdint.h>

#include "export.h"

/** Timeout value meaning "wait forever". All timeouts are int64_t milliseconds. */
#define PP_INFINITE ((int64_t)-1)

/**
 * Longest name (in bytes, without the terminating NUL) of a named object
 * (lock, shared memory). Names are 1..PP_NAME_MAX characters from
 * [A-Za-z0-9._-]; the limit keeps names portable (macOS shm names are
 * limited to 31 bytes including the leading '/').
 */
#define PP_NAME_MAX 30

#endif /* PROCPOOL_COMMON_H */
