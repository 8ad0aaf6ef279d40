/**
 * @file log.h
 * @brief Where procpool reports what it cannot return to a caller.
 *
 * Failures nobody observed (see result.h), workers that had to be
 * replaced, and similar events are reported through one process-wide hook.
 * The default writes one line to stderr: "procpool: <message>".
 */
#ifndef PROCPOOL_LOG_H
#define PROCPOOL_LOG_H

#include "export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum pp_log_level {
    PP_LOG_ERROR = 1, /**< a failure nobody observed */
    PP_LOG_WARN = 2,  /**< something went wrong and was handled */
    PP_LOG_INFO = 3
} pp_log_level;

/** A log hook; called from any thread, must be thread-safe. */
typedef void (*pp_log_fn)(pp_log_level level, const char *message, void *userdata);

/**
 * @brief Replace the log hook (NULL restores the default). Thread-safe.
 * @param min_level messages above this level are dropped (default:
 *        #PP_LOG_WARN).
 */
PP_API void pp_set_log_hook(pp_log_fn fn, void *userdata, pp_log_level min_level);

#ifdef __cplusplus
}
#endif

#endif /* PROCPOOL_LOG_H */
